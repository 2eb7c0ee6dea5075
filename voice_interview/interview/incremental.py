"""An answer's transcript, built piece by piece while the candidate speaks.

At a pause (a closed VAD segment) the speech since the last committed piece goes to
the STT once it is at least ``commit_min_s`` long, and is committed: later passes never
transcribe it again, so the final pass covers only the tail. A shorter piece is
transcribed only when the turn looks finished, and kept pending: the final transcript
reuses it if the turn does end there; otherwise the next pause transcribes it again
together with what follows (Whisper does better with more context). Interims, and the
end-of-turn check's look at the last words, are quick passes over the same tail (a
short encoder window, greedy) on a queue of their own.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from voice_interview.audio.vad import TurnSegmenter
from voice_interview.engines.queue import PRIORITY_FINAL, PRIORITY_NORMAL, EngineQueue
from voice_interview.engines.stt import QuickTranscript, SpeechToText, Transcript, Word

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
    queue: EngineQueue  # full passes
    quick_queue: EngineQueue  # quick passes: never behind a full pass
    is_stale: Callable[[], bool]
    # Shorter pieces cost accuracy (Whisper loses context at each cut): 4 s kept the
    # fixtures' WER within 0.003 of transcribing each answer whole.
    commit_min_s: float = 4.0
    committed: list[_Piece] = field(default_factory=list)
    pending: _Piece | None = None
    passes: int = 0
    _job: asyncio.Task[None] | None = None
    _again: bool = False
    _looks_final: bool = False

    @property
    def committed_segments(self) -> int:
        return self.committed[-1].end_segment if self.committed else 0

    @property
    def committed_text(self) -> str:
        return " ".join(p.transcript.text for p in self.committed if p.transcript.text)

    def _prompt(self) -> str | None:
        text = self.committed_text
        return text[-PROMPT_CHARS:] if text else None

    async def _transcribe(
        self, audio: npt.NDArray[np.int16], priority: int = PRIORITY_FINAL
    ) -> Transcript:
        """A full pass (beam, word timings): what the answer's transcript is made of. Never
        dropped as stale: a finished turn still needs its text."""
        stt, prompt = self.stt, self._prompt()
        self.passes += 1
        return await self.queue.run(
            lambda: stt.transcribe(audio, prompt=prompt), priority
        )

    async def on_pause(self, *, looks_final: bool) -> None:
        """Transcribe the speech up to this pause in full, when a pass is worth it now: the
        piece is long enough to commit, or the turn looks finished (the final transcript
        then reuses the piece). A short piece mid-answer waits for the next pause."""
        self._looks_final = self._looks_final or looks_final
        if self._job is not None and not self._job.done():
            self._again = True  # one pass at a time; the running one goes again after
        else:
            self._job = asyncio.ensure_future(self._pause_passes())
        await asyncio.shield(self._job)

    async def _pause_passes(self) -> None:
        while True:
            self._again = False
            looks_final, self._looks_final = self._looks_final, False
            first, end = self.committed_segments, self.segmenter.closed_segments
            if end > first and not self.is_stale():
                # Only closed segments: a segment that opened meanwhile is the next piece's.
                audio = self.segmenter.voiced_audio(first, end)
                if looks_final or audio.size >= self.commit_min_s * RATE:
                    # A piece mid-answer can wait behind the final passes of ended turns.
                    priority = PRIORITY_FINAL if looks_final else PRIORITY_NORMAL
                    piece = _Piece(await self._transcribe(audio, priority), first, end)
                    if piece.transcript.duration_s >= self.commit_min_s:
                        self.committed.append(piece)
                        self.pending = None
                    else:
                        self.pending = piece
            if not self._again:
                return

    async def interim(self) -> str | None:
        """Committed text plus a quick pass over the tail (the open segment included)."""
        tail = await self._quick(
            self.segmenter.voiced_audio(self.committed_segments), PRIORITY_NORMAL, self.is_stale
        )
        return None if tail is None else " ".join(t for t in (self.committed_text, tail.text) if t)

    async def last_words(
        self, seconds: float, priority: int, is_stale: Callable[[], bool]
    ) -> QuickTranscript | None:
        """A quick pass over the last ``seconds`` of the tail: the words the end-of-turn
        check reads, at a fixed cost however long the tail has grown."""
        audio = self.segmenter.voiced_audio(self.committed_segments)
        return await self._quick(audio[-int(seconds * RATE) :], priority, is_stale)

    async def _quick(
        self, audio: npt.NDArray[np.int16], priority: int, is_stale: Callable[[], bool]
    ) -> QuickTranscript | None:
        if audio.size < RATE // 5:
            return None
        stt, prompt = self.stt, self._prompt()
        self.passes += 1
        return await self.quick_queue.run(
            lambda: stt.quick_transcribe(audio, prompt=prompt), priority, is_stale=is_stale
        )

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
                    pieces.append(await self._transcribe(audio))
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
