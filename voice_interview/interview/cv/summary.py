"""The CV summary: the LLM's summary checked against the CV, and the extractive summary
used when nothing of it survives.

:func:`clean_llm_summary` keeps the LLM summary sentence by sentence: a sentence survives
only if it is complete, not repetitive, its numbers appear in the CV (or are the computed
years), and most of its content words appear in the CV (compared by the CV tokenizer and
prefix stem of :mod:`voice_interview.text.normalize`). :func:`extractive_summary` builds a
deterministic one from the keyword facts and the CV's own opening line.
"""

from __future__ import annotations

import re

from voice_interview.interview.cv.skills import GENERIC_SKILLS, display_name, is_technical
from voice_interview.text.normalize import bare_token, cv_words, prefix_stem, word_parts

MAX_SUMMARY_CHARS = 320

MANAGEMENT_ROLES = frozenset({"engineering manager", "product manager"})
"""Roles for which soft skills come before technical ones in summaries and prompts."""


def years_phrase(years: float) -> str:
    """How a summary says a number of years: "less than a year", "1 year", "6.5 years"."""
    if years < 1:
        return "less than a year"
    value = round(years * 2) / 2
    return "1 year" if value == 1 else f"{value:g} years"


def top_skills(mentions: dict[str, int], k: int = 3, *, soft_first: bool = False) -> list[str]:
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


# ---------------------------------------------------------------------------------------
# Checking what the LLM said
# ---------------------------------------------------------------------------------------

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
    return [w for w in cv_words(sentence) if len(w) >= 4 and w not in _NEUTRAL]


def _vocabulary(text: str) -> tuple[set[str], set[str]]:
    words = set(cv_words(text))
    for piece in list(words):
        words.update(word_parts(piece))
    stems = {prefix_stem(w) for w in words} | {prefix_stem(w, 4) for w in words if len(w) >= 4}
    return words, stems


def _grounded_ratio(sentence: str, words: set[str], stems: set[str]) -> float:
    content = _content_words(sentence)
    if not content:
        return 0.0
    hits = 0
    for w in content:
        parts = word_parts(w)
        if w in words or prefix_stem(w) in stems or all(
            p in words or prefix_stem(p) in stems for p in parts
        ):
            hits += 1
    return hits / len(content)


_CLAUSE_BREAK = re.compile(r",\s|;\s|\s(?:and|with|who|which|while|including|but)\s")
_MIN_SALVAGED_WORDS = 8
_PRONOUN_START = re.compile(r"(?:he|she|they|his|her|their|it|this)\b", re.IGNORECASE)


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
        repeat = _first_repeat([bare_token(t) for t in tokens], seen)
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
            normed = [bare_token(t) for t in sentence.split()]
            seen.update(zip(normed, normed[1:], normed[2:], strict=False))
        if not complete or len(kept) == 2:
            break
    if not kept:
        return None
    summary = " ".join(kept)
    return summary if len(summary) <= MAX_SUMMARY_CHARS else kept[0][:MAX_SUMMARY_CHARS]



# ---------------------------------------------------------------------------------------
# Extractive summary
# ---------------------------------------------------------------------------------------

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
    soft_first = bool(roles) and roles[0] in MANAGEMENT_ROLES
    top = [display_name(s) for s in top_skills(mentions, soft_first=soft_first)]
    opening = _opening_sentence(text)
    if opening and _YEARS_CLAIM.search(opening):
        # The CV's own profile line already says who and how long: add the skills only.
        return opening + (f" Main skills: {_join_names(top)}." if top else "")
    if years is not None and top:
        first = f"{head} with {years_phrase(years)} of experience in {_join_names(top)}."
    elif years is not None:
        first = f"{head} with {years_phrase(years)} of experience."
    elif top:
        first = f"{head} with experience in {_join_names(top)}."
    elif roles:
        first = f"{head}."
    else:
        first = ""
    summary = f"{first} {opening}".strip() if opening else first
    return summary or "No recognisable skills or work history in the CV text."
