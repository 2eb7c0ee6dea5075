"""audio.echo_timeline: the echo guard's references, read back by server-timeline sample."""

from __future__ import annotations

import numpy as np

from voice_interview.audio.echo.timeline import BLOCK, RATE, ReferenceTimeline


def test_a_newer_reference_cuts_the_older_and_reads_back_in_place() -> None:
    refs = ReferenceTimeline()
    assert refs.pos(50.0) == 0 and refs.pos(50.5) == RATE // 2  # first time asked is 0
    refs.add(np.full(1000, 100, dtype=np.int16), 0)
    refs.add(np.full(500, 200, dtype=np.int16), 600)
    out = refs.span(-10, 1200)
    assert np.all(out[:10] == 0)  # before any reference
    assert np.all(out[10:610] == 100) and np.all(out[610:1110] == 200)
    assert np.all(out[1110:] == 0)  # the older one does not come back after the newer
    assert refs.overlaps(1099, 1200) and not refs.overlaps(1100, 1200)
    # A cut before a reference starts leaves it empty, not reversed.
    refs.cut(300)
    assert np.all(refs.span(300, 1200) == 0)
    assert refs.overlaps(299, 300) and not refs.overlaps(300, 2000)


def test_peak_power_is_the_loudest_block_in_range() -> None:
    refs = ReferenceTimeline()
    pcm = np.zeros(3 * BLOCK, dtype=np.int16)
    pcm[BLOCK : 2 * BLOCK] = 1000
    refs.add(pcm, 0)
    assert refs.peak_power(0, BLOCK) == 0.0
    assert refs.peak_power(BLOCK - 1, BLOCK + 1) == 1000.0**2  # a block touched counts
    refs.forget_ended(3 * BLOCK)
    assert not refs.has_refs and refs.peak_power(0, 3 * BLOCK) == 0.0
