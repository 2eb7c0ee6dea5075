"""An answer's transcript, built piece by piece while the candidate speaks.

Each pause (a closed VAD segment) sends the speech since the last committed piece to
the STT. A piece of at least ``commit_min_s`` is committed: later passes never
transcribe it again, so the final pass covers only the tail, and the text at each
pause tells the end-of-turn policy whether the candidate stopped after a finished
sentence. Shorter pieces stay pending: Whisper does better with more context, and the
next pause re-transcribes them together with what follows.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from voice_interview.audio.vad import TurnSegmenter
from voice_interview.engines.queue import PRIORITY_FINAL, PRIORITY_NORMAL, EngineQueue
from voice_interview.engines.stt import SpeechToText, Transcript, Word

RATE = 16000
PROMPT_CHARS = 200  # context for the next piece: the end of what was already said


@dataclass
class _Piece:
    transcript: Transcript
    first_segment: int
    end_segment: int  # exclusive


@dataclass
class IncrementalTranscript:
    segmenter: TurnSegmenter
    stt: SpeechToText
    queue: EngineQueue
    is_stale: Callable[[], bool]
    # Shorter pieces cost accuracy (Whisper loses context at each cut): 4 s kept the
    # fixtures' WER within 0.003 of transcribing each answer whole.
    commit_min_s: float = 4.0
    committed: list[_Piece] = field(default_factory=list)
    pending: _Piece | None = None
    passes: int = 0
    _job: asyncio.Task[None] | None = None
    _again: bool = False

    @property
    def committed_segments(self) -> int:
        return self.committed[-1].end_segment if self.committed else 0

    @property
    def committed_text(self) -> str:
        return " ".join(p.transcript.text for p in self.committed if p.transcript.text)

    def _prompt(self) -> str | None:
        text = self.committed_text
        return text[-PROMPT_CHARS:] if text else None

    def text_so_far(self) -> str | None:
        """Everything said up to the last pause, or None if that is not transcribed yet."""
        closed = self.segmenter.closed_segments
        if self.committed_segments == closed:
            return self.committed_text
        if self.pending is not None and self.pending.end_segment == closed:
            return " ".join(t for t in (self.committed_text, self.pending.transcript.text) if t)
        return None

    def last_word_probability(self) -> float:
        """How sure the STT was of the last word heard so far (1.0 if unknown)."""
        latest = (
            self.pending
            if self.pending is not None
            else (self.committed[-1] if self.committed else None)
        )
        words = (
            [w for w in latest.transcript.words if any(c.isalnum() for c in w.word)]
            if (latest is not None)
            else []
        )
        # Punctuation Whisper emits as a "word" of its own says nothing about the speech.
        return words[-1].probability if words else 1.0

    async def _transcribe(
        self, audio: npt.NDArray[np.int16], priority: int, *, final: bool
    ) -> Transcript:
        stt, prompt = self.stt, self._prompt()
        self.passes += 1
        return await self.queue.run(
            lambda: stt.transcribe(audio, final=final, prompt=prompt),
            priority,
            is_stale=self.is_stale if not final else None,
        )

    async def on_pause(self) -> str | None:
        """Transcribe the speech up to this pause; returns the text so far (None if stale)."""
        if self._job is not None and not self._job.done():
            self._again = True  # one pass at a time; the running one goes again after
            await asyncio.shield(self._job)
            return self.text_so_far()
        self._job = asyncio.ensure_future(self._pause_passes())
        await asyncio.shield(self._job)
        return self.text_so_far()

    async def _pause_passes(self) -> None:
        while True:
            self._again = False
            first, end = self.committed_segments, self.segmenter.closed_segments
            if end > first and not self.is_stale():
                # Only closed segments: a segment that opened meanwhile is the next piece's.
                audio = self.segmenter.voiced_audio(first, end)
                piece = _Piece(
                    await self._transcribe(audio, PRIORITY_FINAL, final=True), first, end
                )
                if piece.transcript.duration_s >= self.commit_min_s:
                    self.committed.append(piece)
                    self.pending = None
                else:
                    self.pending = piece
            if not self._again:
                return

    async def interim(self) -> tuple[str, Transcript] | None:
        """Committed text plus a quick pass over the tail (the open segment included)."""
        audio = self.segmenter.voiced_audio(self.committed_segments)
        if audio.size < RATE // 5:
            return None
        tail = await self._transcribe(audio, PRIORITY_NORMAL, final=False)
        return " ".join(t for t in (self.committed_text, tail.text) if t), tail

    async def final(self) -> Transcript:
        """The whole answer: committed pieces, then the tail (reusing a pending piece)."""
        if self._job is not None and not self._job.done():
            await asyncio.shield(self._job)
        pieces = [p.transcript for p in self.committed]
        seg = self.segmenter
        tail_from = self.committed_segments
        if seg.in_speech or seg.closed_segments > tail_from:
            pending = self.pending
            if (
                pending is not None
                and not seg.in_speech
                and pending.first_segment == tail_from
                and pending.end_segment == seg.closed_segments
            ):
                pieces.append(pending.transcript)
            else:
                audio = seg.voiced_audio(tail_from)
                if audio.size:
                    pieces.append(await self._transcribe(audio, PRIORITY_FINAL, final=True))
        return merge(pieces)


def merge(pieces: list[Transcript]) -> Transcript:
    """One transcript from consecutive pieces; word times shifted onto one timeline."""
    words: list[Word] = []
    offset = 0.0
    for piece in pieces:
        words.extend(
            Word(w.word, w.start + offset, w.end + offset, w.probability) for w in piece.words
        )
        offset += piece.duration_s
    spoken = [p for p in pieces if p.text]
    return Transcript(
        " ".join(p.text for p in spoken),
        words,
        max((p.no_speech_prob for p in spoken), default=1.0 if pieces else 0.0),
        float(np.mean([p.avg_logprob for p in spoken])) if spoken else 0.0,
        offset,
        sum(p.dropped_segments for p in pieces),
    )
