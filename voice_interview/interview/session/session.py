"""The turn loop of one candidate's WebSocket session.

One ``InterviewSession`` per connection. The socket reader feeds messages in; one writer
(``outbound.Writer``) sends everything out in order. The open answer is a ``turn.Turn``:
fed audio, it returns events, and the session acts on them. Every timing is on
``time.monotonic()``.

After an automatic end the ended answer may still be taken back (``continuation.py``);
speech over a question is a barge-in.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from voice_interview import protocol as p
from voice_interview.audio.codecs import AudioDecodeError, make_decoder
from voice_interview.audio.echo import EchoGuard
from voice_interview.domain.interview import InterviewStatus
from voice_interview.engines.queue import PRIORITY_FINAL, PRIORITY_NORMAL
from voice_interview.interview.session.continuation import Continuation
from voice_interview.interview.session.controls import (
    pause,
    resend_question,
    resume,
    text_answer,
)
from voice_interview.interview.session.formats import SessionFormats, question_block
from voice_interview.interview.session.listening import clock_watch, feed, silence_timer
from voice_interview.interview.session.outbound import Outbound, Playback, Writer
from voice_interview.interview.session.results import on_complete, on_evaluation
from voice_interview.interview.session.services import SessionServices
from voice_interview.interview.session.turn import Turn, new_turn
from voice_interview.interview.session.turn_end import EndOfTurnPolicy
from voice_interview.interview.session.turn_finish import TurnFinisher
from voice_interview.logs import ContextLogger
from voice_interview.store.repository import NotFoundError
from voice_interview.store.tables import InterviewRow, QuestionRow

log = logging.getLogger(__name__)


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
        self.policy = EndOfTurnPolicy.from_settings(s)
        # The question's own audio coming back through a speaker is not the candidate.
        self.echo = EchoGuard() if s.echo_guard else None
        self._timer: asyncio.Task[None] | None = None
        self._stall: asyncio.Task[None] | None = None
        self._turn: Turn | None = None  # the open answer
        self._playing: Playback | None = None
        self._answered: set[str] = set()
        self._turn_lock = asyncio.Lock()
        self._unsubscribe: Callable[[], None] | None = None
        self._closed = False
        self.completed_sent = False
        self._tasks: set[asyncio.Task[None]] = set()
        self.finisher = TurnFinisher(self)
        self.continuation = Continuation(self)
        # Set by the transport: ends the connection when the session is taken over or deleted.
        self.on_terminate: Callable[[], None] | None = None
        self.log = ContextLogger(log, {"interview_id": self.interview_id})

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        self.writer.start()
        self._stall = asyncio.create_task(clock_watch(self))
        self._unsubscribe = self.svc.evaluations.subscribe(
            self.interview_id,
            functools.partial(on_evaluation, self),
            functools.partial(on_complete, self),
        )
        records = await self.svc.store.answer_records(self.interview_id)
        self._answered = {r.question.id for r in records if r.answer is not None}
        # The status read when the socket opened may be stale: an earlier socket of the
        # same candidate may have started the interview since.
        try:
            row = await self.svc.store.begin_if_ready(self.interview_id)
        except NotFoundError as e:  # deleted while the socket opened
            await self.error(p.INTERVIEW_NOT_FOUND, str(e))
            return
        self.status = InterviewStatus(row.status)
        await self.send_session()
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
            await self.send(
                p.ErrorMsg(
                    p.INTERVIEW_NOT_ACTIVE, "this interview was cancelled", p.REASON_CANCELLED
                )
            )

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
        self.continuation.settle()
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

    async def send_session(self) -> None:
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

    def unmark_answered(self, question_id: str) -> None:
        self._answered.discard(question_id)

    @property
    def open_turn(self) -> Turn | None:
        return self._turn

    @open_turn.setter
    def open_turn(self, turn: Turn | None) -> None:
        self._turn = turn

    @property
    def playing(self) -> Playback | None:
        """The question being spoken, if one is."""
        return self._playing

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
        holder: list[Turn] = []
        turn = new_turn(
            question,
            self.settings,
            self.svc.ears,
            is_stale=lambda: self._closed or self._turn is not holder[0],
        )
        holder.append(turn)
        self._turn = turn
        self._arm_timer(question_audio_ms / 1000.0)

    def _arm_timer(self, question_audio_s: float) -> None:
        self.cancel_timer()
        if self._turn is not None:
            self._timer = asyncio.create_task(silence_timer(self, self._turn, question_audio_s))

    def cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()

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
                await self.send_session()
        elif isinstance(msg, p.AudioChunk):
            await self.handle_audio(msg.data)
            if msg.is_final:
                self.request_end("is_final")
        elif isinstance(msg, p.EndOfAnswer):
            self.request_end("end_of_answer")
        elif isinstance(msg, p.TextAnswer):
            await text_answer(self, msg)
        elif isinstance(msg, p.GetNextQuestion):
            await resend_question(self)
        elif isinstance(msg, p.Pause):
            await pause(self)
        elif isinstance(msg, p.Resume):
            await resume(self)

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

    def accepting_audio(self) -> Turn | None:
        turn = self._turn
        if turn is None or turn.closing or self.status != InterviewStatus.IN_PROGRESS:
            return None
        return turn

    def request_end(self, reason: str, text_answer: str | None = None) -> None:
        """Close the turn to new audio now; finish it beside the socket reader."""
        turn = self._turn
        if turn is not None and self.status == InterviewStatus.IN_PROGRESS:
            turn.closing = True
            if reason == "vad" and not turn.ended:
                # From this very frame the continuation window listens, so no audio
                # falls between the end and the window while the answer is stored.
                self.continuation.open(turn)
        self.spawn(self.end_turn(reason, text_answer, turn, turn.resumes if turn else 0))

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
        if await self.continuation.listen(pcm, arrived):
            return
        turn = self.accepting_audio()
        if turn is None:
            return  # between turns: audio is dropped on purpose
        turn.last_audio_at = arrived
        await feed(self, turn, pcm, arrived)

    # ------------------------------------------------------------------ turn end

    async def end_turn(
        self,
        reason: str,
        text_answer: str | None = None,
        asked_for: Turn | None = None,
        epoch: int = 0,
    ) -> None:
        """End the open turn (``asked_for``, as it was at ``epoch``: an end asked for
        before the turn was taken back is void)."""
        async with self._turn_lock:
            turn = self._turn
            if turn is None or turn.ending or self._closed:
                return
            if asked_for is not None and (turn is not asked_for or turn.resumes != epoch):
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
