"""Scores as values. Pure: plain numbers in, plain numbers out.

The content score of one answer (``content_score``), per question type t::

    x = SCALE[t] * 100 * (w_cov * coverage + w_spec * min(1, specificity / 0.7)
                          + w_rel * soft(relevance, 0.2, 0.45)) - penalties
    score = max(0, x)                                    when x <= 90
    score = 90 + 10 * (1 - exp(-(x - 90) / 10))          above: approaches 100, never ties

with (w_cov, w_spec, w_rel) = (0.65, 0.22, 0.13) for technical and situational questions
and (0.45, 0.42, 0.13) for behavioural ones, SCALE 1.0 / 1.25 / 1.4, and penalties of 4
points per sweeping claim, 7 per dismissive stance, 5 per contradicted key point (each at
most three times) and 15 for deflecting. The inputs are the rubric's measurements
(``interview.evaluation.rubric``); the evaluator reads them off its assessment. With a
check model (VI_CHECK_MODEL), the score after the caps then loses 75 points per unit its
P(correct) falls short of 0.88 (``after_check``).

The overall score of an interview (``overall_score``) is the difficulty-weighted mean of
the assessed answers' scores.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from voice_interview.domain.types import Difficulty

# Sub-score weights per question type (each row sums to 1). Behavioural key points are
# descriptors ("States the result"), which vague answers echo better than concrete stories
# do, so there the concrete detail of the answer weighs more than the rubric match.
CONTENT_WEIGHTS: dict[str, tuple[float, float, float]] = {
    # (coverage, specificity, relevance)
    "technical": (0.65, 0.22, 0.13),
    "situational": (0.65, 0.22, 0.13),
    "behavioral": (0.45, 0.42, 0.13),
}
# Calibration: behavioural and situational key points are abstract, so even strong answers
# match them less closely than technical ones; these stretch the weighted sum so a strong
# answer lands near 75-90 for every question type. Monotone, so rankings do not change.
CONTENT_SCALE: dict[str, float] = {"technical": 1.0, "situational": 1.25, "behavioral": 1.4}
SPECIFICITY_FULL = 0.7  # specificity signal that earns the full specificity sub-score
# Above KNEE the score bends towards 100 instead of being clipped there: the scale stretches
# strong situational and behavioural answers past 100, and a clip made them tie (a tie ranks
# neither answer above the other).
KNEE = 90.0
RELEVANCE_LOW = 0.2  # topicality (see rubric) with no relevance credit
RELEVANCE_HIGH = 0.45  # ... and with full credit
# Penalties, in points of the 0-100 score. (Vague filler has no penalty of its own: it
# already dilutes specificity, and a second charge would rank honest hedging below
# confident errors.)
PENALTY_OVERCLAIM = 4.0  # per sweeping claim ("always", "basically the same"), at most 3
PENALTY_DISMISSIVE = 7.0  # per dismissive stance ("doesn't matter", "just skip"), at most 3
PENALTY_DEFLECT = 15.0  # the answer steps around the question ("I'd look it up")
PENALTY_CONTRADICTION = 5.0  # per contradicted key point, on top of losing its credit
PENALTY_MAX_COUNT = 3  # each counted penalty is charged at most this many times
# The check model's doubt (interview.evaluation.llm_check): its P(the answer is correct and
# answers the question) below CHECK_THRESHOLD costs CHECK_WEIGHT points per unit. Rubric
# coverage stays the anchor: the check only takes points away, and only where the model
# doubts the answer, which is what the embeddings miss (a confident misconception written
# in the rubric's words). Fitted on the tuning half, the dev set and eval_own.
CHECK_THRESHOLD = 0.88
CHECK_WEIGHT = 75.0


@dataclass(frozen=True)
class ContentScore:
    score: float  # 0-100
    coverage: float  # sub-scores, 0-100 each before weighting
    specificity: float
    relevance: float
    penalties: dict[str, float]


def check_penalty(p_correct: float) -> float:
    """Points the check model's doubt costs: CHECK_WEIGHT per unit below CHECK_THRESHOLD."""
    return CHECK_WEIGHT * max(0.0, CHECK_THRESHOLD - min(1.0, max(0.0, p_correct)))


def after_check(score: float, p_correct: float) -> float:
    """The score once the check model's doubt is charged. After the caps, so that an
    answer the caps hold (off topic, stuffing) and the model doubts too goes lower still."""
    return round(max(0.0, score - check_penalty(p_correct)), 1)


def content_weights(question_type: str) -> tuple[float, float, float]:
    """(coverage, specificity, relevance) weights; an unknown type weighs as technical."""
    return CONTENT_WEIGHTS.get(str(question_type), CONTENT_WEIGHTS["technical"])


def _soft(x: float, lo: float, hi: float) -> float:
    return min(1.0, max(0.0, (x - lo) / (hi - lo)))


def content_score(
    question_type: str,
    *,
    coverage: float,
    specificity: float,
    relevance: float,
    overclaims: int = 0,
    dismissive: int = 0,
    deflected: bool = False,
    contradictions: int = 0,
) -> ContentScore:
    """The 0-100 score of one answer. ``coverage`` is the share of key-point credit earned
    (0-1), ``specificity`` and ``relevance`` the rubric's raw specificity and topicality
    signals; the counts are the red flags found (sweeping claims, dismissive stances,
    contradicted key points) and ``deflected`` whether the answer stepped around the
    question. The same numbers give the same score."""
    w_cov, w_spec, w_rel = content_weights(question_type)
    specificity = min(1.0, specificity / SPECIFICITY_FULL)
    relevance = _soft(relevance, RELEVANCE_LOW, RELEVANCE_HIGH)
    penalties = {
        "overclaim": PENALTY_OVERCLAIM * min(PENALTY_MAX_COUNT, overclaims),
        "dismissive": PENALTY_DISMISSIVE * min(PENALTY_MAX_COUNT, dismissive),
        "deflect": PENALTY_DEFLECT if deflected else 0.0,
        "contradiction": PENALTY_CONTRADICTION * min(PENALTY_MAX_COUNT, contradictions),
    }
    scale = CONTENT_SCALE.get(str(question_type), 1.0)
    raw = 100.0 * scale * (w_cov * coverage + w_spec * specificity + w_rel * relevance)
    score = max(0.0, raw - sum(penalties.values()))
    if score > KNEE:
        score = KNEE + (100.0 - KNEE) * (1.0 - math.exp(-(score - KNEE) / (100.0 - KNEE)))
    return ContentScore(
        score=round(score, 1),
        coverage=round(100.0 * coverage, 1),
        specificity=round(100.0 * specificity, 1),
        relevance=round(100.0 * relevance, 1),
        penalties=penalties,
    )


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
