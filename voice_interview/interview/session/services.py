"""The few services one interview session uses, handed to it explicitly.

The session needs a store, a voice, ears (speech to text and the turn model), the
evaluations and the metrics; it gets exactly those, so a unit test can hand it fakes,
and nothing under ``interview/`` reaches up into the server's app context.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
import numpy.typing as npt

from voice_interview.engines.queue import EngineQueue
from voice_interview.engines.stt import Transcript
from voice_interview.engines.tts import Speech
from voice_interview.settings import Settings

if TYPE_CHECKING:
    from voice_interview.engines.stt import SpeechToText
    from voice_interview.interview.evaluation.jobs import EvaluationService
    from voice_interview.store.repository import Repository


class Voice(Protocol):
    """Speaks the questions (the TTS engine behind its queue and cache)."""

    @property
    def sample_rate(self) -> int: ...

    async def speech(self, text: str, priority: int) -> Speech: ...

    def prefetch_speech(self, text: str, priority: int) -> None: ...


class TurnModel(Protocol):
    def probability_complete(self, audio: npt.NDArray[np.int16]) -> float: ...


@dataclass
class Ears:
    """Speech to text and the turn model, each behind its own worker queue."""

    stt: SpeechToText
    stt_queue: EngineQueue  # full passes (finals)
    stt_quick_queue: EngineQueue  # interims and end-of-turn checks
    turn: TurnModel
    turn_queue: EngineQueue

    @property
    def backlog(self) -> int:
        return self.stt_queue.depth + self.stt_quick_queue.depth


class FinalStore(Protocol):
    """Stores an answer's final transcript and audio (``AnswerTranscriber``)."""

    async def store(
        self,
        answer_id: str,
        pcm: npt.NDArray[np.int16],
        transcript: Transcript,
        *,
        speech_ms: int,
        timeline: dict[str, Any] | None,
    ) -> dict[str, Any]: ...


@dataclass
class SessionServices:
    settings: Settings
    store: Repository
    voice: Voice
    ears: Ears
    evaluations: EvaluationService
    finals: FinalStore
    observe_turn: Callable[[dict[str, Any]], None]
