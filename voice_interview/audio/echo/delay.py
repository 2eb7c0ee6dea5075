"""The echo guard's delay search: where in the reference the mic input's echo comes from.

The echo comes back after the downlink, the client's playout buffer, the room and the
uplink: 0-500 ms (``max_delay_ms``) on the arrival timeline. It is found by a
PHAT-weighted cross-correlation, at 4 kHz, of the last second of mic input with the
reference over the whole window (peak interpolated to the sample). A peak counts if it
stands out (peak-to-sidelobe >= 10) and the mic really correlates with the reference
there (:func:`fit_at`). What the guard does with an estimate (take it tentatively,
confirm it, replace it, stand down) is :meth:`voice_interview.audio.echo.EchoGuard._estimate`.
"""

from __future__ import annotations

import math

import numpy as np

from voice_interview.audio.echo.timeline import BLOCK, F64

DECIM = 4  # delay search at 4 kHz


def inner(x: F64, y: F64) -> float:
    """Dot product without BLAS (whose threads cost more than they save here)."""
    return float(np.einsum("i,i->", x, y))


def energy(x: F64) -> float:
    return inner(x, x)


def audible_at_every_delay(q: F64, span: int, width: int, ref_floor: float) -> bool:
    """Is there enough reference, at every candidate delay, to decide "no echo"?
    ``q``: the reference as :func:`phat_peak` takes it, for ``width`` mic samples."""
    common = q[span:width] if width > span else q[:0]
    blocks = common[: common.size // BLOCK * BLOCK].reshape(-1, BLOCK)
    loud = np.einsum("ij,ij->i", blocks, blocks) > BLOCK * 100 * ref_floor
    return int(np.count_nonzero(loud)) >= 30  # 300 ms of clearly audible reference


def phat_peak(m: F64, q: F64, span: int) -> tuple[int, float]:
    """The delay ``d`` (samples, 0 to ``span``) at which the reference best explains the
    mic input, and the peak-to-sidelobe ratio of the correlation there. ``m``: recent mic
    input (a multiple of ``DECIM`` long); ``q``: the reference from ``span`` samples
    before it to its end, so that ``q[i + span - d]`` is what echoes into ``m[i]``."""
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
    # The peak between grid points (parabola through it and its neighbours).
    frac = 0.0
    if 0 < best < cc.size - 1:
        left, mid, right = float(cc[best - 1]), float(cc[best]), float(cc[best + 1])
        curve = left - 2 * mid + right
        if curve < 0:
            frac = max(-0.5, min(0.5, 0.5 * (left - right) / curve))
    return span - round(DECIM * (best + frac)), float(psr)


def fit_at(m: F64, aligned: F64) -> tuple[float, float]:
    """Normalized correlation of the mic input and the reference aligned with it at an
    estimated delay, and the gain that maps one onto the other."""
    xx, xy, yy = energy(aligned), inner(m, aligned), energy(m)
    rho = xy / math.sqrt(xx * yy + 1e-9)
    return rho, xy / (xx + 1e-9)
