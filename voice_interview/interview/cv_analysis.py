"""CV analysis: skills, years of experience, role guess and a short summary from CV text.

The keyword pass (:mod:`voice_interview.interview.skills`) always runs and is the ground
truth for skills and years. The local LLM, when there is one, is asked under a small JSON
schema for a one-to-two-sentence summary and a few skills. Small local models invent
things, so its output is checked before it is used:

* an LLM skill is kept only if it maps into the canonical vocabulary and the CV text
  names it (ambiguous names such as "Go" or "REST" must pass the keyword rules);
* the summary is kept sentence by sentence: a sentence survives only if it is complete,
  not repetitive, its numbers appear in the CV (or are the computed years), and most of
  its content words appear in the CV. When nothing survives, or the LLM fails, the
  summary is built from the keyword facts and the CV's own opening line.

``analyse_cv`` is blocking (the LLM call takes seconds on a CPU); callers run it on the
LLM engine's queue.
"""

from __future__ import annotations

import logging
import re
import time
from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any, Protocol

from voice_interview.engines.llm import LLMError
from voice_interview.interview.skills import (
    AMBIGUOUS_NAMES,
    GENERIC_SKILLS,
    SKILLS,
    canonical_skill,
    display_name,
    extract_skills,
    extract_years,
    implied_closure,
    is_technical,
    normalize_role,
    skill_mentions,
)

log = logging.getLogger(__name__)

PROMPT_VERSION = "cv-summary-v1"
LLM_CV_CHARS = 2000  # the part of the CV the model sees (its context is 2048 tokens)
MAX_SUMMARY_CHARS = 320

_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "summary": {"type": "string", "minLength": 60, "maxLength": 240},
        "skills": {
            "type": "array",
            "items": {"type": "string", "maxLength": 30},
            "maxItems": 5,
        },
    },
    "required": ["summary", "skills"],
}

_SYSTEM = (
    "You summarise CVs for recruiters. Write plain, factual English and use only facts "
    "stated in the CV. Never invent employers, numbers or skills."
)


class JsonLLM(Protocol):
    """What analyse_cv needs from an LLM (``engines.llm.LocalLLM`` provides it)."""

    def complete_json(
        self, system: str, user: str, schema: dict[str, Any], *, max_tokens: int
    ) -> dict[str, Any]: ...


@dataclass
class CvAnalysis:
    """The result of :func:`analyse_cv`."""

    skills: list[str]  # canonical names, first-mentioned first, implied ones included
    experience_years: float | None
    summary: str
    roles: list[str]  # guessed canonical roles, best first (may be empty)
    source: dict[str, Any] = field(default_factory=dict)  # what came from keywords vs LLM

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def analyse_cv(
    cv_text: str,
    llm: JsonLLM | None,
    *,
    max_tokens: int = 120,
    today: date | None = None,
) -> CvAnalysis:
    """Analyse a CV. Blocking. Never raises because of the LLM: it falls back instead.

    ``today`` anchors "present" in date ranges (default: the current date).
    """
    text = cv_text.replace("\r\n", "\n").replace("\r", "\n").strip()
    skills = extract_skills(text)
    mentions = skill_mentions(text)
    years = extract_years(text, today=today)
    roles = guess_roles(text, skills)
    source: dict[str, Any] = {
        "skills": "keywords",
        "experience_years": "keywords" if years is not None else "not found",
        "roles": "keywords",
        "summary": "extractive",
        "llm": "not used",
        "llm_skills": [],
        "prompt_version": PROMPT_VERSION,
    }

    summary: str | None = None
    if llm is not None and text:
        started = time.monotonic()
        try:
            raw = llm.complete_json(
                _SYSTEM, _user_prompt(text, roles, years, mentions), _SCHEMA, max_tokens=max_tokens
            )
        except LLMError as e:
            log.warning("cv analysis: LLM failed, using the extractive summary: %s", e)
            source["llm"] = "error"
            source["llm_error"] = str(e)
        else:
            source["llm"] = "ok"
            summary = clean_llm_summary(raw.get("summary"), text, years)
            if summary is None:
                source["llm"] = "summary rejected"
            else:
                source["summary"] = "llm"
            extra = verified_llm_skills(raw.get("skills"), text, skills)
            if extra:
                source["skills"] = "keywords+llm"
                source["llm_skills"] = extra
                for name in extra:
                    for implied in implied_closure(name):
                        if implied not in skills:
                            skills.append(implied)
        source["llm_ms"] = round((time.monotonic() - started) * 1000.0, 1)

    if summary is None:
        summary = extractive_summary(text, mentions, years, roles)
    return CvAnalysis(
        skills=skills, experience_years=years, summary=summary, roles=roles, source=source
    )


# ---------------------------------------------------------------------------------------
# Prompt
# ---------------------------------------------------------------------------------------


def _excerpt(text: str, limit: int = LLM_CV_CHARS) -> str:
    """The start of the CV, cut at a line break, blank runs squeezed."""
    squeezed = re.sub(r"\n\s*\n+", "\n", text)
    if len(squeezed) <= limit:
        return squeezed
    cut = squeezed.rfind("\n", 0, limit)
    return squeezed[: cut if cut > limit // 2 else limit]


def _years_phrase(years: float) -> str:
    if years < 1:
        return "less than a year"
    value = round(years * 2) / 2
    return "1 year" if value == 1 else f"{value:g} years"


_MANAGEMENT_ROLES = frozenset({"engineering manager", "product manager"})


def _top_skills(mentions: dict[str, int], k: int = 3, *, soft_first: bool = False) -> list[str]:
    """Most-mentioned direct skills: specific technical ones first (soft ones first for a
    management role), then broad ones; ties by first mention."""
    order = {name: i for i, name in enumerate(mentions)}

    def key(name: str) -> tuple[int, int, int]:
        if is_technical(name):
            group = (2 if soft_first else 0) + (1 if name in GENERIC_SKILLS else 0)
        else:
            group = 0 if soft_first else 2
        return (group, -mentions[name], order[name])

    return sorted(mentions, key=key)[:k]


def _user_prompt(text: str, roles: list[str], years: float | None, mentions: dict[str, int]) -> str:
    facts = []
    if roles:
        facts.append(f"role: {roles[0]}")
    if years is not None:
        facts.append(f"experience: {_years_phrase(years)}")
    top = _top_skills(mentions, 5, soft_first=bool(roles) and roles[0] in _MANAGEMENT_ROLES)
    if top:
        facts.append("skills: " + ", ".join(display_name(s) for s in top))
    facts_line = "; ".join(facts) if facts else "none"
    return (
        f"CV:\n{_excerpt(text)}\n\n"
        f"Facts found in the CV: {facts_line}.\n"
        'Reply with JSON. "summary": one or two complete sentences, for example '
        '"<name> is a <role> with <experience> of experience in <skills>. <main '
        'achievement>." "skills": up to five skills named in the CV.'
    )


# ---------------------------------------------------------------------------------------
# Checking what the LLM said
# ---------------------------------------------------------------------------------------

_WORD = re.compile(r"[a-z][a-z0-9+#]*(?:[.\-'][a-z0-9+#]+)*")
_NUMBER = re.compile(r"\d+(?:\.\d+)?")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
# Common words that carry no claim, and words any CV summary may use without the CV
# containing them.
_NEUTRAL = frozenset(
    {
        "about",
        "above",
        "after",
        "also",
        "among",
        "around",
        "been",
        "before",
        "being",
        "both",
        "from",
        "have",
        "having",
        "into",
        "just",
        "more",
        "most",
        "much",
        "must",
        "only",
        "other",
        "over",
        "same",
        "some",
        "such",
        "than",
        "that",
        "their",
        "them",
        "then",
        "there",
        "these",
        "they",
        "this",
        "those",
        "through",
        "under",
        "very",
        "what",
        "when",
        "where",
        "which",
        "while",
        "will",
        "with",
        "within",
        "would",
        "your",
        "candidate",
        "candidates",
        "person",
        "someone",
        "experience",
        "experienced",
        "years",
        "year",
        "strong",
        "solid",
        "skilled",
        "skills",
        "skill",
        "background",
        "professional",
        "including",
        "include",
        "includes",
        "focus",
        "focused",
        "focuses",
        "expertise",
        "knowledge",
        "currently",
        "works",
        "worked",
        "working",
        "work",
        "based",
        "various",
        "several",
        "many",
        "range",
        "wide",
        "well",
        "good",
        "great",
        "hers",
        "whose",
        "whom",
    }
)


def _content_words(sentence: str) -> list[str]:
    return [w for w in _WORD.findall(sentence.lower()) if len(w) >= 4 and w not in _NEUTRAL]


def _stem(word: str) -> str:
    return word[:5] if len(word) >= 5 else word


def _vocabulary(text: str) -> tuple[set[str], set[str]]:
    words = set(_WORD.findall(text.lower()))
    for piece in list(words):
        words.update(p for p in re.split(r"[.\-']", piece) if p)
    stems = {_stem(w) for w in words} | {w[:4] for w in words if len(w) >= 4}
    return words, stems


def _grounded_ratio(sentence: str, words: set[str], stems: set[str]) -> float:
    content = _content_words(sentence)
    if not content:
        return 0.0
    hits = 0
    for w in content:
        parts = [p for p in re.split(r"[.\-']", w) if p]
        if w in words or _stem(w) in stems or all(p in words or _stem(p) in stems for p in parts):
            hits += 1
    return hits / len(content)


_CLAUSE_BREAK = re.compile(r",\s|;\s|\s(?:and|with|who|which|while|including|but)\s")
_MIN_SALVAGED_WORDS = 8
_PRONOUN_START = re.compile(r"(?:he|she|they|his|her|their|it|this)\b", re.IGNORECASE)


def _norm_token(word: str) -> str:
    return word.lower().strip(".,;:!?\"'()[]")


def _first_repeat(tokens: list[str], seen: set[tuple[str, ...]]) -> int | None:
    """Index of the first token that starts a word 3-gram already used (here or in a kept
    sentence), or None."""
    local = set(seen)
    for i in range(len(tokens) - 2):
        gram = (tokens[i], tokens[i + 1], tokens[i + 2])
        if gram in local:
            return i
        local.add(gram)
    return None


def _salvage(words: list[str]) -> str | None:
    """The leading clauses of a sentence that went wrong (repeats itself, or was cut off by
    the token cap): up to the last clause break, closed with a period."""
    prefix = " ".join(words)
    breaks = [m.start() for m in _CLAUSE_BREAK.finditer(prefix)]
    if not breaks:
        return None
    head = prefix[: breaks[-1]].rstrip(" ,;:-")
    if len(head.split()) < _MIN_SALVAGED_WORDS:
        return None
    return head + "."


def _acceptable(sentence: str, words: set[str], stems: set[str], numbers: set[str]) -> bool:
    tokens = sentence.split()
    if not 5 <= len(tokens) <= 45:
        return False
    if ":" in sentence or ";" in sentence or sentence.count(",") * 4 > len(tokens):
        return False  # a list of facts, not a sentence
    letters = sum(c.isalpha() for c in sentence)
    if letters < 0.7 * len(sentence.replace(" ", "")):
        return False
    if any(n not in numbers for n in _NUMBER.findall(sentence)):
        return False
    return len(_content_words(sentence)) >= 2 and _grounded_ratio(sentence, words, stems) >= 0.8


def clean_llm_summary(value: object, cv_text: str, years: float | None) -> str | None:
    """The checked summary (at most two sentences), or None when nothing usable remains.

    Each sentence must be complete, non-repetitive, use only numbers found in the CV (or
    the computed years) and mostly words found in the CV. A sentence that starts well but
    then repeats itself or is cut off keeps its leading clauses when they still make a
    sentence of at least eight words.
    """
    if not isinstance(value, str):
        return None
    text = " ".join(value.split())
    if not text:
        return None
    words, stems = _vocabulary(cv_text)
    numbers = set(_NUMBER.findall(cv_text))
    if years is not None:
        numbers |= {f"{years:g}", f"{round(years):d}", f"{round(years * 2) / 2:g}"}
    kept: list[str] = []
    seen: set[tuple[str, ...]] = set()
    for raw in _SENTENCE_END.split(text):
        sentence = raw.strip()
        complete = sentence.endswith((".", "!", "?"))
        tokens = sentence.split()
        repeat = _first_repeat([_norm_token(t) for t in tokens], seen)
        if repeat is not None or not complete:
            salvaged = _salvage(tokens if repeat is None else tokens[:repeat])
            if salvaged is None:
                if not complete:
                    break
                continue
            sentence = salvaged
        if not kept and _PRONOUN_START.match(sentence):
            pass  # "He has..." with nobody named before it
        elif _acceptable(sentence, words, stems, numbers):
            kept.append(sentence)
            normed = [_norm_token(t) for t in sentence.split()]
            seen.update(zip(normed, normed[1:], normed[2:], strict=False))
        if not complete or len(kept) == 2:
            break
    if not kept:
        return None
    summary = " ".join(kept)
    return summary if len(summary) <= MAX_SUMMARY_CHARS else kept[0][:MAX_SUMMARY_CHARS]


def verified_llm_skills(value: object, cv_text: str, known: list[str]) -> list[str]:
    """LLM skills that are canonical, named in the CV, and not already found."""
    if not isinstance(value, list):
        return []
    lowered = cv_text.lower()
    direct = set(skill_mentions(cv_text))
    extra: list[str] = []
    for item in value:
        if not isinstance(item, str) or not item.strip():
            continue
        name = canonical_skill(item)
        if name is None or name in known or name in extra:
            continue
        if name in direct:
            extra.append(name)
            continue
        if name in AMBIGUOUS_NAMES or SKILLS[name].exact:
            continue  # "Go", "REST", "Spark"...: only the keyword rules may decide
        for term in {item.strip().lower(), name, SKILLS[name].display.lower()}:
            if re.search(r"(?<![\w+#])" + re.escape(term) + r"(?![\w+#])", lowered):
                extra.append(name)
                break
    return extra


# ---------------------------------------------------------------------------------------
# Role guess and extractive summary
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


_CONTACT = re.compile(r"@|https?://|www\.|\+?\d[\d\s()-]{7,}\d|linkedin|github\.com")


def _opening_sentence(text: str) -> str | None:
    """The CV's first prose sentence (a profile line), or None."""
    lines = text.splitlines()
    for i, line in enumerate(lines[:60]):
        stripped = line.strip().lstrip("•*-– ").strip()
        if len(stripped.split()) < 8 or _CONTACT.search(stripped):
            continue
        # A profile paragraph may wrap over several lines: join until a sentence ends.
        paragraph = stripped
        for nxt in lines[i + 1 : i + 6]:
            if re.search(r"[.!?](\s|$)", paragraph) or not nxt.strip():
                break
            paragraph += " " + nxt.strip()
        sentence = re.split(r"(?<=[.!?])\s", paragraph, maxsplit=1)[0].strip()
        if len(sentence) > 220:
            sentence = sentence[:220].rsplit(" ", 1)[0] + "…"
        if not sentence.endswith((".", "!", "?", "…")):
            sentence += "."
        return sentence
    return None


_YEARS_CLAIM = re.compile(r"\b\d{1,2}(?:\.\d)?\+?\s*(?:years?|yrs?)\b", re.IGNORECASE)


def _join_names(names: list[str]) -> str:
    if len(names) <= 1:
        return "".join(names)
    return ", ".join(names[:-1]) + " and " + names[-1]


def extractive_summary(
    text: str, mentions: dict[str, int], years: float | None, roles: list[str]
) -> str:
    """A deterministic summary from the keyword facts plus the CV's opening sentence."""
    head = roles[0].capitalize() if roles else "Candidate"
    soft_first = bool(roles) and roles[0] in _MANAGEMENT_ROLES
    top = [display_name(s) for s in _top_skills(mentions, soft_first=soft_first)]
    opening = _opening_sentence(text)
    if opening and _YEARS_CLAIM.search(opening):
        # The CV's own profile line already says who and how long: add the skills only.
        return opening + (f" Main skills: {_join_names(top)}." if top else "")
    if years is not None and top:
        first = f"{head} with {_years_phrase(years)} of experience in {_join_names(top)}."
    elif years is not None:
        first = f"{head} with {_years_phrase(years)} of experience."
    elif top:
        first = f"{head} with experience in {_join_names(top)}."
    elif roles:
        first = f"{head}."
    else:
        first = ""
    summary = f"{first} {opening}".strip() if opening else first
    return summary or "No recognisable skills or work history in the CV text."
