"""Loads each engine once per process and gives each its own work queue."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from voice_interview.engines.models import ModelFile, resolve_model
from voice_interview.engines.queue import EngineQueue
from voice_interview.settings import Settings

if TYPE_CHECKING:
    from voice_interview.engines.embed import Embedder
    from voice_interview.engines.llm import LocalLLM
    from voice_interview.engines.remote_llm import RemoteLLM, RemoteModel
    from voice_interview.engines.stt import SpeechToText
    from voice_interview.engines.tts import PiperTTS, Speech
    from voice_interview.engines.turn_detect import TurnDetector

log = logging.getLogger(__name__)


@dataclass
class Engines:
    stt: SpeechToText
    tts: PiperTTS
    llm: LocalLLM | RemoteLLM | None
    embedder: Embedder
    turn: TurnDetector
    load_s: dict[str, float] = field(default_factory=dict)
    # The check model (VI_CHECK_MODEL), the LLM itself when both name the same file.
    check: LocalLLM | None = None
    stt_queue: EngineQueue = field(default_factory=lambda: EngineQueue("stt"))
    # Interims and end-of-turn checks (~0.1 s each) on a second STT worker, so a candidate
    # waiting for the turn to end never waits behind another answer's full pass (~0.5 s).
    stt_quick_queue: EngineQueue = field(default_factory=lambda: EngineQueue("stt-quick"))
    tts_queue: EngineQueue = field(default_factory=lambda: EngineQueue("tts"))
    # Evaluations and CV analyses (LLM + embeddings) share one queue, off the turn path.
    llm_queue: EngineQueue = field(default_factory=lambda: EngineQueue("llm"))
    # Smart Turn checks (~40 ms each) get their own thread, so they never wait behind STT.
    turn_queue: EngineQueue = field(default_factory=lambda: EngineQueue("turn"))

    @property
    def queues(self) -> list[EngineQueue]:
        return [
            self.stt_queue,
            self.stt_quick_queue,
            self.tts_queue,
            self.llm_queue,
            self.turn_queue,
        ]

    async def speech(self, text: str, priority: int) -> Speech:
        """The spoken text: from the cache, else synthesized on the TTS worker."""
        cached = self.tts.cached(text)
        if cached is not None:
            return cached
        tts = self.tts
        return await self.tts_queue.run(lambda: tts.synthesize(text), priority)

    def prefetch_speech(self, text: str, priority: int) -> None:
        """Synthesize in the background, so the text can be spoken at once later."""
        if self.tts.cached(text) is None:
            tts = self.tts
            self.tts_queue.submit_sync(lambda: tts.synthesize(text), priority)

    def model_files(self) -> dict[str, ModelFile | RemoteModel]:
        """Each role's model; a remote one (VI_LLM_URL, VI_STT_URL) as its server names it,
        and then the local STT model that quick passes use as ``stt_quick``."""
        files: dict[str, ModelFile | RemoteModel] = {
            "stt": self.stt.model_info,
            "tts": self.tts.model_info,
            "embed": self.embedder.model_info,
            "turn": self.turn.model_info,
        }
        if self.llm is not None:
            files["llm"] = self.llm.model_info
        if self.check is not None:
            files["check"] = self.check.model_info
        quick = getattr(self.stt, "quick_model_info", None)
        if isinstance(quick, ModelFile):
            files["stt_quick"] = quick
        return files

    def close(self) -> None:
        for q in self.queues:
            q.close()


def local_roles(settings: Settings) -> tuple[str, ...]:
    """The roles whose model file this node loads: not the LLM when VI_LLM_URL is set.
    (STT stays: with VI_STT_URL only full passes go to the server, quick passes need it.)"""
    roles = ("stt", "llm", "tts", "embed", "turn", "check")
    return tuple(
        r for r in roles
        if not (r == "llm" and settings.llm_url) and not (r == "check" and not settings.check_model)
    )


def resolve_all(settings: Settings) -> dict[str, ModelFile]:
    """Resolve every model file this node loads (fails fast, with one clear line, before
    anything loads)."""
    return {role: resolve_model(role, settings) for role in local_roles(settings)}


def llm_engine(settings: Settings) -> LocalLLM | RemoteLLM:
    """The LLM the settings ask for: the server at VI_LLM_URL, else the local model."""
    if settings.llm_url:
        from voice_interview.engines.remote_llm import RemoteLLM

        return RemoteLLM(settings)
    from voice_interview.engines.llm import LocalLLM

    return LocalLLM(resolve_model("llm", settings), settings)


def check_engine(
    settings: Settings, llm: LocalLLM | RemoteLLM | None = None
) -> LocalLLM | None:
    """The check model VI_CHECK_MODEL names (None when unset); ``llm`` itself when it is
    a local model loaded from the same file, so one file is not loaded twice."""
    if not settings.check_model:
        return None
    from voice_interview.engines.llm import LocalLLM

    model = resolve_model("check", settings)
    if isinstance(llm, LocalLLM) and llm.model_info.path.resolve() == model.path.resolve():
        return llm
    return LocalLLM(model, settings)


def stt_engine(settings: Settings, model: ModelFile) -> SpeechToText:
    """Speech to text on ``model``; with VI_STT_URL its full passes go to that server."""
    if settings.stt_url:
        from voice_interview.engines.remote_stt import RemoteSpeechToText

        return RemoteSpeechToText(model, settings)
    from voice_interview.engines.stt import SpeechToText

    return SpeechToText(model, settings)


def load_engines(settings: Settings) -> Engines:
    """Load every model. Raises ModelNotFoundError naming the setting and path (or the
    server's URL, for a remote LLM that cannot be asked which model it serves)."""
    from voice_interview.engines.embed import Embedder
    from voice_interview.engines.tts import PiperTTS
    from voice_interview.engines.turn_detect import TurnDetector

    files = resolve_all(settings)
    load_s: dict[str, float] = {}

    t = time.monotonic()
    stt = stt_engine(settings, files["stt"])
    load_s["stt"] = time.monotonic() - t
    t = time.monotonic()
    tts = PiperTTS(files["tts"], settings)
    load_s["tts"] = time.monotonic() - t
    t = time.monotonic()
    llm = llm_engine(settings)
    load_s["llm"] = time.monotonic() - t
    t = time.monotonic()
    check = check_engine(settings, llm)
    if check is not None:
        load_s["check"] = time.monotonic() - t
    t = time.monotonic()
    embedder = Embedder(files["embed"])
    load_s["embed"] = time.monotonic() - t
    t = time.monotonic()
    turn = TurnDetector(files["turn"])
    load_s["turn"] = time.monotonic() - t
    log.info("models loaded", extra={"load_s": {k: round(v, 2) for k, v in load_s.items()}})
    return Engines(
        stt=stt, tts=tts, llm=llm, embedder=embedder, turn=turn, load_s=load_s, check=check
    )
