"""The echo guard's reference audio: the question audio the server sent, on its timeline.

Sample 0 of the server timeline is the first time the guard was told about (a reference
or a mic chunk, ``time.monotonic()`` seconds); every reference sits at the sample it
started playing and ends where it ran out or was cut (a newer reference, ``cancel``).
:class:`voice_interview.audio.echo.EchoGuard` reads the reference back from here by
timeline sample: the signal itself, whether any plays in a range, its loudest 10 ms.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from voice_interview.audio import SAMPLE_RATE

Pcm = npt.NDArray[np.int16]
F64 = npt.NDArray[np.float64]

RATE = SAMPLE_RATE
BLOCK = 160  # 10 ms: gate decisions


@dataclass
class _Ref:
    start: int  # server-timeline sample of its first sample
    pcm: F64
    end: int  # exclusive; start + len unless cancelled
    block_power: F64  # mean power of each 10 ms block from start (unconfirmed gate)


class ReferenceTimeline:
    """The references of one guard, placed on the server timeline."""

    def __init__(self) -> None:
        self._epoch: float | None = None
        self._refs: list[_Ref] = []

    def pos(self, t: float) -> int:
        """Server-timeline sample of server time ``t`` (the first time asked is 0)."""
        if self._epoch is None:
            self._epoch = t
        return round((t - self._epoch) * RATE)

    def add(self, pcm: Pcm, start: int) -> None:
        """A reference whose first sample plays at ``start``: it cuts any earlier one
        still playing then."""
        self.cut(start)
        x = pcm.astype(np.float64)
        n = x.size // BLOCK * BLOCK
        blocks = np.mean(x[:n].reshape(-1, BLOCK) ** 2, axis=1) if n else np.zeros(0)
        if x.size > n:
            blocks = np.append(blocks, np.mean(x[n:] ** 2))
        self._refs.append(_Ref(start, x, start + x.size, blocks))

    def cut(self, at: int) -> None:
        """Playback stops at sample ``at``: nothing after it will echo."""
        for ref in self._refs:
            ref.end = min(ref.end, max(ref.start, at))

    @property
    def has_refs(self) -> bool:
        return bool(self._refs)

    def ends_after(self, sample: int) -> bool:
        """A reference plays past ``sample``."""
        return any(r.end > sample for r in self._refs)

    def forget_ended(self, horizon: int) -> None:
        """Drop references that ended by ``horizon`` (their echo is long over)."""
        self._refs = [r for r in self._refs if r.end > horizon]

    def span(self, a: int, b: int) -> F64:
        """Reference signal on server-timeline samples [a, b) (zeros where none)."""
        out = np.zeros(b - a)
        for ref in self._refs:
            lo, hi = max(a, ref.start), min(b, ref.end)
            if lo < hi:
                out[lo - a : hi - a] = ref.pcm[lo - ref.start : hi - ref.start]
        return out

    def overlaps(self, a: int, b: int) -> bool:
        return any(min(b, r.end) > max(a, r.start) for r in self._refs)

    def peak_power(self, a: int, b: int) -> float:
        """Loudest 10 ms block power of the reference on [a, b)."""
        best = 0.0
        for ref in self._refs:
            lo, hi = max(a, ref.start), min(b, ref.end)
            if lo < hi:
                i0, i1 = (lo - ref.start) // BLOCK, (hi - ref.start - 1) // BLOCK + 1
                best = max(best, float(ref.block_power[i0:i1].max()))
        return best
