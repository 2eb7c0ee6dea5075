"""Difficulty-weighted overall score. Pure."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from voice_interview.domain.types import Difficulty


@dataclass(frozen=True)
class ScoredAnswer:
    difficulty: Difficulty
    score: float | None  # None: not assessed (could not hear it, or the evaluation failed)
    non_answer: bool = False  # "I don't know", "pass", silence after the reprompt: scored 0


@dataclass(frozen=True)
class OverallScore:
    score: float | None
    assessed: int
    not_assessed: int
    non_answers: int = 0  # counted in ``assessed``, at 0 points each

    @property
    def note(self) -> str:
        if self.assessed == 0 and self.not_assessed == 0:
            return "no answers yet"
        skipped = (
            f"; {self.non_answers} non-answer{'s' if self.non_answers != 1 else ''} "
            "(skipped or \"I don't know\") counted as 0"
            if self.non_answers
            else ""
        )
        if self.not_assessed == 0:
            return f"all {self.assessed} answers assessed{skipped}"
        return (
            f"{self.not_assessed} of {self.assessed + self.not_assessed} answers could not "
            f"be heard, were not assessed and are left out of the overall score{skipped}"
        )


def overall_score(answers: Iterable[ScoredAnswer]) -> OverallScore:
    """Weighted mean of assessed scores, harder questions weighing more.

    Answers that could not be heard (no score) are left out rather than counted as
    zero: a mic failure is not evidence of a poor answer, and the report says how many.
    A non-answer is an answer: it counts at 0, so skipping never raises the overall.
    """
    total = 0.0
    weights = 0.0
    assessed = skipped = non_answers = 0
    for answer in answers:
        if answer.score is None:
            skipped += 1
            continue
        if answer.non_answer:
            non_answers += 1
        weight = answer.difficulty.weight
        total += weight * max(0.0, min(100.0, answer.score))
        weights += weight
        assessed += 1
    if weights == 0:
        return OverallScore(None, 0, skipped)
    return OverallScore(round(total / weights, 1), assessed, skipped, non_answers)
