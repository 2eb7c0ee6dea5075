"""The composition root's product: everything a handler needs, built once per app."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from aiohttp import web

from voice_interview.interview.session.services import Ears, SessionServices
from voice_interview.server.auth import Authenticator
from voice_interview.server.metrics import Metrics
from voice_interview.settings import Settings
from voice_interview.store.repository import Repository

if TYPE_CHECKING:
    from voice_interview.engines.registry import Engines
    from voice_interview.engines.tts import Speech
    from voice_interview.interview.evaluation.jobs import EvaluationService
    from voice_interview.interview.evaluation.transcription import AnswerTranscriber
    from voice_interview.interview.session.session import InterviewSession


@dataclass
class AppContext:
    settings: Settings
    repo: Repository
    auth: Authenticator
    metrics: Metrics
    engines_ready: asyncio.Event = field(default_factory=asyncio.Event)
    load_error: str | None = None
    _engines: Engines | None = None
    _evaluations: EvaluationService | None = None
    _transcriber: AnswerTranscriber | None = None
    sessions: dict[str, InterviewSession] = field(default_factory=dict)

    @property
    def engines(self) -> Engines:
        if self._engines is None:
            raise RuntimeError("models are not loaded yet")
        return self._engines

    @property
    def evaluations(self) -> EvaluationService:
        if self._evaluations is None:
            raise RuntimeError("models are not loaded yet")
        return self._evaluations

    @property
    def transcriber(self) -> AnswerTranscriber:
        if self._transcriber is None:
            raise RuntimeError("models are not loaded yet")
        return self._transcriber

    def set_engines(
        self, engines: Engines, evaluations: EvaluationService, transcriber: AnswerTranscriber
    ) -> None:
        self._engines = engines
        self._evaluations = evaluations
        self._transcriber = transcriber
        self.engines_ready.set()

    @property
    def ready(self) -> bool:
        return self._engines is not None

    def session_services(self) -> SessionServices:
        """What one interview session uses, and nothing more."""
        engines = self.engines
        return SessionServices(
            settings=self.settings,
            store=self.repo,
            voice=EnginesVoice(engines),
            ears=Ears(
                stt=engines.stt,
                stt_queue=engines.stt_queue,
                stt_quick_queue=engines.stt_quick_queue,
                turn=engines.turn,
                turn_queue=engines.turn_queue,
            ),
            evaluations=self.evaluations,
            finals=self.transcriber,
            observe_turn=self.metrics.observe_turn,
        )


class EnginesVoice:
    """The TTS engine as a session's ``Voice``: its cache, its queue, its sample rate."""

    def __init__(self, engines: Engines) -> None:
        self._engines = engines

    @property
    def sample_rate(self) -> int:
        return self._engines.tts.sample_rate

    async def speech(self, text: str, priority: int) -> Speech:
        return await self._engines.speech(text, priority)

    def prefetch_speech(self, text: str, priority: int) -> None:
        self._engines.prefetch_speech(text, priority)


CTX = web.AppKey("ctx", AppContext)


def ctx_of(request: web.Request) -> AppContext:
    """The app context of the app that serves ``request`` (REST and WebSocket handlers)."""
    return request.app[CTX]
