"""Interviews: create (questions picked from the bank), list, get, start, the current
question, and delete (which also ends a live session)."""

from __future__ import annotations

from aiohttp import web

from voice_interview.domain.interview import InvalidTransitionError
from voice_interview.engines.queue import PRIORITY_BACKGROUND
from voice_interview.interview.questions.bank import load_bank, select_questions
from voice_interview.interview.report import interview_summary
from voice_interview.server.context import ctx_of
from voice_interview.server.errors import ApiError, read_json
from voice_interview.server.rest_requests import (
    MAX_ID_LEN,
    accessible,
    body_string,
    find_interview,
    for_recruiter,
)
from voice_interview.store.repository import NotFoundError


def ws_url(request: web.Request, interview_id: str) -> str:
    scheme = "wss" if request.secure else "ws"
    return f"{scheme}://{request.host}/ws/interviews/{interview_id}"


async def create_interview(request: web.Request) -> web.Response:
    ctx = ctx_of(request)
    ctx.auth.require_recruiter(request)
    body = await read_json(request, 16 * 1024)
    candidate_id = body_string(body, "candidate_id", required=True, max_len=MAX_ID_LEN)
    assert candidate_id is not None
    role = body_string(body, "role", required=False, max_len=200)
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


MAX_OFFSET = 2**63 - 1  # the largest OFFSET SQLite and PostgreSQL take (a 64-bit integer)


async def list_interviews(request: web.Request) -> web.Response:
    ctx = ctx_of(request)
    ctx.auth.require_recruiter(request)
    try:
        limit = min(500, max(1, int(request.query.get("limit", "100"))))
        offset = min(MAX_OFFSET, max(0, int(request.query.get("offset", "0"))))
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
    ctx, interview_id = accessible(request)
    return web.json_response(interview_summary(await find_interview(ctx, interview_id)))


async def start_interview(request: web.Request) -> web.Response:
    ctx, interview_id = accessible(request)
    try:
        row = await ctx.repo.start(interview_id)
    except NotFoundError as e:
        raise ApiError(404, "INTERVIEW_NOT_FOUND", str(e)) from e
    except InvalidTransitionError as e:
        raise ApiError(409, "INTERVIEW_NOT_ACTIVE", str(e)) from e
    return web.json_response(interview_summary(row))


async def current_question(request: web.Request) -> web.Response:
    ctx, interview_id = accessible(request)
    interview = await find_interview(ctx, interview_id)
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


async def delete_interview(request: web.Request) -> web.Response:
    ctx, interview_id = for_recruiter(request)
    try:
        await ctx.repo.delete_interview(interview_id)
    except NotFoundError as e:
        raise ApiError(404, "INTERVIEW_NOT_FOUND", str(e)) from e
    session = ctx.sessions.get(interview_id)
    if session is not None:
        await session.terminate()
    return web.Response(status=204)
