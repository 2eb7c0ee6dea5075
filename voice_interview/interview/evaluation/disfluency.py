"""Fillers and false starts removed before scoring, so a spoken answer scores like the
same answer typed: "um", "uh", "erm", "you know", a parenthetical "like", and a word
said twice in a row ("which, which"). Only the scoring text changes; the stored
transcript is untouched."""

from __future__ import annotations

import re

_FILLERS = re.compile(
    r",?\s*\b(?:um+|uh+|erm+|uhm|hmm+|you know|i mean)\b,?|,\s*like,",
    re.IGNORECASE,
)
_REPEAT = re.compile(r"\b(\w+)(?:,?\s+\1\b)+", re.IGNORECASE)


def strip_disfluencies(text: str) -> str:
    out = _FILLERS.sub(" ", text)
    out = _REPEAT.sub(r"\1", out)
    out = re.sub(r"\s+([,.;:!?])", r"\1", out)
    out = re.sub(r"^[,\s]+", "", out)
    return " ".join(out.split())
