"""The rubric's version, its scoring thresholds, and the rounding that keeps them stable.

Deterministic: similarities are rounded to 4 decimals before any threshold, so float noise
from batching cannot flip a label.
"""

from __future__ import annotations

RUBRIC_VERSION = "rubric-2025.1"

# combined = cosine + LEXICAL_WEIGHT * lexical (cosine of MiniLM is ~0.1 for unrelated text,
# 0.5-0.6 for a loose paraphrase, 0.7+ for a close one).
LEXICAL_WEIGHT = 0.25
CREDIT_LOW = 0.38  # combined score where credit starts
CREDIT_HIGH = 0.72  # combined score for full credit
COVERED_AT = 0.62
PARTIAL_AT = 0.46
# Without embeddings, the lexical overlap alone decides.
LEX_CREDIT_LOW = 0.15
LEX_CREDIT_HIGH = 0.6
LEX_COVERED_AT = 0.5
LEX_PARTIAL_AT = 0.3


def _round(x: float) -> float:
    return round(float(x), 4)
