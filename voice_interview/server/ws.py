"""The candidate's WebSocket: auth, limits, the interview's lease, then one
InterviewSession per connection.

One node drives an interview at a time: the socket takes the interview's lease in the
database before its session starts (``server.cluster``). Held by another node whose lease
is still live, the socket is refused (``SERVER_BUSY``, close 1013: the page tries again,
and gets in once that node lets go or its lease expires). On this node, a newer socket
supersedes the older one (closed with 4409), as before; the lease stays this node's.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Awaitable
from typing import TypeVar

from aiohttp import WSMessage, WSMsgType, web

from voice_interview import protocol as p
from voice_interview.interview.session.session import InterviewSession
from voice_interview.server.cluster import CLUSTER
from voice_interview.server.context import AppContext, ctx_of
from voice_interview.store.repository import Lease, NotFoundError

_T = TypeVar("_T")

log = logging.getLogger(__name__)


async def _refuse(
    ws: web.WebSocketResponse,
    code: str,
    message: str,
    close_code: int,
    reason: str | None = None,
) -> None:
    await ws.send_str(p.ErrorMsg(code, message, reason).to_json())
    await ws.close(code=close_code, message=code.encode())


def _origin_allowed(request: web.Request, allowed: list[str]) -> bool:
    origin = request.headers.get("Origin")
    if not allowed or origin is None or "*" in allowed:
        return True
    return origin in allowed


FIRST_MESSAGE_WAIT_S = 0.3


async def _first_message(ws: web.WebSocketResponse) -> WSMessage | None:
    try:
        msg = await ws.receive(timeout=FIRST_MESSAGE_WAIT_S)
    except TimeoutError:
        return None
    return msg if msg.type in (WSMsgType.TEXT, WSMsgType.BINARY) else None


def _held_elsewhere(lease: Lease) -> str:
    return (
        "this interview is open on another server; it can continue here once it is closed "
        f"there (or within {max(1, round(lease.seconds_left()))} s if that server stopped)"
    )


def _as_session_update(text: str) -> p.SessionUpdate | None:
    try:
        msg = p.parse_client_message(text)
    except p.ProtocolError:
        return None  # handled (with its error) by the session like any other message
    return msg if isinstance(msg, p.SessionUpdate) else None


async def interview_ws(request: web.Request) -> web.WebSocketResponse:
    ctx = ctx_of(request)
    settings = ctx.settings
    if not _origin_allowed(request, settings.allowed_origins):
        raise web.HTTPForbidden(reason="origin not allowed")
    ws = web.WebSocketResponse(
        heartbeat=settings.heartbeat_s,
        # aiohttp's own cap closes the socket (1009); ours, below it, answers with an error.
        max_msg_size=settings.max_ws_message_bytes * 4,
    )
    await ws.prepare(request)
    raw_id = request.match_info["id"]
    who = ctx.auth.principal(request)
    try:
        interview_id = str(uuid.UUID(raw_id))
    except ValueError:
        interview_id = ""
    if who is None or (who.role == "candidate" and who.interview_id != interview_id):
        await _refuse(
            ws, p.UNAUTHORIZED, "a valid token for this interview is required", p.CLOSE_UNAUTHORIZED
        )
        return ws
    if not interview_id:
        await _refuse(
            ws, p.INTERVIEW_NOT_FOUND, f"interview {raw_id[:64]} not found", p.CLOSE_NOT_FOUND
        )
        return ws
    try:
        await ctx.repo.get_interview(interview_id)  # read again once the lease is held
    except NotFoundError as e:
        await _refuse(ws, p.INTERVIEW_NOT_FOUND, str(e), p.CLOSE_NOT_FOUND)
        return ws
    if not ctx.ready:
        await _refuse(
            ws, p.SERVER_BUSY, "models are still loading; try again shortly", p.CLOSE_OVERLOADED
        )
        return ws
    previous = ctx.sessions.get(interview_id)
    if previous is None and len(ctx.sessions) >= settings.max_sessions:
        await _refuse(
            ws,
            p.SERVER_BUSY,
            "too many interviews in progress; try again later",
            p.CLOSE_OVERLOADED,
        )
        return ws
    node = request.app[CLUSTER]
    try:
        lease = await node.acquire(interview_id)
    except NotFoundError as e:
        await _refuse(ws, p.INTERVIEW_NOT_FOUND, str(e), p.CLOSE_NOT_FOUND)
        return ws
    if not lease.held:
        log.info(
            "interview held by another node",
            extra={"interview_id": interview_id, "holder": lease.holder},
        )
        await _refuse(ws, p.SERVER_BUSY, _held_elsewhere(lease), p.CLOSE_OVERLOADED)
        return ws
    try:
        await _drive(ws, ctx, interview_id)
    finally:
        # After the session closed: another node may take the interview from here on.
        await node.release(interview_id)
    return ws


async def _drive(ws: web.WebSocketResponse, ctx: AppContext, interview_id: str) -> None:
    """The session of one accepted socket, under the interview's lease."""
    settings = ctx.settings
    try:
        # Read again under the lease: a session on another node may have moved it on.
        interview = await ctx.repo.get_interview(interview_id)
    except NotFoundError as e:
        await _refuse(ws, p.INTERVIEW_NOT_FOUND, str(e), p.CLOSE_NOT_FOUND)
        return
    # A reconnect supersedes the old socket (often half-dead after a network drop), until
    # none is left: of two sockets arriving at once, only one may run a session. From the
    # loop's end to the session's registration nothing awaits.
    while (previous := ctx.sessions.get(interview_id)) is not None:
        await previous.terminate()
        if ctx.sessions.get(interview_id) is previous:
            del ctx.sessions[interview_id]

    async def send_text(text: str) -> None:
        await ws.send_str(text)

    async def send_bytes(data: bytes) -> None:
        await ws.send_bytes(data)

    session = InterviewSession(
        ctx.session_services(),
        interview,
        send_text,
        send_bytes,
        f"/api/interviews/{interview_id}/feedback",
    )
    ctx.sessions[interview_id] = session
    handler = asyncio.current_task()
    terminated = False
    reading = False  # awaiting the client, not in the middle of the session's own work

    def terminate() -> None:
        # The reader of this socket is another task. Cancel it only while it waits for the
        # client: cancelled inside a store call, it would leave a transaction half done
        # (and SQLAlchemy logs the cursor it could not close). Otherwise the loop sees
        # ``terminated`` once the step it is in has finished.
        nonlocal terminated
        terminated = True
        if handler is not None and reading:
            handler.cancel()

    async def from_client(wait: Awaitable[_T]) -> _T:
        """Await the client: the one place where ``terminate`` cancels this task."""
        nonlocal reading
        reading = True
        try:
            return await wait
        finally:
            reading = False

    session.on_terminate = terminate
    limit = settings.max_ws_message_bytes

    async def dispatch(msg: WSMessage) -> None:
        if len(msg.data) > limit:
            await session.error(p.INVALID_MESSAGE, f"message is over {limit} bytes")
        elif msg.type == WSMsgType.TEXT:
            await session.handle_text(msg.data)
        else:
            await session.handle_audio(msg.data)

    try:
        # session.update may come first: wait a moment for it, so that even the first
        # question's audio goes out in the encoding the client asked for.
        first = await from_client(_first_message(ws))
        if first is not None and first.type == WSMsgType.TEXT and len(first.data) <= limit:
            update = _as_session_update(first.data)
            if update is not None:
                await session.apply_session_update(update)
                first = None
        if not terminated:
            await session.start()
        if first is not None and not terminated:
            await dispatch(first)
        while not ws.closed and not terminated:
            try:
                msg = await from_client(ws.receive(timeout=settings.idle_timeout_s))
            except TimeoutError:
                await _refuse(
                    ws,
                    p.INVALID_MESSAGE,
                    "closed after being idle too long",
                    1000,
                    p.REASON_IDLE_TIMEOUT,
                )
                break
            if msg.type in (WSMsgType.TEXT, WSMsgType.BINARY):
                await dispatch(msg)
            elif msg.type in (WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.CLOSED):
                break
            elif msg.type == WSMsgType.ERROR:
                log.info(
                    "websocket error: %s", ws.exception(), extra={"interview_id": interview_id}
                )
                break
    except asyncio.CancelledError:
        if not terminated:
            raise
    except Exception:
        log.exception("session failed", extra={"interview_id": interview_id})
        with contextlib.suppress(ConnectionError, RuntimeError):
            await ws.send_str(p.ErrorMsg(p.INTERNAL_ERROR, "internal error").to_json())
    finally:
        if ctx.sessions.get(interview_id) is session:
            del ctx.sessions[interview_id]
        await session.close()
        if not ws.closed:
            if terminated:
                await ws.close(code=p.CLOSE_SUPERSEDED, message=b"taken over by another connection")
            else:
                await ws.close()
