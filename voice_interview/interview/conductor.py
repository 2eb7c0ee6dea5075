"""The turn loop of one candidate's WebSocket session.

One ``InterviewSession`` per connection. The socket reader feeds messages in;
one writer task sends everything out in order (a question's text, its audio
frames and ``question_audio_end`` go out as one block, so an evaluation never
lands between them). Every timing is on ``time.monotonic()``.

A turn carries a generation number: work for a turn that has already ended
(an interim transcript still queued, a late timer) sees the number moved on and
drops itself instead of racing the next turn.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from voice_interview import protocol as p
from voice_interview.audio.codecs import (
    AudioDecodeError,
    UnsupportedAudioError,
    make_decoder,
    make_encoder,
)
from voice_interview.audio.vad import TurnSegmenter
from voice_interview.domain.interview import InterviewStatus, InvalidTransitionError
from voice_interview.domain.scoring import OverallScore
from voice_interview.engines.queue import (
    PRIORITY_FINAL,
    PRIORITY_NORMAL,
    PRIORITY_TURN,
    StaleWorkError,
)
from voice_interview.engines.tts import Speech
from voice_interview.engines.turn_detect import WINDOW_S as TURN_MODEL_WINDOW_S
from voice_interview.interview.evaluations import EvaluationEvent
from voice_interview.interview.gating import AnswerMeta
from voice_interview.interview.incremental import IncrementalTranscript
from voice_interview.interview.speech_metrics import timeline_of
from voice_interview.interview.transcription import PCM_FORMAT, pcm_bytes
from voice_interview.interview.turn_end import end_silence_ms
from voice_interview.logs import ContextLogger
from voice_interview.store.repository import AlreadyAnsweredError, NotFoundError
from voice_interview.store.tables import InterviewRow, QuestionRow

if TYPE_CHECKING:
    from voice_interview.server.context import AppContext

log = logging.getLogger(__name__)

STT_RATE = 16000
MAX_STT_BACKLOG_FOR_INTERIMS = 2
# The end-of-turn check hears at most this much of the tail: enough for the last words,
# at a fixed cost (~0.1 s with tiny.en on one core) however long the tail has grown.
END_CHECK_WORDS_S = 6.0
STALL_TICK_S = 0.1  # how often the wall-clock end of turn looks for a client gone quiet


@dataclass
class _Outbound:
    """One item for the writer: JSON messages and binary frames sent back to back."""

    parts: list[str | bytes]
    first_binary_sent: asyncio.Future[float] | None = None


@dataclass
class _Turn:
    generation: int
    question: QuestionRow
    started: float
    segmenter: TurnSegmenter
    transcript: IncrementalTranscript
    arrivals: deque[tuple[int, float]] = field(default_factory=lambda: deque(maxlen=4000))
    last_arrival: float = 0.0  # server clock of the last input fed (audio or filled silence)
    last_audio_at: float = 0.0  # server clock of the last audio the client sent
    ending: bool = False  # end_turn has started
    closing: bool = False  # an end was asked for: later audio belongs to no turn
    interim_inflight: bool = False
    last_interim_speech_ms: int = 0
    last_interim_text: str = ""
    end_check: dict[str, float] = field(default_factory=dict)  # the last pause's verdict


class InterviewSession:
    def __init__(
        self,
        ctx: AppContext,
        interview: InterviewRow,
        send_text: Callable[[str], Awaitable[None]],
        send_bytes: Callable[[bytes], Awaitable[None]],
        feedback_url: str,
    ) -> None:
        self.ctx = ctx
        self.settings = ctx.settings
        self.interview_id = interview.id
        self.questions: list[QuestionRow] = list(interview.questions)
        self.status = InterviewStatus(interview.status)
        self.feedback_url = feedback_url
        self._send_text = send_text
        self._send_bytes = send_bytes
        self.input_format = p.DEFAULT_INPUT_AUDIO
        tts_rate = ctx.engines.tts.sample_rate if ctx.engines else 22050
        self.output_format = p.AudioFormat("pcm_s16le", tts_rate)
        self._decoder = make_decoder(self.input_format.encoding, self.input_format.sample_rate)
        self._out: asyncio.Queue[_Outbound | None] = asyncio.Queue(maxsize=256)
        self._writer: asyncio.Task[None] | None = None
        self._timer: asyncio.Task[None] | None = None
        self._stall: asyncio.Task[None] | None = None
        self._generation = 0
        self._turn: _Turn | None = None
        self._answered: set[str] = set()
        self._turn_lock = asyncio.Lock()
        self._unsubscribe: Callable[[], None] | None = None
        self._closed = False
        self._completed_sent = False
        self._tasks: set[asyncio.Task[None]] = set()
        # Set by the transport: ends the connection when the session is taken over or deleted.
        self.on_terminate: Callable[[], None] | None = None
        self.log = ContextLogger(log, {"interview_id": self.interview_id})

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        self._writer = asyncio.create_task(self._write_loop())
        self._stall = asyncio.create_task(self._stall_watch())
        self._unsubscribe = self.ctx.evaluations.subscribe(
            self.interview_id, self._on_evaluation, self._on_complete
        )
        records = await self.ctx.repo.answer_records(self.interview_id)
        self._answered = {r.question.id for r in records if r.answer is not None}
        if self.status == InterviewStatus.READY:
            await self._set_status(InterviewStatus.IN_PROGRESS)
        await self._send_session()
        # A reconnecting client gets the evaluations of earlier answers again.
        for rec in records:
            ev = rec.evaluation
            if rec.answer is not None and ev is not None and ev.status != "pending":
                await self._send(
                    p.EvaluationMsg(
                        rec.answer.id,
                        rec.question.id,
                        ev.score,
                        ev.feedback,
                        list(ev.strengths),
                        list(ev.weaknesses),
                        {"status": ev.status, "replayed": True},
                    )
                )
        if self.status == InterviewStatus.IN_PROGRESS:
            if self._current_question() is None:
                # Every answer is in: finish (or wait for evaluations still running).
                await self.ctx.evaluations.maybe_complete(self.interview_id)
            else:
                await self._ask_current()
        elif self.status == InterviewStatus.COMPLETED:
            await self.ctx.evaluations.maybe_complete(self.interview_id)
        elif self.status == InterviewStatus.CANCELLED:
            await self.error(p.INTERVIEW_NOT_ACTIVE, "this interview was cancelled")

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._generation += 1
        if self._unsubscribe is not None:
            self._unsubscribe()
        if self._timer is not None:
            self._timer.cancel()
        if self._stall is not None:
            self._stall.cancel()
        # Turn-ending tasks run on: an answer given just before a disconnect is still stored.
        if self._writer is not None:
            self._writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._writer
        while not self._out.empty():
            item = self._out.get_nowait()
            if item is not None and item.first_binary_sent is not None:
                item.first_binary_sent.cancel()

    async def terminate(self) -> None:
        """End this session from outside (a newer connection, a deletion)."""
        await self.close()
        if self.on_terminate is not None:
            self.on_terminate()

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        """Run turn-ending work beside the socket reader, so pings and audio keep flowing."""
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # ------------------------------------------------------------------ output

    async def _write_loop(self) -> None:
        while True:
            item = await self._out.get()
            if item is None:
                return
            try:
                for part in item.parts:
                    if isinstance(part, bytes):
                        await self._send_bytes(part)
                        if item.first_binary_sent is not None and not item.first_binary_sent.done():
                            item.first_binary_sent.set_result(time.monotonic())
                    else:
                        await self._send_text(part)
            except (ConnectionError, RuntimeError) as e:
                self.log.info("socket closed while sending: %s", e)
                if item.first_binary_sent is not None and not item.first_binary_sent.done():
                    item.first_binary_sent.cancel()
                return
            finally:
                if item.first_binary_sent is not None and not item.first_binary_sent.done():
                    item.first_binary_sent.set_result(time.monotonic())

    async def _send(self, msg: p.ServerMessage) -> None:
        if not self._closed:
            await self._out.put(_Outbound([msg.to_json()]))

    async def error(self, code: str, message: str) -> None:
        await self._send(p.ErrorMsg(code, message))

    async def _send_session(self) -> None:
        await self._send(
            p.SessionMsg.build(
                self.interview_id,
                self.status.value,
                self.input_format,
                self.output_format,
                total=len(self.questions),
                answered=len(self._answered),
            )
        )

    # ------------------------------------------------------------------ questions

    def _current_question(self) -> QuestionRow | None:
        for q in self.questions:
            if q.id not in self._answered:
                return q
        return None

    def _next_after(self, question: QuestionRow) -> QuestionRow | None:
        for q in self.questions:
            if q.position > question.position and q.id not in self._answered:
                return q
        return None


    def _audio_block(self, question: QuestionRow, speech: Speech) -> tuple[_Outbound, float]:
        msg = p.QuestionMsg(
            question.id,
            question.text,
            question.question_type,
            question.difficulty,
            question.position,
            len(self.questions),
        )
        encoder = make_encoder(
            self.output_format.encoding, speech.sample_rate, self.output_format.sample_rate or None
        )
        frames = encoder.encode(speech.pcm) + encoder.flush()
        end = p.QuestionAudioEndMsg(question.id, speech.duration_ms)
        first: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        return _Outbound([msg.to_json(), *frames, end.to_json()], first), speech.duration_ms

    async def _ask(self, question: QuestionRow, *, new_turn: bool) -> float | None:
        """Send the question and its audio; returns when its first audio frame left."""
        speech = await self.ctx.engines.speech(question.text, PRIORITY_FINAL)
        block, duration_ms = self._audio_block(question, speech)
        if new_turn:
            self._begin_turn(question, duration_ms)
        if self._closed:
            return None
        await self._out.put(block)
        # The next question is synthesized now, so it streams the moment this turn ends.
        following = self._next_after(question)
        if following is not None:
            self.ctx.engines.prefetch_speech(following.text, PRIORITY_NORMAL)
        assert block.first_binary_sent is not None
        try:
            return await block.first_binary_sent
        except asyncio.CancelledError:
            return None

    async def _ask_current(self) -> None:
        question = self._current_question()
        if question is not None:
            await self._ask(question, new_turn=True)

    def _begin_turn(self, question: QuestionRow, question_audio_ms: float) -> None:
        self._generation += 1
        segmenter = TurnSegmenter(
            sample_rate=STT_RATE,
            aggressiveness=self.settings.vad_aggressiveness,
            end_silence_ms=self.settings.end_of_turn_unfinished_ms,
        )
        generation = self._generation
        turn = _Turn(
            generation=generation,
            question=question,
            started=time.monotonic(),
            segmenter=segmenter,
            transcript=IncrementalTranscript(
                segmenter,
                self.ctx.engines.stt,
                self.ctx.engines.stt_queue,
                self.ctx.engines.stt_quick_queue,
                is_stale=lambda: self._closed or self._generation != generation,
            ),
        )
        self._turn = turn
        self._arm_timer(question_audio_ms / 1000.0)

    def _arm_timer(self, question_audio_s: float) -> None:
        if self._timer is not None:
            self._timer.cancel()
        if self._turn is not None:
            self._timer = asyncio.create_task(self._silence_timer(self._turn, question_audio_s))

    async def _silence_timer(self, turn: _Turn, question_audio_s: float) -> None:
        """Ask again after a long silence, then end the turn as unanswered."""
        try:
            # The candidate cannot answer before hearing the question.
            await asyncio.sleep(question_audio_s + self.settings.no_answer_reprompt_s)
            if (
                self._stale(turn)
                or turn.segmenter.heard_speech
                or self.status != InterviewStatus.IN_PROGRESS
            ):
                return
            await self._ask(turn.question, new_turn=False)
            await asyncio.sleep(
                question_audio_s
                + max(0.0, self.settings.no_answer_timeout_s - self.settings.no_answer_reprompt_s)
            )
            if (
                self._stale(turn)
                or turn.segmenter.heard_speech
                or self.status != InterviewStatus.IN_PROGRESS
            ):
                return
            self._request_end("no_answer")
        except asyncio.CancelledError:
            return

    def _stale(self, turn: _Turn) -> bool:
        return self._closed or turn.generation != self._generation or turn.closing or turn.ending

    # ------------------------------------------------------------------ input

    async def handle_text(self, raw: str) -> None:
        try:
            msg = p.parse_client_message(raw, max_answer_chars=self.settings.max_answer_chars)
        except p.ProtocolError as e:
            await self.error(e.code, e.message)
            return
        if isinstance(msg, p.Ping):
            await self._send(p.PongMsg())
        elif isinstance(msg, p.SessionUpdate):
            await self._session_update(msg)
        elif isinstance(msg, p.AudioChunk):
            await self.handle_audio(msg.data)
            if msg.is_final:
                self._request_end("is_final")
        elif isinstance(msg, p.EndOfAnswer):
            self._request_end("end_of_answer")
        elif isinstance(msg, p.TextAnswer):
            await self._text_answer(msg)
        elif isinstance(msg, p.GetNextQuestion):
            await self._resend_question()
        elif isinstance(msg, p.Pause):
            await self._pause()
        elif isinstance(msg, p.Resume):
            await self._resume()

    async def _session_update(self, msg: p.SessionUpdate) -> None:
        if await self.apply_session_update(msg):
            await self._send_session()

    async def apply_session_update(self, msg: p.SessionUpdate) -> bool:
        """Switch the input decoder and output encoding; False (and an error) if refused."""
        try:
            if msg.input_audio is not None:
                decoder = make_decoder(msg.input_audio.encoding, msg.input_audio.sample_rate)
                self.input_format = msg.input_audio
                self._decoder = decoder
            if msg.output_audio is not None:
                out = msg.output_audio
                voice_rate = self.ctx.engines.tts.sample_rate
                rate = 48000 if out.encoding == "opus" else (out.sample_rate or voice_rate)
                make_encoder(out.encoding, voice_rate, rate)
                self.output_format = p.AudioFormat(out.encoding, rate)
        except UnsupportedAudioError as e:
            await self.error(p.UNSUPPORTED_AUDIO, str(e))
            return False
        return True

    def _accepting_audio(self) -> _Turn | None:
        turn = self._turn
        if turn is None or turn.closing or self.status != InterviewStatus.IN_PROGRESS:
            return None
        return turn

    def _request_end(self, reason: str, text_answer: str | None = None) -> None:
        """Close the turn to new audio now; finish it beside the socket reader."""
        if self._turn is not None and self.status == InterviewStatus.IN_PROGRESS:
            self._turn.closing = True
        self._spawn(self.end_turn(reason, text_answer))

    async def handle_audio(self, data: bytes) -> None:
        arrived = time.monotonic()
        # Always decode, even between turns or while paused: an Ogg/WebM recording runs
        # on across answers, and skipping its bytes would break the container stream.
        try:
            pcm = self._decoder.feed(data)
        except AudioDecodeError as e:
            await self.error(p.AUDIO_DECODE_ERROR, str(e))
            return
        turn = self._accepting_audio()
        if turn is None or pcm.size == 0:
            return  # between turns, paused, or finished: audio is dropped on purpose
        turn.last_audio_at = arrived
        await self._feed(turn, pcm, arrived)

    async def _stall_watch(self) -> None:
        """End of turn by the server's clock. A client may stop sending frames once the
        candidate stops speaking (Opus DTX, client-side VAD, a stalled tab); the segmenter
        only moves with input, so after ``stall_ms`` without audio the silence is filled
        in as it passes, and the turn ends as if that silence had arrived."""
        margin_s = self.settings.end_of_turn_stall_ms / 1000.0
        while not self._closed:
            await asyncio.sleep(STALL_TICK_S)
            turn = self._accepting_audio()
            if turn is None or not turn.segmenter.heard_speech or turn.ending:
                continue
            now = time.monotonic()
            if now - turn.last_audio_at < margin_s:
                continue
            gap = int((now - turn.last_arrival) * STT_RATE)
            if gap > 0:
                await self._feed(turn, np.zeros(gap, dtype=np.int16), now)

    async def _feed(self, turn: _Turn, pcm: npt.NDArray[np.int16], arrived: float) -> None:
        """Run the segmenter over new input (received audio, or silence that the stall
        watch fills in) and act on its events."""
        seg = turn.segmenter
        events = seg.feed(pcm)
        turn.arrivals.append((seg.received_ms, arrived))
        turn.last_arrival = arrived
        ended = False
        for ev in events:
            if ev.kind == "speech_started":
                # Until the next pause's check says otherwise, wait the long silence.
                seg.end_silence_ms = self.settings.end_of_turn_unfinished_ms
                turn.end_check = {}
                await self._send(p.SpeechStartedMsg(ev.audio_ms))
            elif ev.kind == "speech_stopped":
                self._on_pause(turn)
                await self._send(p.SpeechStoppedMsg(ev.audio_ms))
            elif ev.kind == "end_of_turn":
                ended = True
        if ended:
            self._request_end("vad")
            return
        if seg.received_ms >= self.settings.max_answer_s * 1000:
            await self.error(
                p.ANSWER_TOO_LONG,
                f"answers are limited to {self.settings.max_answer_s:.0f} s; "
                "the turn ends with what was said",
            )
            self._request_end("max_length")
            return
        if (
            seg.heard_speech
            and not turn.interim_inflight
            # Under load, interims wait: they share the cores with turn-ending checks and
            # with the full passes the transcripts are made of.
            and self._stt_backlog() < MAX_STT_BACKLOG_FOR_INTERIMS
            and seg.speech_ms - turn.last_interim_speech_ms >= self.settings.interim_interval_ms
        ):
            self._start_interim(turn)

    def _stt_backlog(self) -> int:
        engines = self.ctx.engines
        return engines.stt_queue.depth + engines.stt_quick_queue.depth

    def _start_interim(self, turn: _Turn) -> None:
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
            if not self._stale(turn) and text and text != turn.last_interim_text:
                turn.last_interim_text = text
                await self._send(p.TranscriptMsg(turn.question.id, text, False))

        self._spawn(run())

    def _on_pause(self, turn: _Turn) -> None:
        """At a pause: decide how much silence ends the turn."""
        self._spawn(self._check_end_of_turn(turn))

    def _check_end_of_turn(self, turn: _Turn) -> Coroutine[Any, Any, None]:
        """Were the last words a finished sentence, and does the voice sound finished?
        Together they set how much silence ends the turn. A quick STT pass over the tail
        and Smart Turn over the last 8 s are queued now, side by side and ahead of other
        work; both are dropped if the candidate speaks again first. The coroutine returned
        applies their verdict."""
        seg = turn.segmenter
        engines = self.ctx.engines
        pause = seg.closed_segments
        voice = seg.recent_audio(TURN_MODEL_WINDOW_S * 1000)

        def moved_on() -> bool:
            return self._stale(turn) or seg.in_speech or seg.closed_segments != pause

        # Queued now, before any other work this pause brings.
        words = asyncio.ensure_future(
            turn.transcript.last_words(END_CHECK_WORDS_S, PRIORITY_TURN, moved_on)
        )
        finished_voice = asyncio.ensure_future(
            engines.turn_queue.run(
                lambda: engines.turn.probability_complete(voice), PRIORITY_TURN, moved_on
            )
        )

        async def decide() -> None:
            done = await asyncio.gather(words, finished_voice, return_exceptions=True)
            if any(isinstance(outcome, StaleWorkError) for outcome in done):
                return  # the candidate spoke again: a later pause decides
            tail, probability = await words, await finished_voice  # done; other errors raise
            if moved_on() or tail is None:
                return
            seg.end_silence_ms = end_silence_ms(
                tail.text,
                finished_ms=self.settings.end_of_turn_silence_ms,
                unfinished_ms=self.settings.end_of_turn_unfinished_ms,
                last_word_probability=tail.last_word_probability,
                turn_probability=probability,
                min_turn_probability=self.settings.smart_turn_veto_below,
            )
            turn.end_check = {
                "wait_ms": seg.end_silence_ms,
                "last_word_probability": round(tail.last_word_probability, 3),
                "turn_probability": round(probability, 3),
                "decided_after_ms": seg.received_ms - (seg.last_voiced_end_ms or 0),
            }
            self.log.debug(
                "end of turn wait set",
                extra={"turn": turn.question.position, "ending": tail.text[-40:], **turn.end_check},
            )

        return decide()

    def _arrival_of(self, turn: _Turn, position_ms: int) -> float | None:
        """Server clock time at which the input sample at ``position_ms`` arrived."""
        for end_ms, arrived in turn.arrivals:
            if end_ms >= position_ms:
                return arrived
        return turn.arrivals[-1][1] if turn.arrivals else None

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
            if self._timer is not None:
                self._timer.cancel()
            rest = await self._finish_turn(turn, reason, text_answer)
        # Outside the lock: the next answer may end while this one is still transcribed.
        if rest is not None:
            await rest

    async def _finish_turn(
        self, turn: _Turn, reason: str, text_answer: str | None
    ) -> Coroutine[Any, Any, None] | None:
        """Commit the answer, send the next question at once, then finish the answer.

        The next question does not depend on what was said, so it goes out before the
        final transcription: the answer's audio is committed first (raw PCM, cheap), so
        a crash after this point loses nothing; the transcript follows.
        """
        t_end = time.monotonic()
        seg = turn.segmenter
        question = turn.question
        last_voice_at = (
            self._arrival_of(turn, seg.last_voiced_end_ms)
            if seg.last_voiced_end_ms is not None
            else None
        )
        audio = seg.voiced_audio() if text_answer is None and seg.heard_speech else None
        if text_answer is not None:
            source, text = "text", text_answer.strip()
        elif audio is not None:
            source, text = "voice", ""
        else:
            source, text = "none", ""
        # Where the voiced audio came from in the turn (for pauses and clip times).
        timeline = timeline_of(seg) if audio is not None else None
        try:
            answer, _ = await self.ctx.repo.record_answer(
                self.interview_id,
                question.id,
                source=source,
                transcript=text,
                end_reason=reason,
                speech_ms=seg.speech_ms,
                stt={"status": "pending", "timeline": timeline} if audio is not None else {},
                audio=pcm_bytes(audio) if audio is not None else None,
                audio_format=PCM_FORMAT,
            )
        except AlreadyAnsweredError:
            self._answered.add(question.id)
            await self.error(p.INVALID_MESSAGE, "this question was already answered")
            await self._ask_current()
            return None
        self._answered.add(question.id)
        next_q = self._current_question()
        first_audio_at: float | None = None
        if next_q is not None:
            first_audio_at = await self._ask(next_q, new_turn=True)
        else:
            self._turn = None
        return self._finish_answer(
            turn,
            answer.id,
            source,
            text,
            audio,
            timeline,
            t_end,
            last_voice_at,
            first_audio_at,
            reason,
        )

    async def _finish_answer(
        self,
        turn: _Turn,
        answer_id: str,
        source: str,
        text: str,
        audio: npt.NDArray[np.int16] | None,
        timeline: Any,
        t_end: float,
        last_voice_at: float | None,
        first_audio_at: float | None,
        reason: str,
    ) -> None:
        """Final transcript (the tail only), stored audio, evaluation, then the metrics."""
        seg, question = turn.segmenter, turn.question
        stt_ms: float | None = None
        if audio is not None:
            t0 = time.monotonic()
            # Most of the answer was transcribed at its pauses; this covers the tail.
            transcript = await turn.transcript.final()
            stt_ms = (time.monotonic() - t0) * 1000
            await self.ctx.transcriber.finish(
                self.interview_id,
                answer_id,
                question,
                audio,
                transcript,
                speech_ms=seg.speech_ms,
                timeline=timeline,
            )
            text = transcript.text
        else:
            self.ctx.evaluations.schedule(
                self.interview_id,
                answer_id,
                question,
                text,
                AnswerMeta(source=source, speech_ms=seg.speech_ms, end_reason=reason),
            )
        await self._send(p.TranscriptMsg(question.id, text, True))
        metrics = self._metrics(turn, t_end, last_voice_at, stt_ms, first_audio_at, reason)
        await self._send(p.TurnMetricsMsg(question.id, metrics))
        await self.ctx.repo.save_timing(answer_id, self.interview_id, question.id, metrics)
        self.ctx.metrics.observe_turn(metrics)
        self.log.info(
            "turn ended",
            extra={
                "turn": question.position,
                "question_id": question.id,
                "reason": reason,
                "source": source,
                "latency_ms": metrics,
            },
        )

    def _metrics(
        self,
        turn: _Turn,
        t_end: float,
        last_voice_at: float | None,
        stt_ms: float | None,
        first_audio_at: float | None,
        reason: str,
    ) -> dict[str, Any]:
        def ms(a: float | None, b: float | None) -> float | None:
            return None if a is None or b is None else round((b - a) * 1000, 1)

        return {
            "end_of_turn": ms(last_voice_at, t_end),
            "stt_final": None if stt_ms is None else round(stt_ms, 1),
            "tts_first_audio": ms(t_end, first_audio_at),
            "voice_to_voice": ms(last_voice_at, first_audio_at),
            "turn_total": ms(turn.started, t_end),
            "speech_ms": turn.segmenter.speech_ms,
            "end_reason": reason,
            # The end-of-turn check at the last pause: the silence it chose, how long after
            # the last voice it decided, and the two signals it decided on.
            "end_wait": turn.end_check.get("wait_ms"),
            "end_check": turn.end_check.get("decided_after_ms"),
            "last_word_probability": turn.end_check.get("last_word_probability"),
            "turn_probability": turn.end_check.get("turn_probability"),
        }

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
        self._request_end("text_answer", msg.answer_text)

    async def _resend_question(self) -> None:
        if self.status != InterviewStatus.IN_PROGRESS:
            await self.error(p.INTERVIEW_NOT_ACTIVE, f"the interview is {self.status.value}")
            return
        turn = self._turn
        if turn is None or turn.ending:
            return
        await self._ask(turn.question, new_turn=False)

    # ------------------------------------------------------------------ pause / resume

    async def _set_status(self, target: InterviewStatus) -> bool:
        try:
            row = await self.ctx.repo.set_status(self.interview_id, target)
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
        if self._timer is not None:
            self._timer.cancel()
        if self._turn is not None:
            self._turn.segmenter.reset()
        await self._send_session()

    async def _resume(self) -> None:
        if not await self._set_status(InterviewStatus.IN_PROGRESS):
            return
        await self._send_session()
        await self._ask_current()

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
                await self._send(
                    p.EvaluationMsg(
                        event.answer_id,
                        event.question_id,
                        None,
                        "This answer could not be evaluated.",
                        [],
                        [],
                        {"status": "failed"},
                    )
                )
            return
        row = event.row
        await self._send(
            p.EvaluationMsg(
                event.answer_id,
                event.question_id,
                row.score,
                row.feedback,
                list(row.strengths),
                list(row.weaknesses),
                {"status": row.status},
            )
        )

    async def _on_complete(self, interview_id: str, overall: OverallScore) -> None:
        if self._completed_sent:
            return
        self._completed_sent = True
        self.status = InterviewStatus.COMPLETED
        await self._send(
            p.InterviewCompleteMsg(
                overall.score,
                self.feedback_url,
                {"assessed": overall.assessed, "not_assessed": overall.not_assessed},
            )
        )
