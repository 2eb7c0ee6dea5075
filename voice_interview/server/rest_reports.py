"""What a recruiter reads back: the report (JSON or HTML), an answer's audio (or a clip of
it), and the export of everything stored about an interview."""

from __future__ import annotations

import base64
import contextlib
import hashlib
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from voice_interview.interview.report import build_report, render_html
from voice_interview.server.errors import ApiError
from voice_interview.server.rest_requests import find_interview, for_recruiter
from voice_interview.store.repository import AnswerRecord, NotFoundError
from voice_interview.store.tables import AnswerRow, CvAnalysisRow, InterviewRow


async def feedback(request: web.Request) -> web.Response:
    ctx, interview_id = for_recruiter(request)
    interview = await find_interview(ctx, interview_id)
    report = build_report(interview, await ctx.repo.answer_records(interview_id))
    accept = request.headers.get("Accept", "")
    if "text/html" in accept and "application/json" not in accept.split(",")[0]:
        return web.Response(text=render_html(report), content_type="text/html")
    return web.json_response(report)


EXPORT_VERSION = 1


def _export_iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).isoformat()


def _export_audio(answer: AnswerRow, include: bool) -> dict[str, Any] | None:
    if not answer.audio:
        return None
    data = bytes(answer.audio)
    return {
        "format": answer.audio_format,  # ogg_opus, or pcm_s16le_16k before transcription
        "size_bytes": len(data),
        "sha256": hashlib.sha256(data).hexdigest(),
        "data_base64": base64.b64encode(data).decode("ascii") if include else None,
    }


def _export_document(
    interview: InterviewRow,
    records: list[AnswerRecord],
    analysis: CvAnalysisRow | None,
    include_audio: bool,
) -> dict[str, Any]:
    """The report plus every stored field the report leaves out (a superset of it)."""
    doc = build_report(interview, records)
    for item, rec in zip(doc["answers"], records, strict=True):
        q, a, e, t = rec.question, rec.answer, rec.evaluation, rec.timing
        item["question"]["bank_id"] = q.bank_id
        item["speech_ms"] = a.speech_ms if a else None
        item["answered_at"] = _export_iso(a.created_at) if a else None
        item["stt"] = dict(a.stt) if a else None  # status, confidences, word timings
        item["audio"] = _export_audio(a, include_audio) if a else None
        if e is not None:
            item["evaluation"].update(
                id=e.id,
                details=dict(e.details),
                attempts=e.attempts,
                updated_at=_export_iso(e.updated_at),
            )
        item["metrics_recorded_at"] = _export_iso(t.created_at) if t else None
    doc["cv_analysis_id"] = interview.cv_analysis_id
    doc["cv_analysis"] = (
        None
        if analysis is None
        else {
            "id": analysis.id,
            "candidate_id": analysis.candidate_id,
            "cv_text": analysis.cv_text,
            "skills": list(analysis.skills),
            "experience_years": analysis.experience_years,
            "summary": analysis.summary,
            "roles": list(analysis.roles),
            "details": dict(analysis.details),
            "created_at": _export_iso(analysis.created_at),
        }
    )
    doc["export"] = {
        "format": "voice_interview.export",
        "version": EXPORT_VERSION,
        "exported_at": datetime.now(UTC).isoformat(),
        "audio_included": include_audio,
    }
    return doc


async def export_interview(request: web.Request) -> web.Response:
    """Everything stored about one interview (data-subject access), as a JSON download.

    Stored answer audio is included as base64 unless ``?audio=false``; its format, size
    and SHA-256 are given either way.
    """
    ctx, interview_id = for_recruiter(request)
    flag = request.query.get("audio", "true").strip().lower()
    if flag not in ("true", "false", "1", "0"):
        raise ApiError(400, "INVALID_REQUEST", "audio must be true or false")
    interview = await find_interview(ctx, interview_id)
    try:
        records = await ctx.repo.answer_records(interview_id)
    except NotFoundError as e:  # deleted meanwhile
        raise ApiError(404, "INTERVIEW_NOT_FOUND", str(e)) from e
    analysis = None
    if interview.cv_analysis_id is not None:
        with contextlib.suppress(NotFoundError):
            analysis = await ctx.repo.get_cv_analysis(interview.cv_analysis_id)
    doc = _export_document(interview, records, analysis, flag in ("true", "1"))
    return web.json_response(
        doc,
        headers={"Content-Disposition": f'attachment; filename="interview-{interview_id}.json"'},
    )


async def answer_audio(request: web.Request) -> web.Response:
    """One answer's stored audio as Ogg/Opus; with ``?start=&end=`` (seconds of the stored
    audio, the timeline of the report's evidence times) only that clip, cut server-side so
    any player plays exactly the clip. Recruiter only."""
    import asyncio
    import math

    from voice_interview.interview.report import AUDIO_MIME, AudioUnavailableError
    from voice_interview.interview.report import answer_audio as stored_audio

    ctx, interview_id = for_recruiter(request)
    answer_id = request.match_info["answer_id"]
    try:
        records = await ctx.repo.answer_records(interview_id)
    except NotFoundError as e:
        raise ApiError(404, "INTERVIEW_NOT_FOUND", str(e)) from e
    answer = next(
        (r.answer for r in records if r.answer is not None and r.answer.id == answer_id), None
    )
    if answer is None:
        raise ApiError(
            404, "NOT_FOUND", f"answer {answer_id[:64]} not found in interview {interview_id}"
        )
    bounds: list[float | None] = []
    for name in ("start", "end"):
        raw = request.query.get(name)
        value = None
        if raw is not None:
            try:
                value = float(raw)
            except ValueError:
                value = math.nan
            if not math.isfinite(value) or value < 0:
                raise ApiError(400, "INVALID_REQUEST", f"{name} must be seconds (>= 0)")
        bounds.append(value)
    loop = asyncio.get_running_loop()
    try:
        data = await loop.run_in_executor(None, stored_audio, answer, bounds[0], bounds[1])
    except AudioUnavailableError as e:
        raise ApiError(404, "NOT_FOUND", str(e)) from e
    except ValueError as e:
        raise ApiError(400, "INVALID_REQUEST", str(e)) from e
    return web.Response(
        body=data,
        content_type=AUDIO_MIME,
        headers={
            "Cache-Control": "private, no-store",
            "Content-Disposition": f'inline; filename="answer-{answer.id}.ogg"',
        },
    )
