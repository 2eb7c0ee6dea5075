"""REST endpoints (PROTOCOL.md): health, CV analyses, interviews, current question, report."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import logging
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiohttp import web

from voice_interview.domain.interview import InvalidTransitionError
from voice_interview.engines.queue import PRIORITY_BACKGROUND
from voice_interview.interview.cv.analysis import analyse_cv
from voice_interview.interview.questions.bank import load_bank, select_questions
from voice_interview.interview.report import build_report, interview_summary, render_html
from voice_interview.server.context import AppContext, ctx_of
from voice_interview.server.errors import ApiError, read_json
from voice_interview.store.repository import AnswerRecord, NotFoundError
from voice_interview.store.tables import AnswerRow, CvAnalysisRow, InterviewRow

log = logging.getLogger(__name__)


MAX_ID_LEN = 64


def _uuid_param(request: web.Request, name: str = "id") -> str:
    value = request.match_info[name]
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise ApiError(404, "INTERVIEW_NOT_FOUND", f"interview {value[:64]} not found") from None


async def _interview(ctx: AppContext, interview_id: str) -> InterviewRow:
    try:
        return await ctx.repo.get_interview(interview_id)
    except NotFoundError as e:
        raise ApiError(404, "INTERVIEW_NOT_FOUND", str(e)) from e


def _for_recruiter(request: web.Request) -> tuple[AppContext, str]:
    """The context and the path's interview id, for a recruiter only."""
    ctx = ctx_of(request)
    interview_id = _uuid_param(request)
    ctx.auth.require_recruiter(request)
    return ctx, interview_id


def _accessible(request: web.Request) -> tuple[AppContext, str]:
    """The context and the path's interview id, once the caller may see that interview
    (the recruiter, or the candidate whose token names it)."""
    ctx = ctx_of(request)
    interview_id = _uuid_param(request)
    ctx.auth.require_interview_access(request, interview_id)
    return ctx, interview_id


def _require_models(ctx: AppContext) -> None:
    if not ctx.ready:
        message = ctx.load_error or "models are still loading; try again shortly"
        raise ApiError(503, "SERVER_BUSY", message, {"Retry-After": "5"})


def _string(body: dict[str, Any], name: str, *, required: bool, max_len: int) -> str | None:
    value = body.get(name)
    if value is None:
        if required:
            raise ApiError(400, "INVALID_REQUEST", f"{name} is required")
        return None
    if not isinstance(value, str) or not value.strip():
        raise ApiError(400, "INVALID_REQUEST", f"{name} must be a non-empty string")
    if len(value) > max_len:
        raise ApiError(413, "PAYLOAD_TOO_LARGE", f"{name} is longer than {max_len} characters")
    return value.strip()


async def health(request: web.Request) -> web.Response:
    ctx = ctx_of(request)
    if not ctx.ready:
        status = "error" if ctx.load_error else "loading"
        body: dict[str, Any] = {"status": status, "models": None}
        if ctx.load_error:
            body["error"] = ctx.load_error
        return web.json_response(body, status=503)
    files = ctx.engines.model_files()
    return web.json_response(
        {
            "status": "ok",
            # The contract's stt / llm / tts, then ours (embeddings, the turn model).
            "models": {
                role: files[role].name
                for role in ("stt", "llm", "tts", "embed", "turn")
                if role in files
            },
            "active_sessions": len(ctx.sessions),
        }
    )


async def create_cv_analysis(request: web.Request) -> web.Response:
    ctx = ctx_of(request)
    ctx.auth.require_recruiter(request)
    body = await read_json(request, ctx.settings.max_cv_chars * 4 + 4096)
    candidate_id = _string(body, "candidate_id", required=True, max_len=MAX_ID_LEN)
    cv_text = _string(body, "cv_text", required=True, max_len=ctx.settings.max_cv_chars)
    assert candidate_id is not None and cv_text is not None
    _require_models(ctx)
    llm = ctx.engines.llm
    analysis = await ctx.engines.llm_queue.run(lambda: analyse_cv(cv_text, llm))
    row = await ctx.repo.add_cv_analysis(
        candidate_id,
        cv_text,
        list(analysis.skills),
        analysis.experience_years,
        analysis.summary,
        list(analysis.roles),
        dict(analysis.source),
    )
    return web.json_response(
        {
            "id": row.id,
            "candidate_id": candidate_id,
            "skills": row.skills,
            "experience_years": row.experience_years,
            "summary": row.summary,
            "roles": row.roles,
        },
        status=201,
    )


def ws_url(request: web.Request, interview_id: str) -> str:
    scheme = "wss" if request.secure else "ws"
    return f"{scheme}://{request.host}/ws/interviews/{interview_id}"


async def create_interview(request: web.Request) -> web.Response:
    ctx = ctx_of(request)
    ctx.auth.require_recruiter(request)
    body = await read_json(request, 16 * 1024)
    candidate_id = _string(body, "candidate_id", required=True, max_len=MAX_ID_LEN)
    assert candidate_id is not None
    role = _string(body, "role", required=False, max_len=200)
    num = body.get("num_questions", 10)
    if isinstance(num, bool) or not isinstance(num, int) or not 1 <= num <= 20:
        raise ApiError(400, "INVALID_REQUEST", "num_questions must be an integer from 1 to 20")
    skills: list[str] = []
    analysis_id = body.get("cv_analysis_id")
    if analysis_id is not None:
        if not isinstance(analysis_id, str):
            raise ApiError(400, "INVALID_REQUEST", "cv_analysis_id must be a string")
        try:
            analysis = await ctx.repo.get_cv_analysis(analysis_id)
        except NotFoundError as e:
            raise ApiError(404, "CV_ANALYSIS_NOT_FOUND", str(e)) from e
        if analysis.candidate_id != candidate_id:
            raise ApiError(400, "INVALID_REQUEST", "that CV analysis belongs to another candidate")
        skills = list(analysis.skills)
        if role is None and analysis.roles:
            role = str(analysis.roles[0])
    seed = body.get("seed", 0)
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise ApiError(400, "INVALID_REQUEST", "seed must be an integer")
    picked = select_questions(load_bank(), skills=skills, role=role, n=num, seed=seed)
    questions = [q.as_question() for q in picked]
    row = await ctx.repo.create_interview(candidate_id, analysis_id, role, questions)
    if ctx.ready and questions:
        # Synthesize the first question now, so it plays the moment the candidate connects.
        ctx.engines.prefetch_speech(questions[0].text, PRIORITY_BACKGROUND)
    return web.json_response(
        {
            "id": row.id,
            "status": row.status,
            "ws_url": ws_url(request, row.id),
            "candidate_token": ctx.auth.candidate_token(row.id),
            "candidate_url": f"/interview/{row.id}",
            "total": row.total,
        },
        status=201,
    )


async def list_interviews(request: web.Request) -> web.Response:
    ctx = ctx_of(request)
    ctx.auth.require_recruiter(request)
    try:
        limit = min(500, max(1, int(request.query.get("limit", "100"))))
        offset = max(0, int(request.query.get("offset", "0")))
    except ValueError as e:
        raise ApiError(400, "INVALID_REQUEST", "limit and offset must be integers") from e
    rows = await ctx.repo.list_interviews(limit, offset)
    return web.json_response(
        {
            "interviews": [interview_summary(r) for r in rows],
            "total": await ctx.repo.count_interviews(),
        }
    )


async def get_interview(request: web.Request) -> web.Response:
    ctx, interview_id = _accessible(request)
    return web.json_response(interview_summary(await _interview(ctx, interview_id)))


async def start_interview(request: web.Request) -> web.Response:
    ctx, interview_id = _accessible(request)
    try:
        row = await ctx.repo.start(interview_id)
    except NotFoundError as e:
        raise ApiError(404, "INTERVIEW_NOT_FOUND", str(e)) from e
    except InvalidTransitionError as e:
        raise ApiError(409, "INTERVIEW_NOT_ACTIVE", str(e)) from e
    return web.json_response(interview_summary(row))


async def current_question(request: web.Request) -> web.Response:
    ctx, interview_id = _accessible(request)
    interview = await _interview(ctx, interview_id)
    records = await ctx.repo.answer_records(interview_id)
    for rec in records:
        if rec.answer is None:
            q = rec.question
            return web.json_response(
                {
                    "id": q.id,
                    "text": q.text,
                    "question_type": q.question_type,
                    "difficulty": q.difficulty,
                    "index": q.position,
                    "total": interview.total,
                }
            )
    raise ApiError(409, "INTERVIEW_NOT_ACTIVE", "every question of this interview is answered")


async def feedback(request: web.Request) -> web.Response:
    ctx, interview_id = _for_recruiter(request)
    interview = await _interview(ctx, interview_id)
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
    ctx, interview_id = _for_recruiter(request)
    flag = request.query.get("audio", "true").strip().lower()
    if flag not in ("true", "false", "1", "0"):
        raise ApiError(400, "INVALID_REQUEST", "audio must be true or false")
    interview = await _interview(ctx, interview_id)
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

    ctx, interview_id = _for_recruiter(request)
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


async def delete_interview(request: web.Request) -> web.Response:
    ctx, interview_id = _for_recruiter(request)
    try:
        await ctx.repo.delete_interview(interview_id)
    except NotFoundError as e:
        raise ApiError(404, "INTERVIEW_NOT_FOUND", str(e)) from e
    session = ctx.sessions.get(interview_id)
    if session is not None:
        await session.terminate()
    return web.Response(status=204)


async def metrics(request: web.Request) -> web.Response:
    ctx = ctx_of(request)
    if ctx.ready:
        for q in ctx.engines.queues:
            ctx.metrics.queue_depth.labels(q.name).set(q.depth)
    ctx.metrics.active_sessions.set(len(ctx.sessions))
    return web.Response(body=ctx.metrics.render(), content_type="text/plain", charset="utf-8")


OPENAPI_SPEC = Path(__file__).with_name("openapi.yaml")


async def openapi_spec(_request: web.Request) -> web.FileResponse:
    return web.FileResponse(OPENAPI_SPEC, headers={"Content-Type": "text/yaml; charset=utf-8"})


def add_routes(app: web.Application) -> None:
    app.router.add_get("/health", health)
    app.router.add_get("/metrics", metrics)
    app.router.add_post("/api/cv-analyses", create_cv_analysis)
    app.router.add_post("/api/interviews", create_interview)
    app.router.add_get("/api/interviews", list_interviews)
    app.router.add_get("/api/interviews/{id}", get_interview)
    app.router.add_delete("/api/interviews/{id}", delete_interview)
    app.router.add_put("/api/interviews/{id}/start", start_interview)
    app.router.add_get("/api/interviews/{id}/questions/current", current_question)
    app.router.add_get("/api/interviews/{id}/feedback", feedback)
    app.router.add_get("/api/interviews/{id}/export", export_interview)
    app.router.add_get("/api/interviews/{id}/answers/{answer_id}/audio", answer_audio)
    app.router.add_get("/api/openapi.yaml", openapi_spec)
