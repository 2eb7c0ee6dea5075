"""JSON errors for REST: ``{"error": {"code", "message"}}`` with the right status."""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable

from aiohttp import web

log = logging.getLogger(__name__)


class ApiError(Exception):
    def __init__(
        self, status: int, code: str, message: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}


def error_response(
    status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> web.Response:
    return web.json_response(
        {"error": {"code": code, "message": message}}, status=status, headers=headers
    )


_HTTP_CODES = {
    400: "INVALID_REQUEST",
    401: "UNAUTHORIZED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    409: "CONFLICT",
    413: "PAYLOAD_TOO_LARGE",
    429: "RATE_LIMITED",
}


def _allow_header(e: web.HTTPException) -> dict[str, str] | None:
    allow = e.headers.get("Allow")
    return {"Allow": allow} if allow else None


@web.middleware
async def error_middleware(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    try:
        return await handler(request)
    except ApiError as e:
        return error_response(e.status, e.code, e.message, e.headers)
    except web.HTTPException as e:
        if e.status < 400 or e.content_type == "application/json":
            raise
        code = _HTTP_CODES.get(e.status, "HTTP_ERROR")
        return error_response(
            e.status, code, e.reason or code, _allow_header(e)
        )
    except Exception:
        log.exception("unhandled error", extra={"path": request.path})
        return error_response(500, "INTERNAL_ERROR", "internal server error")


async def read_json(request: web.Request, max_bytes: int) -> dict[str, object]:
    if request.content_length is not None and request.content_length > max_bytes:
        raise ApiError(413, "PAYLOAD_TOO_LARGE", f"request body is over {max_bytes} bytes")
    try:
        raw = await request.content.read(max_bytes + 1)
    except ValueError as e:
        raise ApiError(400, "INVALID_REQUEST", f"could not read the body: {e}") from e
    if len(raw) > max_bytes:
        raise ApiError(413, "PAYLOAD_TOO_LARGE", f"request body is over {max_bytes} bytes")
    try:
        body = json.loads(raw or b"{}")
    except (ValueError, RecursionError) as e:
        # ValueError covers JSONDecodeError, UnicodeDecodeError and integers over
        # Python's digit limit; RecursionError, arrays nested thousands deep.
        raise ApiError(400, "INVALID_REQUEST", f"body is not valid JSON: {e}"[:300]) from e
    if not isinstance(body, dict):
        raise ApiError(400, "INVALID_REQUEST", "body must be a JSON object")
    return body
