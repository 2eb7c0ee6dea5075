"""Difficulty-weighted overall score. Pure."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from voice_interview.domain.types import Difficulty


@dataclass(frozen=True)
class ScoredAnswer:
    difficulty: Difficulty
    score: float | None  # None: not assessed (insufficient data, failed, unanswered)


@dataclass(frozen=True)
class OverallScore:
    score: float | None
    assessed: int
    not_assessed: int

    @property
    def note(self) -> str:
        if self.assessed == 0 and self.not_assessed == 0:
            return "no answers yet"
        if self.not_assessed == 0:
            return f"all {self.assessed} answers assessed"
        return (
            f"{self.not_assessed} of {self.assessed + self.not_assessed} answers were not "
            "assessed and are left out of the overall score"
        )


def overall_score(answers: Iterable[ScoredAnswer]) -> OverallScore:
    """Weighted mean of assessed scores, harder questions weighing more.

    Answers without a score are left out rather than counted as zero: a missing
    assessment is not evidence of a poor answer, and the report says how many.
    """
    total = 0.0
    weights = 0.0
    assessed = skipped = 0
    for answer in answers:
        if answer.score is None:
            skipped += 1
            continue
        weight = answer.difficulty.weight
        total += weight * max(0.0, min(100.0, answer.score))
        weights += weight
        assessed += 1
    if weights == 0:
        return OverallScore(None, 0, skipped)
    return OverallScore(round(total / weights, 1), assessed, skipped)
