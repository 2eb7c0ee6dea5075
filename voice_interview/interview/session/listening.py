"""What the open turn hears: audio fed through the ``Turn`` and its events acted on,
interims, and what the server's clock decides (a client gone quiet, a question left
unanswered, a continuation window closing)."""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from voice_interview import protocol as p
from voice_interview.audio import SAMPLE_RATE
from voice_interview.domain.interview import InterviewStatus
from voice_interview.engines.queue import StaleWorkError
from voice_interview.interview.session.turn import (
    AnswerTooLong,
    EndOfTurn,
    InterimDue,
    SpeechStarted,
    SpeechStopped,
    Turn,
)
from voice_interview.interview.session.turn_check import check_end_of_turn

if TYPE_CHECKING:
    from voice_interview.interview.session.session import InterviewSession

STT_RATE = SAMPLE_RATE
MAX_STT_BACKLOG_FOR_INTERIMS = 2
STALL_TICK_S = 0.1  # how often the wall-clock checks run (stalled client, window closing)


async def feed(s: InterviewSession, turn: Turn, pcm: npt.NDArray[np.int16], arrived: float) -> None:
    """Feed the open turn new input (received audio, or silence the clock fills in)
    and act on what it says."""
    interims_allowed = s.svc.ears.backlog < MAX_STT_BACKLOG_FOR_INTERIMS
    for ev in turn.feed(pcm, arrived, interims_allowed=interims_allowed):
        if isinstance(ev, SpeechStarted):
            # New words: the last verdict no longer holds. Until this pause's check decides,
            # the middle wait, so a check that comes late on a loaded box does not hold
            # every turn for the long one; an end it would not have chosen is taken back.
            turn.segmenter.end_silence_ms = s.settings.end_of_turn_unsure_ms
            await s.send(p.SpeechStartedMsg(ev.audio_ms))
        elif isinstance(ev, SpeechStopped):
            if _echo_blip(s, turn, arrived):
                # Under the barge-in length, over a question still playing, in a turn
                # with nothing else heard: the question's echo, not an answer to end.
                turn.segmenter.forget_speech()
            else:
                s.spawn(check_end_of_turn(s, turn))
            await s.send(p.SpeechStoppedMsg(ev.audio_ms))
        elif isinstance(ev, EndOfTurn):
            if not turn.segmenter.heard_speech:
                continue  # its speech was an echo blip, forgotten in this same feed
            s.request_end("vad")
            return
        elif isinstance(ev, AnswerTooLong):
            await s.error(
                p.ANSWER_TOO_LONG,
                f"answers are limited to {s.settings.max_answer_s:.0f} s; "
                "the turn ends with what was said",
            )
            s.request_end("max_length")
            return
        elif isinstance(ev, InterimDue):
            start_interim(s, turn)
    seg = turn.segmenter
    if (
        turn.barged_in_at_ms is None
        # Speech over the next question right after an answer goes on with that answer.
        and s.continuation.ended is None
        and seg.in_speech
        and seg.speech_ms >= s.settings.continuation_min_speech_ms
        and s.playing is not None
        and s.playing.playing(arrived)
    ):
        await s.continuation.barge_in(turn, arrived)


def _echo_blip(s: InterviewSession, turn: Turn, arrived: float) -> bool:
    return (
        turn.barged_in_at_ms is None
        and not turn.ended
        and s.continuation.ended is None
        and turn.segmenter.speech_ms < s.settings.continuation_min_speech_ms
        and s.playing is not None
        and s.playing.playing(arrived)
    )


def start_interim(s: InterviewSession, turn: Turn) -> None:
    seg = turn.segmenter
    turn.interim_inflight = True
    turn.last_interim_speech_ms = seg.speech_ms

    async def run() -> None:
        try:
            text = await turn.transcript.interim()
        except StaleWorkError:
            return
        finally:
            turn.interim_inflight = False
        if not s.stale(turn) and text and text != turn.last_interim_text:
            turn.last_interim_text = text
            await s.send(p.TranscriptMsg(turn.question.id, text, False))

    s.spawn(run())


async def clock_watch(s: InterviewSession) -> None:
    """What the server's clock decides. A client may stop sending frames once the
    candidate stops speaking (Opus DTX, client-side VAD, a stalled tab); the segmenter
    only moves with input, so after ``end_of_turn_stall_ms`` without audio the silence
    is filled in as it passes, and the turn ends as if that silence had arrived. A
    continuation window closes on this clock too."""
    margin_s = s.settings.end_of_turn_stall_ms / 1000.0
    while not s.closed:
        await asyncio.sleep(STALL_TICK_S)
        now = time.monotonic()
        s.continuation.tick(now)
        turn = s.accepting_audio()
        if turn is None or not turn.segmenter.heard_speech or turn.ending:
            continue
        if now - turn.last_audio_at < margin_s:
            continue
        gap = int((now - turn.last_arrival) * STT_RATE)
        if gap > 0:
            await feed(s, turn, np.zeros(gap, dtype=np.int16), now)


async def silence_timer(s: InterviewSession, turn: Turn, question_audio_s: float) -> None:
    """Ask again after a long silence, then end the turn as unanswered."""
    try:
        # The candidate cannot answer before hearing the question.
        await asyncio.sleep(question_audio_s + s.settings.no_answer_reprompt_s)
        if _quiet_turn_gone(s, turn):
            return
        await s.ask(turn.question, new_turn=False)
        await asyncio.sleep(
            question_audio_s
            + max(0.0, s.settings.no_answer_timeout_s - s.settings.no_answer_reprompt_s)
        )
        if _quiet_turn_gone(s, turn):
            return
        s.request_end("no_answer")
    except asyncio.CancelledError:
        return


def _quiet_turn_gone(s: InterviewSession, turn: Turn) -> bool:
    return s.stale(turn) or turn.segmenter.heard_speech or s.status != InterviewStatus.IN_PROGRESS
