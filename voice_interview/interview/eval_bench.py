"""Ranking benchmark for the evaluator over a labelled answer set (``voice-interview eval-bench``).

A labelled file is JSON lines, one question per line, in the format of ``dev.jsonl``::

    {"id": "...", "question": "...", "question_type": "technical", "difficulty": "medium",
     "skills": [...], "key_points": [...],
     "answers": [{"label": "strong" | "partial" | "poor" | "off_topic", "text": "..."}, ...]}

Within a question, these ordered pairs must be ranked by score (strictly; a tie counts as
wrong): strong > partial, strong > poor, partial > poor, strong > off_topic and
partial > off_topic. ``poor`` and ``off_topic`` are not compared with each other. An
answer the evaluator cannot score (``insufficient_data``) ranks below every scored one.
The same pairs ranked by answer length give ``length_baseline``.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from voice_interview.interview.eval_metrics import LABEL_GRADE, band, quadratic_weighted_kappa
from voice_interview.interview.evaluator import EvaluationResult, QuestionSpec

LABELS = (
    "strong", "partial", "poor", "off_topic",
    # graded sets (issue 12): 1-5 labels, adversarial = keyword stuffing, contradicting a
    # key point, or the answer to another question
    "excellent", "good", "non_answer", "adversarial",
)
LABEL_RANK: dict[str, int] = {
    "strong": 3, "partial": 2, "poor": 1, "off_topic": 1,
    "excellent": 5, "good": 4, "non_answer": 1, "adversarial": 1,
}
_BOTTOM = ("off_topic", "non_answer", "adversarial")
ORDERED_PAIRS: tuple[tuple[str, str], ...] = tuple(dict.fromkeys((
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
    *((hi, lo) for hi in ("excellent", "good", "partial", "poor") for lo in _BOTTOM
      if (hi, lo) != ("poor", "off_topic")),
)))  # (poor and off_topic are not compared: dev.jsonl's "poor" is often off the mark too)
# Graded sets rank partial against the two strong grades; dev-style sets against "strong".
STRONG_VS_PARTIAL = ("strong>partial", "excellent>partial", "good>partial")


class LabelledSetError(ValueError):
    """The labelled file is missing, unreadable or not in the expected format."""


class EvaluatorLike(Protocol):
    def evaluate(self, question: QuestionSpec, answer_text: str) -> EvaluationResult: ...


@dataclass(frozen=True)
class LabelledAnswer:
    label: str
    text: str


@dataclass(frozen=True)
class LabelledItem:
    id: str
    question: QuestionSpec
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
                LabelledAnswer(str(a["label"]), str(a["text"])) for a in raw["answers"]
            )
            question = QuestionSpec(
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
        items.append(LabelledItem(
            item_id, question, answers, None if role is None else str(role),
            None if split is None else str(split),
        ))
    if not items:
        raise LabelledSetError(f"labelled set {p} is empty")
    return items


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


def _pair_stats(
    scored: Sequence[tuple[str, float]],
) -> tuple[dict[str, list[int]], list[str]]:
    """Per pair kind [correct, total], and the mis-ordered pairs as 'a<=b' strings."""
    by_kind: dict[str, list[int]] = {f"{a}>{b}": [0, 0] for a, b in ORDERED_PAIRS}
    errors: list[str] = []
    for hi, lo in ORDERED_PAIRS:
        for la, sa in scored:
            if la != hi:
                continue
            for lb, sb in scored:
                if lb != lo:
                    continue
                cell = by_kind[f"{hi}>{lo}"]
                cell[1] += 1
                if sa > sb:
                    cell[0] += 1
                else:
                    errors.append(f"{hi}<={lo}")
    return by_kind, errors


def run_eval(
    evaluator: EvaluatorLike,
    items: Sequence[LabelledItem],
    answer_transform: Callable[[str], str] | None = None,
) -> dict[str, Any]:
    """Score every answer and measure how well the scores rank the labels.

    Returns pairwise_accuracy, strong_vs_partial_accuracy (share of questions whose strong
    answer beats its partial one), spearman (scores vs label ranks strong 3 / partial 2 /
    poor 1 / off_topic 1, over all answers), length_baseline (pairwise accuracy of ranking
    by word count), counts, pairs, errors, per-question scores and timing.
    """
    totals = {f"{a}>{b}": [0, 0] for a, b in ORDERED_PAIRS}
    len_totals = {f"{a}>{b}": [0, 0] for a, b in ORDERED_PAIRS}
    sp_hits = sp_total = len_sp_hits = 0
    all_scores: list[float] = []
    all_ranks: list[float] = []
    grades: list[int] = []
    bands: list[int] = []
    per_question: list[dict[str, Any]] = []
    by_label = {label: 0 for label in LABELS}
    insufficient = 0
    eval_seconds = 0.0
    n_answers = 0
    for item in items:
        scored: list[tuple[str, float]] = []
        lengths: list[tuple[str, float]] = []
        rows: list[dict[str, Any]] = []
        for ans in item.answers:
            text = answer_transform(ans.text) if answer_transform is not None else ans.text
            t0 = time.monotonic()
            result = evaluator.evaluate(item.question, text)
            eval_seconds += time.monotonic() - t0
            n_answers += 1
            by_label[ans.label] += 1
            if result.score is None:
                insufficient += 1
            score = -1.0 if result.score is None else float(result.score)
            n_words = len(text.split())
            scored.append((ans.label, score))
            lengths.append((ans.label, float(n_words)))
            all_scores.append(score)
            all_ranks.append(float(LABEL_RANK[ans.label]))
            grades.append(LABEL_GRADE[ans.label])
            bands.append(band(result.score))
            rows.append(
                {"label": ans.label, "score": result.score, "status": result.status,
                 "words": n_words}
            )
        kinds, errors = _pair_stats(scored)
        len_kinds, _ = _pair_stats(lengths)
        for key, (ok, n) in kinds.items():
            totals[key][0] += ok
            totals[key][1] += n
        for key, (ok, n) in len_kinds.items():
            len_totals[key][0] += ok
            len_totals[key][1] += n
        sp_ok = sum(kinds[k][0] for k in STRONG_VS_PARTIAL)
        sp_n = sum(kinds[k][1] for k in STRONG_VS_PARTIAL)
        if sp_n:
            sp_total += 1
            sp_hits += int(sp_ok == sp_n)
            len_sp_hits += int(sum(len_kinds[k][0] for k in STRONG_VS_PARTIAL) == sp_n)
        per_question.append({"id": item.id, "answers": rows, "errors": errors})

    def acc(table: dict[str, list[int]]) -> float:
        ok = sum(c[0] for c in table.values())
        n = sum(c[1] for c in table.values())
        return ok / n if n else math.nan

    n_pairs = sum(c[1] for c in totals.values())
    return {
        "pairwise_accuracy": acc(totals),
        "strong_vs_partial_accuracy": sp_hits / sp_total if sp_total else math.nan,
        "spearman": spearman(all_scores, all_ranks),
        "quadratic_weighted_kappa": quadratic_weighted_kappa(bands, grades),
        "length_baseline": acc(len_totals),
        "length_baseline_strong_vs_partial": len_sp_hits / sp_total if sp_total else math.nan,
        "counts": {
            "questions": len(items),
            "answers": n_answers,
            "by_label": by_label,
            "insufficient_data": insufficient,
        },
        "pairs": {
            "total": n_pairs,
            "correct": sum(c[0] for c in totals.values()),
            "by_kind": {k: {"correct": c[0], "total": c[1]} for k, c in totals.items()},
        },
        "errors": [f"{q['id']}: {e}" for q in per_question for e in q["errors"]],
        "per_question": per_question,
        "seconds_per_answer": eval_seconds / n_answers if n_answers else math.nan,
    }
