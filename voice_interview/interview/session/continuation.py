"""Taking an early end back, and barge-in.

After an automatic end of turn the ended ``Turn`` stays fed (its window: ``Turn.window``).
If the candidate goes on, the question being spoken is stopped, the next question's
turn is dropped, and the ended answer is reopened. Speech over a question at any other
time is a barge-in: the question stops and what is said answers it.
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from voice_interview import protocol as p
from voice_interview.interview.session.turn import Turn, Window

if TYPE_CHECKING:
    from voice_interview.interview.session.session import InterviewSession


class Continuation:
    def __init__(self, session: InterviewSession) -> None:
        self.session = session
        self.ended: Turn | None = None  # an ended answer still in its continuation window

    def window_of(self, turn: Turn, now: float) -> Window:
        s = self.session
        playing = s.playing
        return turn.window(
            now,
            s.settings.continuation_window_ms,
            s.settings.continuation_min_speech_ms,
            question_playing=playing is not None and playing.playing(now),
        )

    def open(self, turn: Turn) -> None:
        """An automatic end: listen for a continuation a while longer."""
        self.settle()
        turn.mark_ended(time.monotonic(), asyncio.get_running_loop().create_future())
        self.ended = turn

    def settle(self) -> None:
        """The ended answer is final now: its evaluation may go ahead."""
        ended, self.ended = self.ended, None
        if ended is not None:
            ended.settle(True)

    def tick(self, now: float) -> None:
        """The server's clock closes a window that no audio is coming in for."""
        if self.ended is not None and self.window_of(self.ended, now) is Window.CLOSED:
            self.settle()

    async def listen(self, pcm: npt.NDArray[np.int16], arrived: float) -> bool:
        """Feed the ended turn, if one is listening; True if the candidate went on and the
        turn was reopened (this audio then belongs to it)."""
        ended = self.ended
        if ended is None:
            return False
        ended.feed(pcm, arrived)
        ended.last_audio_at = arrived
        state = self.window_of(ended, arrived)
        if state is Window.RESUME:
            await self._take_back(ended)
            return True
        if state is Window.CLOSED:
            self.settle()
        return False

    async def _take_back(self, turn: Turn) -> None:
        s = self.session
        self.ended = None
        cancelled = await s.cancel_question_audio()
        superseded = s.open_turn
        if superseded is not None and superseded is not turn:
            superseded.closing = True  # the next question's turn never happened
        s.cancel_timer()
        s.unmark_answered(turn.question.id)
        turn.settle(False)
        turn.reopen()
        # The continuation is new speech: until its first pause decides, the middle wait.
        turn.segmenter.end_silence_ms = s.settings.end_of_turn_unsure_ms
        s.open_turn = turn
        s.log.info(
            "end of turn taken back",
            extra={
                "turn": turn.question.position,
                "question_id": turn.question.id,
                "resumes": turn.resumes,
                "cancelled_question": cancelled.question_id if cancelled else None,
            },
        )
        await s.send(p.TurnResumedMsg(turn.question.id, p.RESUMED_CONTINUED))

    async def barge_in(self, turn: Turn, now: float) -> None:
        """The candidate talks over the question: stop it; what they say answers it."""
        s = self.session
        playback = await s.cancel_question_audio()
        if playback is None:
            return
        turn.barged_in_at_ms = playback.heard_ms(now)
        s.log.info(
            "barge-in",
            extra={"turn": turn.question.position, "heard_ms": turn.barged_in_at_ms},
        )
        await s.send(p.TurnResumedMsg(turn.question.id, p.RESUMED_BARGE_IN))
