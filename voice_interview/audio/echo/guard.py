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
  The references are kept on that timeline in audio/echo/timeline.py.
* ``process(mic, arrived_at) -> mic'`` takes every decoded 16 kHz int16 mic chunk (any
  length) with its arrival time and returns as many samples, the echo removed. Mic
  samples are put on the server clock by their arrival: the earliest-arriving chunks
  define the timeline (bursty delivery does not move it), which creeps up 1 ms/s at
  most to follow a slow client clock. Outside playback, and once the last echo can
  have arrived (``max_delay_ms`` + ``tail_ms`` after the reference ends), it is a
  pass-through that returns its input object untouched (about 3 µs a chunk).
* **Delay**: 0-500 ms (``max_delay_ms``) on that timeline, found by a PHAT-weighted
  cross-correlation of the last second of mic input with the reference
  (audio/echo/delay.py) every 40 ms while searching and every 200 ms once settled, so
  changes in client buffering are followed. A first delay is taken at once but only
  tentatively; it is confirmed when the next estimate agrees and the subtraction
  removes most of the echo. A different delay replaces a confirmed one after two
  agreeing estimates (or at once when the current one has gone bad, below). Three
  estimates that had the reference clearly audible at every delay and found no echo
  make the guard stand down for that reference (a client whose own echo cancellation
  works): it then changes nothing.
* **Path** (audio/echo/path.py). A 32-tap FIR around the delay, fitted by weighted least
  squares so that double talk barely moves it. The predicted echo is subtracted.
* **Residual gate** (audio/echo/gate.py), per 10 ms: the residual passes only where it
  is clearly above what is left of the echo; elsewhere it is scaled down to the room's
  own noise floor (not to digital silence). Until the delay is confirmed for the
  current reference, the gate also closes below the loudest echo the reference could
  make anywhere in the search window: ``max_echo_gain_db`` (0 dB) over the reference
  before any path is known, the learnt path +6 dB after. So echo never
  gets through while the guard is unsure, at a price: a candidate talking over the
  first few hundred ms of a question, not louder than that bound, is held back until
  then (up to ~1 s at the very first question when a faint echo is buried under the
  candidate's voice and the guard has to give up looking for it). The delay is
  re-checked at once when the subtraction starts adding energy where the input is
  mostly echo (the client's buffering moved).

``stats`` (:class:`EchoStats`) carries the current delay, ERLE, how much was gated and
the CPU spent. Measured in ``tests/unit/audio/test_echo.py`` (question: Piper audio; echo
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

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from voice_interview.audio.echo.delay import (
    DECIM,
    audible_at_every_delay,
    energy,
    fit_at,
    phat_peak,
)
from voice_interview.audio.echo.gate import ResidualGate
from voice_interview.audio.echo.path import EchoPath
from voice_interview.audio.echo.timeline import RATE, Pcm, ReferenceTimeline

__all__ = ["EchoGuard", "EchoStats"]

# Audio arriving this much later than the stream so far explains is a gap in sending,
# not network jitter (which the earliest-arrival timeline absorbs).
GAP_S = 0.4
LS_BLOCK = 320  # 20 ms: path updates


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
        self.gate_db = gate_db
        self.floor_db = floor_db
        self.max_echo_power = 10 ** (max_echo_gain_db / 10)
        self.tail = tail_ms * RATE // 1000
        self.memory_s = memory_s
        self.est_window = RATE  # 1 s of mic for a delay estimate
        self.est_min = RATE // 4  # ... at least 250 ms of it
        self.est_period_searching = RATE * 40 // 1000
        self.est_period_locked = RATE * 200 // 1000
        self.confidence = 10.0  # peak-to-sidelobe ratio of the correlation for a delay
        self.min_rho = 0.05  # ... and normalized correlation of mic and reference there
        self.switch_rho = 0.3  # correlation for taking a new delay without a second look
        self.ref_floor = 30.0**2  # int16 units: reference quieter than this is silence
        self.reset()

    def reset(self) -> None:
        """Forget references, timeline, echo path and gate (a new connection)."""
        self._refs = ReferenceTimeline()
        self._count = 0  # mic samples received
        self._anchor: float | None = None  # server-timeline sample of mic sample 0
        self._hist = np.zeros(0)  # recent mic input while active
        self._path = EchoPath(
            taps=self.taps, lead=self.lead, memory_s=self.memory_s, ref_floor=self.ref_floor
        )
        self._gate = ResidualGate(gate_db=self.gate_db, floor_db=self.floor_db)
        self._confirmed = False  # the delay was (re)found for the current reference
        self._stood_down = False  # no echo found for the current reference
        self._pending: int | None = None
        self._misses = 0  # conclusive estimates without a confident peak
        self._next_est = 0
        self.stats = EchoStats()

    # ----------------------------------------------------------------- timeline

    def reference(self, pcm16: Pcm, started_at: float, sample_rate: int = RATE) -> None:
        """Register question audio whose first sample was sent at ``started_at``. A new
        reference cuts any earlier one still playing at that time."""
        pcm = np.asarray(pcm16).reshape(-1)
        if sample_rate != RATE:
            from voice_interview.audio.codecs import resample

            pcm = resample(pcm.astype(np.int16), sample_rate, RATE)
        if pcm.size == 0:
            return
        self._refs.add(pcm, self._refs.pos(started_at))
        self._confirmed = False
        self._stood_down = False
        self._pending = None
        self._misses = 0
        self._next_est = self._count

    def cancel(self, at: float) -> None:
        """Playback was cut at server time ``at``: nothing after it will echo."""
        self._refs.cut(self._refs.pos(at))

    @property
    def playing(self) -> bool:
        """A reference (or its echo) may still be in the mic input."""
        if self._anchor is None:
            return self._refs.has_refs
        now = round(self._anchor) + self._count
        return self._refs.ends_after(now - self.max_delay - self.tail)

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
        here = self._refs.pos(arrived_at) - self._count
        if self._anchor is None or here - self._anchor > GAP_S * RATE:
            # First audio, or audio after a gap in sending (a client that stops sending
            # while a question plays, DTX): the samples before this chunk are not all
            # there, so the timeline starts again from this arrival.
            self._anchor = float(here)
        else:  # the earliest arrivals define the timeline; creep 1 ms/s for clock drift
            self._anchor = min(self._anchor + 1e-3 * n, float(here))
        a = round(self._anchor)
        if not self._refs.overlaps(a + k0 - self.max_delay - self.tail - self.taps, a + k0 + n):
            self._idle(mic_pcm16)
            return mic_pcm16
        t_cpu = time.thread_time()
        out = self._active(np.asarray(mic_pcm16).reshape(-1), k0, a)
        self.stats.cpu_s += time.thread_time() - t_cpu
        self.stats.active_samples += n
        return out

    def _idle(self, mic: Pcm) -> None:
        self._gate.idle(mic)
        self.stats.passthrough_samples += mic.size
        if self._hist.size:
            self._hist = np.zeros(0)
        # Forget references whose echo is long over.
        if self._anchor is not None:
            horizon = round(self._anchor) + self._count - self.max_delay - 2 * RATE
            self._refs.forget_ended(horizon)

    def _active(self, mic: Pcm, k0: int, a: int) -> Pcm:
        n = mic.size
        y = mic.astype(np.float64)
        keep = self.est_window
        self._hist = np.concatenate([self._hist, y])[-keep:]
        if self._count >= self._next_est:
            self._estimate(a)
        echo = np.zeros(n)
        if self._path.off is not None and not self._stood_down:
            for b0 in range(0, n, LS_BLOCK):  # the path is refitted every 20 ms
                b1 = min(n, b0 + LS_BLOCK)
                noise = self._gate.noise
                echo[b0:b1], erle = self._path.predict(self._refs, y[b0:b1], k0 + b0, noise)
                if erle is not None:
                    self.stats.erle_db += 0.05 * (erle - self.stats.erle_db)
        out, realign = self._gate.apply(
            y,
            echo,
            confirmed=self._confirmed,
            stood_down=self._stood_down,
            unsure_bound=self._unsure_bound(k0, a),
        )
        if realign:
            self._confirmed = False  # careful gate, and search again at once
            self._next_est = self._count
            self.stats.realigns += 1
        self.stats.gated_fraction = self._gate.gated_fraction
        return np.clip(np.round(out), -32768, 32767).astype(np.int16)

    # ----------------------------------------------------------------- delay

    def _lock(self, off: int, gain: float) -> None:
        if self._path.lock(off, gain):
            self.stats.switches += 1

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
        q = self._refs.span(a + now - width - span, a + now)
        audible = audible_at_every_delay(q, span, width, self.ref_floor)
        if energy(q) < q.size * self.ref_floor:
            return  # reference silent here: nothing to learn
        d, psr = phat_peak(m, q, span)
        self.stats.last_psr = psr
        if psr < self.confidence:
            self._miss(audible)
            return
        off = d - a
        rho, gain = fit_at(m, self._refs.span(a + now - width - d, a + now - d))
        self.stats.last_psr, self.stats.last_rho = psr, rho
        if rho < self.min_rho:
            self._miss(audible)
            return
        self._misses = 0
        tol = self.lead // 2  # the taps absorb this much
        self.stats.locked = True
        self.stats.delay_ms = 1000 * (off + a) / RATE
        if self._path.off is not None and abs(off - self._path.off) <= tol:  # as we have it
            # Confirmed once the path also cancels (not while the taps still adapt).
            self._confirmed = self._confirmed or self._gate.cancelling
            self._stood_down, self._pending = False, None
            self.stats.delay_ms = 1000 * (self._path.off + a) / RATE
            return
        # A first delay, or a clear one (the echo alone, not under the candidate's voice)
        # while the current one is in doubt, is taken at once, tentatively: the gate stays
        # careful until the next estimate agrees. Otherwise two estimates in a row must.
        clear = self._path.off is None or (rho >= self.switch_rho and not self._confirmed)
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

    def _unsure_bound(self, k0: int, a: int) -> Callable[[int], float]:
        """The gate's bound while the delay is unconfirmed: for the block from mic sample
        ``k0 + b0``, the loudest echo the reference could make anywhere in the search
        window (``max_echo_gain_db`` before any path is known, the learnt path +6 dB)."""
        gain = self.max_echo_power
        if self._path.learnt:
            gain = 4.0 * float(np.sum(np.abs(self._path.w))) ** 2  # learnt path, +6 dB

        def bound(b0: int) -> float:
            s = a + k0 + b0  # server-timeline position of this block
            return gain * self._refs.peak_power(s - self.max_delay, s)

        return bound
