"""The app factory: the composition root that builds the store, engines and handlers."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from pathlib import Path

from aiohttp import web

from voice_interview.engines.registry import Engines, load_engines
from voice_interview.interview.evaluation.evaluator import Evaluator
from voice_interview.interview.evaluation.jobs import EvaluationService
from voice_interview.interview.evaluation.transcription import AnswerTranscriber
from voice_interview.server import rest, static, ws
from voice_interview.server.auth import Authenticator
from voice_interview.server.cluster import CLUSTER, Cluster
from voice_interview.server.context import CTX, AppContext
from voice_interview.server.cors import cors_middleware
from voice_interview.server.errors import error_middleware
from voice_interview.server.metrics import Metrics
from voice_interview.server.ratelimit import RateLimiter, rate_limit_middleware
from voice_interview.settings import Settings
from voice_interview.store.repository import Repository

log = logging.getLogger(__name__)

EngineLoader = Callable[[Settings], Engines]


async def _load_models(ctx: AppContext, loader: EngineLoader, node: Cluster) -> None:
    loop = asyncio.get_running_loop()
    try:
        engines = await loop.run_in_executor(None, loader, ctx.settings)
    except Exception as e:  # reported on /health and in the log, the server stays up
        ctx.load_error = f"{type(e).__name__}: {e}"
        log.error("model loading failed: %s", ctx.load_error)
        return
    for q in engines.queues:
        q.on_done = ctx.metrics.observe_engine
    evaluator = Evaluator.configured(
        engines.llm, engines.embedder, ctx.settings, checker=engines.check
    )
    evaluations = EvaluationService(ctx.repo, evaluator, engines.llm_queue)
    evaluations.on_latency = ctx.metrics.evaluation.observe
    transcriber = AnswerTranscriber(
        ctx.repo, engines, evaluations, store_audio=ctx.settings.store_answer_audio
    )
    ctx.set_engines(engines, evaluations, transcriber)
    # Answer jobs no node holds (this node's before a restart, or a stopped node's):
    # taken up now, then by the job poller.
    node.start_jobs(evaluations, transcriber)
    redone = await evaluations.resume_pending()
    recovered = await transcriber.recover()
    if redone or recovered:
        log.info(
            "finishing work left by an earlier stop",
            extra={"evaluations": redone, "transcriptions": recovered},
        )


def create_app(settings: Settings, loader: EngineLoader = load_engines) -> web.Application:
    app = web.Application(
        middlewares=[
            # Outermost, so that errors and 429s carry the CORS headers too.
            cors_middleware(settings.allowed_origins),
            error_middleware,
            rate_limit_middleware(RateLimiter(settings.rate_limit_per_minute)),
        ],
        client_max_size=max(1 << 20, settings.max_cv_chars * 4 + 4096),
    )

    async def lifecycle(app: web.Application) -> AsyncIterator[None]:
        repo = Repository(settings.database_url, lease_ttl_s=settings.lease_ttl_s)
        await repo.init()
        admin_keys = settings.all_admin_keys
        if not admin_keys:
            admin_keys = [await repo.get_or_create_secret("admin_key", 24)]
            log.warning(
                "VI_ADMIN_KEY is not set; using the generated recruiter key stored in the "
                "database: %s",
                admin_keys[0],
            )
        secret = settings.token_secret or await repo.get_or_create_secret("token_secret")
        ctx = AppContext(
            settings=settings,
            repo=repo,
            auth=Authenticator(admin_keys, secret, settings.token_ttl_s),
            metrics=Metrics(),
        )
        app[CTX] = ctx
        node = Cluster(repo, lease_ttl_s=settings.lease_ttl_s, job_poll_s=settings.job_poll_s)

        async def lease_lost(interview_id: str) -> None:
            session = ctx.sessions.get(interview_id)
            if session is not None:
                await session.terminate()

        node.on_lost = lease_lost
        await node.start()
        app[CLUSTER] = node
        loading: asyncio.Task[None] | None = None
        if settings.load_models:
            loading = asyncio.create_task(_load_models(ctx, loader, node))
        yield
        if loading is not None and not loading.done():
            loading.cancel()
        await node.stop_jobs()
        for session in list(ctx.sessions.values()):
            await session.close()
        if ctx.ready:
            await ctx.evaluations.drain()
            ctx.engines.close()
        # After the drain: the claims of evaluations still running were renewed until now.
        await node.stop()
        await repo.close()

    app.cleanup_ctx.append(lifecycle)
    rest.add_routes(app)
    app.router.add_get("/ws/interviews/{id}", ws.interview_ws)
    static.add_routes(app, Path(__file__).parent / "static")
    return app
