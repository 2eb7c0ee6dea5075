"""Measure candidate feedback / judge LLMs on the graded set (docs/JUDGES.md has the figures).

For each GGUF model (a path, or a preset name that ``engines.models`` resolves, e.g.
``qwen2.5-coder-0.5b``), in a child process of its own so that its RSS is its own:

* **feedback**: ``Evaluator(llm, embedder).evaluate()`` on ``--feedback`` answers of the
  tuning half (excellent / good / partial / poor in turn, one per question, questions in
  file order): wall time per evaluation with the LLM, the same without it (the LLM's share
  is the difference), whether the evaluator kept the model's text (``feedback_source``),
  and the model's raw text, for judging by hand;
* **judge**: the model asked for a 1-5 grade under a JSON schema on every answer of
  ``--grade-questions`` tuning questions spread over the half (seven answers each), and
  its mean grade from its probabilities for the five digits (``expected_grade``):
  Spearman of each against the labels' grades, the rubric score's Spearman on the same
  answers, and the eval-bench figures (pairwise, strong > partial, spearman, QWK) of
  blends ``(1 - w) * rubric + w * 25 * (grade - 1)`` for a few ``w``, the rubric score
  anchoring (non-answers and not-assessed answers keep the rubric's result);
* **memory**: RSS after loading the embedder, after loading the model, and the peak.

Deterministic: seed 0, temperature 0, the model's sha256 in the output. The held-out half
is never read.

    .venv/bin/python scripts/judge_survey.py --model bundled --model qwen2.5-coder-0.5b \\
        --out /tmp/judges.json
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from voice_interview.bench.eval_bench import (  # noqa: E402
    LabelledItem,
    load_labelled,
    run_eval,
    spearman,
)
from voice_interview.bench.eval_metrics import LABEL_GRADE  # noqa: E402
from voice_interview.domain.evaluation import Evaluation  # noqa: E402
from voice_interview.domain.question import Question  # noqa: E402
from voice_interview.engines.embed import Embedder  # noqa: E402
from voice_interview.engines.llm import LLMError, LocalLLM  # noqa: E402
from voice_interview.engines.models import resolve_model  # noqa: E402
from voice_interview.interview.evaluation import evaluator as evaluator_module  # noqa: E402
from voice_interview.interview.evaluation.evaluator import Evaluator  # noqa: E402
from voice_interview.settings import Settings  # noqa: E402

GRADED = ROOT / "tests" / "data" / "eval_graded.jsonl"
FEEDBACK_LABELS = ("excellent", "good", "partial", "poor")
BLEND_WEIGHTS = (0.0, 0.1, 0.2, 0.3, 0.5)

GRADE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"grade": {"type": "integer", "enum": [1, 2, 3, 4, 5]}},
    "required": ["grade"],
}
GRADE_SYSTEM = (
    "You are a strict interviewer grading one answer to an interview question against its "
    "key points. 5: covers every key point correctly. 4: covers most key points. 3: covers "
    "one or two key points. 2: an attempt that is wrong, vague or beside the point. "
    "1: no answer, an answer to a different question, a bare list of terms, or claims that "
    "contradict the key points. Reply only as JSON: {\"grade\": N}"
)


def expected_grade(llm: LocalLLM, system: str, user: str) -> float | None:
    """The model's mean grade: its probabilities for "1" .. "5" right after
    ``{"grade": `` at the start of its reply (one prompt pass, nothing generated). A
    ChatML prompt, which both SmolLM2 and Qwen2.5 use. None if a digit is not one token."""
    ll = llm._llm
    text = (
        f"<|im_start|>system\n{system}<|im_end|>\n<|im_start|>user\n{user}<|im_end|>\n"
        '<|im_start|>assistant\n{"grade": '
    )
    ids = [ll.tokenize(str(d).encode(), add_bos=False, special=False) for d in range(1, 6)]
    if any(len(i) != 1 for i in ids):
        return None
    tokens = ll.tokenize(text.encode(), special=True)
    ll.reset()
    ll.eval(tokens)
    # Without logits_all, llama.cpp keeps the logits of the last token only.
    logits = np.ctypeslib.as_array(ll._ctx.get_logits(), shape=(ll.n_vocab(),))
    z = [float(logits[i[0]]) for i in ids]
    top = max(z)
    p = [math.exp(v - top) for v in z]
    return round(sum((k + 1) * v for k, v in enumerate(p)) / sum(p), 3)


def grade_prompt(q: Question, answer: str) -> str:
    points = "\n".join(f"- {k}" for k in q.key_points)
    return f"Question: {q.text}\nKey points:\n{points}\nAnswer: {answer}\nGrade the answer."


class RecordingLLM:
    """Passes calls through and keeps the last raw reply (for judging feedback by hand)."""

    def __init__(self, llm: LocalLLM) -> None:
        self.llm = llm
        self.model_info = llm.model_info
        self.last: dict[str, Any] | None = None
        self.last_s = self.last_cpu_s = 0.0

    def complete_json(self, system: str, user: str, schema: dict[str, Any], **kw: Any) -> Any:
        t0, c0 = time.perf_counter(), time.process_time()
        try:
            self.last = self.llm.complete_json(system, user, schema, **kw)
        except LLMError as e:
            self.last = {"error": str(e)}
            raise
        finally:
            self.last_s = time.perf_counter() - t0
            self.last_cpu_s = time.process_time() - c0
        return self.last


class Blend:
    """The rubric score blended with the model's grade (cached per answer)."""

    def __init__(self, base: Evaluator, grades: dict[tuple[str, str], float], w: float) -> None:
        self.base, self.grades, self.w = base, grades, w

    def evaluate(self, question: Question, answer_text: str) -> Evaluation:
        r = self.base.evaluate(question, answer_text)
        g = self.grades.get((question.text, answer_text))
        if r.score is None or g is None or r.details.get("non_answer") or self.w == 0:
            return r
        return replace(r, score=round((1 - self.w) * r.score + self.w * 25.0 * (g - 1), 1))


def _rss_mb() -> float:
    return round(psutil.Process().memory_info().rss / 2**20, 1)


def _tuning() -> list[LabelledItem]:
    return [i for i in load_labelled(GRADED) if i.split == "tuning"]


def measure(
    model: str, n_feedback: int, n_grade_q: int, threads: int,
    max_chars: int | None = None, max_tokens: int | None = None,
) -> dict[str, Any]:
    settings = Settings(llm_model="" if model == "bundled" else model, llm_n_threads=threads)
    if max_chars:  # a what-if for the evaluator's owner: a longer feedback string allowed
        prop = evaluator_module.FEEDBACK_SCHEMA["properties"]["feedback"]
        prop["maxLength"] = max_chars
    load_start = os.getloadavg()
    rss0 = _rss_mb()
    embedder = Embedder(resolve_model("embed", settings))
    plain = Evaluator(None, embedder)
    rss_embed = _rss_mb()
    info = resolve_model("llm", settings)
    t0 = time.perf_counter()
    llm = LocalLLM(info, settings)
    load_s = time.perf_counter() - t0
    rss_llm = _rss_mb()
    rec = RecordingLLM(llm)
    judged = Evaluator(rec, embedder, feedback_max_tokens=max_tokens or 96)
    items = _tuning()

    feedback: list[dict[str, Any]] = []
    for k, item in enumerate(items[:n_feedback]):
        label = FEEDBACK_LABELS[k % len(FEEDBACK_LABELS)]
        ans = next(a for a in item.answers if a.label == label)
        plain.evaluate(item.question, ans.text)  # warm the embedding cache
        t0 = time.perf_counter()
        base = plain.evaluate(item.question, ans.text)
        t_plain = time.perf_counter() - t0
        rec.last, rec.last_s, rec.last_cpu_s = None, 0.0, 0.0
        t0, c0 = time.perf_counter(), time.process_time()
        r = judged.evaluate(item.question, ans.text)
        t_llm, c_llm = time.perf_counter() - t0, time.process_time() - c0
        feedback.append({
            "id": item.id, "label": label, "score": r.score, "eval_s": round(t_llm, 3),
            "eval_cpu_s": round(c_llm, 3), "eval_no_llm_s": round(t_plain, 3),
            "llm_s": round(rec.last_s, 3), "llm_cpu_s": round(rec.last_cpu_s, 3),
            "feedback_source": r.details.get("feedback_source"),
            "llm_error": r.details.get("llm_error"), "raw": rec.last, "feedback": r.feedback,
            "rule_feedback": base.feedback, "key_points": list(item.question.key_points),
            "question": item.question.text,
        })

    # Questions for the judge: spread over the tuning half (every k-th).
    step = max(1, len(items) // max(1, n_grade_q))
    chosen = items[::step][:n_grade_q]
    grades: dict[tuple[str, str], float] = {}
    expected: dict[tuple[str, str], float] = {}
    grade_rows: list[dict[str, Any]] = []
    for item in chosen:
        for ans in item.answers:
            t0, c0 = time.perf_counter(), time.process_time()
            try:
                out = llm.complete_json(
                    GRADE_SYSTEM, grade_prompt(item.question, ans.text), GRADE_SCHEMA,
                    max_tokens=12, temperature=0.0, seed=0,
                )
                g = int(out.get("grade", 0))
            except (LLMError, ValueError, TypeError):
                g = 0
            dt, dc = time.perf_counter() - t0, time.process_time() - c0
            if 1 <= g <= 5:
                grades[(item.question.text, ans.text)] = float(g)
            t0 = time.perf_counter()
            eg = expected_grade(llm, GRADE_SYSTEM, grade_prompt(item.question, ans.text))
            de = time.perf_counter() - t0
            if eg is not None:
                expected[(item.question.text, ans.text)] = eg
            rubric = plain.evaluate(item.question, ans.text).score
            grade_rows.append({
                "id": item.id, "label": ans.label, "truth": LABEL_GRADE[ans.label],
                "grade": g or None, "expected": eg, "rubric": rubric,
                "grade_s": round(dt, 3), "grade_cpu_s": round(dc, 3),
                "expected_s": round(de, 3),
            })
    ok = [r for r in grade_rows if r["grade"] is not None]
    judge_rho = spearman([r["grade"] for r in ok], [r["truth"] for r in ok]) if ok else None
    rubric_rho = spearman(
        [r["rubric"] if r["rubric"] is not None else -1.0 for r in grade_rows],
        [r["truth"] for r in grade_rows],
    )
    okx = [r for r in grade_rows if r["expected"] is not None]
    expected_rho = (
        spearman([r["expected"] for r in okx], [r["truth"] for r in okx]) if okx else None
    )
    keys = ("pairwise_accuracy", "strong_vs_partial_accuracy", "spearman",
            "quadratic_weighted_kappa")
    blends: dict[str, dict[str, float]] = {}
    for w in BLEND_WEIGHTS:
        res = run_eval(Blend(plain, grades, w), chosen)
        blends[str(w)] = {k: res[k] for k in keys}
        if w:
            res = run_eval(Blend(plain, expected, w), chosen)
            blends[f"expected {w}"] = {k: res[k] for k in keys}
    return {
        "model": model, "name": info.name, "path": str(info.path), "sha256": info.sha256,
        "size_bytes": info.size_bytes, "source": info.source, "n_threads": threads,
        "seed": settings.llm_seed, "temperature": settings.llm_temperature,
        "feedback_schema": evaluator_module.FEEDBACK_SCHEMA,
        "feedback_max_tokens": judged.feedback_max_tokens,
        "load_s": round(load_s, 2), "cpu_count": os.cpu_count(),
        "loadavg": {"start": load_start, "end": os.getloadavg()},
        "rss_mb": {"start": rss0, "embedder": rss_embed, "with_llm": rss_llm,
                   "peak": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)},
        "feedback": feedback,
        "feedback_summary": _feedback_summary(feedback),
        "judge": {
            "questions": [i.id for i in chosen], "answers": len(grade_rows),
            "valid": len(ok), "spearman": judge_rho, "expected_spearman": expected_rho,
            "rubric_spearman": rubric_rho,
            "expected_s_mean": round(
                sum(r["expected_s"] for r in grade_rows) / len(grade_rows), 3
            ),
            "grade_s_mean": round(sum(r["grade_s"] for r in grade_rows) / len(grade_rows), 3),
            "grade_cpu_s_mean": round(
                sum(r["grade_cpu_s"] for r in grade_rows) / len(grade_rows), 3
            ),
            "blends": blends, "rows": grade_rows,
        },
    }


def _feedback_summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    n = len(rows)
    if not n:
        return {}
    evals = sorted(r["eval_s"] for r in rows)
    return {
        "answers": n,
        "eval_s_mean": round(sum(evals) / n, 3),
        "eval_s_p90": evals[min(n - 1, int(0.9 * n))],
        "eval_cpu_s_mean": round(sum(r["eval_cpu_s"] for r in rows) / n, 3),
        "llm_s_mean": round(sum(r["llm_s"] for r in rows) / n, 3),
        "llm_cpu_s_mean": round(sum(r["llm_cpu_s"] for r in rows) / n, 3),
        "kept_by_evaluator": sum(1 for r in rows if r["feedback_source"] == "llm"),
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    p.add_argument("--model", action="append", required=True,
                   help="'bundled', a GGUF path or a preset name (repeat for several)")
    p.add_argument("--feedback", type=int, default=20, help="answers timed with feedback")
    p.add_argument("--grade-questions", type=int, default=6, help="tuning questions judged")
    p.add_argument("--threads", type=int, default=0,
                   help="llama.cpp threads (0: the server's default, half the cores)")
    p.add_argument("--max-chars", type=int, default=0,
                   help="what-if: the feedback schema's maxLength (evaluator: 200)")
    p.add_argument("--max-tokens", type=int, default=0,
                   help="what-if: the feedback token cap (evaluator default: 96)")
    p.add_argument("--out", type=Path, help="write every figure and text here as JSON")
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        print(json.dumps(measure(args.model[0], args.feedback, args.grade_questions,
                                 args.threads, args.max_chars, args.max_tokens)))
        return 0
    results = []
    for model in args.model:
        cmd = [sys.executable, __file__, "--child", "--model", model,
               "--feedback", str(args.feedback), "--grade-questions", str(args.grade_questions),
               "--threads", str(args.threads), "--max-chars", str(args.max_chars),
               "--max-tokens", str(args.max_tokens)]
        done = subprocess.run(cmd, capture_output=True, text=True, check=False,
                              env=os.environ | {"PYTHONHASHSEED": "0"})
        if done.returncode != 0:
            print(f"{model}: failed\n{done.stderr[-2000:]}", file=sys.stderr)
            continue
        r = json.loads(done.stdout.strip().splitlines()[-1])
        results.append(r)
        fs, j = r["feedback_summary"], r["judge"]
        print(
            f"{r['name']}: sha256 {r['sha256'][:12]} load {r['load_s']} s, "
            f"RSS with LLM {r['rss_mb']['with_llm']} MB (peak {r['rss_mb']['peak']}); "
            f"eval {fs.get('eval_s_mean')} s/answer (p90 {fs.get('eval_s_p90')}, CPU "
            f"{fs.get('eval_cpu_s_mean')} s; LLM {fs.get('llm_s_mean')} s), "
            f"feedback kept {fs.get('kept_by_evaluator')}/"
            f"{fs.get('answers')}; judge spearman {j['spearman']} (expected grade "
            f"{j['expected_spearman']}, {j['expected_s_mean']} s; rubric "
            f"{j['rubric_spearman']:.3f}) on {j['valid']}/{j['answers']}, "
            f"{j['grade_s_mean']} s/grade (CPU {j['grade_cpu_s_mean']} s); "
            f"load average {r['loadavg']['start'][0]:.1f} -> {r['loadavg']['end'][0]:.1f}"
        )
        for w, b in j["blends"].items():
            print(f"    blend w={w}: " + ", ".join(f"{k} {v:.3f}" for k, v in b.items()))
        if args.out:  # after each model: a long survey keeps what it measured
            args.out.write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
