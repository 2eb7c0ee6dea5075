"""One answer being spoken: its segmenter, its incremental transcript, its end-of-turn
state and its continuation window. A ``Turn`` knows nothing of sockets or the store: it
is fed audio and returns events, and the session acts on them.

Taking back an early end. After its end a turn stays listening for a short window
(``continuation_window_ms``, on the later of the input audio's clock and the server's,
so a client that streams faster than real time or stops sending frames is judged the
same as one in real time), and for as long as the next question is being spoken.
Speech there that lasts ``continuation_min_speech_ms`` is the candidate going on after a
thinking pause: the session reopens the turn, and the new speech lands in the same
answer, in the same segmenter, so the final pass hears the whole answer with nothing
lost at the cut.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum

import numpy as np
import numpy.typing as npt

from voice_interview.audio import SAMPLE_RATE
from voice_interview.audio.vad import TurnSegmenter
from voice_interview.interview.session.incremental import IncrementalTranscript
from voice_interview.interview.session.services import Ears
from voice_interview.interview.session.turn_end import EndOfTurnDecision
from voice_interview.settings import Settings
from voice_interview.store.tables import QuestionRow

RATE = SAMPLE_RATE


@dataclass(frozen=True)
class SpeechStarted:
    audio_ms: int


@dataclass(frozen=True)
class SpeechStopped:
    """A pause: time to decide how much silence ends the turn."""

    audio_ms: int


@dataclass(frozen=True)
class EndOfTurn:
    """The silence the end-of-turn policy chose has passed."""


@dataclass(frozen=True)
class AnswerTooLong:
    limit_ms: int


@dataclass(frozen=True)
class InterimDue:
    """Enough new speech for another interim transcript."""


TurnEvent = SpeechStarted | SpeechStopped | EndOfTurn | AnswerTooLong | InterimDue


class Window(Enum):
    """Where an ended turn stands after its end."""

    OPEN = "open"  # still listening for a continuation
    RESUME = "resume"  # the candidate went on: take the end back
    CLOSED = "closed"  # settled: the answer is final


@dataclass
class Turn:
    question: QuestionRow
    started: float
    segmenter: TurnSegmenter
    transcript: IncrementalTranscript
    max_answer_ms: int
    interim_interval_ms: int
    arrivals: deque[tuple[int, float]] = field(default_factory=lambda: deque(maxlen=4000))
    last_arrival: float = 0.0  # server clock of the last input fed (audio or filled silence)
    last_audio_at: float = 0.0  # server clock of the last audio the client sent
    ending: bool = False  # end_turn has started
    closing: bool = False  # an end was asked for: later audio belongs to no turn
    interim_inflight: bool = False
    last_interim_speech_ms: int = 0
    last_interim_text: str = ""
    decision: EndOfTurnDecision | None = None  # the last pause's end-of-turn verdict
    decided_after_ms: int | None = None  # ... reached this long after the last voice
    # Set once the answer is stored; a resumed turn updates that row.
    answer_id: str | None = None
    # Continuation: how often the end was taken back, and where the last end was.
    resumes: int = 0
    resumed_at_segment: int | None = None  # first segment of the latest continuation
    barged_in_at_ms: float | None = None  # how much of the question played before barge-in
    _settled: asyncio.Future[bool] | None = None  # True: final; False: taken back
    _ended_at: float | None = None
    _ended_audio_ms: int = 0
    _speech_ms_at_end: int = 0
    _too_long_sent: bool = False
    _window_closed: bool = False
    # After an automatic end: the segments that make the answer (later ones are the
    # window's); None while no window is open.
    segments_at_end: int | None = None

    # ------------------------------------------------------------------ feeding

    def feed(
        self, pcm: npt.NDArray[np.int16], arrived: float, *, interims_allowed: bool = True
    ) -> list[TurnEvent]:
        """Run the segmenter over new input and say what happened, in input order."""
        seg = self.segmenter
        events: list[TurnEvent] = []
        for ev in seg.feed(pcm):
            if ev.kind == "speech_started":
                self.decision = None  # the next pause decides again
                events.append(SpeechStarted(ev.audio_ms))
            elif ev.kind == "speech_stopped":
                events.append(SpeechStopped(ev.audio_ms))
            elif ev.kind == "end_of_turn" and self._ended_at is None:
                events.append(EndOfTurn())
        self.arrivals.append((seg.received_ms, arrived))
        self.last_arrival = arrived
        if self._ended_at is not None:
            return events  # after the end only the continuation window listens
        if seg.received_ms >= self.max_answer_ms and not self._too_long_sent:
            self._too_long_sent = True
            events.append(AnswerTooLong(self.max_answer_ms))
        elif (
            interims_allowed
            and seg.heard_speech
            and not self.interim_inflight
            and seg.speech_ms - self.last_interim_speech_ms >= self.interim_interval_ms
        ):
            events.append(InterimDue())
        return events

    def arrival_of(self, position_ms: int) -> float | None:
        """Server clock time at which the input sample at ``position_ms`` arrived."""
        for end_ms, arrived in self.arrivals:
            if end_ms >= position_ms:
                return arrived
        return self.arrivals[-1][1] if self.arrivals else None

    def last_voice_at(self) -> float | None:
        end = self.segmenter.last_voiced_end_ms
        return None if end is None else self.arrival_of(end)

    # ------------------------------------------------------------------ continuation

    def mark_ended(self, now: float, settled: asyncio.Future[bool]) -> None:
        """The turn ended (its answer is being stored): open the continuation window.
        ``settled`` resolves True when the answer is final, False if it was taken back."""
        seg = self.segmenter
        self._ended_at = now
        self._ended_audio_ms = seg.received_ms
        self._speech_ms_at_end = seg.speech_ms
        self._settled = settled
        self._window_closed = False
        self.segments_at_end = seg.closed_segments

    def settle(self, final: bool) -> None:
        if self._settled is not None and not self._settled.done():
            self._settled.set_result(final)

    async def settled_within(self, seconds: float) -> bool | None:
        """``settled()``, but None if the window is still open after ``seconds``."""
        if self._settled is None:
            return True
        try:
            return await asyncio.wait_for(asyncio.shield(self._settled), seconds)
        except TimeoutError:
            return None

    async def settled(self) -> bool:
        """Wait for the window to close: True when the answer stands as it is."""
        if self._settled is None:
            return True  # no window: an explicit end, a typed answer
        return await self._settled

    @property
    def ended(self) -> bool:
        return self._ended_at is not None

    def window(
        self, now: float, window_ms: int, min_speech_ms: int, *, question_playing: bool = False
    ) -> Window:
        """After the end: is the candidate going on, still might, or done? The window is
        open for ``window_ms`` after the end, and for as long as the next question is
        still being spoken (a candidate cannot answer a question not yet heard, so
        speech over it goes on with the answer before)."""
        if self._ended_at is None:
            return Window.OPEN
        if self._window_closed:
            return Window.CLOSED  # once closed, later speech is the next answer's
        seg = self.segmenter
        new_speech_ms = seg.speech_ms - self._speech_ms_at_end
        if seg.in_speech and new_speech_ms >= min_speech_ms:
            return Window.RESUME
        if seg.in_speech:
            return Window.OPEN  # a continuation starting: wait for it to last
        audio_ms = seg.received_ms - self._ended_audio_ms
        wall_ms = (now - self._ended_at) * 1000.0
        if question_playing or max(audio_ms, wall_ms) < window_ms:
            return Window.OPEN
        self._window_closed = True
        return Window.CLOSED

    def reopen(self) -> None:
        """Take the end back: the answer goes on in this turn."""
        seg = self.segmenter
        self.resumes += 1
        # The continuation's open segment is the one after the closed ones.
        self.resumed_at_segment = seg.closed_segments
        self._ended_at = None
        self._settled = None
        self.segments_at_end = None
        self.ending = self.closing = False
        self._too_long_sent = False
        self.decision = None
        seg.reopen()

    def continuation_audio(self) -> npt.NDArray[np.int16]:
        """The speech since the last resume (empty if the turn was never resumed)."""
        if self.resumed_at_segment is None:
            return np.zeros(0, dtype=np.int16)
        return self.segmenter.voiced_audio(self.resumed_at_segment)

    def audio_before_resume(self) -> npt.NDArray[np.int16]:
        """The answer as it was before the last resume."""
        if self.resumed_at_segment is None:
            return self.segmenter.voiced_audio()
        return self.segmenter.voiced_audio(0, self.resumed_at_segment)


def new_turn(
    question: QuestionRow, settings: Settings, ears: Ears, is_stale: Callable[[], bool]
) -> Turn:
    """A fresh turn for ``question``: its own segmenter (a fresh VAD noise estimate) and
    incremental transcript; ``is_stale`` tells its quick passes when to give up."""
    segmenter = TurnSegmenter(
        sample_rate=SAMPLE_RATE,
        aggressiveness=settings.vad_aggressiveness,
        end_silence_ms=settings.end_of_turn_unsure_ms,  # until a pause's check decides
    )
    return Turn(
        question=question,
        started=time.monotonic(),
        segmenter=segmenter,
        transcript=IncrementalTranscript(
            segmenter, ears.stt, ears.stt_queue, ears.stt_quick_queue, is_stale=is_stale
        ),
        max_answer_ms=int(settings.max_answer_s * 1000),
        interim_interval_ms=settings.interim_interval_ms,
    )
