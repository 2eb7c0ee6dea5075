"""The service's own endpoints: health, Prometheus metrics and the OpenAPI spec."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aiohttp import web

from voice_interview.server.context import ctx_of


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
            # The contract's stt / llm / tts, then ours (embeddings, the turn model, the
            # check model when VI_CHECK_MODEL names one).
            "models": {
                role: files[role].name
                for role in ("stt", "llm", "tts", "embed", "turn", "check")
                if role in files
            },
            "active_sessions": len(ctx.sessions),
        }
    )


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
