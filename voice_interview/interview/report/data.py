"""The recruiter's report for one interview, as plain data (JSON) and as an HTML page.

Per answer: the evaluation with its evidence (every strength and weakness with the quote
it rests on and, for a spoken answer, when the quote was said), the key-point coverage
(status, quote, match and any contradiction per key point), the score's parts
(``score_parts``: coverage, specificity and relevance with their weights, each penalty,
the caps that held the score with their reasons, the final score), the non-answer reason,
the speech metrics (coaching only, never scored) and the gate's reason for an answer that
was not assessed. Overall: the difficulty-weighted score over the assessed answers (which
ones were left out, and why), and the same weighted mean per skill.

The HTML page is ``report_html.render_html`` over ``templates/report.html``; the stored
audio and its clips are ``report_audio`` (both re-exported here).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from voice_interview.audio.storage import OGG_FORMAT, PCM_FORMAT
from voice_interview.domain.scoring import ScoredAnswer, overall_score
from voice_interview.domain.types import Difficulty
from voice_interview.interview.evaluation.speech_metrics import parse_words, speech_metrics
from voice_interview.interview.report.audio import (
    AUDIO_MIME,
    CLIP_MAX_S,
    CLIP_PAD_S,
    AudioUnavailableError,
    OggOpusAudio,
    answer_audio,
    answer_ogg,
    audio_url,
    clip_bounds,
)
from voice_interview.interview.report.page import render_html
from voice_interview.store.repository import AnswerRecord
from voice_interview.store.tables import AnswerRow, InterviewRow

__all__ = [
    "AUDIO_MIME", "CLIP_MAX_S", "CLIP_PAD_S", "METHOD", "OGG_FORMAT", "PCM_FORMAT",
    "AudioUnavailableError", "OggOpusAudio", "Report", "answer_audio", "answer_ogg",
    "audio_url", "build_report", "clip_bounds", "interview_summary", "per_skill",
    "render_html", "score_parts",
]

METHOD = "difficulty-weighted mean (easy 1.0, medium 1.5, hard 2.0)"


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


class Report(dict[str, Any]):
    """The report as JSON-ready data. ``audio`` keeps each answer's stored audio
    (answer id -> (format, bytes)) for ``render_html``; it is not part of the JSON."""

    audio: dict[str, tuple[str, bytes]]

    def __init__(self, data: Mapping[str, Any], audio: dict[str, tuple[str, bytes]]) -> None:
        super().__init__(data)
        self.audio = audio


# ------------------------------------------------------------------------------ data


def _not_assessed_reason(status: str | None, details: Mapping[str, Any], error: str) -> str:
    if status == "insufficient_data":
        return str(details.get("reason") or "insufficient data")
    if status == "failed":
        return f"evaluation failed ({error})" if error else "evaluation failed"
    if status == "pending":
        return "evaluation still running"
    return "not evaluated"


def _with_clip(item: Mapping[str, Any], url: str | None, duration: float | None) -> dict[str, Any]:
    out = dict(item)
    start, end = out.get("start_s"), out.get("end_s")
    if url and isinstance(start, int | float) and isinstance(end, int | float):
        a, b = clip_bounds(float(start), float(end), duration)
        out["clip"] = {"start_s": a, "end_s": b, "url": f"{url}?start={a:.2f}&end={b:.2f}"}
    else:
        out["clip"] = None
    return out


def _speech(answer: AnswerRow) -> dict[str, Any] | None:
    if answer.source != "voice" or answer.stt.get("status") != "done":
        return None
    stored = answer.stt.get("speech_metrics")
    if isinstance(stored, dict):
        return stored
    timeline = answer.stt.get("timeline")
    return speech_metrics(
        parse_words(answer.stt.get("words")),
        answer.speech_ms,
        timeline if isinstance(timeline, dict) else None,
    )


def _provenance(details: Mapping[str, Any]) -> dict[str, Any]:
    keys = ("models", "rubric_version", "prompt_version", "scoring_version", "seed",
            "temperature", "feedback_source", "rescored_at", "previous")
    out = {k: details[k] for k in keys if k in details}
    gate = details.get("gate")
    if isinstance(gate, dict):
        out["gate_version"] = gate.get("version")
    return out


_PART_KEYS = ("coverage", "specificity", "relevance", "weights", "penalties", "caps",
              "uncapped", "final")


def _number(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) else None


def score_parts(details: Mapping[str, Any], score: float | None) -> dict[str, Any] | None:
    """How a stored score was made: the sub-scores (0-100, before weighting) with their
    weights, each penalty in points and their total, the score before caps where the
    evaluator recorded it, every cap that held it ({cap, kind, reason}) and the final
    score. Parts the evaluator adds later (a judge's grade, a scale) are passed through.
    None for an evaluation stored without them."""
    sp = details.get("score_parts")
    sub = details.get("sub_scores")
    sp = sp if isinstance(sp, Mapping) else {}
    sub = sub if isinstance(sub, Mapping) else {}
    if not sp and not sub:
        return None
    penalties = {
        str(k): float(v) for k, v in (sp.get("penalties") or sub.get("penalties") or {}).items()
        if isinstance(v, int | float)
    }
    caps = sp.get("caps", details.get("caps")) or []
    return {
        "coverage": _number(sp.get("coverage", sub.get("coverage"))),
        "specificity": _number(sp.get("specificity", sub.get("specificity"))),
        "relevance": _number(sp.get("relevance", sub.get("relevance"))),
        "weights": sp.get("weights", sub.get("weights")),
        "penalties": penalties,
        "penalty_total": round(sum(penalties.values()), 1),
        "uncapped": _number(sp.get("uncapped")),
        "caps": [dict(c) for c in caps if isinstance(c, Mapping)],
        "final": _number(sp.get("final", score)),
        **{k: v for k, v in sp.items() if k not in _PART_KEYS},
    }


def _key_points(
    details: Mapping[str, Any], url: str | None, duration: float | None
) -> list[dict[str, Any]]:
    """Per key point: status, quote (with its clip), match, and any contradiction with
    the evaluator's reason (``label`` is "contradicted" then, else the status)."""
    full = {
        str(c.get("key_point")): c for c in details.get("coverage") or []
        if isinstance(c, Mapping)
    }
    contradicted = {
        x.get("key_point") for x in details.get("evidence") or []
        if isinstance(x, Mapping) and x.get("status") == "contradicted"
    }
    out = []
    for c in details.get("key_points", []):
        item = _with_clip(c, url, duration)
        extra = full.get(str(c.get("key_point")), {})
        item["credit"] = _number(extra.get("credit"))
        contradiction = extra.get("contradiction")
        if contradiction is None and c.get("key_point") in contradicted:
            contradiction = "contradicted"
        item["contradiction"] = contradiction
        item["label"] = "contradicted" if contradiction else c.get("status")
        out.append(item)
    return out


def _answer_item(interview_id: str, rec: AnswerRecord) -> dict[str, Any]:
    q, a, e, t = rec.question, rec.answer, rec.evaluation, rec.timing
    recording: dict[str, Any] | None = None
    url: str | None = None  # clip times refer to the stored Ogg/Opus audio
    duration: float | None = None
    if a is not None and a.audio:
        stored = a.stt.get("duration_s")
        duration = float(stored) if isinstance(stored, int | float) else None
        recording = {
            "url": audio_url(interview_id, a.id),
            "mime_type": AUDIO_MIME,
            "duration_s": duration,
        }
        if a.audio_format == OGG_FORMAT:
            url = recording["url"]
    evaluation = None
    if e is not None:
        details = e.details or {}
        assessed = e.status == "scored"
        evaluation = {
            "status": e.status,
            "score": e.score,
            "feedback": e.feedback,
            "strengths": list(e.strengths),
            "weaknesses": list(e.weaknesses),
            "coverage": _key_points(details, url, duration),
            "evidence": [_with_clip(x, url, duration) for x in details.get("evidence", [])],
            "score_parts": score_parts(details, e.score) if assessed else None,
            "non_answer": details.get("non_answer") if assessed else None,
            # The check model's verdict (p_correct, threshold, penalty, why), when one ran.
            "llm_check": details.get("llm_check") if assessed else None,
            "reason": None if assessed else _not_assessed_reason(e.status, details, e.error),
            "provenance": _provenance(details),
            "error": e.error or None,
        }
    return {
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
        "recording": recording,
        "speech_metrics": _speech(a) if a else None,
        "evaluation": evaluation,
        "metrics": dict(t.latency_ms) if t else None,
    }


def _scored(rec: AnswerRecord) -> ScoredAnswer:
    e = rec.evaluation
    return ScoredAnswer(
        Difficulty(rec.question.difficulty),
        e.score if e is not None and e.status == "scored" else None,
        non_answer=e is not None and bool((e.details or {}).get("non_answer")),
    )


def per_skill(records: Sequence[AnswerRecord]) -> list[dict[str, Any]]:
    """The difficulty-weighted mean score per skill, over the answered questions."""
    skills: dict[str, list[AnswerRecord]] = {}
    for rec in records:
        if rec.answer is None:
            continue
        for skill in rec.question.skills:
            skills.setdefault(str(skill), []).append(rec)
    out = []
    for skill, recs in skills.items():
        o = overall_score(_scored(r) for r in recs)
        out.append(
            {
                "skill": skill,
                "score": o.score,
                "assessed": o.assessed,
                "not_assessed": o.not_assessed,
                "questions": [r.question.position for r in recs],
            }
        )
    return out


def build_report(interview: InterviewRow, records: list[AnswerRecord]) -> Report:
    answered = [r for r in records if r.answer is not None]
    overall = overall_score(_scored(r) for r in answered)
    left_out = [
        {
            "question_index": r.question.position,
            "question_id": r.question.id,
            "status": r.evaluation.status if r.evaluation else None,
            "reason": _not_assessed_reason(
                r.evaluation.status if r.evaluation else None,
                r.evaluation.details if r.evaluation else {},
                r.evaluation.error if r.evaluation else "",
            ),
        }
        for r in answered
        if r.evaluation is None or r.evaluation.status != "scored"
    ]
    audio = {
        r.answer.id: (r.answer.audio_format, bytes(r.answer.audio))
        for r in answered
        if r.answer is not None and r.answer.audio
    }
    data = {
        **interview_summary(interview),
        "overall_score": interview.overall_score
        if interview.overall_score is not None
        else overall.score,
        "scoring": {
            "method": METHOD,
            "assessed": overall.assessed,
            "not_assessed": overall.not_assessed,
            "note": overall.note,
            "left_out": left_out,
        },
        "per_skill": per_skill(records),
        "answers": [_answer_item(interview.id, rec) for rec in records],
    }
    return Report(data, audio)
