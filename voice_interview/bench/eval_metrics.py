"""Agreement of 0-100 scores with 1-5 labels: banding, quadratic weighted kappa, label
categories and the bottom-below-partial check."""

from __future__ import annotations

import math
from collections.abc import Collection, Sequence

# The 1-5 grade each label stands for (dev.jsonl labels; the graded labels of issue 12).
LABEL_GRADE: dict[str, int] = {
    "excellent": 5,
    "strong": 5,
    "good": 4,
    "partial": 3,
    "poor": 2,
    "off_topic": 1,
    "non_answer": 1,
    "adversarial": 1,
}
# 0-100 -> 1-5: under 20 is a non-answer / off-topic, then 20-point bands.
BAND_EDGES = (20.0, 40.0, 60.0, 80.0)


def band(score: float | None) -> int:
    """The 1-5 band of a 0-100 score; not assessed (None) counts as 1."""
    if score is None:
        return 1
    return 1 + sum(1 for edge in BAND_EDGES if score >= edge)


def quadratic_weighted_kappa(a: Sequence[int], b: Sequence[int], k: int = 5) -> float:
    """Cohen's kappa with quadratic weights for ratings 1..k; nan when undefined."""
    if len(a) != len(b) or not a:
        return math.nan
    n = len(a)
    observed = [[0.0] * k for _ in range(k)]
    for x, y in zip(a, b, strict=True):
        observed[x - 1][y - 1] += 1
    ha = [sum(row) for row in observed]
    hb = [sum(observed[i][j] for i in range(k)) for j in range(k)]
    num = den = 0.0
    for i in range(k):
        for j in range(k):
            w = (i - j) ** 2 / (k - 1) ** 2
            num += w * observed[i][j]
            den += w * ha[i] * hb[j] / n
    return math.nan if den == 0 else 1.0 - num / den


# What each label counts as in the ranking metrics: the two strong grades of a graded set
# are the strong side, and the three kinds of non-answer share the bottom.
LABEL_CATEGORY: dict[str, str] = {
    "strong": "strong",
    "excellent": "strong",
    "good": "strong",
    "partial": "partial",
    "poor": "poor",
    "off_topic": "bottom",
    "non_answer": "bottom",
    "adversarial": "bottom",
}
# Labels that only a graded (1-5) set uses; one of them marks a question as graded.
GRADED_ONLY = frozenset({"excellent", "good", "non_answer", "adversarial"})


def below_partial_failures(
    labels: Sequence[str], scores: Sequence[float], bottom: Collection[str]
) -> list[int] | None:
    """Indices of the answers labelled in ``bottom`` that are not strictly below every
    ``partial`` answer of the same question; None when the question has no partial answer
    or no answer labelled in ``bottom`` (nothing to check)."""
    if len(labels) != len(scores):
        raise ValueError("labels and scores differ in length")
    partial = [s for lab, s in zip(labels, scores, strict=True) if lab == "partial"]
    low = [i for i, lab in enumerate(labels) if lab in bottom]
    if not partial or not low:
        return None
    floor = min(partial)
    return [i for i in low if scores[i] >= floor]
