"""CV analyses (POST /api/cv-analyses): the CV's skills, experience and roles, by the LLM."""

from __future__ import annotations

from aiohttp import web

from voice_interview.interview.cv.analysis import analyse_cv
from voice_interview.server.context import ctx_of
from voice_interview.server.errors import read_json
from voice_interview.server.rest_requests import MAX_ID_LEN, body_string, require_models


async def create_cv_analysis(request: web.Request) -> web.Response:
    ctx = ctx_of(request)
    ctx.auth.require_recruiter(request)
    body = await read_json(request, ctx.settings.max_cv_chars * 4 + 4096)
    candidate_id = body_string(body, "candidate_id", required=True, max_len=MAX_ID_LEN)
    cv_text = body_string(body, "cv_text", required=True, max_len=ctx.settings.max_cv_chars)
    assert candidate_id is not None and cv_text is not None
    require_models(ctx)
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
