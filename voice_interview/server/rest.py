"""REST endpoints (PROTOCOL.md): health, CV analyses, interviews, current question, report.

The handlers live by resource (rest_service, rest_cv, rest_interviews, rest_reports); this
module builds the routes.
"""

from __future__ import annotations

from aiohttp import web

from voice_interview.server.rest_cv import create_cv_analysis
from voice_interview.server.rest_interviews import (
    create_interview,
    current_question,
    delete_interview,
    get_interview,
    list_interviews,
    start_interview,
    ws_url,
)
from voice_interview.server.rest_reports import (
    EXPORT_VERSION,
    answer_audio,
    export_interview,
    feedback,
)
from voice_interview.server.rest_requests import MAX_ID_LEN
from voice_interview.server.rest_service import OPENAPI_SPEC, health, metrics, openapi_spec

__all__ = [
    "EXPORT_VERSION",
    "MAX_ID_LEN",
    "OPENAPI_SPEC",
    "add_routes",
    "answer_audio",
    "create_cv_analysis",
    "create_interview",
    "current_question",
    "delete_interview",
    "export_interview",
    "feedback",
    "get_interview",
    "health",
    "list_interviews",
    "metrics",
    "openapi_spec",
    "start_interview",
    "ws_url",
]


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
