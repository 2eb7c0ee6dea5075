"""REST endpoints (PROTOCOL.md): health, CV analyses, interviews, current question, report."""

from __future__ import annotations

import logging
import uuid
from pathlib import Path
from typing import Any

from aiohttp import web

from voice_interview.domain.interview import InterviewStatus, InvalidTransitionError
from voice_interview.interview.cv_analysis import analyse_cv
from voice_interview.interview.question_bank import load_bank, select_questions
from voice_interview.interview.report import build_report, interview_summary, render_html
from voice_interview.server.context import AppContext
from voice_interview.server.errors import ApiError, read_json
from voice_interview.store.repository import NewQuestion, NotFoundError
from voice_interview.store.tables import InterviewRow

log = logging.getLogger(__name__)

CTX = web.AppKey("ctx", AppContext)

MAX_ID_LEN = 64


def ctx_of(request: web.Request) -> AppContext:
    return request.app[CTX]


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
            "models": {role: files[role].name for role in ("stt", "llm", "tts") if role in files},
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
    questions = [
        NewQuestion(
            bank_id=q.id,
            text=q.text,
            question_type=str(q.question_type),
            difficulty=str(q.difficulty),
            skills=list(q.skills),
            key_points=list(q.key_points),
        )
        for q in picked
    ]
    row = await ctx.repo.create_interview(candidate_id, analysis_id, role, questions)
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
    ctx = ctx_of(request)
    interview_id = _uuid_param(request)
    ctx.auth.require_interview_access(request, interview_id)
    row = await _interview(ctx, interview_id)
    return web.json_response(interview_summary(row))


async def start_interview(request: web.Request) -> web.Response:
    ctx = ctx_of(request)
    interview_id = _uuid_param(request)
    ctx.auth.require_interview_access(request, interview_id)
    current = await _interview(ctx, interview_id)
    if current.status != InterviewStatus.READY.value:
        # Resuming a paused interview is the candidate's WebSocket `resume`, not a start.
        raise ApiError(409, "INTERVIEW_NOT_ACTIVE", f"interview is {current.status}; only a "
                       "ready interview can be started")
    try:
        row = await ctx.repo.set_status(interview_id, InterviewStatus.IN_PROGRESS)
    except InvalidTransitionError as e:
        raise ApiError(409, "INTERVIEW_NOT_ACTIVE", str(e)) from e
    return web.json_response(interview_summary(row))


async def current_question(request: web.Request) -> web.Response:
    ctx = ctx_of(request)
    interview_id = _uuid_param(request)
    ctx.auth.require_interview_access(request, interview_id)
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
    ctx = ctx_of(request)
    interview_id = _uuid_param(request)
    ctx.auth.require_recruiter(request)
    interview = await _interview(ctx, interview_id)
    report = build_report(interview, await ctx.repo.answer_records(interview_id))
    accept = request.headers.get("Accept", "")
    if "text/html" in accept and "application/json" not in accept.split(",")[0]:
        return web.Response(text=render_html(report), content_type="text/html")
    return web.json_response(report)


async def export_interview(request: web.Request) -> web.Response:
    ctx = ctx_of(request)
    interview_id = _uuid_param(request)
    ctx.auth.require_recruiter(request)
    interview = await _interview(ctx, interview_id)
    report = build_report(interview, await ctx.repo.answer_records(interview_id))
    return web.json_response(
        report,
        headers={"Content-Disposition": f'attachment; filename="interview-{interview_id}.json"'},
    )


async def delete_interview(request: web.Request) -> web.Response:
    ctx = ctx_of(request)
    interview_id = _uuid_param(request)
    ctx.auth.require_recruiter(request)
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
    app.router.add_get("/api/openapi.yaml", openapi_spec)
