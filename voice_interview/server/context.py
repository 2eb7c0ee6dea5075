"""The composition root's product: everything a handler needs, built once per app."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from voice_interview.server.auth import Authenticator
from voice_interview.server.metrics import Metrics
from voice_interview.settings import Settings
from voice_interview.store.repository import Repository

if TYPE_CHECKING:
    from voice_interview.engines.registry import Engines
    from voice_interview.interview.conductor import InterviewSession
    from voice_interview.interview.evaluations import EvaluationService
    from voice_interview.interview.transcription import AnswerTranscriber


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
