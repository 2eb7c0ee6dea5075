"""What the REST handlers share: the path's interview id and who may see it, body fields,
the interview lookup and the models-ready check."""

from __future__ import annotations

import uuid
from typing import Any

from aiohttp import web

from voice_interview.server.context import AppContext, ctx_of
from voice_interview.server.errors import ApiError
from voice_interview.store.repository import NotFoundError
from voice_interview.store.tables import InterviewRow

MAX_ID_LEN = 64


def uuid_param(request: web.Request, name: str = "id") -> str:
    value = request.match_info[name]
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise ApiError(404, "INTERVIEW_NOT_FOUND", f"interview {value[:64]} not found") from None


async def find_interview(ctx: AppContext, interview_id: str) -> InterviewRow:
    try:
        return await ctx.repo.get_interview(interview_id)
    except NotFoundError as e:
        raise ApiError(404, "INTERVIEW_NOT_FOUND", str(e)) from e


def for_recruiter(request: web.Request) -> tuple[AppContext, str]:
    """The context and the path's interview id, for a recruiter only."""
    ctx = ctx_of(request)
    interview_id = uuid_param(request)
    ctx.auth.require_recruiter(request)
    return ctx, interview_id


def accessible(request: web.Request) -> tuple[AppContext, str]:
    """The context and the path's interview id, once the caller may see that interview
    (the recruiter, or the candidate whose token names it)."""
    ctx = ctx_of(request)
    interview_id = uuid_param(request)
    ctx.auth.require_interview_access(request, interview_id)
    return ctx, interview_id


def require_models(ctx: AppContext) -> None:
    if not ctx.ready:
        message = ctx.load_error or "models are still loading; try again shortly"
        raise ApiError(503, "SERVER_BUSY", message, {"Retry-After": "5"})


def body_string(body: dict[str, Any], name: str, *, required: bool, max_len: int) -> str | None:
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
