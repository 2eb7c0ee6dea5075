"""The turn loop of one candidate's WebSocket session.

One ``InterviewSession`` per connection. The socket reader feeds messages in; one writer
(``outbound.Writer``) sends everything out in order. The open answer is a ``turn.Turn``:
fed audio, it returns events, and the session acts on them. Every timing is on
``time.monotonic()``.

Taking an end back. After an automatic end of turn the next question goes out at once,
and the ended turn keeps listening for ``continuation_window_ms``. If the candidate goes
on there, the question is stopped (``question_audio_cancel``), the answer reopened
(``turn_resumed``, reason ``continued``), and when it ends again the stored answer is
replaced by the whole of it and the stopped question is asked again. Its evaluation waits
for the window to close, so nothing is scored on a cut answer. Speech over a question
outside that window is a barge-in: the question stops (``turn_resumed``, reason
``barge_in``) and what is said answers it, unless it asks for the question again.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

import numpy as np
import numpy.typing as npt

from voice_interview import protocol as p
from voice_interview.audio.codecs import AudioDecodeError, make_decoder
from voice_interview.audio.echo import EchoGuard
from voice_interview.audio.vad import TurnSegmenter
from voice_interview.domain.interview import InterviewStatus, InvalidTransitionError
from voice_interview.domain.scoring import OverallScore
from voice_interview.engines.queue import PRIORITY_FINAL, PRIORITY_NORMAL, StaleWorkError
from voice_interview.interview.evaluations import EvaluationEvent
from voice_interview.interview.incremental import IncrementalTranscript
from voice_interview.interview.outbound import Outbound, Playback, Writer
from voice_interview.interview.services import SessionServices
from voice_interview.interview.session_io import SessionFormats, question_block
from voice_interview.interview.turn import (
    AnswerTooLong,
    EndOfTurn,
    InterimDue,
    SpeechStarted,
    SpeechStopped,
    Turn,
    Window,
)
from voice_interview.interview.turn_check import check_end_of_turn
from voice_interview.interview.turn_end import EndOfTurnPolicy
from voice_interview.interview.turn_finish import TurnFinisher
from voice_interview.logs import ContextLogger
from voice_interview.store.repository import NotFoundError
from voice_interview.store.tables import InterviewRow, QuestionRow

log = logging.getLogger(__name__)

STT_RATE = 16000
MAX_STT_BACKLOG_FOR_INTERIMS = 2
STALL_TICK_S = 0.1  # how often the wall-clock checks run (stalled client, window closing)


class InterviewSession:
    def __init__(
        self,
        services: SessionServices,
        interview: InterviewRow,
        send_text: Callable[[str], Awaitable[None]],
        send_bytes: Callable[[bytes], Awaitable[None]],
        feedback_url: str,
    ) -> None:
        self.svc = services
        self.settings = s = services.settings
        self.interview_id = interview.id
        self.questions: list[QuestionRow] = list(interview.questions)
        self.status = InterviewStatus(interview.status)
        self.feedback_url = feedback_url
        self.formats = SessionFormats(services.voice.sample_rate)
        self._decoder = make_decoder(self.formats.input.encoding, self.formats.input.sample_rate)
        self.writer = Writer(send_text, send_bytes)
        self.policy = EndOfTurnPolicy(
            finished_ms=s.end_of_turn_silence_ms,
            unfinished_ms=s.end_of_turn_unfinished_ms,
            short_answer_ms=s.end_of_turn_short_answer_ms,
            min_turn_probability=s.smart_turn_veto_below,
        )
        # The question's own audio coming back through a speaker is not the candidate.
        self.echo = EchoGuard() if s.echo_guard else None
        self._timer: asyncio.Task[None] | None = None
        self._stall: asyncio.Task[None] | None = None
        self._turn: Turn | None = None  # the open answer
        self._ended: Turn | None = None  # an ended answer still in its continuation window
        self._playing: Playback | None = None
        self._answered: set[str] = set()
        self._turn_lock = asyncio.Lock()
        self._unsubscribe: Callable[[], None] | None = None
        self._closed = False
        self._completed_sent = False
        self._tasks: set[asyncio.Task[None]] = set()
        self.finisher = TurnFinisher(self)
        # Set by the transport: ends the connection when the session is taken over or deleted.
        self.on_terminate: Callable[[], None] | None = None
        self.log = ContextLogger(log, {"interview_id": self.interview_id})

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        self.writer.start()
        self._stall = asyncio.create_task(self._clock_watch())
        self._unsubscribe = self.svc.evaluations.subscribe(
            self.interview_id, self._on_evaluation, self._on_complete
        )
        records = await self.svc.store.answer_records(self.interview_id)
        self._answered = {r.question.id for r in records if r.answer is not None}
        if self.status == InterviewStatus.READY:
            await self._set_status(InterviewStatus.IN_PROGRESS)
        await self._send_session()
        # A reconnecting client gets the evaluations of earlier answers again.
        for rec in records:
            ev = rec.evaluation
            if rec.answer is not None and ev is not None and ev.status != "pending":
                await self.send(p.EvaluationMsg.of_row(rec.answer.id, rec.question.id, ev, True))
        if self.status == InterviewStatus.IN_PROGRESS:
            if self.current_question() is None:
                # Every answer is in: finish (or wait for evaluations still running).
                await self.svc.evaluations.maybe_complete(self.interview_id)
            else:
                await self.ask_current()
        elif self.status == InterviewStatus.COMPLETED:
            await self.svc.evaluations.maybe_complete(self.interview_id)
        elif self.status == InterviewStatus.CANCELLED:
            await self.error(p.INTERVIEW_NOT_ACTIVE, "this interview was cancelled")

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._unsubscribe is not None:
            self._unsubscribe()
        for task in (self._timer, self._stall):
            if task is not None:
                task.cancel()
        # The answer given just before a disconnect stands: its evaluation goes ahead.
        self.settle_ended()
        # Turn-ending tasks run on: an answer given just before a disconnect is still stored.
        await self.writer.close()

    async def terminate(self) -> None:
        """End this session from outside (a newer connection, a deletion)."""
        await self.close()
        if self.on_terminate is not None:
            self.on_terminate()

    @property
    def closed(self) -> bool:
        return self._closed

    def spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        """Run turn-ending work beside the socket reader, so pings and audio keep flowing."""
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # ------------------------------------------------------------------ output

    async def send(self, msg: p.ServerMessage) -> None:
        if not self._closed:
            await self.writer.put(Outbound([msg.to_json()]))

    async def error(self, code: str, message: str) -> None:
        await self.send(p.ErrorMsg(code, message))

    async def _send_session(self) -> None:
        await self.send(
            p.SessionMsg.build(
                self.interview_id,
                self.status.value,
                self.formats.input,
                self.formats.output,
                total=len(self.questions),
                answered=len(self._answered),
            )
        )

    # ------------------------------------------------------------------ questions

    def current_question(self) -> QuestionRow | None:
        for q in self.questions:
            if q.id not in self._answered:
                return q
        return None

    def mark_answered(self, question_id: str) -> None:
        self._answered.add(question_id)

    def _next_after(self, question: QuestionRow) -> QuestionRow | None:
        for q in self.questions:
            if q.position > question.position and q.id not in self._answered:
                return q
        return None

    async def ask(self, question: QuestionRow, *, new_turn: bool) -> float | None:
        """Send the question and its audio; returns when its first audio frame left."""
        speech = await self.svc.voice.speech(question.text, PRIORITY_FINAL)
        block = question_block(question, len(self.questions), speech, self.formats.output)
        if new_turn and self._reopened_elsewhere(question):
            return None  # an answer was reopened while this question was being made
        if new_turn:
            self._begin_turn(question, speech.duration_ms)
        if self._closed:
            return None
        playback = Playback(question.id, block, speech.duration_ms / 1000.0)
        self._playing = playback
        await self.writer.put(block)
        # The next question is synthesized now, so it streams the moment this turn ends.
        following = self._next_after(question)
        if following is not None:
            self.svc.voice.prefetch_speech(following.text, PRIORITY_NORMAL)
        assert block.first_binary_sent is not None
        try:
            started = await block.first_binary_sent
        except asyncio.CancelledError:
            return None
        if not block.cancelled:
            playback.started_at = started
            if self.echo is not None:
                self.echo.reference(speech.pcm, started, speech.sample_rate)
        return started

    def _reopened_elsewhere(self, question: QuestionRow) -> bool:
        turn = self._turn
        return (
            turn is not None and not (turn.ending or turn.closing) and turn.question is not question
        )

    async def ask_current(self) -> None:
        question = self.current_question()
        if question is not None:
            await self.ask(question, new_turn=True)

    def no_open_turn(self) -> None:
        self._turn = None

    async def cancel_question_audio(self) -> Playback | None:
        """Stop the question being spoken, if one is; the client drops what it queued."""
        playback = self._playing
        now = time.monotonic()
        if playback is None or not playback.playing(now):
            return None
        playback.block.cancelled = True
        self._playing = None
        if self.echo is not None:
            self.echo.cancel(now)
        await self.send(p.QuestionAudioCancelMsg(playback.question_id))
        return playback

    def _begin_turn(self, question: QuestionRow, question_audio_ms: float) -> None:
        segmenter = TurnSegmenter(
            sample_rate=STT_RATE,
            aggressiveness=self.settings.vad_aggressiveness,
            end_silence_ms=self.settings.end_of_turn_unfinished_ms,
        )
        ears = self.svc.ears
        holder: list[Turn] = []
        turn = Turn(
            question=question,
            started=time.monotonic(),
            segmenter=segmenter,
            transcript=IncrementalTranscript(
                segmenter,
                ears.stt,
                ears.stt_queue,
                ears.stt_quick_queue,
                is_stale=lambda: self._closed or self._turn is not holder[0],
            ),
            max_answer_ms=int(self.settings.max_answer_s * 1000),
            interim_interval_ms=self.settings.interim_interval_ms,
        )
        holder.append(turn)
        self._turn = turn
        self._arm_timer(question_audio_ms / 1000.0)

    def _arm_timer(self, question_audio_s: float) -> None:
        self.cancel_timer()
        if self._turn is not None:
            self._timer = asyncio.create_task(self._silence_timer(self._turn, question_audio_s))

    def cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()

    async def _silence_timer(self, turn: Turn, question_audio_s: float) -> None:
        """Ask again after a long silence, then end the turn as unanswered."""
        try:
            # The candidate cannot answer before hearing the question.
            await asyncio.sleep(question_audio_s + self.settings.no_answer_reprompt_s)
            if self._quiet_turn_gone(turn):
                return
            await self.ask(turn.question, new_turn=False)
            await asyncio.sleep(
                question_audio_s
                + max(0.0, self.settings.no_answer_timeout_s - self.settings.no_answer_reprompt_s)
            )
            if self._quiet_turn_gone(turn):
                return
            self.request_end("no_answer")
        except asyncio.CancelledError:
            return

    def _quiet_turn_gone(self, turn: Turn) -> bool:
        return (
            self.stale(turn)
            or turn.segmenter.heard_speech
            or self.status != InterviewStatus.IN_PROGRESS
        )

    def stale(self, turn: Turn) -> bool:
        return self._closed or turn is not self._turn or turn.closing or turn.ending

    # ------------------------------------------------------------------ input

    async def handle_text(self, raw: str) -> None:
        try:
            msg = p.parse_client_message(raw, max_answer_chars=self.settings.max_answer_chars)
        except p.ProtocolError as e:
            await self.error(e.code, e.message)
            return
        if isinstance(msg, p.Ping):
            await self.send(p.PongMsg())
        elif isinstance(msg, p.SessionUpdate):
            if await self.apply_session_update(msg):
                await self._send_session()
        elif isinstance(msg, p.AudioChunk):
            await self.handle_audio(msg.data)
            if msg.is_final:
                self.request_end("is_final")
        elif isinstance(msg, p.EndOfAnswer):
            self.request_end("end_of_answer")
        elif isinstance(msg, p.TextAnswer):
            await self._text_answer(msg)
        elif isinstance(msg, p.GetNextQuestion):
            await self._resend_question()
        elif isinstance(msg, p.Pause):
            await self._pause()
        elif isinstance(msg, p.Resume):
            await self._resume()

    async def apply_session_update(self, msg: p.SessionUpdate) -> bool:
        """Switch the input decoder and output encoding; False (and an error) if refused."""
        try:
            decoder = self.formats.update(msg)
        except ValueError as e:
            await self.error(p.UNSUPPORTED_AUDIO, str(e))
            return False
        if decoder is not None:
            self._decoder = decoder
        return True

    def _accepting_audio(self) -> Turn | None:
        turn = self._turn
        if turn is None or turn.closing or self.status != InterviewStatus.IN_PROGRESS:
            return None
        return turn

    def request_end(self, reason: str, text_answer: str | None = None) -> None:
        """Close the turn to new audio now; finish it beside the socket reader."""
        if self._turn is not None and self.status == InterviewStatus.IN_PROGRESS:
            self._turn.closing = True
        self.spawn(self.end_turn(reason, text_answer))

    async def handle_audio(self, data: bytes) -> None:
        arrived = time.monotonic()
        # Always decode, even between turns or while paused: an Ogg/WebM recording runs
        # on across answers, and skipping its bytes would break the container stream.
        try:
            pcm = self._decoder.feed(data)
        except AudioDecodeError as e:
            await self.error(p.AUDIO_DECODE_ERROR, str(e))
            return
        if pcm.size == 0 or self.status != InterviewStatus.IN_PROGRESS:
            return  # paused or finished: audio is dropped on purpose
        if self.echo is not None:
            pcm = self.echo.process(pcm, arrived)
        if self._ended is not None and await self._listen_for_continuation(pcm, arrived):
            return
        turn = self._accepting_audio()
        if turn is None:
            return  # between turns: audio is dropped on purpose
        turn.last_audio_at = arrived
        await self.feed(turn, pcm, arrived)

    async def _listen_for_continuation(self, pcm: npt.NDArray[np.int16], arrived: float) -> bool:
        """Feed the ended turn; True if the candidate went on and the turn was reopened
        (this audio then belongs to it)."""
        ended = self._ended
        assert ended is not None
        ended.feed(pcm, arrived)
        ended.last_audio_at = arrived
        state = self._window_of(ended, arrived)
        if state is Window.RESUME:
            await self._take_back(ended)
            return True
        if state is Window.CLOSED:
            self.settle_ended()
        return False

    def _window_of(self, turn: Turn, now: float) -> Window:
        return turn.window(
            now,
            self.settings.continuation_window_ms,
            self.settings.continuation_min_speech_ms,
            question_playing=self._playing is not None and self._playing.playing(now),
        )

    def open_window(self, turn: Turn) -> None:
        """An automatic end: listen for a continuation a while longer."""
        self.settle_ended()
        turn.mark_ended(time.monotonic(), asyncio.get_running_loop().create_future())
        self._ended = turn

    def settle_ended(self) -> None:
        """The ended answer is final now: its evaluation may go ahead."""
        ended, self._ended = self._ended, None
        if ended is not None:
            ended.settle(True)

    async def _take_back(self, turn: Turn) -> None:
        """The candidate went on after an early end: reopen the answer."""
        self._ended = None
        cancelled = await self.cancel_question_audio()
        superseded = self._turn
        if superseded is not None and superseded is not turn:
            superseded.closing = True  # the next question's turn never happened
        self.cancel_timer()
        self._answered.discard(turn.question.id)
        turn.settle(False)
        turn.reopen()
        # The continuation is new speech: until its first pause decides, the long wait.
        turn.segmenter.end_silence_ms = self.settings.end_of_turn_unfinished_ms
        self._turn = turn
        self.log.info(
            "end of turn taken back",
            extra={
                "turn": turn.question.position,
                "question_id": turn.question.id,
                "resumes": turn.resumes,
                "cancelled_question": cancelled.question_id if cancelled else None,
            },
        )
        await self.send(p.TurnResumedMsg(turn.question.id, p.RESUMED_CONTINUED))

    async def _barge_in(self, turn: Turn, now: float) -> None:
        """The candidate talks over the question: stop it; what they say answers it."""
        playback = await self.cancel_question_audio()
        if playback is None:
            return
        turn.barged_in_at_ms = playback.heard_ms(now)
        self.log.info(
            "barge-in",
            extra={"turn": turn.question.position, "heard_ms": turn.barged_in_at_ms},
        )
        await self.send(p.TurnResumedMsg(turn.question.id, p.RESUMED_BARGE_IN))

    async def _clock_watch(self) -> None:
        """What the server's clock decides. A client may stop sending frames once the
        candidate stops speaking (Opus DTX, client-side VAD, a stalled tab); the segmenter
        only moves with input, so after ``end_of_turn_stall_ms`` without audio the silence
        is filled in as it passes, and the turn ends as if that silence had arrived. A
        continuation window closes on this clock too."""
        margin_s = self.settings.end_of_turn_stall_ms / 1000.0
        while not self._closed:
            await asyncio.sleep(STALL_TICK_S)
            now = time.monotonic()
            ended = self._ended
            if ended is not None and self._window_of(ended, now) is Window.CLOSED:
                self.settle_ended()
            turn = self._accepting_audio()
            if turn is None or not turn.segmenter.heard_speech or turn.ending:
                continue
            if now - turn.last_audio_at < margin_s:
                continue
            gap = int((now - turn.last_arrival) * STT_RATE)
            if gap > 0:
                await self.feed(turn, np.zeros(gap, dtype=np.int16), now)

    async def feed(self, turn: Turn, pcm: npt.NDArray[np.int16], arrived: float) -> None:
        """Feed the open turn new input (received audio, or silence the clock fills in)
        and act on what it says."""
        interims_allowed = self.svc.ears.backlog < MAX_STT_BACKLOG_FOR_INTERIMS
        for ev in turn.feed(pcm, arrived, interims_allowed=interims_allowed):
            if isinstance(ev, SpeechStarted):
                turn.segmenter.end_silence_ms = self.settings.end_of_turn_unfinished_ms
                await self.send(p.SpeechStartedMsg(ev.audio_ms))
            elif isinstance(ev, SpeechStopped):
                self.spawn(check_end_of_turn(self, turn))
                await self.send(p.SpeechStoppedMsg(ev.audio_ms))
            elif isinstance(ev, EndOfTurn):
                self.request_end("vad")
                return
            elif isinstance(ev, AnswerTooLong):
                await self.error(
                    p.ANSWER_TOO_LONG,
                    f"answers are limited to {self.settings.max_answer_s:.0f} s; "
                    "the turn ends with what was said",
                )
                self.request_end("max_length")
                return
            elif isinstance(ev, InterimDue):
                self._start_interim(turn)
        seg = turn.segmenter
        if (
            turn.barged_in_at_ms is None
            and seg.in_speech
            and seg.speech_ms >= self.settings.continuation_min_speech_ms
            and self._playing is not None
            and self._playing.playing(arrived)
        ):
            await self._barge_in(turn, arrived)

    def _start_interim(self, turn: Turn) -> None:
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
            if not self.stale(turn) and text and text != turn.last_interim_text:
                turn.last_interim_text = text
                await self.send(p.TranscriptMsg(turn.question.id, text, False))

        self.spawn(run())

    # ------------------------------------------------------------------ turn end

    async def end_turn(self, reason: str, text_answer: str | None = None) -> None:
        async with self._turn_lock:
            turn = self._turn
            if turn is None or turn.ending or self._closed:
                return
            if self.status != InterviewStatus.IN_PROGRESS:
                await self.error(p.INTERVIEW_NOT_ACTIVE, f"the interview is {self.status.value}")
                return
            turn.ending = True
            self.cancel_timer()
            rest = await self.finisher.finish_turn(turn, reason, text_answer)
        # Outside the lock: the next answer may end while this one is still transcribed.
        if rest is not None:
            await rest

    async def _text_answer(self, msg: p.TextAnswer) -> None:
        turn = self._turn
        if turn is None or self.status != InterviewStatus.IN_PROGRESS:
            await self.error(p.INTERVIEW_NOT_ACTIVE, f"the interview is {self.status.value}")
            return
        if msg.question_id != turn.question.id:
            await self.error(
                p.INVALID_MESSAGE,
                f"question_id {msg.question_id[:64]!r} is not the current question "
                f"({turn.question.id})",
            )
            return
        self.request_end("text_answer", msg.answer_text)

    async def _resend_question(self) -> None:
        if self.status != InterviewStatus.IN_PROGRESS:
            await self.error(p.INTERVIEW_NOT_ACTIVE, f"the interview is {self.status.value}")
            return
        turn = self._turn
        if turn is None or turn.ending:
            return
        await self.ask(turn.question, new_turn=False)

    # ------------------------------------------------------------------ pause / resume

    async def _set_status(self, target: InterviewStatus) -> bool:
        try:
            row = await self.svc.store.set_status(self.interview_id, target)
        except InvalidTransitionError as e:
            await self.error(p.INTERVIEW_NOT_ACTIVE, str(e))
            return False
        except NotFoundError as e:
            await self.error(p.INTERVIEW_NOT_FOUND, str(e))
            return False
        self.status = InterviewStatus(row.status)
        return True

    async def _pause(self) -> None:
        if not await self._set_status(InterviewStatus.PAUSED):
            return
        self.cancel_timer()
        self.settle_ended()
        await self.cancel_question_audio()
        if self._turn is not None:
            self._turn.segmenter.reset()
        await self._send_session()

    async def _resume(self) -> None:
        if not await self._set_status(InterviewStatus.IN_PROGRESS):
            return
        await self._send_session()
        await self.ask_current()

    # ------------------------------------------------------------------ evaluations

    async def _on_evaluation(self, event: EvaluationEvent) -> None:
        if event.row is None:
            await self.error(
                p.EVALUATION_FAILED,
                f"evaluation of answer {event.answer_id} failed"
                + (" for good; it is stored as failed" if event.final_failure else "; retrying"),
            )
            if event.final_failure:
                # Every answer gets an evaluation message, a failed one included.
                await self.send(p.EvaluationMsg.failed(event.answer_id, event.question_id))
            return
        await self.send(p.EvaluationMsg.of_row(event.answer_id, event.question_id, event.row))

    async def _on_complete(self, interview_id: str, overall: OverallScore) -> None:
        if self._completed_sent:
            return
        self._completed_sent = True
        self.status = InterviewStatus.COMPLETED
        await self.send(
            p.InterviewCompleteMsg(
                overall.score,
                self.feedback_url,
                {"assessed": overall.assessed, "not_assessed": overall.not_assessed},
            )
        )
