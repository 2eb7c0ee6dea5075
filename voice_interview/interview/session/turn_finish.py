"""Ending a turn: store the answer, ask the next question at once, then finish the answer
(final transcript, metrics, and, once it can no longer be taken back, its evaluation).

The next question does not depend on what was said, so it goes out before the final
transcription: the answer's audio is committed first (raw PCM, cheap), so a crash after
this point loses nothing; the transcript follows.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from voice_interview import protocol as p
from voice_interview.audio.storage import PCM_FORMAT
from voice_interview.domain.answer import AnswerMeta
from voice_interview.engines.queue import PRIORITY_TURN, StaleWorkError
from voice_interview.interview.evaluation.speech_metrics import timeline_of
from voice_interview.interview.evaluation.transcription import pcm_bytes
from voice_interview.interview.session.repeat_request import (
    MAX_REPEAT_SPEECH_MS,
    is_backchannel,
    is_repeat_request,
)
from voice_interview.interview.session.turn import Turn
from voice_interview.store.repository import AlreadyAnsweredError

if TYPE_CHECKING:
    from collections.abc import Coroutine

    from voice_interview.interview.session.session import InterviewSession


@dataclass(frozen=True)
class EndedAnswer:
    """What the end of a turn knew, for the work that follows it."""

    answer_id: str
    epoch: int  # the turn's resume count when it ended: a later resume supersedes this end
    source: str
    text: str
    audio: npt.NDArray[np.int16] | None
    speech_ms: int
    timeline: dict[str, Any] | None
    reason: str
    t_end: float
    last_voice_at: float | None
    first_audio_at: float | None = None


class TurnFinisher:
    def __init__(self, session: InterviewSession) -> None:
        self.session = session

    def _asks_for_repeat(self, turn: Turn) -> bool:
        """A fresh answer spoken over the question that only asks to hear it again."""
        if turn.barged_in_at_ms is None or turn.answer_id is not None:
            return False
        heard = turn.decision.inputs.text if turn.decision is not None else None
        return is_repeat_request(heard or turn.last_interim_text, turn.segmenter.speech_ms)

    async def _continuation_is_not_an_answer(self, turn: Turn, upto: int | None) -> bool:
        """The speech since the answer was reopened only acknowledged the next question
        ("okay", "mm-hmm") or asked to hear it again. A quick pass over just that speech
        (short by definition, ~0.1 s) tells."""
        cut = turn.resumed_at_segment
        if cut is None:
            return False
        said_ms = sum(b - a for a, b in turn.segmenter.segments_ms[cut:upto])
        if said_ms > MAX_REPEAT_SPEECH_MS:
            return False
        audio = turn.segmenter.voiced_audio(cut, upto)
        try:
            heard = await turn.transcript.quick(audio, PRIORITY_TURN)
        except StaleWorkError:
            return False
        text = heard.text if heard is not None else ""
        return is_repeat_request(text, said_ms) or is_backchannel(text, said_ms)

    async def finish_turn(
        self, turn: Turn, reason: str, text_answer: str | None
    ) -> Coroutine[Any, Any, None] | None:
        s = self.session
        if s.continuation.ended is not turn:
            s.continuation.settle()  # a newer answer ended: the one before it is final
        seg, question = turn.segmenter, turn.question
        t_end = time.monotonic()
        epoch = turn.resumes
        # After an automatic end the segmenter goes on hearing the continuation window:
        # the answer is what it had heard by the end.
        upto = turn.segments_at_end
        heard = text_answer is None and seg.heard_speech
        if heard and self._asks_for_repeat(turn):
            s.log.info("the candidate asked to hear the question again")
            await s.ask(question, new_turn=True)
            return None
        audio, speech_ms, timeline = None, seg.speech_ms, None
        if heard:
            # A continuation that only acknowledged the next question or asked for it
            # again is dropped: the answer stands as it was, and that question is asked
            # again anyway.
            dropped = await self._continuation_is_not_an_answer(turn, upto)
            cut = turn.resumed_at_segment if dropped else upto
            audio = seg.voiced_audio(0, cut)
            # Where the voiced audio came from in the turn (for pauses and clip times).
            timeline = timeline_of(seg, cut)
            if cut is not None:
                speech_ms = sum(b - a for a, b in seg.segments_ms[:cut])
        if text_answer is not None:
            source, text = "text", text_answer.strip()
        elif audio is not None:
            source, text = "voice", ""
        else:
            source, text = "none", ""
        fields: dict[str, Any] = {
            "transcript": text,
            "end_reason": reason,
            "speech_ms": speech_ms,
            "stt": {"status": "pending", "timeline": timeline} if audio is not None else {},
            "audio": pcm_bytes(audio) if audio is not None else None,
            "audio_format": PCM_FORMAT,
        }
        if turn.answer_id is not None:
            # A resumed answer: the stored one is replaced by the whole of it.
            await s.svc.store.reopen_answer(turn.answer_id, **fields)
        else:
            try:
                answer, _ = await s.svc.store.record_answer(
                    s.interview_id, question.id, source=source, **fields
                )
            except AlreadyAnsweredError:
                s.mark_answered(question.id)
                await s.error(p.INVALID_MESSAGE, "this question was already answered")
                await s.ask_current()
                return None
            turn.answer_id = answer.id
        if turn.resumes != epoch:
            # Taken back while it was being stored: the reopened answer stores the whole.
            return None
        s.mark_answered(question.id)
        ended = EndedAnswer(
            turn.answer_id,
            turn.resumes,
            source,
            text,
            audio,
            speech_ms,
            timeline,
            reason,
            t_end,
            turn.last_voice_at(),
        )
        next_q = s.current_question()
        first_audio_at: float | None = None
        if next_q is not None:
            first_audio_at = await s.ask(next_q, new_turn=True)
        else:
            s.no_open_turn()
        return self.finish_answer(turn, ended, first_audio_at)

    async def finish_answer(
        self, turn: Turn, ended: EndedAnswer, first_audio_at: float | None
    ) -> None:
        """Final transcript and stored audio, the metrics, then the evaluation."""
        s = self.session
        question = turn.question
        text, stt = ended.text, None
        stt_ms: float | None = None
        if ended.audio is not None:
            # An automatic end may still be taken back: the full pass waits for that, up
            # to the window's length, so a continuation does not cost a pass thrown away
            # (the final is off the critical path: the next question is out already).
            window_s = s.settings.continuation_window_ms / 1000
            if await turn.settled_within(window_s) is False:
                return  # taken back: the whole answer gets its own final

            def superseded() -> bool:
                return turn.resumes != ended.epoch

            t0 = time.monotonic()

            try:
                transcript = await turn.transcript.final(ended.audio, superseded)
            except StaleWorkError:
                return
            stt_ms = (time.monotonic() - t0) * 1000
            if superseded():
                return  # taken back meanwhile: the whole answer gets its own final
            stt = await s.svc.finals.store(
                ended.answer_id,
                ended.audio,
                transcript,
                speech_ms=ended.speech_ms,
                timeline=ended.timeline,
            )
            text = transcript.text
        if turn.resumes != ended.epoch:
            return
        await s.send(p.TranscriptMsg(question.id, text, True))
        metrics = turn_metrics(turn, ended, stt_ms, first_audio_at)
        await s.send(p.TurnMetricsMsg(question.id, metrics))
        await s.svc.store.save_timing(ended.answer_id, s.interview_id, question.id, metrics)
        s.svc.observe_turn(metrics)
        s.log.info(
            "turn ended",
            extra={
                "turn": question.position,
                "question_id": question.id,
                "reason": ended.reason,
                "source": ended.source,
                "latency_ms": metrics,
            },
        )
        # Nothing is scored on an answer that may still be taken back.
        if not await turn.settled() or turn.resumes != ended.epoch:
            return
        s.svc.evaluations.schedule(
            s.interview_id,
            ended.answer_id,
            question,
            text,
            AnswerMeta(
                source=ended.source,
                speech_ms=ended.speech_ms,
                stt=stt or {},
                end_reason=ended.reason,
            ),
        )


def turn_metrics(
    turn: Turn, ended: EndedAnswer, stt_ms: float | None, first_audio_at: float | None
) -> dict[str, Any]:
    def ms(a: float | None, b: float | None) -> float | None:
        return None if a is None or b is None else round((b - a) * 1000, 1)

    decision = turn.decision
    return {
        "end_of_turn": ms(ended.last_voice_at, ended.t_end),
        "stt_final": None if stt_ms is None else round(stt_ms, 1),
        "tts_first_audio": ms(ended.t_end, first_audio_at),
        "voice_to_voice": ms(ended.last_voice_at, first_audio_at),
        "turn_total": ms(turn.started, ended.t_end),
        "speech_ms": ended.speech_ms,
        "end_reason": ended.reason,
        # The end-of-turn check at the last pause: the silence it chose and why, how long
        # after the last voice it decided, and the signals it decided on.
        "end_wait": decision.wait_ms if decision else None,
        "end_why": decision.why if decision else None,
        "end_check": turn.decided_after_ms if decision else None,
        "last_word_probability": (
            round(decision.inputs.last_word_probability, 3) if decision else None
        ),
        "turn_probability": (
            None
            if decision is None or decision.inputs.turn_probability is None
            else round(decision.inputs.turn_probability, 3)
        ),
        # Continuation: how often this answer's end was taken back; a barge-in's moment.
        "resumes": turn.resumes,
        "barge_in_heard_ms": turn.barged_in_at_ms,
    }
