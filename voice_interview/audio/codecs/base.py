"""What every codec shares: the encodings, errors, rates and the PCM helpers."""

from __future__ import annotations

from typing import Protocol

import numpy as np
import numpy.typing as npt

from voice_interview.audio import SAMPLE_RATE

# The encodings implemented here; protocol.py lists the same ones for the wire (a test
# checks they agree), so the codecs import nothing above audio/.
INPUT_ENCODINGS = ("pcm_s16le", "opus", "ogg_opus", "webm_opus")
OUTPUT_ENCODINGS = ("pcm_s16le", "opus")

Pcm = npt.NDArray[np.int16]


class AudioDecodeError(Exception):
    """Input audio could not be decoded (-> ``AUDIO_DECODE_ERROR``); the decoder stays usable."""


class UnsupportedAudioError(Exception):
    """Unknown encoding or sample rate (-> ``UNSUPPORTED_AUDIO``)."""


TARGET_RATE = SAMPLE_RATE
OPUS_RATE = 48000
MIN_RATE, MAX_RATE = 8000, 192000
OPUS_FRAME = 960  # 20 ms at 48 kHz
OPUS_BITRATE = 32000  # transparent enough for speech, small on the wire
PCM_OUT_FRAME_MS = 40  # one WS frame per 40 ms: few frames, and playback can start at once
# Elements / pages we must hold whole before parsing; anything bigger is not a sane stream.
MAX_BUFFERED_ELEMENT = 4 << 20


class InputDecoder(Protocol):
    def feed(self, data: bytes) -> Pcm: ...
    def flush(self) -> Pcm: ...


class OutputEncoder(Protocol):
    sample_rate: int

    def encode(self, pcm: Pcm) -> list[bytes]: ...
    def flush(self) -> list[bytes]: ...


def _empty() -> Pcm:
    return np.zeros(0, dtype=np.int16)


def _concat(parts: list[Pcm]) -> Pcm:
    if not parts:
        return _empty()
    if len(parts) == 1:
        return parts[0]
    return np.concatenate(parts)


def _check_rate(rate: int, what: str) -> None:
    if not isinstance(rate, int) or isinstance(rate, bool) or not MIN_RATE <= rate <= MAX_RATE:
        raise UnsupportedAudioError(f"{what} {rate!r} is outside {MIN_RATE}..{MAX_RATE} Hz")


def _as_int16(pcm: npt.ArrayLike) -> Pcm:
    arr = np.asarray(pcm)
    if arr.dtype != np.int16:
        raise TypeError(f"expected int16 PCM, got {arr.dtype}")
    return np.ascontiguousarray(arr.reshape(-1))
