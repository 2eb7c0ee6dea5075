"""Agreement of 0-100 scores with 1-5 labels: banding and quadratic weighted kappa."""

from __future__ import annotations

import math
from collections.abc import Sequence

# The 1-5 grade each label stands for (dev.jsonl labels; the graded labels of issue 12).
LABEL_GRADE: dict[str, int] = {
    "excellent": 5, "strong": 5, "good": 4, "partial": 3, "poor": 2,
    "off_topic": 1, "non_answer": 1, "adversarial": 1,
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
