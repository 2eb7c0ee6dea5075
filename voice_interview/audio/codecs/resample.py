"""Resampling int16 mono PCM with libswresample (streaming or one-shot)."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from av.audio.frame import AudioFrame
from av.audio.resampler import AudioResampler

from voice_interview.audio.codecs.base import (
    Pcm,
    _as_int16,
    _check_rate,
    _concat,
    _empty,
)


class _Resampler:
    """Streaming resampler to ``out_rate`` mono s16 (libswresample keeps the filter state,
    so chunk boundaries are seamless). Same-rate mono s16 input passes straight through."""

    def __init__(self, in_rate: int, out_rate: int) -> None:
        self.in_rate = in_rate
        self.out_rate = out_rate
        self._swr: AudioResampler | None = None
        self._pts = 0

    def _get(self) -> AudioResampler:
        if self._swr is None:
            self._swr = AudioResampler(format="s16", layout="mono", rate=self.out_rate)
        return self._swr

    @staticmethod
    def _collect(frames: list[AudioFrame]) -> Pcm:
        parts: list[Pcm] = [f.to_ndarray().reshape(-1).astype(np.int16, copy=False) for f in frames]
        return _concat(parts)

    def push(self, pcm: Pcm) -> Pcm:
        if pcm.size == 0:
            return _empty()
        if self.in_rate == self.out_rate:
            return pcm
        frame = AudioFrame.from_ndarray(pcm.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = self.in_rate
        return self.push_frame(frame)

    def push_frame(self, frame: AudioFrame) -> Pcm:
        """A decoded frame (any format / layout at ``in_rate``): downmix, convert, resample."""
        if frame.samples == 0:
            return _empty()
        if (
            self.in_rate == self.out_rate
            and frame.format.name == "s16"
            and frame.layout.nb_channels == 1
        ):
            return frame.to_ndarray().reshape(-1).astype(np.int16, copy=False)
        # swresample wants monotonic timestamps; we own the timeline.
        frame.pts = self._pts
        self._pts += frame.samples
        return self._collect(self._get().resample(frame))

    def flush(self) -> Pcm:
        """Drain the filter tail; the resampler is fresh afterwards."""
        if self._swr is None:
            return _empty()
        out = self._collect(self._swr.resample(None))
        self._swr = None
        self._pts = 0
        return out


def resample(pcm: npt.NDArray[np.int16], in_rate: int, out_rate: int) -> Pcm:
    """One-shot resample of int16 mono PCM; output length is ``round(n * out / in)`` (±1)."""
    _check_rate(in_rate, "input sample rate")
    _check_rate(out_rate, "output sample rate")
    data = _as_int16(pcm)
    if in_rate == out_rate:
        return data.copy()
    rs = _Resampler(in_rate, out_rate)
    return _concat([rs.push(data), rs.flush()])
