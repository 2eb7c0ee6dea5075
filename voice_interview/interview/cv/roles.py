"""Role names: the canonical roles, free-text titles mapped onto them, and the role guess
for a CV.

:data:`ROLES` are the roles the question bank is written for (plus :data:`ANY_ROLE` for
general questions). :func:`normalize_role` maps a title ("Senior Back-end Developer",
"SRE") onto one; :func:`guess_roles` reads the likely roles off a CV's titles and skills.
"""

from __future__ import annotations

import re

from voice_interview.text.normalize import squeeze

ROLES: tuple[str, ...] = (
    "backend engineer",
    "frontend engineer",
    "fullstack engineer",
    "mobile engineer",
    "data engineer",
    "data scientist",
    "ml engineer",
    "devops engineer",
    "qa engineer",
    "engineering manager",
    "product manager",
)
"""Canonical role names used by the question bank (plus "any" for general questions)."""

ANY_ROLE = "any"

# Checked in order on the cleaned role text; first hit wins.
_ROLE_PATTERNS: tuple[tuple[str, str], ...] = (
    (
        r"\b(engineering|software development|dev) manager\b|\bhead of engineering\b"
        r"|\b(director|vp|vice president) of engineering\b|\bcto\b",
        "engineering manager",
    ),
    (r"\bproduct (manager|owner|lead)\b|\bhead of product\b|\bpm\b", "product manager"),
    (r"\b(ml|machine learning|mlops|ai) engineer\b", "ml engineer"),
    (
        r"\bdata scien|\bdata analyst\b|\bmachine learning scientist\b|\bresearch scientist\b",
        "data scientist",
    ),
    (r"\b(data|analytics|etl|big data) engineer\b", "data engineer"),
    (
        r"\bdevops\b|\bsre\b|\bsite reliability\b|\bplatform engineer\b|\binfrastructure engineer\b"
        r"|\bcloud engineer\b|\bsysadmin\b|\bsystems administrator\b",
        "devops engineer",
    ),
    (
        r"\bqa\b|\bquality assurance\b|\btest(ing)? engineer\b|\bsdet\b|\btester\b"
        r"|\btest automation\b",
        "qa engineer",
    ),
    (r"\bmobile\b|\bios\b|\bandroid\b|\breact native\b|\bflutter\b", "mobile engineer"),
    (r"\bfull[\s-]?stack\b", "fullstack engineer"),
    (
        r"\bfront[\s-]?end\b|\bui engineer\b|\breact engineer\b|\bweb engineer\b",
        "frontend engineer",
    ),
    (
        r"\bback[\s-]?end\b|\bserver[\s-]side\b|\bapi engineer\b"
        r"|\b(python|java|go|golang|node(\.js)?|ruby|php|c#|\.net) engineer\b",
        "backend engineer",
    ),
)


def normalize_role(role: str | None) -> str | None:
    """Map a free-text role ("Senior Back-end Developer", "SRE") to a canonical role.

    Returns None for None or blank input. Text that matches no known role comes back
    cleaned (lowercase, single spaces); the question bank then treats it as unknown.
    """
    if role is None:
        return None
    text = squeeze(role.lower().replace("_", " "))
    if not text:
        return None
    if text in ROLES or text == ANY_ROLE:
        return text
    text = re.sub(r"\bdeveloper\b", "engineer", text)
    text = re.sub(
        r"\b(senior|junior|lead|staff|principal|sr\.?|jr\.?|mid-level|intern)\b", " ", text
    )
    text = squeeze(text)
    for pattern, canonical in _ROLE_PATTERNS:
        if re.search(pattern, text):
            return canonical
    return text


# ---------------------------------------------------------------------------------------
# Role guess for a CV
# ---------------------------------------------------------------------------------------

_TITLE_WORD = re.compile(
    r"\b(engineer|developer|manager|scientist|analyst|architect|sre|devops|tester|sdet|owner"
    r"|programmer)\b",
    re.IGNORECASE,
)
_TITLE_SPLIT = re.compile(r"\s[—–|·@(]\s?|,\s|\s-\s|\(|\)")
_ROLE_SIGNALS: dict[str, tuple[str, ...]] = {
    "backend engineer": (
        "python",
        "java",
        "go",
        "nodejs",
        "django",
        "fastapi",
        "flask",
        "spring boot",
        "postgresql",
        "api design",
        "microservices",
        "c#",
    ),
    "frontend engineer": (
        "react",
        "vue",
        "angular",
        "css",
        "html",
        "frontend",
        "typescript",
        "accessibility",
        "nextjs",
    ),
    "mobile engineer": ("mobile", "android", "ios", "swift", "kotlin", "react native", "dart"),
    "data engineer": (
        "data pipelines",
        "spark",
        "airflow",
        "dbt",
        "data warehousing",
        "kafka",
        "snowflake",
        "data modeling",
    ),
    "data scientist": ("machine learning", "statistics", "experimentation", "pandas", "analytics"),
    "ml engineer": ("mlops", "machine learning"),
    "devops engineer": (
        "kubernetes",
        "terraform",
        "infrastructure as code",
        "ci/cd",
        "observability",
        "reliability",
        "linux",
        "aws",
    ),
    "qa engineer": ("test automation", "testing"),
    "engineering manager": ("people management", "hiring", "engineering management"),
    "product manager": ("product management", "requirements", "experimentation"),
}


def guess_roles(text: str, skills: list[str]) -> list[str]:
    """Likely canonical roles, best first (at most two): job titles count most, the first
    (headline) title most of all; skills break ties and cover CVs without titles."""
    scores: dict[str, float] = {}
    titles_seen = 0
    for line in text.splitlines()[:200]:
        for segment in _TITLE_SPLIT.split(line):
            segment = segment.strip(" •*-:")
            if not segment or len(segment.split()) > 6 or not _TITLE_WORD.search(segment):
                continue
            role = normalize_role(segment)
            if role is None or (role not in _ROLE_SIGNALS and role != "fullstack engineer"):
                continue
            weight = 3.0 if titles_seen == 0 else 2.0 if titles_seen == 1 else 1.0
            titles_seen += 1
            scores[role] = scores.get(role, 0.0) + weight
    have = set(skills)
    for role, signals in _ROLE_SIGNALS.items():
        evidence = min(1.5, 0.25 * sum(1 for s in signals if s in have))
        if evidence:
            scores[role] = scores.get(role, 0.0) + evidence
    if not scores:
        return []
    ranked = sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))
    best = ranked[0][1]
    if best < 0.5:
        return []
    return [role for role, score in ranked[:2] if score >= 0.5 * best]
