"""The check model (VI_CHECK_MODEL): its P(correct) below the threshold costs points, the
details say why and which model said it, and a failing model leaves the rubric's score."""

from __future__ import annotations

import pytest

from tests.unit.interview.evaluation.test_evaluator import GOOD, QUESTION
from voice_interview.domain import scoring
from voice_interview.domain.scoring import CHECK_THRESHOLD, CHECK_WEIGHT, check_penalty
from voice_interview.engines.embed import Embedder
from voice_interview.engines.llm import LLMError
from voice_interview.interview.evaluation.evaluator import Evaluator
from voice_interview.interview.evaluation.llm_check import (
    CHECK_ASK,
    CHECK_MAX_WORDS,
    CHECK_SYSTEM,
    check_prompt,
)


class FixedCheck:
    """Stands in for LocalLLM.yes_probability: a set probability (or an error), recorded."""

    def __init__(self, p: float | Exception) -> None:
        self.p = p
        self.prompts: list[tuple[str, str]] = []

    def yes_probability(self, system: str, user: str) -> float:
        self.prompts.append((system, user))
        if isinstance(self.p, Exception):
            raise self.p
        return self.p


def test_penalty_is_the_shortfall_below_the_threshold() -> None:
    assert check_penalty(1.0) == 0.0
    assert check_penalty(CHECK_THRESHOLD) == 0.0
    assert check_penalty(0.5) == pytest.approx(CHECK_WEIGHT * (CHECK_THRESHOLD - 0.5))
    full = pytest.approx(CHECK_WEIGHT * CHECK_THRESHOLD)
    assert check_penalty(-3.0) == check_penalty(0.0) == full


def test_the_check_is_charged_after_the_caps_and_never_below_zero() -> None:
    assert scoring.after_check(60.0, 0.95) == 60.0
    assert scoring.after_check(60.0, 0.40) == pytest.approx(60.0 - check_penalty(0.40), abs=0.05)
    assert scoring.after_check(14.0, 0.10) == 0.0  # a capped answer the model doubts too


def test_prompt_quotes_question_and_answer_and_cuts_long_answers() -> None:
    prompt = check_prompt("What is a mutex?", "A lock.  Only one\nthread holds it.")
    assert prompt.startswith("Question: What is a mutex?")
    assert '"A lock. Only one thread holds it."' in prompt and prompt.endswith(CHECK_ASK)
    long = check_prompt("Q?", " ".join(f"w{i}" for i in range(CHECK_MAX_WORDS + 50)))
    assert f"w{CHECK_MAX_WORDS - 1}" in long and f"w{CHECK_MAX_WORDS}" not in long


def test_doubt_lowers_the_score_and_the_details_say_why(embedder: Embedder) -> None:
    without = Evaluator(None, embedder).evaluate(QUESTION, GOOD)
    check = FixedCheck(0.30)
    doubted = Evaluator(None, embedder, checker=check).evaluate(QUESTION, GOOD)
    assert without.score is not None and doubted.score is not None
    assert doubted.score < without.score - 20
    assert check.prompts == [(CHECK_SYSTEM, check_prompt(QUESTION.text, GOOD))]
    d = doubted.details["llm_check"]
    assert d["p_correct"] == 0.3 and d["threshold"] == CHECK_THRESHOLD
    assert d["penalty"] == pytest.approx(check_penalty(0.3), abs=0.05)
    assert "below" in d["why"] and d["prompt_version"]
    parts = doubted.details["score_parts"]
    assert parts["check_penalty"] == d["penalty"] and parts["final"] == doubted.score
    assert "llm_check" not in parts["penalties"]  # charged after the caps, not among them
    assert doubted.details["models"]["check"]["name"] == "FixedCheck"


def test_a_trusted_answer_keeps_its_rubric_score(embedder: Embedder) -> None:
    without = Evaluator(None, embedder).evaluate(QUESTION, GOOD)
    trusted = Evaluator(None, embedder, checker=FixedCheck(0.97)).evaluate(QUESTION, GOOD)
    assert trusted.score == without.score
    assert trusted.details["llm_check"]["penalty"] == 0.0
    assert "no doubt charged" in trusted.details["llm_check"]["why"]


def test_a_failing_check_model_leaves_the_rubric_score(embedder: Embedder) -> None:
    without = Evaluator(None, embedder).evaluate(QUESTION, GOOD)
    failed = Evaluator(None, embedder, checker=FixedCheck(LLMError("llama.cpp failed: boom")))
    result = failed.evaluate(QUESTION, GOOD)
    assert result.status == "scored" and result.score == without.score
    assert result.details["llm_check_error"] == "llama.cpp failed: boom"
    assert "llm_check" not in result.details


def test_non_answers_are_not_sent_to_the_check_model(embedder: Embedder) -> None:
    check = FixedCheck(0.99)
    result = Evaluator(None, embedder, checker=check).evaluate(QUESTION, "I don't know, pass.")
    assert result.score == 0.0 and "non_answer" in result.details
    assert check.prompts == [] and "llm_check" not in result.details
