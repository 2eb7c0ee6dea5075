"""An evaluator result as the fields the store saves (and the wire shows): score rounded,
the per-key-point summary beside the evaluator's own detail."""

from __future__ import annotations

from typing import Any

from voice_interview.domain.evaluation import Evaluation


def evaluation_payload(result: Evaluation) -> dict[str, Any]:
    details = dict(result.details)
    # The evaluator's own per-key-point detail (cosine, lexical, credit, contradiction)
    # is kept; the summary view is added beside it.
    details["key_points"] = [
        {
            "key_point": c.key_point,
            "status": c.status,
            "quote": c.quote,
            "similarity": round(float(c.similarity), 3),
            "start_s": c.start_s,
            "end_s": c.end_s,
        }
        for c in result.coverage
    ]
    return {
        "status": result.status,
        "score": None if result.score is None else round(float(result.score), 1),
        "feedback": result.feedback,
        "strengths": list(result.strengths),
        "weaknesses": list(result.weaknesses),
        "details": details,
    }
