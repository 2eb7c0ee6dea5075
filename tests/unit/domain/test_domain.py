from __future__ import annotations

from typing import Any

import pytest

from voice_interview.domain.interview import (
    InterviewStatus as S,
)
from voice_interview.domain.interview import (
    InvalidTransitionError,
    can_transition,
    is_active,
    start_transition,
    transition,
)
from voice_interview.domain.scoring import (
    CONTENT_WEIGHTS,
    PENALTY_CONTRADICTION,
    PENALTY_DEFLECT,
    PENALTY_DISMISSIVE,
    PENALTY_OVERCLAIM,
    ContentScore,
    ScoredAnswer,
    content_score,
    content_weights,
    overall_score,
)
from voice_interview.domain.types import Difficulty, QuestionType


@pytest.mark.parametrize(
    ("current", "target"),
    [
        (S.READY, S.IN_PROGRESS),
        (S.READY, S.CANCELLED),
        (S.IN_PROGRESS, S.PAUSED),
        (S.PAUSED, S.IN_PROGRESS),
        (S.IN_PROGRESS, S.COMPLETED),
        (S.PAUSED, S.CANCELLED),
    ],
)
def test_allowed_transitions(current: S, target: S) -> None:
    assert transition(current, target) is target


@pytest.mark.parametrize(
    ("current", "target"),
    [
        (S.READY, S.COMPLETED),
        (S.READY, S.PAUSED),
        (S.IN_PROGRESS, S.READY),
        (S.COMPLETED, S.IN_PROGRESS),
        (S.CANCELLED, S.IN_PROGRESS),
        (S.IN_PROGRESS, S.IN_PROGRESS),
        (S.PAUSED, S.COMPLETED),
    ],
)
def test_refused_transitions(current: S, target: S) -> None:
    assert not can_transition(current, target)
    with pytest.raises(InvalidTransitionError) as info:
        transition(current, target)
    assert current.value in str(info.value) and target.value in str(info.value)


def test_terminal_states_are_not_active() -> None:
    assert is_active(S.READY) and is_active(S.PAUSED) and is_active(S.IN_PROGRESS)
    assert not is_active(S.COMPLETED) and not is_active(S.CANCELLED)


def test_overall_score_weighs_harder_questions_more() -> None:
    result = overall_score(
        [ScoredAnswer(Difficulty.EASY, 100.0), ScoredAnswer(Difficulty.HARD, 40.0)]
    )
    # (1.0 * 100 + 2.0 * 40) / 3.0
    assert result.score == pytest.approx(60.0)
    assert result.assessed == 2 and result.not_assessed == 0


def test_overall_score_leaves_out_unassessed_answers_and_says_so() -> None:
    result = overall_score(
        [
            ScoredAnswer(Difficulty.MEDIUM, 80.0),
            ScoredAnswer(Difficulty.HARD, None),
            ScoredAnswer(Difficulty.EASY, None),
        ]
    )
    assert result.score == pytest.approx(80.0)
    assert result.not_assessed == 2
    assert "2 of 3" in result.note


def test_overall_score_without_any_assessment_is_none() -> None:
    result = overall_score([ScoredAnswer(Difficulty.EASY, None)])
    assert result.score is None and result.assessed == 0


def test_overall_score_clamps_out_of_range_scores() -> None:
    result = overall_score(
        [ScoredAnswer(Difficulty.EASY, 150.0), ScoredAnswer(Difficulty.EASY, -5)]
    )
    assert result.score == pytest.approx(50.0)


def test_content_weights_sum_to_one_for_every_question_type() -> None:
    for qt in QuestionType:
        weights = content_weights(qt)
        assert weights == CONTENT_WEIGHTS[qt.value]
        assert sum(weights) == pytest.approx(1.0)
    # Behavioural answers are judged more on concrete detail than on the rubric match.
    assert content_weights(QuestionType.BEHAVIORAL)[1] > content_weights("technical")[1]
    assert content_weights("unknown") == content_weights("technical")


# Technical, coverage 0.6, specificity 0.35 (half of full), topicality 0.3 (0.4 credit):
# 100 * (0.65 * 0.6 + 0.22 * 0.5 + 0.13 * 0.4) = 55.2 before penalties.
def _mid(question_type: str = "technical", **red_flags: Any) -> ContentScore:
    return content_score(
        question_type, coverage=0.6, specificity=0.35, relevance=0.3, **red_flags
    )


def test_content_score_combines_the_sub_scores_as_documented() -> None:
    result = _mid()
    assert result.score == pytest.approx(55.2)
    assert (result.coverage, result.specificity, result.relevance) == pytest.approx(
        (60.0, 50.0, 40.0)
    )
    assert sum(result.penalties.values()) == 0.0
    # The situational scale (1.25) stretches the same weighted sum.
    assert _mid("situational").score == pytest.approx(69.0)


def test_content_score_penalties_lower_the_score_at_most_three_times() -> None:
    base = _mid().score
    assert _mid(overclaims=1).score == pytest.approx(
        base - PENALTY_OVERCLAIM
    )
    assert _mid(dismissive=2).score == pytest.approx(
        base - 2 * PENALTY_DISMISSIVE
    )
    assert _mid(deflected=True).score == pytest.approx(
        base - PENALTY_DEFLECT
    )
    many = _mid(contradictions=9)
    assert many.score == pytest.approx(base - 3 * PENALTY_CONTRADICTION)
    assert many.penalties["contradiction"] == 3 * PENALTY_CONTRADICTION


def test_content_score_stays_in_0_100_and_does_not_tie_at_the_top() -> None:
    tech = content_score("technical", coverage=1.0, specificity=1.0, relevance=1.0)
    assert 95.0 < tech.score < 100.0  # raw 100, bent at the knee
    # Behavioural: 1.4x scale, raw 140 and 126; both under 100 and still in order.
    full = content_score("behavioral", coverage=1.0, specificity=1.0, relevance=1.0)
    less = content_score("behavioral", coverage=0.8, specificity=1.0, relevance=1.0)
    assert 99.0 < full.score <= 100.0 and 97.0 < less.score < full.score
    # Under the knee nothing changes.
    mid = content_score("technical", coverage=0.5, specificity=0.35, relevance=0.45)
    assert mid.score == pytest.approx(100 * (0.65 * 0.5 + 0.22 * 0.5 + 0.13), abs=0.05)
    worst = content_score(
        "technical", coverage=0.0, specificity=0.0, relevance=0.0,
        overclaims=3, dismissive=3, deflected=True, contradictions=3,
    )
    assert worst.score == 0.0
    assert worst.penalties["deflect"] == PENALTY_DEFLECT


def test_only_a_ready_interview_starts() -> None:
    assert start_transition(S.READY) == S.IN_PROGRESS
    # Paused -> in progress is allowed, but as a resume: a start from there is refused.
    assert can_transition(S.PAUSED, S.IN_PROGRESS)
    for current in (S.PAUSED, S.IN_PROGRESS, S.COMPLETED, S.CANCELLED):
        with pytest.raises(InvalidTransitionError, match="only a ready interview"):
            start_transition(current)


def test_question_of_reads_wire_strings_and_refuses_unknown_ones() -> None:
    from voice_interview.domain.question import Question
    from voice_interview.domain.types import Difficulty, QuestionType

    q = Question.of("Why?", "behavioral", "hard", ["a point"], ["teamwork"], bank_id="b1")
    assert q.question_type is QuestionType.BEHAVIORAL and q.difficulty is Difficulty.HARD
    assert q.key_points == ("a point",) and q.skills == ("teamwork",) and q.bank_id == "b1"
    with pytest.raises(ValueError):
        Question.of("Why?", "trivia", "hard", [])
    with pytest.raises(ValueError):
        Question.of("Why?", "technical", "impossible", [])


def test_bank_entries_and_stored_rows_map_to_the_same_question() -> None:
    from voice_interview.interview.questions.bank import load_bank
    from voice_interview.store.records import question_of
    from voice_interview.store.tables import QuestionRow

    entry = load_bank()[0]
    q = entry.as_question()
    assert (q.text, q.bank_id, q.key_points) == (entry.text, entry.id, entry.key_points)
    row = QuestionRow(
        position=0,
        bank_id=q.bank_id,
        text=q.text,
        question_type=q.question_type.value,
        difficulty=q.difficulty.value,
        skills=list(q.skills),
        key_points=list(q.key_points),
    )
    assert question_of(row) == q
