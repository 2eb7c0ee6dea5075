"""What each pass of an answer's transcript hears: quick ones as it goes, one full one at the end.

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
from voice_interview.interview.session.incremental import IncrementalTranscript

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


def test_the_final_is_one_full_pass_over_the_whole_answer(queues: Any) -> None:
    async def run() -> None:
        inc, stt = _transcript(queues)
        _speak(inc, _noise(5.0, 1), _silence(0.5), _noise(0.8, 2), _silence(0.3))
        _speak(inc, _noise(6.0, 3), _silence(0.5))
        assert await inc.interim() is not None
        final = await inc.final()
        # Every sentence, the short one included, in one pass: no pieces, no seams.
        assert len(stt.full) == 1 and final.text == "piece1."
        assert stt.full[0] == pytest.approx(inc.segmenter.voiced_audio().size / RATE)
        assert stt.full[0] > 11.5

    asyncio.run(run())


def test_an_interim_keeps_the_quick_text_of_a_long_answer(queues: Any) -> None:
    async def run() -> None:
        inc, stt = _transcript(queues)
        inc.interim_commit_s = 8.0
        _speak(inc, _noise(5.0, 1), _silence(0.5), _noise(5.0, 2), _silence(0.5))
        assert await inc.interim() == "quick1"  # the closed 10 s kept; no open tail
        assert stt.quick[0] > 9.5
        assert inc.committed_segments == inc.segmenter.closed_segments
        _speak(inc, _noise(2.0, 3))
        assert await inc.interim() == "quick1 quick2"  # then the open segment only
        assert stt.quick[-1] < 3.0 and stt.full == []

    asyncio.run(run())


def test_nothing_heard_means_no_final_pass(queues: Any) -> None:
    async def run() -> None:
        inc, stt = _transcript(queues)
        _speak(inc, _silence(2.0))
        final = await inc.final()
        assert final.text == "" and stt.full == [] and stt.quick == []

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
