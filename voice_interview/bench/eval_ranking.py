"""What the eval-bench ranks: which label pairs must be ordered by score, counting how
many are, and Spearman's rank correlation."""

from __future__ import annotations

import math
from collections.abc import Sequence

_BOTTOM = ("off_topic", "non_answer", "adversarial")
ORDERED_PAIRS: tuple[tuple[str, str], ...] = tuple(
    dict.fromkeys(
        (
            ("strong", "partial"),
            ("strong", "poor"),
            ("partial", "poor"),
            ("strong", "off_topic"),
            ("partial", "off_topic"),
            ("excellent", "good"),
            ("excellent", "partial"),
            ("good", "partial"),
            ("excellent", "poor"),
            ("good", "poor"),
            *(
                (hi, lo)
                for hi in ("excellent", "good", "partial", "poor")
                for lo in _BOTTOM
                if (hi, lo) != ("poor", "off_topic")
            ),
        )
    )
)  # (poor and off_topic are not compared: dev.jsonl's "poor" is often off the mark too)
# A graded set's poor answer is a wrong attempt at the question (grade 2), so it must
# beat an answer to another question (grade 1).
GRADED_PAIRS: tuple[tuple[str, str], ...] = (*ORDERED_PAIRS, ("poor", "off_topic"))
# Graded sets rank partial against the two strong grades; dev-style sets against "strong".
STRONG_VS_PARTIAL = ("strong>partial", "excellent>partial", "good>partial")
# What "bottom below partial" checks: the answers that say nothing about the question.
NOT_AN_ANSWER = ("off_topic", "non_answer")


def _ranks(values: Sequence[float]) -> list[float]:
    """1-based ranks with ties given their average rank."""
    order = sorted(range(len(values)), key=lambda i: values[i])
    ranks = [0.0] * len(values)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        for k in range(i, j + 1):
            ranks[order[k]] = (i + j) / 2.0 + 1.0
        i = j + 1
    return ranks


def spearman(xs: Sequence[float], ys: Sequence[float]) -> float:
    """Spearman rank correlation (Pearson on average ranks); nan when undefined."""
    if len(xs) != len(ys) or len(xs) < 2:
        return math.nan
    rx, ry = _ranks(xs), _ranks(ys)
    mx, my = sum(rx) / len(rx), sum(ry) / len(ry)
    cov = sum((a - mx) * (b - my) for a, b in zip(rx, ry, strict=True))
    vx = sum((a - mx) ** 2 for a in rx)
    vy = sum((b - my) ** 2 for b in ry)
    if vx == 0 or vy == 0:
        return math.nan
    return cov / math.sqrt(vx * vy)


def pair_stats(
    scored: Sequence[tuple[str, float]],
    pairs: Sequence[tuple[str, str]] = ORDERED_PAIRS,
) -> tuple[dict[str, list[int]], list[tuple[int, int]]]:
    """Per pair kind [correct, total] over ``pairs``, and the mis-ordered pairs as
    (index of the higher label, index of the lower label)."""
    by_kind: dict[str, list[int]] = {f"{a}>{b}": [0, 0] for a, b in pairs}
    errors: list[tuple[int, int]] = []
    for hi, lo in pairs:
        for i, (la, sa) in enumerate(scored):
            if la != hi:
                continue
            for j, (lb, sb) in enumerate(scored):
                if lb != lo:
                    continue
                cell = by_kind[f"{hi}>{lo}"]
                cell[1] += 1
                if sa > sb:
                    cell[0] += 1
                else:
                    errors.append((i, j))
    return by_kind, errors
