"""Running the eval-bench: score every labelled answer and measure how well the scores
rank the labels (pairs, strong vs partial, spearman, kappa, the length baseline, the
bottom and adversarial answers below partial, the worst mis-ranked pairs)."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from voice_interview.bench.eval_metrics import (
    LABEL_CATEGORY,
    LABEL_GRADE,
    band,
    below_partial_failures,
    quadratic_weighted_kappa,
)
from voice_interview.bench.eval_ranking import (
    GRADED_PAIRS,
    NOT_AN_ANSWER,
    ORDERED_PAIRS,
    STRONG_VS_PARTIAL,
    pair_stats,
    spearman,
)
from voice_interview.bench.eval_set import (
    LABEL_RANK,
    LABELS,
    LabelledAnswer,
    LabelledItem,
    is_graded,
)
from voice_interview.domain.evaluation import Evaluation
from voice_interview.domain.question import Question

WORST_FAILURES = 20  # mis-ranked pairs kept in the result, largest score gap first


class EvaluatorLike(Protocol):
    def evaluate(self, question: Question, answer_text: str) -> Evaluation: ...


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
        kinds, wrong = pair_stats(scored, pairs)
        len_kinds, _ = pair_stats(lengths, pairs)
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
