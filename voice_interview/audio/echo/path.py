"""The echo guard's echo path: how the reference reaches the microphone, to subtract it.

A 32-tap FIR (2 ms: 6 taps before the delay, for the estimate's error and the path's own
filtering) is fitted by least squares with 2 s of exponential memory, every 20 ms block
weighted by 1 / its residual power, so blocks where the candidate talks over the echo
barely move it. :class:`voice_interview.audio.echo.EchoGuard` subtracts what it predicts.
"""

from __future__ import annotations

import math

import numpy as np

from voice_interview.audio.echo.timeline import F64, RATE, ReferenceTimeline


class EchoPath:
    """The delay (mic sample k echoes reference sample k - ``off``, None: not found yet)
    and the FIR around it. ``taps``/``lead``: FIR length and taps before the delay;
    ``memory_s``: the fit's memory; ``ref_floor``: reference power under which it is
    silence (nothing to learn)."""

    def __init__(
        self,
        *,
        taps: int,
        lead: int,
        memory_s: float,
        ref_floor: float,
    ) -> None:
        self.taps = taps
        self.lead = lead
        self.memory_s = memory_s
        self.ref_floor = ref_floor
        self.ridge = 1e-3  # LS regularisation, relative to the mean tap energy
        self.weight_floor = 0.5  # LS block weight 1 / max(residual, this x predicted echo)
        self.off: int | None = None
        self.w = np.zeros(taps)
        self._w_init = np.zeros(taps)
        self._R = np.zeros((taps, taps))
        self._p = np.zeros(taps)
        self._eye = np.eye(taps)
        self._acc = 0.0

    @property
    def learnt(self) -> bool:
        """A delay is known and the taps are not all zero."""
        return self.off is not None and bool(np.any(self.w))

    def _regressors(self, refs: ReferenceTimeline, k0: int, n: int) -> F64:
        """X[i, j]: the reference sample that reaches mic sample k0 + i through tap j."""
        assert self.off is not None
        first = k0 - self.off + self.lead - (self.taps - 1)
        r = refs.span(first, first + n + self.taps - 1)
        view = np.lib.stride_tricks.sliding_window_view(r, self.taps)[:, ::-1]
        return np.ascontiguousarray(view)

    def predict(
        self, refs: ReferenceTimeline, y: F64, k0: int, noise: float
    ) -> tuple[F64, float | None]:
        """The echo predicted in ``y`` (mic samples from ``k0``), the path refitted on the
        way; and the ERLE (dB) reached there if ``y`` is echo alone (else None). ``noise``:
        the mic's noise floor (power)."""
        n = y.size
        X = self._regressors(refs, k0, n)
        prior = X @ self.w
        direct = X[:, self.lead]
        if float(np.dot(direct, direct)) <= n * self.ref_floor:
            return np.asarray(prior), None  # the reference is silent here: nothing to learn
        e = y - prior
        p_res = float(np.dot(e, e)) / n
        p_hat = float(np.dot(prior, prior)) / n
        # Blocks that the current path explains get full weight, blocks with the
        # candidate over the echo (large residual) little: double talk barely moves it.
        weight = 1.0 / max(p_res, self.weight_floor * p_hat, noise)
        lam = math.exp(-n / (self.memory_s * RATE))
        self._R *= lam
        self._R += weight * (X.T @ X)
        self._p *= lam
        self._p += weight * (X.T @ y)
        self._acc = lam * self._acc + n
        if self._acc >= 0.1 * RATE:
            reg = self.ridge * float(np.trace(self._R)) / self.taps + 1e-12
            solved = np.linalg.solve(self._R + reg * self._eye, self._p + reg * self._w_init)
            self.w = np.asarray(solved, dtype=np.float64)
        echo = np.asarray(X @ self.w)
        if p_hat > 10 * noise and p_res < p_hat:  # echo alone: how well we do
            e = y - echo
            return echo, 10 * math.log10(float(np.dot(y, y)) / (float(np.dot(e, e)) + n))
        return echo, None

    def lock(self, off: int, gain: float) -> bool:
        """Take delay ``off`` (with ``gain`` if no path is known) and start the fit again
        from it; True if that changed a known delay."""
        if self.off is None or not np.any(self.w):
            w = np.zeros(self.taps)
            w[self.lead] = gain
        else:  # same path, new delay: shift the taps
            shift = off - self.off
            w = np.zeros(self.taps)
            if abs(shift) < self.taps:
                src = np.arange(self.taps) + shift
                ok = (src >= 0) & (src < self.taps)
                w[ok] = self.w[src[ok]]
            if not np.any(w):
                w[self.lead] = gain
        switched = self.off is not None and off != self.off
        self.off = off
        self.w = w
        self._w_init = w.copy()
        self._R = np.zeros((self.taps, self.taps))
        self._p = np.zeros(self.taps)
        self._acc = 0.0
        return switched
