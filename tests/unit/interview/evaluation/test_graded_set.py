"""The graded labelled set ``tests/data/eval_graded.jsonl`` (issue 12): its shape, its
fixed tuning/heldout split, its independence from the other sets, and how eval-bench reads
and ranks it."""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from tests.paths import REPO, TESTS
from voice_interview.bench.eval_bench import (
    GRADED_PAIRS,
    ORDERED_PAIRS,
    LabelledSetError,
    is_graded,
    load_labelled,
    run_eval,
)
from voice_interview.bench.eval_metrics import (
    LABEL_CATEGORY,
    LABEL_GRADE,
    below_partial_failures,
)
from voice_interview.domain.evaluation import Evaluation
from voice_interview.domain.question import Question
from voice_interview.domain.types import Difficulty, QuestionType

DATA = TESTS / "data"
GRADED_SET = DATA / "eval_graded.jsonl"
OWN_SET = DATA / "eval_own.jsonl"
DEV_SET = REPO.parent / "shared" / "eval" / "dev.jsonl"

GRADES = {
    "excellent": 5, "good": 4, "partial": 3, "poor": 2,
    "non_answer": 1, "off_topic": 1, "adversarial": 1,
}
ADVERSARIAL_KINDS = {"stuffing", "contradiction", "other_question"}
# Role groups the set must cover (>= 6 questions each), by the role field.
ROLE_GROUPS = {
    "data": {"data engineer", "data scientist"},
    "frontend": {"frontend engineer"},
    "mobile": {"mobile engineer"},
    "security": {"security engineer"},
    "embedded": {"embedded engineer"},
    "sre": {"site reliability engineer"},
}


def graded_split(item_id: str) -> str:
    """The split rule, fixed once: questions go in pairs (gr-01, gr-02), (gr-03, gr-04)...;
    the low bit of the first byte of sha256 of the pair's first id says which one tunes
    (0: the odd-numbered one, 1: the even-numbered one); the other is held out."""
    n = int(item_id.removeprefix("gr-"))
    first = n if n % 2 else n - 1
    odd_tunes = hashlib.sha256(f"gr-{first:02d}".encode()).digest()[0] & 1 == 0
    return "tuning" if bool(n % 2) == odd_tunes else "heldout"


def _rows(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()
            if line.strip()]


def _norm(text: str) -> str:
    return " ".join(re.findall(r"[a-z0-9]+", text.lower()))


@pytest.fixture(scope="module")
def rows() -> list[dict[str, Any]]:
    return _rows(GRADED_SET)


def test_size_roles_and_types(rows: list[dict[str, Any]]) -> None:
    assert len(rows) >= 60
    roles = Counter(r["role"] for r in rows)
    for group, names in ROLE_GROUPS.items():
        assert sum(roles[name] for name in names) >= 6, group
    types = Counter(r["question_type"] for r in rows)
    assert types["behavioral"] >= 8
    assert types["situational"] >= 8
    assert set(types) <= {t.value for t in QuestionType}
    assert {r["difficulty"] for r in rows} <= {d.value for d in Difficulty}


def test_ids_are_gr_numbered_in_order(rows: list[dict[str, Any]]) -> None:
    assert [r["id"] for r in rows] == [f"gr-{n:02d}" for n in range(1, len(rows) + 1)]


def test_each_question_has_the_seven_graded_answers(rows: list[dict[str, Any]]) -> None:
    for r in rows:
        assert 4 <= len(r["key_points"]) <= 5, r["id"]
        assert r["skills"] and r["question"].strip(), r["id"]
        labels = [a["label"] for a in r["answers"]]
        assert sorted(labels) == sorted(GRADES), r["id"]
        for a in r["answers"]:
            assert a["grade"] == GRADES[a["label"]] == LABEL_GRADE[a["label"]], r["id"]
            assert a["text"].strip(), r["id"]
            assert a["text"] not in r["key_points"], r["id"]


def test_adversarial_kinds_and_borrowed_answers(rows: list[dict[str, Any]]) -> None:
    excellent = {r["id"]: next(a["text"] for a in r["answers"] if a["label"] == "excellent")
                 for r in rows}
    kinds: Counter[str] = Counter()
    for r in rows:
        (adv,) = [a for a in r["answers"] if a["label"] == "adversarial"]
        kinds[adv["kind"]] += 1
        others = {qid for qid, text in excellent.items() if text == adv["text"]}
        if adv["kind"] == "other_question":
            # a fluent answer written for another question of this set, copied verbatim
            assert others and r["id"] not in others, r["id"]
        else:
            assert not others, r["id"]
        assert "kind" not in {k for a in r["answers"] if a["label"] != "adversarial" for k in a}
    assert set(kinds) == ADVERSARIAL_KINDS
    assert min(kinds.values()) >= 15


def test_length_alone_does_not_sort_the_answers(rows: list[dict[str, Any]]) -> None:
    """Strong answers are sometimes short and weak ones long: in at least a sixth of the
    questions the excellent answer is shorter than the partial one, and in most the poor
    answer is longer than the partial one."""
    def words(r: dict[str, Any], label: str) -> int:
        return len(next(a["text"] for a in r["answers"] if a["label"] == label).split())

    short_excellent = sum(words(r, "excellent") < words(r, "partial") for r in rows)
    long_poor = sum(words(r, "poor") > words(r, "partial") for r in rows)
    assert short_excellent >= len(rows) / 6
    assert long_poor > len(rows) / 2


def test_split_is_half_and_half_by_the_fixed_rule(rows: list[dict[str, Any]]) -> None:
    splits = Counter(r["split"] for r in rows)
    assert splits == {"tuning": len(rows) // 2, "heldout": len(rows) - len(rows) // 2}
    for r in rows:
        assert r["split"] == graded_split(r["id"]), r["id"]


def test_split_rule_is_not_trivial() -> None:
    """The rule does not simply alternate: both orders occur among the pairs."""
    firsts = {graded_split(f"gr-{n:02d}") for n in range(1, 63, 2)}
    assert firsts == {"tuning", "heldout"}
    assert {graded_split(f"gr-{n:02d}") for n in (1, 2)} == {"tuning", "heldout"}


def test_no_question_shared_with_the_other_sets(rows: list[dict[str, Any]]) -> None:
    ours = {_norm(r["question"]) for r in rows}
    assert len(ours) == len(rows)
    our_answers = {_norm(a["text"]) for r in rows for a in r["answers"]}
    theirs = _rows(OWN_SET)
    assert theirs
    assert not ours & {_norm(r["question"]) for r in theirs}
    assert not our_answers & {_norm(a["text"]) for r in theirs for a in r["answers"]}


def test_no_question_shared_with_the_dev_set(rows: list[dict[str, Any]]) -> None:
    if not DEV_SET.is_file():
        pytest.skip("../shared/eval/dev.jsonl is not present")
    dev = _rows(DEV_SET)
    assert dev
    assert not {_norm(r["question"]) for r in rows} & {_norm(r["question"]) for r in dev}
    assert not ({_norm(a["text"]) for r in rows for a in r["answers"]}
                & {_norm(a["text"]) for r in dev for a in r["answers"]})


def test_loads_through_eval_bench(rows: list[dict[str, Any]]) -> None:
    items = load_labelled(GRADED_SET)
    assert [i.id for i in items] == [r["id"] for r in rows]
    assert [i.split for i in items] == [r["split"] for r in rows]
    assert all(is_graded(i) for i in items)
    assert all(len(i.question.key_points) == len(r["key_points"])
               for i, r in zip(items, rows, strict=True))
    kinds = [a.kind for i in items for a in i.answers if a.label == "adversarial"]
    assert None not in kinds and len(kinds) == len(rows)
    assert all(a.kind is None for i in items for a in i.answers if a.label != "adversarial")


def test_loader_rejects_a_grade_that_contradicts_its_label(tmp_path: Path) -> None:
    line = {"id": "x", "question": "Q?", "key_points": ["k"],
            "answers": [{"label": "good", "grade": 5, "text": "t"}]}
    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps(line) + "\n")
    with pytest.raises(LabelledSetError, match="grade 5 does not match label 'good'"):
        load_labelled(path)
    line["answers"] = [{"label": "good", "grade": 4, "text": "t"}]
    path.write_text(json.dumps(line) + "\n")
    assert load_labelled(path)[0].answers[0].label == "good"


class ByGrade:
    """Scores an answer 20 * grade - 10 by its label in its own question (a text borrowed
    from another question counts as what it is here), with chosen exceptions."""

    def __init__(self, items: list[Any], overrides: dict[str, float] | None = None):
        self.label_of = {(i.question.text, a.text): a.label for i in items for a in i.answers}
        self.overrides = overrides or {}

    def evaluate(self, question: Question, answer_text: str) -> Evaluation:
        label = self.label_of[question.text, answer_text]
        score = self.overrides.get(answer_text, 20.0 * GRADES[label] - 10)
        return Evaluation("scored", score, "", [], [], [], {})


def test_a_scorer_that_follows_the_grades_gets_full_marks() -> None:
    items = load_labelled(GRADED_SET)
    result = run_eval(ByGrade(items), items)
    assert result["pairwise_accuracy"] == 1.0
    assert result["strong_vs_partial_accuracy"] == 1.0
    assert result["quadratic_weighted_kappa"] == pytest.approx(1.0)
    assert result["spearman"] == pytest.approx(1.0)
    assert result["bottom_below_partial"] == 1.0
    assert result["adversarial_below_partial"] == 1.0
    assert result["errors"] == [] and result["worst_failures"] == []
    assert result["counts"]["questions_checked_below_partial"] == len(items)
    assert result["pairs"]["by_kind"]["poor>off_topic"]["total"] == len(items)
    assert set(result["adversarial_by_kind"]) == ADVERSARIAL_KINDS
    assert result["mean_score_by_category"] == {
        "strong": 80.0, "partial": 50.0, "poor": 30.0, "bottom": 10.0,
    }


def test_bottom_below_partial_lists_each_failure(tmp_path: Path) -> None:
    answers = [("excellent", "e"), ("good", "g"), ("partial", "p"), ("poor", "w"),
               ("non_answer", "n"), ("off_topic", "o"), ("adversarial", "a")]
    lines = [{"id": f"q{k}", "question": f"Q{k}?", "key_points": ["k"],
              "answers": [{"label": lab, "text": f"{t}{k}",
                           **({"kind": "stuffing"} if lab == "adversarial" else {})}
                          for lab, t in answers]} for k in range(4)]
    path = tmp_path / "g.jsonl"
    path.write_text("".join(json.dumps(x) + "\n" for x in lines))
    items = load_labelled(path)
    # scores: excellent 90, good 70, partial 50, poor 30, the bottom 10; then
    # q1: off-topic ties the partial answer; q2: the non-answer beats it; q3: adversarial 95
    overrides = {"o1": 50.0, "n2": 70.0, "a3": 95.0}
    result = run_eval(ByGrade(items, overrides), items)
    assert result["bottom_below_partial"] == pytest.approx(2 / 4)
    assert result["bottom_below_partial_failures"] == [
        "q1: off_topic 50 >= partial 50", "q2: non_answer 70 >= partial 50",
    ]
    assert result["adversarial_below_partial"] == pytest.approx(3 / 4)
    assert result["adversarial_below_partial_failures"] == [
        "q3: adversarial(stuffing) 95 >= partial 50",
    ]
    assert result["adversarial_by_kind"]["stuffing"]["not_below_partial"] == 1
    assert result["adversarial_by_kind"]["stuffing"]["max_score"] == 95.0
    worst = result["worst_failures"][0]
    assert (worst["id"], worst["higher"], worst["lower"]) == (
        "q3", "poor", "adversarial(stuffing)")
    assert worst["gap"] == pytest.approx(65.0)
    assert worst["lower_text"] == "a3"
    gaps = [f["gap"] for f in result["worst_failures"]]
    assert gaps == sorted(gaps, reverse=True)
    # q1's off-topic answer also beats poor (30): compared in a graded question
    assert "q1: poor<=off_topic" in result["errors"]


def test_below_partial_failures() -> None:
    labels = ["partial", "partial", "off_topic", "non_answer", "poor"]
    assert below_partial_failures(labels, [40, 60, 39, 10, 90], {"off_topic"}) == []
    assert below_partial_failures(labels, [40, 60, 40, 10, 90], {"off_topic"}) == [2]
    assert below_partial_failures(labels, [40, 60, 50, 45, 0],
                                  {"off_topic", "non_answer"}) == [2, 3]
    assert below_partial_failures(["good", "off_topic"], [1, 2], {"off_topic"}) is None
    assert below_partial_failures(["partial", "poor"], [1, 2], {"off_topic"}) is None
    with pytest.raises(ValueError):
        below_partial_failures(["partial"], [1, 2], {"off_topic"})


def test_label_categories_order_the_pairs() -> None:
    """Every compared pair puts a higher category (strong > partial > poor > bottom) above
    a lower one, except excellent > good inside the strong side; graded sets add only
    poor > off_topic."""
    order = {"strong": 3, "partial": 2, "poor": 1, "bottom": 0}
    assert set(LABEL_CATEGORY) == set(GRADES) | {"strong"}
    for hi, lo in GRADED_PAIRS:
        if (hi, lo) == ("excellent", "good"):
            continue
        assert order[LABEL_CATEGORY[hi]] > order[LABEL_CATEGORY[lo]], (hi, lo)
    assert set(GRADED_PAIRS) - set(ORDERED_PAIRS) == {("poor", "off_topic")}


def test_dev_style_sets_keep_their_pairs_and_ranks(tmp_path: Path) -> None:
    line = {"id": "d", "question": "Q?", "key_points": ["k"],
            "answers": [{"label": lab, "text": lab} for lab in
                        ("strong", "partial", "poor", "off_topic")]}
    path = tmp_path / "dev.jsonl"
    path.write_text(json.dumps(line) + "\n")
    items = load_labelled(path)
    assert not is_graded(items[0])

    class PoorUnderOffTopic:
        def evaluate(self, question: Question, answer_text: str) -> Evaluation:
            score = {"strong": 90.0, "partial": 60.0, "poor": 10.0, "off_topic": 20.0}
            return Evaluation("scored", score[answer_text], "", [], [], [], {})

    result = run_eval(PoorUnderOffTopic(), items)
    assert result["pairwise_accuracy"] == 1.0  # poor and off_topic are not compared here
    assert result["pairs"]["by_kind"]["poor>off_topic"]["total"] == 0
    assert not math.isnan(result["bottom_below_partial"])


def test_caps_are_named_in_the_rows_and_worst_failures(tmp_path: Path) -> None:
    line = {"id": "c", "question": "Q?", "key_points": ["k"],
            "answers": [{"label": "good", "text": "g"}, {"label": "partial", "text": "p"}]}
    path = tmp_path / "c.jsonl"
    path.write_text(json.dumps(line) + "\n")

    class CapsGood:
        def evaluate(self, question: Question, answer_text: str) -> Evaluation:
            if answer_text == "g":
                caps = [{"cap": 18.0, "kind": "contradiction", "reason": "r"}]
                return Evaluation("scored", 18.0, "", [], [], [], {"caps": caps})
            return Evaluation("scored", 40.0, "", [], [], [], {})

    result = run_eval(CapsGood(), load_labelled(path))
    rows = result["per_question"][0]["answers"]
    assert rows[0]["caps"] == ["contradiction"] and "caps" not in rows[1]
    (worst,) = result["worst_failures"]
    assert (worst["higher_caps"], worst["lower_caps"]) == (["contradiction"], [])
