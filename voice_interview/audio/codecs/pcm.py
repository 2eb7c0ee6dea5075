"""PCM s16le in (any rate, any frame size) and out (in 40 ms frames)."""

from __future__ import annotations

import numpy as np

from voice_interview.audio.codecs.base import (
    PCM_OUT_FRAME_MS,
    TARGET_RATE,
    Pcm,
    _as_int16,
    _empty,
)
from voice_interview.audio.codecs.resample import _Resampler


class PcmDecoder:
    """PCM s16le mono at any rate, any number of bytes per frame (an odd byte waits)."""

    def __init__(self, sample_rate: int) -> None:
        self._rs = _Resampler(sample_rate, TARGET_RATE)
        self._odd = b""

    def feed(self, data: bytes) -> Pcm:
        if self._odd:
            data = self._odd + bytes(data)
        usable = len(data) & ~1
        self._odd = bytes(data[usable:])
        if usable == 0:
            return _empty()
        # A copy (astype): the caller may reuse a bytearray, and at 16 kHz we hand it on.
        pcm = np.frombuffer(data, dtype="<i2", count=usable // 2).astype(np.int16)
        return self._rs.push(pcm)

    def flush(self) -> Pcm:
        self._odd = b""  # half a sample is not audio
        return self._rs.flush()


class PcmEncoder:
    """PCM s16le at ``sample_rate``, in frames of ``PCM_OUT_FRAME_MS`` (last one shorter)."""

    def __init__(self, in_rate: int, out_rate: int) -> None:
        self.sample_rate = out_rate
        self._rs = _Resampler(in_rate, out_rate)
        self._frame_bytes = out_rate * PCM_OUT_FRAME_MS // 1000 * 2
        self._pending = bytearray()

    def _frames(self, pcm: Pcm, final: bool) -> list[bytes]:
        self._pending += pcm.astype("<i2", copy=False).tobytes()
        n = self._frame_bytes
        whole = len(self._pending) // n * n
        out = [bytes(self._pending[i : i + n]) for i in range(0, whole, n)]
        del self._pending[:whole]
        if final and self._pending:
            out.append(bytes(self._pending))
            self._pending.clear()
        return out

    def encode(self, pcm: Pcm) -> list[bytes]:
        return self._frames(self._rs.push(_as_int16(pcm)), final=False)

    def flush(self) -> list[bytes]:
        return self._frames(self._rs.flush(), final=True)
