"""An answer written for another question of the bank is capped, and says which."""

from __future__ import annotations

from voice_interview.domain.question import Question
from voice_interview.engines.embed import Embedder
from voice_interview.interview.evaluation.evaluator import Evaluator
from voice_interview.interview.evaluation.other_question import OtherQuestions

INDEXES = Question.of(
    "How would you find and fix a slow SQL query?",
    "technical",
    "medium",
    [
        "Reads the query plan with EXPLAIN or EXPLAIN ANALYZE",
        "Adds an index on the filtered or joined columns",
        "Checks whether the index is used and measures again",
    ],
)
MENTORING = Question.of(
    "Tell me about a time you helped a new colleague get up to speed.",
    "behavioral",
    "medium",
    [
        "Describes who the colleague was and what they needed",
        "Explains how the candidate helped, for example pairing or docs",
        "Gives the result: what the colleague could do afterwards",
    ],
)
SQL_ANSWER = (
    "First I run EXPLAIN ANALYZE on the query to see the plan and where the time goes. "
    "Usually it is a sequential scan on a big table, so I add an index on the column in "
    "the WHERE clause or the join key, then run the plan again to check the index is "
    "really used and measure the query time before and after."
)


def _other_caps(result_details: dict[str, object]) -> list[dict[str, object]]:
    caps = result_details.get("caps") or []
    assert isinstance(caps, list)
    return [c for c in caps if c.get("kind") == "other_question"]


def test_an_answer_to_another_bank_question_scores_low_and_names_it(embedder: Embedder) -> None:
    # Fluent and concrete, so without the bank it earns points on detail alone.
    alone = Evaluator(None, embedder).evaluate(MENTORING, SQL_ANSWER)
    assert alone.score is not None and alone.score > 20 and _other_caps(alone.details) == []
    evaluator = Evaluator(None, embedder, others=[INDEXES, MENTORING])
    given_elsewhere = evaluator.evaluate(MENTORING, SQL_ANSWER)
    assert given_elsewhere.score is not None and given_elsewhere.score < 20
    caps = _other_caps(given_elsewhere.details)
    assert len(caps) == 1 and INDEXES.text in str(caps[0]["reason"])
    # The same answer to the question it was written for is not capped.
    own = evaluator.evaluate(INDEXES, SQL_ANSWER)
    assert own.score is not None and own.score > 40 and _other_caps(own.details) == []


def test_a_good_answer_is_never_compared(embedder: Embedder) -> None:
    others = OtherQuestions([INDEXES, MENTORING], embedder)
    assert others.best_match(INDEXES, SQL_ANSWER, own_coverage=0.6) is None
    match = others.best_match(MENTORING, SQL_ANSWER, own_coverage=0.0)
    assert match is not None and match.question == INDEXES.text and match.coverage >= 0.45
