"""The labelled answer sets of the eval-bench: their labels and loading a JSON-lines file
(the format is described in :mod:`voice_interview.bench.eval_bench`)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from voice_interview.bench.eval_metrics import GRADED_ONLY, LABEL_GRADE
from voice_interview.domain.question import Question

LABELS = (
    "strong",
    "partial",
    "poor",
    "off_topic",
    # graded sets (issue 12): 1-5 labels, adversarial = keyword stuffing, contradicting a
    # key point, or the answer to another question
    "excellent",
    "good",
    "non_answer",
    "adversarial",
)
LABEL_RANK: dict[str, int] = {
    "strong": 3,
    "partial": 2,
    "poor": 1,
    "off_topic": 1,
    "excellent": 5,
    "good": 4,
    "non_answer": 1,
    "adversarial": 1,
}


class LabelledSetError(ValueError):
    """The labelled file is missing, unreadable or not in the expected format."""


@dataclass(frozen=True)
class LabelledAnswer:
    label: str
    text: str
    kind: str | None = None  # an adversarial answer's kind: stuffing, contradiction, ...


@dataclass(frozen=True)
class LabelledItem:
    id: str
    question: Question
    answers: tuple[LabelledAnswer, ...]
    role: str | None = None
    split: str | None = None  # "tuning" | "heldout" in a graded set, split once


def load_labelled(path: Path | str) -> list[LabelledItem]:
    """Read a labelled JSON-lines file; raises LabelledSetError naming the line at fault."""
    p = Path(path)
    try:
        lines = p.read_text(encoding="utf-8").splitlines()
    except OSError as e:
        raise LabelledSetError(f"cannot read labelled set {p}: {e}") from e
    items: list[LabelledItem] = []
    for n, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            raw = json.loads(line)
            answers = tuple(
                LabelledAnswer(
                    str(a["label"]),
                    str(a["text"]),
                    None if a.get("kind") is None else str(a["kind"]),
                )
                for a in raw["answers"]
            )
            question = Question.of(
                text=str(raw["question"]),
                question_type=str(raw.get("question_type", "technical")),
                difficulty=str(raw.get("difficulty", "medium")),
                key_points=[str(k) for k in raw["key_points"]],
                skills=[str(s) for s in raw.get("skills", [])],
            )
            item_id = str(raw.get("id", f"line-{n}"))
            role = raw.get("role")
            split = raw.get("split")
        except (json.JSONDecodeError, KeyError, TypeError) as e:
            raise LabelledSetError(f"{p}:{n}: not a labelled question ({e!r})") from e
        unknown = sorted({a.label for a in answers} - set(LABELS))
        if unknown:
            raise LabelledSetError(f"{p}:{n}: unknown label(s) {unknown}; expected {LABELS}")
        for a, ans in zip(raw["answers"], answers, strict=True):
            if "grade" in a and a["grade"] != LABEL_GRADE[ans.label]:
                raise LabelledSetError(
                    f"{p}:{n}: grade {a['grade']!r} does not match label {ans.label!r}"
                    f" (grade {LABEL_GRADE[ans.label]})"
                )
        items.append(
            LabelledItem(
                item_id,
                question,
                answers,
                None if role is None else str(role),
                None if split is None else str(split),
            )
        )
    if not items:
        raise LabelledSetError(f"labelled set {p} is empty")
    return items


def is_graded(item: LabelledItem) -> bool:
    """Whether a question is labelled on the 1-5 scale of a graded set."""
    return any(a.label in GRADED_ONLY for a in item.answers)


def question_pool(items: Sequence[LabelledItem]) -> list[Question]:
    """The questions an answer of the set could have been written for: the bundled bank
    and every question of the labelled file (its bank, whatever the split asked for)."""
    from voice_interview.interview.questions.bank import load_bank

    return [q.as_question() for q in load_bank()] + [i.question for i in items]
