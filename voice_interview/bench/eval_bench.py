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

A graded set (``eval_graded.jsonl``) labels answers excellent, good, partial, poor,
non_answer, off_topic and adversarial (grades 5 to 1; an adversarial answer may carry a
``kind``: stuffing, contradiction or other_question). Excellent and good are the strong
side, partial and poor keep their place, and non_answer, off_topic and adversarial are the
bottom (:data:`~voice_interview.bench.eval_metrics.LABEL_CATEGORY`). In a graded
question, poor > off_topic is compared too (grade 2 against 1), and spearman ranks by
grade. ``bottom_below_partial`` is the share of questions where every off_topic and
non_answer answer scores below every partial one; ``adversarial_below_partial`` the same
for adversarial answers.

``python -m voice_interview.bench.eval_bench FILE`` prints all of it, the worst
mis-ranked pairs and the adversarial kinds (``--out`` keeps the whole result as JSON).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from voice_interview.bench.eval_metrics import (
    GRADED_ONLY,
    LABEL_CATEGORY,
    LABEL_GRADE,
    band,
    below_partial_failures,
    quadratic_weighted_kappa,
)
from voice_interview.domain.evaluation import Evaluation
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
_BOTTOM = ("off_topic", "non_answer", "adversarial")
ORDERED_PAIRS: tuple[tuple[str, str], ...] = tuple(
    dict.fromkeys(
        (
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
            *(
                (hi, lo)
                for hi in ("excellent", "good", "partial", "poor")
                for lo in _BOTTOM
                if (hi, lo) != ("poor", "off_topic")
            ),
        )
    )
)  # (poor and off_topic are not compared: dev.jsonl's "poor" is often off the mark too)
# A graded set's poor answer is a wrong attempt at the question (grade 2), so it must
# beat an answer to another question (grade 1).
GRADED_PAIRS: tuple[tuple[str, str], ...] = (*ORDERED_PAIRS, ("poor", "off_topic"))
# Graded sets rank partial against the two strong grades; dev-style sets against "strong".
STRONG_VS_PARTIAL = ("strong>partial", "excellent>partial", "good>partial")
# What "bottom below partial" checks: the answers that say nothing about the question.
NOT_AN_ANSWER = ("off_topic", "non_answer")
SUMMARY_KEYS = (
    "pairwise_accuracy",
    "strong_vs_partial_accuracy",
    "spearman",
    "quadratic_weighted_kappa",
    "length_baseline",
    "length_baseline_strong_vs_partial",
    "bottom_below_partial",
    "length_baseline_bottom_below_partial",
    "adversarial_below_partial",
)
WORST_FAILURES = 20  # mis-ranked pairs kept in the result, largest score gap first


class LabelledSetError(ValueError):
    """The labelled file is missing, unreadable or not in the expected format."""


class EvaluatorLike(Protocol):
    def evaluate(self, question: Question, answer_text: str) -> Evaluation: ...


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


def is_graded(item: LabelledItem) -> bool:
    """Whether a question is labelled on the 1-5 scale of a graded set."""
    return any(a.label in GRADED_ONLY for a in item.answers)


def _pair_stats(
    scored: Sequence[tuple[str, float]],
    pairs: Sequence[tuple[str, str]] = ORDERED_PAIRS,
) -> tuple[dict[str, list[int]], list[tuple[int, int]]]:
    """Per pair kind [correct, total] over ``pairs``, and the mis-ordered pairs as
    (index of the higher label, index of the lower label)."""
    by_kind: dict[str, list[int]] = {f"{a}>{b}": [0, 0] for a, b in pairs}
    errors: list[tuple[int, int]] = []
    for hi, lo in pairs:
        for i, (la, sa) in enumerate(scored):
            if la != hi:
                continue
            for j, (lb, sb) in enumerate(scored):
                if lb != lo:
                    continue
                cell = by_kind[f"{hi}>{lo}"]
                cell[1] += 1
                if sa > sb:
                    cell[0] += 1
                else:
                    errors.append((i, j))
    return by_kind, errors


def _label(ans: LabelledAnswer) -> str:
    return ans.label if ans.kind is None else f"{ans.label}({ans.kind})"


def run_eval(
    evaluator: EvaluatorLike,
    items: Sequence[LabelledItem],
    answer_transform: Callable[[str], str] | None = None,
) -> dict[str, Any]:
    """Score every answer and measure how well the scores rank the labels.

    Returns pairwise_accuracy, strong_vs_partial_accuracy (share of questions whose strong
    answers all beat their partial ones), spearman (scores vs label ranks strong 3 /
    partial 2 / poor 1 / off_topic 1, or the 1-5 grades in a graded question, over all
    answers), length_baseline (pairwise accuracy of ranking by word count),
    bottom_below_partial (share of questions whose off_topic and non_answer answers all
    score below every partial one; the failures in bottom_below_partial_failures),
    adversarial_below_partial (the same for adversarial answers), adversarial_by_kind,
    worst_failures (the mis-ranked pairs with the largest score gap), counts, pairs,
    errors, per-question scores and timing.
    """
    totals = {f"{a}>{b}": [0, 0] for a, b in GRADED_PAIRS}
    len_totals = {f"{a}>{b}": [0, 0] for a, b in GRADED_PAIRS}
    sp_hits = sp_total = len_sp_hits = 0
    below = {"hits": 0, "total": 0, "len_hits": 0, "adv_hits": 0, "adv_total": 0}
    below_failures: list[str] = []
    adv_failures: list[str] = []
    adversarial: dict[str, dict[str, Any]] = {}
    mis_ranked: list[dict[str, Any]] = []
    label_scores: dict[str, list[float]] = {}
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
        graded = is_graded(item)
        pairs = GRADED_PAIRS if graded else ORDERED_PAIRS
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
            label_scores.setdefault(ans.label, []).append(score)
            lengths.append((ans.label, float(n_words)))
            all_scores.append(score)
            all_ranks.append(float((LABEL_GRADE if graded else LABEL_RANK)[ans.label]))
            grades.append(LABEL_GRADE[ans.label])
            bands.append(band(result.score))
            row: dict[str, Any] = {
                "label": ans.label,
                "score": result.score,
                "status": result.status,
                "words": n_words,
            }
            if ans.kind is not None:
                row["kind"] = ans.kind
            caps = result.details.get("caps") or []
            if caps:  # which relevance / stuffing / contradiction caps held the score
                row["caps"] = [str(c.get("kind")) for c in caps if isinstance(c, dict)]
            rows.append(row)
        kinds, wrong = _pair_stats(scored, pairs)
        len_kinds, _ = _pair_stats(lengths, pairs)
        errors = [f"{scored[i][0]}<={scored[j][0]}" for i, j in wrong]
        for i, j in wrong:
            mis_ranked.append(
                {
                    "id": item.id,
                    "higher": _label(item.answers[i]),
                    "lower": _label(item.answers[j]),
                    "higher_score": rows[i]["score"],
                    "lower_score": rows[j]["score"],
                    "gap": scored[j][1] - scored[i][1],
                    "higher_caps": rows[i].get("caps", []),
                    "lower_caps": rows[j].get("caps", []),
                    "lower_text": item.answers[j].text,
                }
            )
        labels = [label for label, _ in scored]
        values = [score for _, score in scored]
        fails = below_partial_failures(labels, values, NOT_AN_ANSWER)
        if fails is not None:
            below["total"] += 1
            below["hits"] += int(not fails)
            len_fails = below_partial_failures(labels, [w for _, w in lengths], NOT_AN_ANSWER)
            below["len_hits"] += int(not len_fails)
            floor = min(s for lab, s in scored if lab == "partial")
            below_failures += [
                f"{item.id}: {labels[i]} {values[i]:.0f} >= partial {floor:.0f}" for i in fails
            ]
        adv_fails = below_partial_failures(labels, values, ("adversarial",))
        if adv_fails is not None:
            below["adv_total"] += 1
            below["adv_hits"] += int(not adv_fails)
            floor = min(s for lab, s in scored if lab == "partial")
            adv_failures += [
                f"{item.id}: {_label(item.answers[i])} {values[i]:.0f} >= partial {floor:.0f}"
                for i in adv_fails
            ]
        for i, ans in enumerate(item.answers):
            if ans.label != "adversarial":
                continue
            cell = adversarial.setdefault(
                ans.kind or "unspecified", {"n": 0, "scores": [], "above_partial": 0}
            )
            cell["n"] += 1
            cell["scores"].append(values[i])
            cell["above_partial"] += int(adv_fails is not None and i in adv_fails)
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

    def share(hits: int, total: int) -> float:
        return hits / total if total else math.nan

    n_pairs = sum(c[1] for c in totals.values())
    mis_ranked.sort(key=lambda f: -float(f["gap"]))
    return {
        "pairwise_accuracy": acc(totals),
        "strong_vs_partial_accuracy": sp_hits / sp_total if sp_total else math.nan,
        "spearman": spearman(all_scores, all_ranks),
        "quadratic_weighted_kappa": quadratic_weighted_kappa(bands, grades),
        "length_baseline": acc(len_totals),
        "length_baseline_strong_vs_partial": len_sp_hits / sp_total if sp_total else math.nan,
        "bottom_below_partial": share(below["hits"], below["total"]),
        "length_baseline_bottom_below_partial": share(below["len_hits"], below["total"]),
        "bottom_below_partial_failures": below_failures,
        "adversarial_below_partial": share(below["adv_hits"], below["adv_total"]),
        "adversarial_below_partial_failures": adv_failures,
        "adversarial_by_kind": {
            kind: {
                "answers": c["n"],
                "mean_score": sum(c["scores"]) / c["n"],
                "max_score": max(c["scores"]),
                "not_below_partial": c["above_partial"],
            }
            for kind, c in sorted(adversarial.items())
        },
        "worst_failures": mis_ranked[:WORST_FAILURES],
        "mean_score_by_label": {label: sum(v) / len(v) for label, v in label_scores.items()},
        "mean_score_by_category": {
            cat: sum(v) / len(v)
            for cat in ("strong", "partial", "poor", "bottom")
            if (
                v := [
                    s for lab, vs in label_scores.items() if LABEL_CATEGORY[lab] == cat for s in vs
                ]
            )
        },
        "counts": {
            "questions": len(items),
            "questions_checked_below_partial": below["total"],
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


def format_report(result: dict[str, Any], worst: int = 10) -> str:
    """The headline figures, the bottom-below-partial failures, the adversarial kinds and
    the worst mis-ranked pairs of a :func:`run_eval` result, as text."""
    lines = [f"{key:38} {result[key]:.3f}" for key in SUMMARY_KEYS]
    counts = result["counts"]
    lines.append(
        f"{'questions / answers':38} {counts['questions']} / {counts['answers']}"
        f" ({counts['insufficient_data']} not assessed)"
    )
    means = result["mean_score_by_label"]
    lines.append(
        "mean score by label: "
        + ", ".join(f"{label} {means[label]:.1f}" for label in LABELS if label in means)
    )
    for kind, cell in result["adversarial_by_kind"].items():
        lines.append(
            f"adversarial {kind:16} n={cell['answers']:<3} mean {cell['mean_score']:5.1f}"
            f"  max {cell['max_score']:5.1f}  not below partial {cell['not_below_partial']}"
        )
    if result["bottom_below_partial_failures"]:
        lines.append("off_topic / non_answer not below partial:")
        lines += [f"  {f}" for f in result["bottom_below_partial_failures"]]
    if result["adversarial_below_partial_failures"]:
        lines.append("adversarial not below partial:")
        lines += [f"  {f}" for f in result["adversarial_below_partial_failures"]]
    if result["worst_failures"]:
        lines.append(f"worst mis-ranked pairs (of {len(result['errors'])}):")
        for f in result["worst_failures"][:worst]:
            caps = "".join(
                f" [{side} capped: {', '.join(f[side + '_caps'])}]"
                for side in ("higher", "lower")
                if f[side + "_caps"]
            )
            lines.append(
                f"  {f['id']}: {f['higher']} {f['higher_score']} <= {f['lower']}"
                f" {f['lower_score']}{caps}"
            )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m voice_interview.bench.eval_bench FILE [--split S] [--out F]``: the
    full report of ``voice-interview eval-bench --no-llm`` (same evaluator, same scores)."""
    parser = argparse.ArgumentParser(prog="python -m voice_interview.bench.eval_bench")
    parser.add_argument("file")
    parser.add_argument("--split", default=None, help="tuning or heldout")
    parser.add_argument("--config", default=None, help="TOML settings file")
    parser.add_argument("--speech", action="store_true", help="synthesize, transcribe first")
    parser.add_argument("--out", default=None, help="write the whole result here as JSON")
    parser.add_argument("--worst", type=int, default=10, help="worst pairs to print")
    args = parser.parse_args(argv)

    from voice_interview.engines.embed import Embedder
    from voice_interview.engines.models import resolve_model
    from voice_interview.interview.evaluation.evaluator import Evaluator
    from voice_interview.settings import load_settings

    try:
        items = load_labelled(args.file)
    except LabelledSetError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    if args.split is not None:
        items = [i for i in items if i.split == args.split]
        if not items:
            print(f"error: no questions with split {args.split!r}", file=sys.stderr)
            return 1
    settings = load_settings(args.config)
    evaluator = Evaluator.configured(None, Embedder(resolve_model("embed", settings)), settings)
    transform = None
    if args.speech:
        from voice_interview.bench.speech_roundtrip import SpeechRoundTrip

        transform = SpeechRoundTrip(settings).transform
    result = run_eval(evaluator, items, answer_transform=transform)
    print(format_report(result, worst=args.worst))
    if args.out:
        Path(args.out).write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
