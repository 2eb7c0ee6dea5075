"""Piper text to speech, with a per-text cache of synthesized audio."""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np

from voice_interview.engines.models import ModelFile, ModelNotFoundError
from voice_interview.settings import Settings


@dataclass(frozen=True)
class Speech:
    pcm: np.ndarray  # int16 mono
    sample_rate: int

    @property
    def duration_ms(self) -> int:
        return int(1000 * len(self.pcm) / self.sample_rate)


class PiperTTS:
    """One Piper voice per process. Blocking; run through an EngineQueue."""

    def __init__(self, model: ModelFile, settings: Settings, cache_size: int = 256) -> None:
        from piper import PiperVoice

        self.model_info = model
        try:
            self._voice = PiperVoice.load(model.path, use_cuda=settings.tts_use_cuda)
        except (RuntimeError, ValueError, OSError) as e:
            raise ModelNotFoundError(
                f"tts voice unusable: {model.setting}={model.path} ({e})"
            ) from e
        self.sample_rate = int(self._voice.config.sample_rate)
        self._cache: OrderedDict[str, Speech] = OrderedDict()
        self._cache_size = cache_size
        self._lock = threading.Lock()

    def cached(self, text: str) -> Speech | None:
        with self._lock:
            speech = self._cache.get(text)
            if speech is not None:
                self._cache.move_to_end(text)
            return speech

    def synthesize(self, text: str) -> Speech:
        hit = self.cached(text)
        if hit is not None:
            return hit
        chunks = [c.audio_int16_array for c in self._voice.synthesize(text)]
        pcm = np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.int16)
        speech = Speech(pcm.astype(np.int16, copy=False), self.sample_rate)
        with self._lock:
            self._cache[text] = speech
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return speech
