"""The check at each pause that sets how much silence ends the turn.

A quick STT pass over the tail (the last words) and Smart Turn over the last 8 s (the
voice) are queued the moment a pause begins, side by side and ahead of other work; both
are dropped if the candidate speaks again first. ``turn_end.EndOfTurnPolicy`` decides on
them, on the answer's length against its question, and on the key points said so far.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from voice_interview.engines.queue import PRIORITY_TURN, StaleWorkError
from voice_interview.engines.turn_detect import WINDOW_S as TURN_MODEL_WINDOW_S
from voice_interview.interview.session.turn import Turn
from voice_interview.interview.session.turn_end import EndOfTurnInputs, key_point_coverage

if TYPE_CHECKING:
    from voice_interview.interview.session.session import InterviewSession

# The check hears at most this much of the tail: enough for the last words, at a fixed
# cost (~0.1 s with tiny.en on one core) however long the tail has grown.
END_CHECK_WORDS_S = 6.0


async def check_end_of_turn(session: InterviewSession, turn: Turn) -> None:
    seg = turn.segmenter
    ears = session.svc.ears
    pause = seg.closed_segments
    voice = seg.recent_audio(TURN_MODEL_WINDOW_S * 1000)

    def moved_on() -> bool:
        return session.stale(turn) or seg.in_speech or seg.closed_segments != pause

    words = asyncio.ensure_future(
        turn.transcript.last_words(END_CHECK_WORDS_S, PRIORITY_TURN, moved_on)
    )
    finished_voice = asyncio.ensure_future(
        ears.turn_queue.run(lambda: ears.turn.probability_complete(voice), PRIORITY_TURN, moved_on)
    )
    done = await asyncio.gather(words, finished_voice, return_exceptions=True)
    if any(isinstance(outcome, StaleWorkError) for outcome in done):
        return  # the candidate spoke again: a later pause decides
    tail, probability = await words, await finished_voice  # done; other errors raise
    if moved_on() or tail is None:
        return
    question = turn.question
    so_far = turn.last_interim_text or tail.text
    decision = session.policy.decide(
        EndOfTurnInputs(
            text=tail.text,
            last_word_probability=tail.last_word_probability,
            turn_probability=probability,
            speech_ms=seg.speech_ms,
            difficulty=question.difficulty,
            question_type=question.question_type,
            coverage=key_point_coverage(so_far, [str(k) for k in question.key_points]),
        )
    )
    seg.end_silence_ms = decision.wait_ms
    turn.decision = decision
    turn.decided_after_ms = seg.received_ms - (seg.last_voiced_end_ms or 0)
    session.log.debug(
        "end of turn wait set",
        extra={"turn": question.position, **decision.to_log()},
    )
