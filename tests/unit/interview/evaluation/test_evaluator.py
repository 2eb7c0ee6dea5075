"""Evaluator: determinism, insufficient data, LLM fallback, details, and ranking quality on
labelled answer sets (dev.jsonl beside the repo when present, our own set always)."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

from tests.paths import REPO, TESTS
from voice_interview.bench import eval_bench
from voice_interview.bench.eval_bench import LabelledSetError, load_labelled, run_eval
from voice_interview.domain.evaluation import Evaluation
from voice_interview.domain.question import Question
from voice_interview.engines.embed import Embedder
from voice_interview.engines.llm import LLMError
from voice_interview.interview.evaluation.evaluator import Evaluator, clean_feedback
from voice_interview.interview.evaluation.rubric import RUBRIC_VERSION

DEV_SET = REPO.parent / "shared" / "eval" / "dev.jsonl"
OWN_SET = TESTS / "data" / "eval_own.jsonl"

QUESTION = Question.of(
    text="What is the difference between git merge and git rebase, and when would you use each?",
    question_type="technical",
    difficulty="easy",
    key_points=[
        "Merge joins two branches with a merge commit and keeps the history as it happened",
        "Rebase replays your commits on top of another branch, giving a linear history",
        "Do not rebase commits that others have already pulled",
    ],
    skills=["git"],
)
GOOD = (
    "Merge ties the two branches together with a merge commit, so history stays as it "
    "happened. Rebase re-applies my commits one by one on top of main, which gives a straight "
    "line of history with new hashes, so I never rebase a branch my teammates already pulled."
)


class RaisingLLM:
    def __init__(self) -> None:
        self.calls = 0

    def complete_json(self, system: str, user: str, schema: dict[str, Any], *,
                      max_tokens: int, temperature: float | None = None,
                      seed: int | None = None) -> dict[str, Any]:
        self.calls += 1
        raise LLMError("model returned invalid JSON (12 chars)")


class CannedLLM:
    def __init__(self, feedback: object) -> None:
        self.feedback = feedback
        self.prompts: list[tuple[str, str, dict[str, Any], int]] = []

    def complete_json(self, system: str, user: str, schema: dict[str, Any], *,
                      max_tokens: int, temperature: float | None = None,
                      seed: int | None = None) -> dict[str, Any]:
        self.prompts.append((system, user, schema, max_tokens))
        return {"feedback": self.feedback}


# ------------------------------------------------------------------------------ behaviour


def test_scores_a_good_answer_with_quoted_strengths(embedder: Embedder) -> None:
    result = Evaluator(None, embedder).evaluate(QUESTION, GOOD)
    assert result.status == "scored"
    assert result.score is not None and result.score >= 60
    assert len(result.coverage) == 3
    assert result.strengths
    for c in result.coverage:
        if c.status != "missing":
            assert c.quote in GOOD
    assert all("\u201c" in s for s in result.strengths)  # each strength quotes the answer
    assert result.feedback


def test_same_inputs_same_result(embedder: Embedder) -> None:
    first = Evaluator(None, embedder).evaluate(QUESTION, GOOD)
    again = Evaluator(None, embedder).evaluate(QUESTION, GOOD)
    fresh = Evaluator(None, Embedder(embedder.model_info, cache_size=0)).evaluate(QUESTION, GOOD)
    assert first == again == fresh


@pytest.mark.parametrize("text", ["", "   ", "I don't know.", "Not sure, sorry"])
def test_a_non_answer_scores_zero_and_never_reaches_the_llm(
    embedder: Embedder, text: str
) -> None:
    llm = RaisingLLM()
    result = Evaluator(llm, embedder).evaluate(QUESTION, text)
    assert result.status == "scored"
    assert result.score == 0.0
    assert result.details["non_answer"]["reason"].startswith("no answer")
    assert result.details["caps"][0]["kind"] == "non_answer"
    assert result.details["rubric_version"] == RUBRIC_VERSION
    assert all(c.status == "missing" for c in result.coverage)
    assert llm.calls == 0


def test_llm_failure_falls_back_to_rule_feedback(embedder: Embedder) -> None:
    llm = RaisingLLM()
    with_llm = Evaluator(llm, embedder).evaluate(QUESTION, GOOD)
    without = Evaluator(None, embedder).evaluate(QUESTION, GOOD)
    assert llm.calls == 1
    assert with_llm.score == without.score
    assert with_llm.feedback == without.feedback
    assert with_llm.details["feedback_source"] == "rules"
    assert "invalid JSON" in with_llm.details["llm_error"]


@pytest.mark.parametrize(
    "bad",
    [
        "", None, 42, "Python 3.10.1.1.0.1.1.1.1.1", "I'm going to make sure I cover it.",
        "You can use git merge and git rebase to combine branches in a repository.",  # one
        "You should read about git. You can also learn a lot from online tutorials.",  # vague
    ],
)
def test_unusable_llm_text_falls_back(embedder: Embedder, bad: object) -> None:
    result = Evaluator(CannedLLM(bad), embedder).evaluate(QUESTION, GOOD)
    assert result.details["feedback_source"] == "rules"
    assert result.feedback == Evaluator(None, embedder).evaluate(QUESTION, GOOD).feedback


def test_llm_writes_feedback_but_never_the_score(embedder: Embedder) -> None:
    text = (
        "You explained well that merge keeps the history as it happened and that rebase "
        "replays your commits. Next time, also say why rebasing pulled commits is risky."
    )
    llm = CannedLLM(text)
    result = Evaluator(llm, embedder, feedback_max_tokens=64, seed=7).evaluate(QUESTION, GOOD)
    baseline = Evaluator(None, embedder, seed=7).evaluate(QUESTION, GOOD)
    assert result.feedback == text
    assert result.details["feedback_source"] == "llm"
    assert result.score == baseline.score
    assert result.strengths == baseline.strengths
    _system, user, schema, max_tokens = llm.prompts[0]
    assert max_tokens == 64
    assert schema["required"] == ["feedback"]
    assert QUESTION.text in user and "Draft:" in user


def test_details_record_versions_models_and_sub_scores(embedder: Embedder) -> None:
    result = Evaluator(None, embedder, seed=3, temperature=0.2).evaluate(QUESTION, GOOD)
    d = result.details
    assert d["rubric_version"] == RUBRIC_VERSION
    assert d["prompt_version"] and d["scoring_version"]
    assert d["seed"] == 3 and d["temperature"] == 0.2
    assert d["models"]["llm"] is None
    assert len(d["models"]["embed"]["sha256"]) == 64
    assert set(d["sub_scores"]) >= {"coverage", "specificity", "relevance", "penalties"}
    assert [c["key_point"] for c in d["coverage"]] == list(QUESTION.key_points)
    json.dumps(d)  # storable as JSON


def test_without_embedder_still_scores_lexically() -> None:
    result = Evaluator(None, None).evaluate(QUESTION, GOOD)
    assert result.status == "scored"
    assert result.details["embedding_used"] is False
    assert result.details["models"]["embed"] is None


def test_short_precise_answer_beats_long_vague_one(embedder: Embedder) -> None:
    precise = (
        "Merge adds a merge commit and keeps history as it happened; rebase replays my "
        "commits on top of main for a linear history, so I never rebase commits others pulled."
    )
    vague = (
        "Well, they are both ways of getting changes from one branch into another, and in the "
        "end the code is pretty much the same either way. I think merge is the normal way and "
        "rebase is a bit more advanced, and a lot of people have really strong opinions about "
        "it. Honestly, as long as the team agrees on something and sticks with it, I think "
        "either way is totally fine, it is more of a personal preference thing than anything."
    )
    ev = Evaluator(None, embedder)
    s_precise, s_vague = ev.evaluate(QUESTION, precise).score, ev.evaluate(QUESTION, vague).score
    assert s_precise is not None and s_vague is not None
    assert len(precise.split()) < len(vague.split()) / 2
    assert s_precise > s_vague + 20


def test_confidently_wrong_answer_scores_low(embedder: Embedder) -> None:
    wrong = (
        "Rebase is basically the same thing as merge, just newer. You should always rebase the "
        "shared main branch, because rewriting history doesn't matter."
    )
    result = Evaluator(None, embedder).evaluate(QUESTION, wrong)
    good = Evaluator(None, embedder).evaluate(QUESTION, GOOD)
    assert result.score is not None and good.score is not None
    assert result.score < good.score - 30
    assert any("Sweeping" in w or "Contradicts" in w or "Dismissive" in w
               for w in result.weaknesses)


def test_clean_feedback_rules() -> None:
    assert clean_feedback("  You covered the basics well. Next, add an example.  ") == (
        "You covered the basics well. Next, add an example."
    )
    assert clean_feedback("You did well. You could add more. You should also x. And y.") == (
        "You did well. You could add more."
    )
    assert clean_feedback("The answer covered everything nicely and clearly.") == ""  # not "you"
    assert clean_feedback("You did well, but") == ""  # no complete sentence
    assert clean_feedback("You you you you did well.") == ""
    grounding = "Merge keeps history. Rebase replays commits."
    assert clean_feedback("You explained merge and rebase history.", grounding) != ""
    assert clean_feedback("You should learn about quantum entanglement physics.", grounding) == ""


# --------------------------------------------------------------------------------- eval bench


class LookupEvaluator:
    """Scores answers from a table, to test the bench arithmetic."""

    def __init__(self, scores: dict[str, float | None]) -> None:
        self.scores = scores

    def evaluate(self, question: Question, answer_text: str) -> Evaluation:
        score = self.scores[answer_text]
        return Evaluation(
            status="insufficient_data" if score is None else "scored",
            score=score, feedback="", strengths=[], weaknesses=[], coverage=[], details={},
        )


def _write_set(path: Path, answers: list[tuple[str, str]]) -> Path:
    row = {
        "id": "q1", "question": "Q?", "question_type": "technical", "difficulty": "easy",
        "key_points": ["k"], "answers": [{"label": lab, "text": t} for lab, t in answers],
    }
    path.write_text(json.dumps(row) + "\n\n", encoding="utf-8")
    return path


def test_run_eval_metrics(tmp_path: Path) -> None:
    items = load_labelled(_write_set(tmp_path / "set.jsonl", [
        ("strong", "s s s"), ("partial", "p p p p p p"), ("poor", "x"), ("off_topic", "o o"),
    ]))
    result = run_eval(LookupEvaluator({"s s s": 90, "p p p p p p": 40, "x": 50, "o o": 5}), items)
    assert result["pairwise_accuracy"] == pytest.approx(4 / 5)
    assert result["strong_vs_partial_accuracy"] == 1.0
    assert result["errors"] == ["q1: partial<=poor"]
    assert result["length_baseline"] == pytest.approx(4 / 5)  # only strong>partial fails
    assert result["length_baseline_strong_vs_partial"] == 0.0
    assert result["counts"]["answers"] == 4
    assert result["pairs"]["total"] == 5
    assert -1.0 <= result["spearman"] <= 1.0


def test_run_eval_ties_and_insufficient_data(tmp_path: Path) -> None:
    items = load_labelled(_write_set(tmp_path / "set.jsonl", [
        ("strong", "a"), ("partial", "b"), ("poor", "c"), ("off_topic", "d"),
    ]))
    result = run_eval(LookupEvaluator({"a": 50, "b": 50, "c": None, "d": 0}), items)
    assert result["strong_vs_partial_accuracy"] == 0.0  # a tie is not a win
    assert result["counts"]["insufficient_data"] == 1
    assert "q1: partial<=poor" not in result["errors"]  # unscored ranks last


def test_run_eval_applies_the_answer_transform(tmp_path: Path) -> None:
    items = load_labelled(_write_set(tmp_path / "set.jsonl", [("strong", "a"), ("partial", "b")]))
    seen: list[str] = []

    def transform(text: str) -> str:
        seen.append(text)
        return text.upper()

    result = run_eval(LookupEvaluator({"A": 2, "B": 1}), items, answer_transform=transform)
    assert seen == ["a", "b"]
    assert result["pairwise_accuracy"] == 1.0


def test_spearman_known_values() -> None:
    assert eval_bench.spearman([1, 2, 3, 4], [10, 20, 30, 40]) == pytest.approx(1.0)
    assert eval_bench.spearman([1, 2, 3, 4], [4, 3, 2, 1]) == pytest.approx(-1.0)
    assert eval_bench.spearman([1, 2, 3], [1, 1, 2]) == pytest.approx(math.sqrt(3) / 2)
    assert math.isnan(eval_bench.spearman([1, 1], [1, 2]))


def test_load_labelled_rejects_bad_files(tmp_path: Path) -> None:
    with pytest.raises(LabelledSetError):
        load_labelled(tmp_path / "missing.jsonl")
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"question": "q", "key_points": [], "answers": [{"label": "great", '
                   '"text": "t"}]}\n', encoding="utf-8")
    with pytest.raises(LabelledSetError, match="unknown label"):
        load_labelled(bad)
    bad.write_text("not json\n", encoding="utf-8")
    with pytest.raises(LabelledSetError, match=":1:"):
        load_labelled(bad)


# ----------------------------------------------------------------------- ranking on real sets


def _check_ranking(path: Path, embedder: Embedder) -> dict[str, Any]:
    result = run_eval(Evaluator(None, embedder), load_labelled(path))
    assert result["pairwise_accuracy"] >= 0.95, result["errors"]
    assert result["strong_vs_partial_accuracy"] >= 0.9, result["errors"]
    assert result["spearman"] > 0.7
    return result


def test_ranking_on_shared_dev_set(embedder: Embedder) -> None:
    if not DEV_SET.is_file():
        pytest.skip(f"{DEV_SET} not present")
    result = _check_ranking(DEV_SET, embedder)
    # Length alone gets ~0.93 here; the evaluator must not just be measuring length.
    assert result["pairwise_accuracy"] > result["length_baseline"]


def test_ranking_on_own_held_out_set(embedder: Embedder) -> None:
    result = _check_ranking(OWN_SET, embedder)
    assert result["counts"]["questions"] >= 10
    assert result["strong_vs_partial_accuracy"] > result["length_baseline_strong_vs_partial"]
