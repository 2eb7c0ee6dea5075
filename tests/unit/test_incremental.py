"""When the incremental transcript spends a full STT pass, and what the final reuses.

The STT here is a recording fake (what each pass was asked to hear, by length); the
segmenter, the queues and the transcript logic are the real ones.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

from voice_interview.audio.vad import TurnSegmenter
from voice_interview.engines.queue import PRIORITY_TURN, EngineQueue
from voice_interview.engines.stt import QuickTranscript, Transcript
from voice_interview.interview.incremental import IncrementalTranscript

RATE = 16000


class RecordingSTT:
    def __init__(self) -> None:
        self.full: list[float] = []  # seconds of audio per full pass
        self.quick: list[float] = []

    def transcribe(self, audio: np.ndarray, *, prompt: str | None = None) -> Transcript:
        seconds = audio.size / RATE
        self.full.append(seconds)
        return Transcript(f"piece{len(self.full)}.", duration_s=seconds)

    def quick_transcribe(self, audio: np.ndarray, *, prompt: str | None = None) -> QuickTranscript:
        seconds = audio.size / RATE
        self.quick.append(seconds)
        return QuickTranscript(f"quick{len(self.quick)}", -0.1, 0.9, seconds)


def _noise(seconds: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (rng.standard_normal(int(seconds * RATE)) * 6000).astype(np.int16)


def _silence(seconds: float) -> np.ndarray:
    return np.zeros(int(seconds * RATE), dtype=np.int16)


@pytest.fixture
def queues() -> Iterator[tuple[EngineQueue, EngineQueue]]:
    full, quick = EngineQueue("stt-test"), EngineQueue("stt-quick-test")
    yield full, quick
    full.close()
    quick.close()


def _transcript(queues: tuple[EngineQueue, EngineQueue]) -> tuple[IncrementalTranscript, Any]:
    seg = TurnSegmenter(sample_rate=RATE, aggressiveness=0, end_silence_ms=100_000)
    stt = RecordingSTT()
    inc = IncrementalTranscript(seg, stt, queues[0], queues[1], is_stale=lambda: False)  # type: ignore[arg-type]
    return inc, stt


def _speak(inc: IncrementalTranscript, *parts: np.ndarray) -> None:
    for part in parts:
        inc.segmenter.feed(part)


def test_a_short_piece_mid_answer_waits_for_the_next_pause(queues: Any) -> None:
    async def run() -> None:
        inc, stt = _transcript(queues)
        _speak(inc, _noise(1.5, 1), _silence(0.5))
        await inc.on_pause(looks_final=False)
        assert stt.full == []  # 1.5 s mid-answer: not worth a full pass yet
        _speak(inc, _noise(3.0, 2), _silence(0.5))
        await inc.on_pause(looks_final=False)
        assert len(stt.full) == 1 and stt.full[0] >= 4.0  # both pieces, at once
        assert inc.committed_segments == 2 and inc.committed_text == "piece1."

    asyncio.run(run())


def test_where_the_turn_looks_finished_the_final_reuses_the_pause_pass(queues: Any) -> None:
    async def run() -> None:
        inc, stt = _transcript(queues)
        _speak(inc, _noise(5.0, 3), _silence(0.5))
        await inc.on_pause(looks_final=False)  # committed
        _speak(inc, _noise(1.2, 4), _silence(0.5))
        await inc.on_pause(looks_final=True)  # short, but the turn looks finished
        assert len(stt.full) == 2 and inc.pending is not None
        final = await inc.final()
        assert len(stt.full) == 2  # no third pass: the pending piece was the tail
        assert final.text == "piece1. piece2."
        assert final.duration_s == pytest.approx(sum(stt.full))

    asyncio.run(run())


def test_the_final_transcribes_a_tail_no_pause_pass_covered(queues: Any) -> None:
    async def run() -> None:
        inc, stt = _transcript(queues)
        _speak(inc, _noise(1.0, 5), _silence(0.5), _noise(1.0, 6))  # still speaking
        await inc.on_pause(looks_final=False)
        assert stt.full == []
        final = await inc.final()
        assert len(stt.full) == 1 and final.text == "piece1."

    asyncio.run(run())


def test_the_end_check_hears_only_the_last_seconds(queues: Any) -> None:
    async def run() -> None:
        inc, stt = _transcript(queues)
        _speak(inc, _noise(3.0, 7), _silence(0.5), _noise(6.0, 8), _silence(0.5))
        words = await inc.last_words(4.0, PRIORITY_TURN, lambda: False)
        assert words is not None and words.duration_s == pytest.approx(4.0)
        assert await inc.interim() == "quick2"  # an interim hears the whole tail
        assert stt.quick[1] > 9.0 and stt.full == []
        inc.segmenter.reset()  # nothing heard: no pass at all
        assert await inc.interim() is None and len(stt.quick) == 2

    asyncio.run(run())
