"""Echo guard: take the server's own question audio back out of the candidate's microphone.

The browser keeps the microphone open while a question plays (so the candidate can
interrupt). Browser echo cancellation removes most of the loudspeaker sound, not all of
it, and some clients have none; webrtcvad cannot tell the interviewer's voice coming
back from the candidate's, so the question would "answer itself". The server knows
exactly what it sent and when, and :class:`EchoGuard` (one per session) uses that:

* ``reference(pcm, started_at, sample_rate=16000)`` registers question audio, timed on
  the server clock (``time.monotonic()``) from when its first frame was sent; other
  rates are resampled with :func:`voice_interview.audio.codecs.resample`. A new
  reference cuts an older one. ``cancel(at)`` cuts playback at server time ``at``.
* ``process(mic, arrived_at) -> mic'`` takes every decoded 16 kHz int16 mic chunk (any
  length) with its arrival time and returns as many samples, the echo removed. Mic
  samples are put on the server clock by their arrival: the earliest-arriving chunks
  define the timeline (bursty delivery does not move it), which creeps up 1 ms/s at
  most to follow a slow client clock. Outside playback, and once the last echo can
  have arrived (``max_delay_ms`` + ``tail_ms`` after the reference ends), it is a
  pass-through that returns its input object untouched (about 3 µs a chunk).
* **Delay.** The echo comes back after the downlink, the client's playout buffer, the
  room and the uplink: 0-500 ms (``max_delay_ms``) on that timeline. It is found by a
  PHAT-weighted cross-correlation, at 4 kHz, of the last second of mic input with the
  reference over the whole window (peak interpolated to the sample), every 40 ms while
  searching and every 200 ms once settled, so changes in client buffering are followed.
  A peak counts if it stands out (peak-to-sidelobe >= 10) and the mic really correlates
  with the reference there. A first delay is taken at once but only tentatively; it is
  confirmed when the next estimate agrees and the subtraction removes most of the echo.
  A different delay replaces a confirmed one after two agreeing estimates (or at once
  when the current one has gone bad, below). Three estimates that had the reference
  clearly audible at every delay and found no echo make the guard stand down for that
  reference (a client whose own echo cancellation works): it then changes nothing.
* **Path.** A 32-tap FIR (2 ms: 6 taps before the delay, for the estimate's error and
  the path's own filtering) is fitted by least squares with 2 s of exponential memory,
  every 20 ms block weighted by 1 / its residual power, so blocks where the candidate
  talks over the echo barely move it. The predicted echo is subtracted.
* **Residual gate**, per 10 ms. Cancellation is never perfect (loudspeaker distortion,
  reverb beyond 2 ms, a moving delay, clock drift between separate speaker and mic
  devices). The residual passes only where it is clearly above what is left of the echo:
  over the larger of the predicted echo's envelope (80 ms decay) -10 dB (``gate_db``)
  and the same envelope times the worst residual-to-echo ratio seen on echo-only blocks
  in the last second. Elsewhere it is scaled down to the room's own noise floor
  (tracked by minimum statistics), not to digital silence: a residual switched between
  room noise and silence is itself what webrtcvad calls speech. Where subtracting does
  not help (the predicted echo is not in the input, or subtracting adds energy), the
  input is kept and must be twice the predicted echo to pass. Until the delay is
  confirmed for the current reference, the gate also closes below the loudest echo the
  reference could make anywhere in the search window: ``max_echo_gain_db`` (0 dB) over
  the reference before any path is known, the learnt path +6 dB after. So echo never
  gets through while the guard is unsure, at a price: a candidate talking over the
  first few hundred ms of a question, not louder than that bound, is held back until
  then (up to ~1 s at the very first question when a faint echo is buried under the
  candidate's voice and the guard has to give up looking for it). The delay is
  re-checked at once when the subtraction starts adding energy where the input is
  mostly echo (the client's buffering moved).

``stats`` (:class:`EchoStats`) carries the current delay, ERLE, how much was gated and
the CPU spent. Measured in ``tests/unit/test_echo.py`` (question: Piper audio; echo
-20/-10/0 dB, 40-300 ms, a 5-tap path with saturation, -64 dBFS room noise, jittered or
bursty arrival): subtraction alone takes 16/22/30 dB off the echo, the output over the
echo is at the room's noise floor, and webrtcvad (``TurnSegmenter``) hears no speech
in it (0 of 144 echo-only runs; without the guard every one of them triggers). With
the candidate over a -10 dB echo the output keeps the candidate at 26-28 dB SNR (14 dB
at the input) and correlation > 0.998, speech onsets as on the clean speech. About
0.16 ms of CPU per 20 ms frame during playback (pure numpy, measured on a loaded
2-core box), 3 µs outside it.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from voice_interview.audio import SAMPLE_RATE

__all__ = ["EchoGuard", "EchoStats"]

Pcm = npt.NDArray[np.int16]
F64 = npt.NDArray[np.float64]

RATE = SAMPLE_RATE
BLOCK = 160  # 10 ms: gate decisions
# Audio arriving this much later than the stream so far explains is a gap in sending,
# not network jitter (which the earliest-arrival timeline absorbs).
GAP_S = 0.4
LS_BLOCK = 320  # 20 ms: path updates
DECIM = 4  # delay search at 4 kHz


def _inner(x: F64, y: F64) -> float:
    """Dot product without BLAS (whose threads cost more than they save here)."""
    return float(np.einsum("i,i->", x, y))


def _energy(x: F64) -> float:
    return _inner(x, x)


@dataclass
class _Ref:
    start: int  # server-timeline sample of its first sample
    pcm: F64
    end: int  # exclusive; start + len unless cancelled
    block_power: F64  # mean power of each 10 ms block from start (unconfirmed gate)


@dataclass
class EchoStats:
    """Running figures, for logs and tests."""

    active_samples: int = 0  # input processed with a reference playing
    passthrough_samples: int = 0
    cpu_s: float = 0.0  # thread CPU spent in process() while active
    delay_ms: float | None = None  # current echo delay on the arrival timeline
    locked: bool = False  # a delay is known (and the guard has not stood down)
    estimates: int = 0
    switches: int = 0  # delay changes taken
    realigns: int = 0  # times the cancellation went bad and the delay was searched again
    erle_db: float = 0.0  # smoothed echo return loss enhancement on echo-only blocks
    gated_fraction: float = 0.0  # share of active 10 ms blocks attenuated
    last_psr: float = 0.0  # peak-to-sidelobe ratio of the last delay estimate
    last_rho: float = 0.0  # normalized correlation of mic and reference at that delay

    @property
    def cpu_ms_per_frame(self) -> float:
        """CPU per 20 ms of input while active."""
        return 1000 * self.cpu_s / max(1e-9, self.active_samples / LS_BLOCK)


class EchoGuard:
    """Server-side echo cancellation and gating for one session's microphone stream.

    ``max_delay_ms``: the longest echo delay searched; ``taps``/``lead``: FIR length and
    taps before the estimated delay; ``gate_db``: how far under the predicted echo the
    residual still passes; ``floor_db``: the most the gate attenuates (it never goes
    under the room's noise floor); ``max_echo_gain_db``: the loudest echo assumed before
    any is found; ``tail_ms``: how long after a reference's last possible echo the guard
    stays active (reverb); ``memory_s``: the path fit's memory.
    """

    def __init__(
        self,
        sample_rate: int = RATE,
        *,
        max_delay_ms: int = 500,
        taps: int = 32,
        lead: int = 6,
        gate_db: float = 10.0,
        floor_db: float = -40.0,
        max_echo_gain_db: float = 0.0,
        tail_ms: int = 250,
        memory_s: float = 2.0,
    ) -> None:
        if sample_rate != RATE:
            raise ValueError(f"EchoGuard works at {RATE} Hz, not {sample_rate}")
        self.sample_rate = sample_rate
        self.max_delay = max_delay_ms * RATE // 1000 // DECIM * DECIM
        self.taps = taps
        self.lead = lead
        self.gate_ratio = 10 ** (-gate_db / 10)
        self.floor_gain = 10 ** (floor_db / 20)
        self.max_echo_power = 10 ** (max_echo_gain_db / 10)
        self.tail = tail_ms * RATE // 1000
        self.memory_s = memory_s
        self.ridge = 1e-3  # LS regularisation, relative to the mean tap energy
        self.weight_floor = 0.5  # LS block weight 1 / max(residual, this x predicted echo)
        self.est_window = RATE  # 1 s of mic for a delay estimate
        self.est_min = RATE // 4  # ... at least 250 ms of it
        self.est_period_searching = RATE * 40 // 1000
        self.est_period_locked = RATE * 200 // 1000
        self.confidence = 10.0  # peak-to-sidelobe ratio of the correlation for a delay
        self.min_rho = 0.05  # ... and normalized correlation of mic and reference there
        self.switch_rho = 0.3  # correlation for taking a new delay without a second look
        self.env_decay = math.exp(-BLOCK / (0.080 * RATE))  # echo envelope, per block
        self.unhealthy = 0.25  # subtraction adds energy: the delay is re-checked
        self.healthy = -0.5  # it removes most of the echo: a delay estimate confirms it
        self.leak_decay = math.exp(-BLOCK / RATE)  # the leak estimate lasts ~1 s
        self.leak_margin = 1.0  # gate at the leak level
        self.fallback_ratio = 2.0  # input over predicted echo where subtracting fails
        self.hold_blocks = 3  # keep the gate open 30 ms after the residual drops
        self.ref_floor = 30.0**2  # int16 units: reference quieter than this is silence
        self.noise_rise = 10 ** (0.3 / 100)  # noise floor estimate: +3 dB/s at most
        self.reset()

    def reset(self) -> None:
        """Forget references, timeline and echo path (a new connection)."""
        self._epoch: float | None = None
        self._refs: list[_Ref] = []
        self._count = 0  # mic samples received
        self._anchor: float | None = None  # server-timeline sample of mic sample 0
        self._hist = np.zeros(0)  # recent mic input while active
        self._off: int | None = None  # mic sample k echoes reference sample k - off
        self._w = np.zeros(self.taps)
        self._w_init = np.zeros(self.taps)
        self._R = np.zeros((self.taps, self.taps))
        self._p = np.zeros(self.taps)
        self._eye = np.eye(self.taps)
        self._acc = 0.0
        self._confirmed = False  # the delay was (re)found for the current reference
        self._stood_down = False  # no echo found for the current reference
        self._pending: int | None = None
        self._misses = 0  # conclusive estimates without a confident peak
        self._next_est = 0
        self._env = 0.0
        self._leak = 0.0  # worst recent residual / predicted echo power, decaying
        # (residual - input) / predicted echo power, smoothed, where echo dominates
        self._health = 0.0
        self._gain_num = 0.0
        self._gain_den = 0.0
        self._noise = -1.0  # mic noise floor (power); < 0: not measured yet
        self._gain = 1.0
        self._hold = 0
        self._blocks = 0
        self._gated = 0
        self.stats = EchoStats()

    # ----------------------------------------------------------------- timeline

    def _pos(self, t: float) -> int:
        if self._epoch is None:
            self._epoch = t
        return round((t - self._epoch) * RATE)

    def reference(self, pcm16: Pcm, started_at: float, sample_rate: int = RATE) -> None:
        """Register question audio whose first sample was sent at ``started_at``. A new
        reference cuts any earlier one still playing at that time."""
        pcm = np.asarray(pcm16).reshape(-1)
        if sample_rate != RATE:
            from voice_interview.audio.codecs import resample

            pcm = resample(pcm.astype(np.int16), sample_rate, RATE)
        if pcm.size == 0:
            return
        start = self._pos(started_at)
        for ref in self._refs:
            ref.end = min(ref.end, max(ref.start, start))
        x = pcm.astype(np.float64)
        n = x.size // BLOCK * BLOCK
        blocks = np.mean(x[:n].reshape(-1, BLOCK) ** 2, axis=1) if n else np.zeros(0)
        if x.size > n:
            blocks = np.append(blocks, np.mean(x[n:] ** 2))
        self._refs.append(_Ref(start, x, start + x.size, blocks))
        self._confirmed = False
        self._stood_down = False
        self._pending = None
        self._misses = 0
        self._next_est = self._count

    def cancel(self, at: float) -> None:
        """Playback was cut at server time ``at``: nothing after it will echo."""
        cut = self._pos(at)
        for ref in self._refs:
            ref.end = min(ref.end, max(ref.start, cut))

    @property
    def playing(self) -> bool:
        """A reference (or its echo) may still be in the mic input."""
        if self._anchor is None:
            return bool(self._refs)
        now = round(self._anchor) + self._count
        return any(r.end + self.max_delay + self.tail > now for r in self._refs)

    def _span(self, a: int, b: int) -> F64:
        """Reference signal on server-timeline samples [a, b) (zeros where none)."""
        out = np.zeros(b - a)
        for ref in self._refs:
            lo, hi = max(a, ref.start), min(b, ref.end)
            if lo < hi:
                out[lo - a : hi - a] = ref.pcm[lo - ref.start : hi - ref.start]
        return out

    def _overlaps(self, a: int, b: int) -> bool:
        return any(min(b, r.end) > max(a, r.start) for r in self._refs)

    def _peak_power(self, a: int, b: int) -> float:
        """Loudest 10 ms block power of the reference on [a, b)."""
        best = 0.0
        for ref in self._refs:
            lo, hi = max(a, ref.start), min(b, ref.end)
            if lo < hi:
                i0, i1 = (lo - ref.start) // BLOCK, (hi - ref.start - 1) // BLOCK + 1
                best = max(best, float(ref.block_power[i0:i1].max()))
        return best

    # ----------------------------------------------------------------- processing

    def process(self, mic_pcm16: Pcm, arrived_at: float) -> Pcm:
        """Mic input (int16, 16 kHz) with the echo removed; the same object outside
        playback."""
        if mic_pcm16.dtype != np.int16:
            raise TypeError(f"expected int16 PCM, got {mic_pcm16.dtype}")
        n = int(mic_pcm16.size)
        if n == 0:
            return mic_pcm16
        k0 = self._count
        self._count += n
        here = self._pos(arrived_at) - self._count
        if self._anchor is None or here - self._anchor > GAP_S * RATE:
            # First audio, or audio after a gap in sending (a client that stops sending
            # while a question plays, DTX): the samples before this chunk are not all
            # there, so the timeline starts again from this arrival.
            self._anchor = float(here)
        else:  # the earliest arrivals define the timeline; creep 1 ms/s for clock drift
            self._anchor = min(self._anchor + 1e-3 * n, float(here))
        a = round(self._anchor)
        if not self._overlaps(a + k0 - self.max_delay - self.tail - self.taps, a + k0 + n):
            self._idle(mic_pcm16)
            return mic_pcm16
        t_cpu = time.thread_time()
        out = self._active(np.asarray(mic_pcm16).reshape(-1), k0, a)
        self.stats.cpu_s += time.thread_time() - t_cpu
        self.stats.active_samples += n
        return out

    def _track_noise(self, power: float, n: int) -> None:
        """Minimum statistics: follow the floor down at once, up by ``noise_rise``."""
        if self._noise < 0:
            self._noise = max(1.0, power)
        elif power < self._noise:
            self._noise = max(1.0, 0.5 * (self._noise + power))
        else:
            self._noise = min(power, self._noise * self.noise_rise ** (n / BLOCK))

    def _idle(self, mic: Pcm) -> None:
        n = mic.size
        x = mic.reshape(-1).astype(np.float32)
        self._track_noise(float(np.dot(x, x)) / n, n)
        self.stats.passthrough_samples += n
        if self._hist.size:
            self._hist = np.zeros(0)
        self._env, self._gain, self._hold = 0.0, 1.0, 0
        # Forget references whose echo is long over.
        if self._anchor is not None:
            horizon = round(self._anchor) + self._count - self.max_delay - 2 * RATE
            self._refs = [r for r in self._refs if r.end > horizon]

    def _active(self, mic: Pcm, k0: int, a: int) -> Pcm:
        n = mic.size
        y = mic.astype(np.float64)
        keep = self.est_window
        self._hist = np.concatenate([self._hist, y])[-keep:]
        if self._count >= self._next_est:
            self._estimate(a)
        echo = np.zeros(n)
        if self._off is not None and not self._stood_down:
            for b0 in range(0, n, LS_BLOCK):  # the path is refitted every 20 ms
                b1 = min(n, b0 + LS_BLOCK)
                echo[b0:b1] = self._cancel(y[b0:b1], k0 + b0)
        out = self._gate(y, echo, k0, a)
        return np.clip(np.round(out), -32768, 32767).astype(np.int16)

    # ----------------------------------------------------------------- path

    def _regressors(self, k0: int, n: int) -> F64:
        """X[i, j]: the reference sample that reaches mic sample k0 + i through tap j."""
        assert self._off is not None
        first = k0 - self._off + self.lead - (self.taps - 1)
        r = self._span(first, first + n + self.taps - 1)
        view = np.lib.stride_tricks.sliding_window_view(r, self.taps)[:, ::-1]
        return np.ascontiguousarray(view)

    def _cancel(self, y: F64, k0: int) -> F64:
        """The echo predicted in ``y``; the path is refitted on the way."""
        n = y.size
        X = self._regressors(k0, n)
        prior = X @ self._w
        direct = X[:, self.lead]
        if float(np.dot(direct, direct)) <= n * self.ref_floor:
            return np.asarray(prior)  # the reference is silent here: nothing to learn
        e = y - prior
        p_res = float(np.dot(e, e)) / n
        p_hat = float(np.dot(prior, prior)) / n
        # Blocks that the current path explains get full weight, blocks with the
        # candidate over the echo (large residual) little: double talk barely moves it.
        weight = 1.0 / max(p_res, self.weight_floor * p_hat, self._noise)
        lam = math.exp(-n / (self.memory_s * RATE))
        self._R *= lam
        self._R += weight * (X.T @ X)
        self._p *= lam
        self._p += weight * (X.T @ y)
        self._acc = lam * self._acc + n
        if self._acc >= 0.1 * RATE:
            reg = self.ridge * float(np.trace(self._R)) / self.taps + 1e-12
            solved = np.linalg.solve(self._R + reg * self._eye, self._p + reg * self._w_init)
            self._w = np.asarray(solved, dtype=np.float64)
        echo = np.asarray(X @ self._w)
        if p_hat > 10 * self._noise and p_res < p_hat:  # echo alone: how well we do
            e = y - echo
            erle = 10 * math.log10(float(np.dot(y, y)) / (float(np.dot(e, e)) + n))
            self.stats.erle_db += 0.05 * (erle - self.stats.erle_db)
        return echo

    def _lock(self, off: int, gain: float) -> None:
        if self._off is None or not np.any(self._w):
            w = np.zeros(self.taps)
            w[self.lead] = gain
        else:  # same path, new delay: shift the taps
            shift = off - self._off
            w = np.zeros(self.taps)
            if abs(shift) < self.taps:
                src = np.arange(self.taps) + shift
                ok = (src >= 0) & (src < self.taps)
                w[ok] = self._w[src[ok]]
            if not np.any(w):
                w[self.lead] = gain
        if self._off is not None and off != self._off:
            self.stats.switches += 1
        self._off = off
        self._w = w
        self._w_init = w.copy()
        self._R = np.zeros((self.taps, self.taps))
        self._p = np.zeros(self.taps)
        self._acc = 0.0

    def _estimate(self, a: int) -> None:
        """Cross-correlate recent mic input with the reference over the search window."""
        self.stats.estimates += 1
        now = self._count
        width = self._hist.size // DECIM * DECIM
        settled = self._confirmed and not self._stood_down
        period = self.est_period_locked if settled else self.est_period_searching
        self._next_est = now + period
        if self._hist.size < self.est_min:
            return
        span = self.max_delay
        m = self._hist[self._hist.size - width :]
        # q[i + span - d] is what echoes into m[i] if the delay is d.
        q = self._span(a + now - width - span, a + now)
        # Is there enough reference, at every candidate delay, to decide "no echo"?
        common = q[span:width] if width > span else q[:0]
        blocks = common[: common.size // BLOCK * BLOCK].reshape(-1, BLOCK)
        loud = np.einsum("ij,ij->i", blocks, blocks) > BLOCK * 100 * self.ref_floor
        conclusive = int(np.count_nonzero(loud)) >= 30  # 300 ms of clearly audible reference
        if _energy(q) < q.size * self.ref_floor:
            return  # reference silent here: nothing to learn
        # Decimate to 4 kHz (sums of 4: the same to both sides, so the aliasing agrees)
        # and correlate with PHAT weighting (whitened: robust to the path's colouring).
        m2 = m[0::DECIM] + m[1::DECIM] + m[2::DECIM] + m[3::DECIM]
        q2 = q[0::DECIM] + q[1::DECIM] + q[2::DECIM] + q[3::DECIM]
        size = m2.size + q2.size
        M = np.fft.rfft(m2, size)
        Q = np.fft.rfft(q2, size)
        cross = Q * np.conj(M)
        cross /= np.abs(cross) + 1e-9
        cc = np.abs(np.fft.irfft(cross, size)[: span // DECIM + 1])  # delay span - DECIM * tau
        best = int(np.argmax(cc))
        side = np.concatenate([cc[: max(0, best - 2)], cc[best + 3 :]])
        psr = (cc[best] - float(side.mean())) / (float(side.std()) + 1e-12) if side.size else 0.0
        self.stats.last_psr = psr
        if psr < self.confidence:
            self._miss(conclusive)
            return
        # The peak between grid points (parabola through it and its neighbours).
        frac = 0.0
        if 0 < best < cc.size - 1:
            left, mid, right = float(cc[best - 1]), float(cc[best]), float(cc[best + 1])
            curve = left - 2 * mid + right
            if curve < 0:
                frac = max(-0.5, min(0.5, 0.5 * (left - right) / curve))
        d = span - round(DECIM * (best + frac))
        off = d - a
        aligned = self._span(a + now - width - d, a + now - d)
        xx, xy, yy = _energy(aligned), _inner(m, aligned), _energy(m)
        rho = xy / math.sqrt(xx * yy + 1e-9)
        self.stats.last_psr, self.stats.last_rho = psr, rho
        if rho < self.min_rho:
            self._miss(conclusive)
            return
        self._misses = 0
        gain = xy / (xx + 1e-9)
        tol = self.lead // 2  # the taps absorb this much
        self.stats.locked = True
        self.stats.delay_ms = 1000 * (off + a) / RATE
        if self._off is not None and abs(off - self._off) <= tol:  # as we have it
            # Confirmed once the path also cancels (not while the taps still adapt).
            self._confirmed = self._confirmed or self._health < self.healthy
            self._stood_down, self._pending = False, None
            self.stats.delay_ms = 1000 * (self._off + a) / RATE
            return
        # A first delay, or a clear one (the echo alone, not under the candidate's voice)
        # while the current one is in doubt, is taken at once, tentatively: the gate stays
        # careful until the next estimate agrees. Otherwise two estimates in a row must.
        clear = self._off is None or (rho >= self.switch_rho and not self._confirmed)
        if clear or self._stood_down:
            self._lock(off, gain)
            self._confirmed, self._stood_down, self._pending = False, False, None
            return
        if self._pending is not None and abs(off - self._pending) <= tol:
            self._lock(off, gain)
            self._pending = None
        else:
            self._pending = off

    def _miss(self, conclusive: bool) -> None:
        """No echo found, although (if ``conclusive``) the reference was audible at
        every delay searched: three times for a new reference, and the guard stands
        down for it (a client with its own, good, echo cancellation)."""
        if not conclusive:
            return
        self._misses += 1
        if not self._confirmed and self._misses >= 3:
            self._stood_down = True
            self.stats.locked = False

    # ----------------------------------------------------------------- gate

    def _gate(self, y: F64, echo: F64, k0: int, a: int) -> F64:
        """Subtract the predicted echo and gate the residual, per 10 ms."""
        n = y.size
        out = y - echo
        bound_gain = self.max_echo_power
        if self._off is not None and np.any(self._w):
            bound_gain = 4.0 * float(np.sum(np.abs(self._w))) ** 2  # learnt path, +6 dB
        starts = np.arange(0, n, BLOCK)
        sizes = np.minimum(BLOCK, n - starts)
        powers = np.add.reduceat(np.stack([echo * echo, out * out, y * y]), starts, axis=1) / sizes
        for b0, size, (p_hat, p_res, p_y) in zip(
            starts.tolist(), sizes.tolist(), powers.T.tolist(), strict=True
        ):
            b1 = b0 + size
            seg = slice(b0, b1)
            if p_hat > 4 * self._noise:
                if p_y < 2 * p_hat:  # mostly echo here (not the candidate over it)
                    # What subtracting did, over the predicted echo: about -1 when it
                    # cancels, about +1 when the prediction is off (the delay moved).
                    self._gain_num += 0.1 * (p_res - p_y - self._gain_num)
                    self._gain_den += 0.1 * (p_hat - self._gain_den)
                    self._health = self._gain_num / (self._gain_den + 1e-9)
                if self._health > self.unhealthy and self._confirmed:
                    self._confirmed = False  # careful gate, and search again at once
                    self._next_est = self._count
                    self.stats.realigns += 1
            self._env = max(p_hat, self._env * self.env_decay ** ((b1 - b0) / BLOCK))
            echo_only = p_y < 2 * p_hat  # the input is mostly echo here
            # How much of the echo the subtraction leaves, at worst, lately (drift and
            # distortion leave more at some sounds than at others).
            self._leak *= self.leak_decay ** ((b1 - b0) / BLOCK)
            if echo_only and p_hat > 4 * self._noise and self._confirmed:
                self._leak = max(self._leak, min(1.0, p_res / p_hat))
            threshold = self._env * max(self.gate_ratio, self.leak_margin * self._leak)
            if p_hat > 4 * self._noise and (4 * p_y < p_hat or (echo_only and p_res > p_y)):
                # Subtracting does not help: the predicted echo is not there (the path
                # changed, the client stopped playing) or not where we think (the delay
                # is drifting). Keep the input, and let it through only where it is
                # clearly louder than the echo we expect.
                out[seg] = y[seg]
                p_res = p_y
                threshold = max(threshold, self.fallback_ratio * self._env)
            if not self._confirmed and not self._stood_down:
                s = a + k0 + b0  # server-timeline position of this block
                threshold = max(threshold, bound_gain * self._peak_power(s - self.max_delay, s))
            self._track_noise(p_res, b1 - b0)
            if p_res > threshold or threshold < 2.0 * self._noise:
                self._hold = self.hold_blocks
            elif self._hold > 0:
                self._hold -= 1
            target = 1.0
            if self._hold == 0:
                # Down to the room's own noise floor, not below: a residual switched
                # between noise and digital silence is itself what webrtcvad calls speech.
                target = min(1.0, max(self.floor_gain, math.sqrt(self._noise / (p_res + 1e-9))))
                self._gated += 1
            self._blocks += 1
            if target != self._gain:
                out[seg] *= np.linspace(self._gain, target, b1 - b0)
            elif target != 1.0:
                out[seg] *= target
            self._gain = target
        self.stats.gated_fraction = self._gated / max(1, self._blocks)
        return out
