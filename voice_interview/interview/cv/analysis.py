"""CV analysis: skills, years of experience, role guess and a short summary from CV text.

The keyword pass (:mod:`.skills`, :mod:`.experience`, :mod:`.roles`) always runs and is the
ground truth for skills, years and roles. The local LLM, when there is one, is asked under
a small JSON schema for a one-to-two-sentence summary and a few skills. Small local models
invent things, so its output is checked before it is used:

* an LLM skill is kept only if it maps into the canonical vocabulary and the CV text
  names it (ambiguous names such as "Go" or "REST" must pass the keyword rules);
* the summary is kept sentence by sentence (:mod:`.summary`): a sentence survives only
  if it is complete, not repetitive, its numbers appear in the CV (or are the computed
  years), and most of its content words appear in the CV. When nothing survives, or the
  LLM fails, the summary is built from the keyword facts and the CV's own opening line.

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
from voice_interview.interview.cv.experience import extract_years
from voice_interview.interview.cv.roles import guess_roles
from voice_interview.interview.cv.skills import (
    AMBIGUOUS_NAMES,
    SKILLS,
    canonical_skill,
    display_name,
    extract_skills,
    implied_closure,
    skill_mentions,
)
from voice_interview.interview.cv.summary import (
    MANAGEMENT_ROLES,
    clean_llm_summary,
    extractive_summary,
    top_skills,
    years_phrase,
)

log = logging.getLogger(__name__)

PROMPT_VERSION = "cv-summary-v1"
LLM_CV_CHARS = 2000  # the part of the CV the model sees (its context is 2048 tokens)

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


def _user_prompt(text: str, roles: list[str], years: float | None, mentions: dict[str, int]) -> str:
    facts = []
    if roles:
        facts.append(f"role: {roles[0]}")
    if years is not None:
        facts.append(f"experience: {years_phrase(years)}")
    top = top_skills(mentions, 5, soft_first=bool(roles) and roles[0] in MANAGEMENT_ROLES)
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
# Checking the LLM's skills
# ---------------------------------------------------------------------------------------


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
