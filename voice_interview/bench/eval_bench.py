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

The sets load in :mod:`~voice_interview.bench.eval_set`, the pairs and spearman are in
:mod:`~voice_interview.bench.eval_ranking`, the run in :mod:`~voice_interview.bench.eval_run`
and the text report in :mod:`~voice_interview.bench.eval_report`; this module is the
entry point and re-exports their names.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from voice_interview.bench.eval_ranking import (
    GRADED_PAIRS,
    NOT_AN_ANSWER,
    ORDERED_PAIRS,
    STRONG_VS_PARTIAL,
    spearman,
)
from voice_interview.bench.eval_report import SUMMARY_KEYS, format_report
from voice_interview.bench.eval_run import WORST_FAILURES, EvaluatorLike, run_eval
from voice_interview.bench.eval_set import (
    LABEL_RANK,
    LABELS,
    LabelledAnswer,
    LabelledItem,
    LabelledSetError,
    is_graded,
    load_labelled,
    question_pool,
)

__all__ = [
    "GRADED_PAIRS",
    "LABELS",
    "LABEL_RANK",
    "NOT_AN_ANSWER",
    "ORDERED_PAIRS",
    "STRONG_VS_PARTIAL",
    "SUMMARY_KEYS",
    "WORST_FAILURES",
    "EvaluatorLike",
    "LabelledAnswer",
    "LabelledItem",
    "LabelledSetError",
    "format_report",
    "is_graded",
    "load_labelled",
    "main",
    "question_pool",
    "run_eval",
    "spearman",
]


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m voice_interview.bench.eval_bench FILE [--split S] [--out F]``: the
    full report of ``voice-interview eval-bench --no-llm`` (same evaluator, same scores)."""
    parser = argparse.ArgumentParser(prog="python -m voice_interview.bench.eval_bench")
    parser.add_argument("file")
    parser.add_argument("--split", default=None, help="tuning or heldout")
    parser.add_argument("--config", default=None, help="TOML settings file")
    parser.add_argument("--speech", action="store_true", help="synthesize, transcribe first")
    parser.add_argument(
        "--transcripts", default=None, help="with --speech: keep / reuse transcripts here"
    )
    parser.add_argument("--out", default=None, help="write the whole result here as JSON")
    parser.add_argument("--worst", type=int, default=10, help="worst pairs to print")
    parser.add_argument(
        "--check-model", default=None, help="GGUF file or LLM preset for the check model"
    )
    args = parser.parse_args(argv)

    from voice_interview.engines.embed import Embedder
    from voice_interview.engines.models import resolve_model
    from voice_interview.engines.registry import check_engine
    from voice_interview.interview.evaluation.evaluator import Evaluator
    from voice_interview.settings import load_settings

    try:
        items = load_labelled(args.file)
    except LabelledSetError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    pool = question_pool(items)
    if args.split is not None:
        items = [i for i in items if i.split == args.split]
        if not items:
            print(f"error: no questions with split {args.split!r}", file=sys.stderr)
            return 1
    overrides = {} if args.check_model is None else {"check_model": args.check_model}
    settings = load_settings(args.config, **overrides)
    embedder = Embedder(resolve_model("embed", settings))
    checker = check_engine(settings)
    evaluator = Evaluator.configured(None, embedder, settings, pool, checker=checker)
    transform = None
    if args.speech:
        from voice_interview.bench.speech_roundtrip import speech_transform

        try:
            transform = speech_transform(settings, args.transcripts)
        except ValueError as e:
            print(f"error: {e}", file=sys.stderr)
            return 1
    result = run_eval(evaluator, items, answer_transform=transform)
    print(format_report(result, worst=args.worst))
    if args.out:
        Path(args.out).write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
