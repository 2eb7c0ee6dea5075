"""How far can re-weighting what the rubric measures go? A ceiling for the score formula.

The 0-100 score is a hand-weighted mix of the rubric's measurements (coverage, concrete
detail, topicality, red flags, caps). If the weights were the problem, a ranker fitted to
the labels on the same measurements would order the pairs much better. This script fits
one, a pairwise logistic ranker (a linear score, L2-regularised) over the measurements
``_FEATURES`` names, on the graded set's **tuning half only**, and prints, for the same
pairs eval-bench counts (``eval_ranking.GRADED_PAIRS`` / ``ORDERED_PAIRS``):

* pairwise accuracy of the evaluator's own score;
* pairwise accuracy of the fitted ranker, on the tuning half it was fitted to (an upper
  bound: in-sample) and on the other labelled sets given (out of sample).

When the fitted ranker is no better than the score in-sample, no re-weighting of these
measurements can reach a much higher pairwise accuracy: a better score needs better
measurements, not other weights. The held-out half is never read.

    .venv/bin/python scripts/feature_ceiling.py --also ../shared/eval/dev.jsonl \\
        --also tests/data/eval_own.jsonl
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from voice_interview.bench.eval_ranking import GRADED_PAIRS, ORDERED_PAIRS  # noqa: E402
from voice_interview.bench.eval_set import (  # noqa: E402
    LabelledItem,
    is_graded,
    load_labelled,
    question_pool,
)
from voice_interview.domain.evaluation import Evaluation  # noqa: E402
from voice_interview.engines.embed import Embedder  # noqa: E402
from voice_interview.engines.models import resolve_model  # noqa: E402
from voice_interview.interview.evaluation.evaluator import Evaluator  # noqa: E402
from voice_interview.settings import load_settings  # noqa: E402


def measurements(e: Evaluation) -> dict[str, float] | None:
    """The measurements of one scored answer, by name, or None (not assessed, or a
    non-answer, whose score is fixed at 0 by rule and is left as it is)."""
    d = e.details
    if e.score is None or "sub_scores" not in d:
        return None
    sub, sig, cov = d["sub_scores"], d["signals"], d["coverage"]
    pen = sub["penalties"]
    n = max(1, len(cov))
    return {
        "coverage": sub["coverage"] / 100,
        "specificity": sub["specificity"] / 100,
        "relevance": sub["relevance"] / 100,
        "topicality": sig["topicality"],
        "answer_question_cosine": sig["answer_question_cosine"],
        "answer_rubric_cosine": sig["answer_rubric_cosine"],
        "focus": sig["focus"],
        "vagueness": sig["vagueness"],
        "hedges": float(len(sig["hedges"])),
        "contradictions": pen["contradiction"],
        "overclaims": pen["overclaim"],
        "dismissive": pen["dismissive"],
        "deflect": pen["deflect"],
        "covered_share": sum(c["status"] == "covered" for c in cov) / n,
        "partial_share": sum(c["status"] == "partial" for c in cov) / n,
        "mean_similarity": float(np.mean([c["similarity"] for c in cov])) if cov else 0.0,
        "capped": float(bool(d.get("caps"))),
        "score": e.score / 100,
    }


# The ranker's inputs, in a fixed order (``measurements`` names each one).
_FEATURES = (
    "coverage", "specificity", "relevance", "topicality", "answer_question_cosine",
    "answer_rubric_cosine", "focus", "vagueness", "hedges", "contradictions", "overclaims",
    "dismissive", "deflect", "covered_share", "partial_share", "mean_similarity", "capped",
    "score",
)


def features(e: Evaluation) -> list[float] | None:
    """``measurements`` as a vector in ``_FEATURES`` order, or None."""
    m = measurements(e)
    return None if m is None else [m[k] for k in _FEATURES]


def pair_differences(
    items: Sequence[LabelledItem], evaluator: Evaluator
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """(feature differences higher - lower, score differences) for every ordered pair of
    each question's answers that eval-bench counts; non-answers take part as score 0."""
    rows: list[list[float]] = []
    scores: list[float] = []
    zero = [0.0] * len(_FEATURES)
    for item in items:
        pairs = GRADED_PAIRS if is_graded(item) else ORDERED_PAIRS
        by_label: dict[str, list[tuple[list[float], float]]] = {}
        for answer in item.answers:
            e = evaluator.evaluate(item.question, answer.text)
            if e.score is None:
                continue
            f = features(e)
            by_label.setdefault(answer.label, []).append((f or zero, e.score))
        for hi, lo in pairs:
            for fa, sa in by_label.get(hi, []):
                for fb, sb in by_label.get(lo, []):
                    rows.append([a - b for a, b in zip(fa, fb, strict=True)])
                    scores.append(sa - sb)
    return np.array(rows, dtype=np.float64), np.array(scores, dtype=np.float64)


def fit_ranker(x: NDArray[np.float64], l2: float = 1e-2, steps: int = 4000) -> NDArray[np.float64]:
    """Weights w of a pairwise logistic ranker: P(higher beats lower) = sigmoid(w . diff)."""
    scale = np.maximum(np.abs(x).max(axis=0), 1e-9)  # features on one scale for the steps
    xs = x / scale
    w = np.zeros(x.shape[1])
    for _ in range(steps):
        p = 1.0 / (1.0 + np.exp(-(xs @ w)))
        grad = -(xs * (1.0 - p)[:, None]).mean(axis=0) + l2 * w
        w -= 0.5 * grad
    weights: NDArray[np.float64] = w / scale
    return weights


def accuracy(margins: NDArray[np.float64]) -> float:
    """Share of pairs ordered right; a tie is not right, as in eval-bench."""
    return float(np.mean(margins > 0)) if len(margins) else float("nan")


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--graded", default=str(ROOT / "tests/data/eval_graded.jsonl"))
    ap.add_argument("--also", action="append", default=[], help="another labelled set")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    settings = load_settings(None)
    embedder = Embedder(resolve_model("embed", settings))
    graded = load_labelled(args.graded)
    tuning = [i for i in graded if i.split == "tuning"]
    evaluator = Evaluator.configured(None, embedder, settings, question_pool(graded))
    x, s = pair_differences(tuning, evaluator)
    w = fit_ranker(x)
    out: dict[str, Any] = {
        "features": list(_FEATURES),
        "weights": [round(float(v), 4) for v in w],
        "sets": {
            "tuning": {"pairs": len(s), "score": accuracy(s), "fitted_in_sample": accuracy(x @ w)}
        },
    }
    for path in args.also:
        if not Path(path).exists():
            print(f"skipped {path}: not found", file=sys.stderr)
            continue
        items = load_labelled(path)
        ev = Evaluator.configured(None, embedder, settings, question_pool(items))
        xo, so = pair_differences(items, ev)
        out["sets"][Path(path).stem] = {
            "pairs": len(so), "score": accuracy(so), "fitted": accuracy(xo @ w)
        }
    if args.json:
        print(json.dumps(out, indent=2))
    else:
        for name, r in out["sets"].items():
            fitted = r.get("fitted_in_sample", r.get("fitted"))
            print(f"{name:>16}: {r['pairs']} pairs, score {r['score']:.3f}, fitted ranker "
                  f"{fitted:.3f}{' (in sample)' if 'fitted_in_sample' in r else ''}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
