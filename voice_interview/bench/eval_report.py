"""The eval-bench's text report: the headline figures, the failures below partial, the
adversarial kinds and the worst mis-ranked pairs of a run_eval result."""

from __future__ import annotations

from typing import Any

from voice_interview.bench.eval_set import LABELS

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
