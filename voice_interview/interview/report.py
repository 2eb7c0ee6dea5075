"""The recruiter's report for one interview, as plain data (JSON) and as an HTML page."""

from __future__ import annotations

import html
from datetime import UTC, datetime
from typing import Any

from voice_interview.domain.scoring import ScoredAnswer, overall_score
from voice_interview.domain.types import Difficulty
from voice_interview.store.repository import AnswerRecord
from voice_interview.store.tables import InterviewRow


def _iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    # SQLite hands back naive datetimes; every stored time is UTC.
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).isoformat()


def interview_summary(row: InterviewRow) -> dict[str, Any]:
    return {
        "id": row.id,
        "candidate_id": row.candidate_id,
        "role": row.role,
        "status": row.status,
        "current_question_index": row.current_question_index,
        "total": row.total,
        "overall_score": row.overall_score,
        "created_at": _iso(row.created_at),
        "started_at": _iso(row.started_at),
        "completed_at": _iso(row.completed_at),
    }


def build_report(interview: InterviewRow, records: list[AnswerRecord]) -> dict[str, Any]:
    answers = []
    for rec in records:
        q, a, e, t = rec.question, rec.answer, rec.evaluation, rec.timing
        answers.append(
            {
                "question": {
                    "id": q.id,
                    "index": q.position,
                    "text": q.text,
                    "question_type": q.question_type,
                    "difficulty": q.difficulty,
                    "skills": list(q.skills),
                    "key_points": list(q.key_points),
                },
                "answer_id": a.id if a else None,
                "source": a.source if a else None,
                "transcript": a.transcript if a else None,
                "end_reason": a.end_reason if a else None,
                "evaluation": None
                if e is None
                else {
                    "status": e.status,
                    "score": e.score,
                    "feedback": e.feedback,
                    "strengths": list(e.strengths),
                    "weaknesses": list(e.weaknesses),
                    "coverage": e.details.get("key_points", []),
                    "error": e.error or None,
                },
                "metrics": dict(t.latency_ms) if t else None,
            }
        )
    overall = overall_score(
        ScoredAnswer(
            Difficulty(r.question.difficulty),
            r.evaluation.score
            if r.evaluation is not None and r.evaluation.status == "scored"
            else None,
        )
        for r in records
        if r.answer is not None
    )
    return {
        **interview_summary(interview),
        "overall_score": interview.overall_score
        if interview.overall_score is not None
        else overall.score,
        "scoring": {
            "method": "difficulty-weighted mean (easy 1.0, medium 1.5, hard 2.0)",
            "assessed": overall.assessed,
            "not_assessed": overall.not_assessed,
            "note": overall.note,
        },
        "answers": answers,
    }


def _esc(value: object) -> str:
    return html.escape("" if value is None else str(value))


def _score(value: object) -> str:
    return "not assessed" if value is None else f"{float(value):.0f} / 100"  # type: ignore[arg-type]


def render_html(report: dict[str, Any]) -> str:
    rows = []
    for item in report["answers"]:
        q = item["question"]
        ev = item["evaluation"] or {}
        metrics = item["metrics"] or {}
        strengths = "".join(f"<li>{_esc(s)}</li>" for s in ev.get("strengths", []))
        weaknesses = "".join(f"<li>{_esc(s)}</li>" for s in ev.get("weaknesses", []))
        timing = ", ".join(
            f"{_esc(k)} {_esc(v)} ms"
            for k, v in metrics.items()
            if k in ("end_of_turn", "stt_final", "tts_first_audio", "voice_to_voice")
            and v is not None
        )
        status = ev.get("status")
        score = _score(ev.get("score")) if status == "scored" else (status or "not answered")
        rows.append(
            f"""<section class="q">
<h2>Question {q["index"] + 1}: {_esc(q["text"])}</h2>
<p class="meta">{_esc(q["question_type"])} · {_esc(q["difficulty"])} ·
score: <b>{_esc(score)}</b></p>
<h3>Answer</h3><blockquote>{_esc(item["transcript"]) or "<i>no answer</i>"}</blockquote>
<h3>Feedback</h3><p>{_esc(ev.get("feedback", ""))}</p>
<div class="cols"><div><h3>Strengths</h3><ul>{strengths or "<li>none noted</li>"}</ul></div>
<div><h3>Weaknesses</h3><ul>{weaknesses or "<li>none noted</li>"}</ul></div></div>
<p class="meta">Timings: {timing or "n/a"}</p>
</section>"""
        )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Interview report {_esc(report["id"])}</title>
<style>
body {{ font-family: system-ui, sans-serif; max-width: 52rem; margin: 1rem auto; padding: 0 1rem;
       color: #1a1a1a; line-height: 1.45; }}
.q {{ border-top: 1px solid #ccc; padding-top: .5rem; }}
.meta {{ color: #555; font-size: .9rem; }}
blockquote {{ background: #f5f5f5; margin: 0; padding: .5rem .8rem; border-left: 3px solid #999; }}
.cols {{ display: flex; gap: 2rem; flex-wrap: wrap; }}
.overall {{ font-size: 1.4rem; }}
</style></head><body>
<h1>Interview report</h1>
<p class="meta">Interview {_esc(report["id"])} · candidate {_esc(report["candidate_id"])} ·
role {_esc(report["role"] or "general")} · status {_esc(report["status"])}</p>
<p class="overall">Overall score: <b>{_esc(_score(report["overall_score"]))}</b></p>
<p class="meta">{_esc(report["scoring"]["method"])}; {_esc(report["scoring"]["note"])}.</p>
{"".join(rows)}
</body></html>"""
