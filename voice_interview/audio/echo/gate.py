"""The echo guard's residual gate: what is left after subtracting the echo, per 10 ms.

Cancellation is never perfect (loudspeaker distortion, reverb beyond 2 ms, a moving
delay, clock drift between separate speaker and mic devices). The residual passes only
where it is clearly above what is left of the echo: over the larger of the predicted
echo's envelope (80 ms decay) -10 dB (``gate_db``) and the same envelope times the worst
residual-to-echo ratio seen on echo-only blocks in the last second. Elsewhere it is
scaled down to the room's own noise floor (tracked by minimum statistics), not to
digital silence: a residual switched between room noise and silence is itself what
webrtcvad calls speech. Where subtracting does not help (the predicted echo is not in
the input, or subtracting adds energy), the input is kept and must be twice the
predicted echo to pass. Until the delay is confirmed, the gate also closes below the
bound that :class:`voice_interview.audio.echo.EchoGuard` gives it (the loudest echo the
reference could make anywhere in the search window). The gate also tracks how well the
subtraction does where the input is mostly echo (``health``): when it starts adding
energy there, the delay is re-checked at once (the client's buffering moved).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from voice_interview.audio.echo.timeline import BLOCK, F64, RATE, Pcm


class ResidualGate:
    """``gate_db``: how far under the predicted echo the residual still passes;
    ``floor_db``: the most the gate attenuates (it never goes under the room's noise
    floor)."""

    def __init__(self, *, gate_db: float, floor_db: float) -> None:
        self.gate_ratio = 10 ** (-gate_db / 10)
        self.floor_gain = 10 ** (floor_db / 20)
        self.env_decay = math.exp(-BLOCK / (0.080 * RATE))  # echo envelope, per block
        self.unhealthy = 0.25  # subtraction adds energy: the delay is re-checked
        self.healthy = -0.5  # it removes most of the echo: a delay estimate confirms it
        self.leak_decay = math.exp(-BLOCK / RATE)  # the leak estimate lasts ~1 s
        self.leak_margin = 1.0  # gate at the leak level
        self.fallback_ratio = 2.0  # input over predicted echo where subtracting fails
        self.hold_blocks = 3  # keep the gate open 30 ms after the residual drops
        self.noise_rise = 10 ** (0.3 / 100)  # noise floor estimate: +3 dB/s at most
        self._env = 0.0
        self._leak = 0.0  # worst recent residual / predicted echo power, decaying
        # (residual - input) / predicted echo power, smoothed, where echo dominates
        self.health = 0.0
        self._gain_num = 0.0
        self._gain_den = 0.0
        self.noise = -1.0  # mic noise floor (power); < 0: not measured yet
        self._gain = 1.0
        self._hold = 0
        self._blocks = 0
        self._gated = 0

    @property
    def cancelling(self) -> bool:
        """The subtraction removes most of the echo where the input is mostly echo."""
        return self.health < self.healthy

    @property
    def gated_fraction(self) -> float:
        """Share of the 10 ms blocks gated so far."""
        return self._gated / max(1, self._blocks)

    def track_noise(self, power: float, n: int) -> None:
        """Minimum statistics: follow the floor down at once, up by ``noise_rise``."""
        if self.noise < 0:
            self.noise = max(1.0, power)
        elif power < self.noise:
            self.noise = max(1.0, 0.5 * (self.noise + power))
        else:
            self.noise = min(power, self.noise * self.noise_rise ** (n / BLOCK))

    def idle(self, mic: Pcm) -> None:
        """Mic input outside playback: only the noise floor learns from it."""
        n = mic.size
        x = mic.reshape(-1).astype(np.float32)
        self.track_noise(float(np.dot(x, x)) / n, n)
        self._env, self._gain, self._hold = 0.0, 1.0, 0

    def apply(
        self,
        y: F64,
        echo: F64,
        *,
        confirmed: bool,
        stood_down: bool,
        unsure_bound: Callable[[int], float],
    ) -> tuple[F64, bool]:
        """Subtract the predicted echo and gate the residual, per 10 ms. ``confirmed``:
        the delay is confirmed for the current reference; ``unsure_bound(b0)``: the
        least the block from sample ``b0`` of ``y`` must have to pass while it is not
        (and the guard has not stood down). Returns the output and whether the
        subtraction went bad (the delay is no longer confirmed: search again)."""
        n = y.size
        out = y - echo
        realign = False
        starts = np.arange(0, n, BLOCK)
        sizes = np.minimum(BLOCK, n - starts)
        powers = np.add.reduceat(np.stack([echo * echo, out * out, y * y]), starts, axis=1) / sizes
        for b0, size, (p_hat, p_res, p_y) in zip(
            starts.tolist(), sizes.tolist(), powers.T.tolist(), strict=True
        ):
            b1 = b0 + size
            seg = slice(b0, b1)
            if p_hat > 4 * self.noise:
                if p_y < 2 * p_hat:  # mostly echo here (not the candidate over it)
                    # What subtracting did, over the predicted echo: about -1 when it
                    # cancels, about +1 when the prediction is off (the delay moved).
                    self._gain_num += 0.1 * (p_res - p_y - self._gain_num)
                    self._gain_den += 0.1 * (p_hat - self._gain_den)
                    self.health = self._gain_num / (self._gain_den + 1e-9)
                if self.health > self.unhealthy and confirmed:
                    confirmed = False  # careful gate, and search again at once
                    realign = True
            self._env = max(p_hat, self._env * self.env_decay ** ((b1 - b0) / BLOCK))
            echo_only = p_y < 2 * p_hat  # the input is mostly echo here
            # How much of the echo the subtraction leaves, at worst, lately (drift and
            # distortion leave more at some sounds than at others).
            self._leak *= self.leak_decay ** ((b1 - b0) / BLOCK)
            if echo_only and p_hat > 4 * self.noise and confirmed:
                self._leak = max(self._leak, min(1.0, p_res / p_hat))
            threshold = self._env * max(self.gate_ratio, self.leak_margin * self._leak)
            if p_hat > 4 * self.noise and (4 * p_y < p_hat or (echo_only and p_res > p_y)):
                # Subtracting does not help: the predicted echo is not there (the path
                # changed, the client stopped playing) or not where we think (the delay
                # is drifting). Keep the input, and let it through only where it is
                # clearly louder than the echo we expect.
                out[seg] = y[seg]
                p_res = p_y
                threshold = max(threshold, self.fallback_ratio * self._env)
            if not confirmed and not stood_down:
                threshold = max(threshold, unsure_bound(b0))
            self.track_noise(p_res, b1 - b0)
            if p_res > threshold or threshold < 2.0 * self.noise:
                self._hold = self.hold_blocks
            elif self._hold > 0:
                self._hold -= 1
            target = 1.0
            if self._hold == 0:
                # Down to the room's own noise floor, not below: a residual switched
                # between noise and digital silence is itself what webrtcvad calls speech.
                target = min(1.0, max(self.floor_gain, math.sqrt(self.noise / (p_res + 1e-9))))
                self._gated += 1
            self._blocks += 1
            if target != self._gain:
                out[seg] *= np.linspace(self._gain, target, b1 - b0)
            elif target != 1.0:
                out[seg] *= target
            self._gain = target
        return out, realign
