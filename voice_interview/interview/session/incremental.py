"""An answer's transcript while the candidate speaks, and the final one when the turn ends.

The final transcript is one full pass (beam search, word timings) over the whole answer.
It runs after the next question has gone out, so it costs the candidate nothing, and a
pass over the whole answer is as good as the model gets: cutting an answer into pieces
cost Whisper context at every cut (finals were 1.3-2x the WER of one offline pass over
the same recording, and a short first sentence could vanish into a piece of its own).

Interims and the end-of-turn check's look at the last words are quick passes (a short
encoder window, greedy) on a queue of their own. For a long answer the quick text of its
closed segments is kept once they pass ``interim_commit_s`` (the quick window is 28 s), so
an interim shows the whole answer at a fixed cost.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from voice_interview.audio import SAMPLE_RATE
from voice_interview.audio.vad import TurnSegmenter
from voice_interview.engines.queue import PRIORITY_FINAL, PRIORITY_NORMAL, EngineQueue
from voice_interview.engines.stt import QuickTranscript, SpeechToText, Transcript

RATE = SAMPLE_RATE
PROMPT_CHARS = 200  # context for a quick pass: the end of what was already said


@dataclass
class IncrementalTranscript:
    segmenter: TurnSegmenter
    stt: SpeechToText
    queue: EngineQueue  # full passes
    quick_queue: EngineQueue  # quick passes: never behind a full pass
    is_stale: Callable[[], bool]
    interim_commit_s: float = 20.0
    committed_segments: int = 0  # segments [0, this) are kept as quick text
    _texts: list[str] = field(default_factory=list)

    @property
    def committed_text(self) -> str:
        return " ".join(self._texts)

    def _prompt(self) -> str | None:
        return self.committed_text[-PROMPT_CHARS:] if self.committed_text else None

    async def interim(self) -> str | None:
        """The answer so far: kept quick text, then a quick pass over the tail."""
        seg = self.segmenter
        closed = seg.closed_segments
        if closed > self.committed_segments:
            audio = seg.voiced_audio(self.committed_segments, closed)
            if audio.size >= self.interim_commit_s * RATE:
                done = await self._quick(audio, PRIORITY_NORMAL, self.is_stale)
                if done is not None and done.text:
                    self._texts.append(done.text)
                self.committed_segments = closed
        tail = await self._quick(
            seg.voiced_audio(self.committed_segments), PRIORITY_NORMAL, self.is_stale
        )
        text = " ".join(t for t in (self.committed_text, tail.text if tail else "") if t)
        return text or None

    async def last_words(
        self, seconds: float, priority: int, is_stale: Callable[[], bool]
    ) -> QuickTranscript | None:
        """A quick pass over the last ``seconds`` of the answer: the words the end-of-turn
        check reads, at a fixed cost however long the answer has grown."""
        audio = self.segmenter.voiced_audio(self.committed_segments)
        return await self._quick(audio[-int(seconds * RATE) :], priority, is_stale)

    async def quick(self, audio: npt.NDArray[np.int16], priority: int) -> QuickTranscript | None:
        """A quick pass over some of this answer's audio (None if under 0.2 s)."""
        return await self._quick(audio, priority, lambda: False)

    async def _quick(
        self, audio: npt.NDArray[np.int16], priority: int, is_stale: Callable[[], bool]
    ) -> QuickTranscript | None:
        if audio.size < RATE // 5:
            return None
        stt, prompt = self.stt, self._prompt()
        return await self.quick_queue.run(
            lambda: stt.quick_transcribe(audio, prompt=prompt), priority, is_stale=is_stale
        )

    async def final(
        self,
        audio: npt.NDArray[np.int16] | None = None,
        is_stale: Callable[[], bool] | None = None,
    ) -> Transcript:
        """One full pass over the whole answer (``audio``, else all the segmenter heard).
        Dropped (``StaleWorkError``) only if ``is_stale`` says so before it starts: an
        answer taken back gets a final of its own."""
        if audio is None:
            audio = self.segmenter.voiced_audio()
        if not audio.size:
            return Transcript("", duration_s=0.0)
        stt = self.stt
        return await self.queue.run(lambda: stt.transcribe(audio), PRIORITY_FINAL, is_stale)
