"""Strengths and weaknesses as evidence: each one cites a quote from the answer.

A strength cites the quote that earned it, a contradicted key point the contradicting
quote, a red flag the sentence it is in; a missing key point has nothing to quote and says
"not mentioned". ``details["evidence"]`` holds them as data, each quote with the time it
was said in the stored answer audio when the answer was spoken (from the word timestamps).
All of it is written in code, never by the LLM, so every claim points at what was said.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from voice_interview.interview.evaluation.rubric import (
    KeyPointMatch,
    RubricAssessment,
    split_sentences,
)
from voice_interview.interview.evaluation.speech_metrics import SpokenWord, locate_quote


@dataclass(frozen=True)
class Evidence:
    """One strength or weakness as data: what it says and the quote it rests on."""

    kind: Literal["strength", "weakness"]
    text: str  # the sentence shown in strengths / weaknesses
    quote: str | None  # from the answer; None when there is nothing to quote
    note: str | None = None  # e.g. "not mentioned"
    key_point: str | None = None
    status: str | None = None  # covered | partial | missing | contradicted | red_flag

    def to_dict(self, spoken: Sequence[SpokenWord]) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "text": self.text,
            "key_point": self.key_point,
            "status": self.status,
            "quote": self.quote,
            "note": self.note,
            **clip_times(self.quote, spoken),
        }


def clip_times(quote: str | None, spoken: Sequence[SpokenWord]) -> dict[str, float | None]:
    """Where a quote was said in the answer's audio (None for typed answers or no match)."""
    at = locate_quote(quote, spoken) if quote else None
    return {"start_s": at[0] if at else None, "end_s": at[1] if at else None}


def match_detail(m: KeyPointMatch, spoken: Sequence[SpokenWord] = ()) -> dict[str, Any]:
    """One key point's rubric match as ``details["coverage"]`` stores it, with clip times."""
    return {
        "key_point": m.key_point,
        "status": m.status,
        "quote": m.quote,
        "similarity": m.similarity,
        "cosine": m.cosine,
        "lexical": m.lexical,
        "credit": m.credit,
        "contradiction": m.contradiction,
        **clip_times(m.quote, spoken),
    }


def shorten(text: str, limit: int = 140) -> str:
    """A quote on one line, cut to ``limit`` characters with an ellipsis."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def build_evidence(a: RubricAssessment, answer: str) -> list[Evidence]:
    """Strengths and weaknesses, each with the quote it rests on."""
    items: list[Evidence] = []
    for m in a.matches:
        kp = m.key_point
        if m.contradiction is not None:
            items.append(Evidence(
                "weakness",
                f"Contradicts a key point ({kp}): \u201c{shorten(m.quote)}\u201d",
                m.quote, key_point=kp, status="contradicted",
            ))
        elif m.status == "covered":
            items.append(Evidence(
                "strength", f"{kp}: \u201c{shorten(m.quote)}\u201d", m.quote,
                key_point=kp, status="covered",
            ))
        elif m.status == "partial":
            items.append(Evidence(
                "strength", f"Partly covered: {kp}: \u201c{shorten(m.quote)}\u201d",
                m.quote, key_point=kp, status="partial",
            ))
            items.append(Evidence(
                "weakness", f"Only partly covered: {kp}: \u201c{shorten(m.quote)}\u201d",
                m.quote, key_point=kp, status="partial",
            ))
        else:
            items.append(Evidence(
                "weakness", f"Missing: {kp} (not mentioned)", None,
                note="not mentioned", key_point=kp, status="missing",
            ))
    s = a.signals
    flags: list[tuple[str, list[str]]] = []
    if s.deflections:
        cues = _unique(s.deflections)[:2]
        flags.append((
            "Stepped around the question ("
            + ", ".join(f"\u201c{d}\u201d" for d in cues) + ")", cues,
        ))
    if s.overclaims:
        cues = _unique(s.overclaims)[:3]
        flags.append((
            "Sweeping claims that need qualifying: "
            + ", ".join(f"\u201c{c}\u201d" for c in cues), cues,
        ))
    if s.dismissive:
        cues = _unique(s.dismissive)[:3]
        flags.append((
            "Dismissive or risky stance: "
            + ", ".join(f"\u201c{c}\u201d" for c in cues), cues,
        ))
    if s.vagueness >= 0.5:
        cues = _unique([*s.hedges, *s.vague])[:3]
        text = "Vague or hedged wording; few concrete details"
        if cues:
            text += " (" + ", ".join(f"\u201c{c}\u201d" for c in cues) + ")"
        flags.append((text, cues))
    for text, cues in flags:
        quote = _context_quote(answer, cues[0]) if cues else None
        note = None if quote else "throughout the answer"
        items.append(Evidence("weakness", text, quote, note=note, status="red_flag"))
    return items


def _unique(items: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(i.lower() for i in items))


_CONTEXT_WORDS = 30  # a red flag's quote: its sentence, or this many words around it


def _context_quote(answer: str, cue: str) -> str | None:
    """The sentence of ``answer`` in which ``cue`` first occurs (a window of words around
    it when the sentence runs long), or None if the cue is not in the answer."""
    found = re.search(re.escape(cue), answer, re.IGNORECASE)
    if found is None:
        return None
    for a, b in split_sentences(answer):
        if a <= found.start() < b:
            sentence = answer[a:b].strip()
            break
    else:
        sentence = answer
    if len(sentence.split()) <= _CONTEXT_WORDS:
        return sentence
    before = answer[: found.start()].split()[-(_CONTEXT_WORDS // 2):]
    after = answer[found.start():].split()[: _CONTEXT_WORDS // 2]
    return " ".join([*before, *after])
