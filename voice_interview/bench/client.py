"""A protocol client for the bench: REST calls and one candidate's WebSocket session.

It speaks the wire contract (``PROTOCOL.md``) only. Every server message is stamped
with ``time.monotonic()`` the moment it is read, and the candidate's own sends are
stamped on the same clock, so the latencies it reports are what a client sees.

Reusable pieces:

* :class:`ServerApi`: ``/health``, ``/metrics``, ``POST /api/interviews`` and the
  WebSocket connect.
* :class:`CandidateConnection`: one WebSocket with a reader task that files every
  message (``question`` with its first audio frame and ``question_audio_end``, speech
  events, transcripts, evaluations, ``turn_metrics``, ``interview_complete``, errors).
* :class:`CandidateSession`: answers one interview turn by turn, streaming audio in
  real time (one 20 ms frame every 20 ms on absolute deadlines), and returns a
  :class:`TurnRecord` per turn.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar
from urllib.parse import urlencode, urlsplit, urlunsplit

import aiohttp

from voice_interview import protocol as p
from voice_interview.bench.fixtures import FRAME_MS, TurnAudio
from voice_interview.bench.wer import word_error_rate

T = TypeVar("T")
Mode = Literal["auto", "explicit-end"]
FRAME_S = FRAME_MS / 1000.0


class BenchError(Exception):
    """The bench could not go on with a session (timeout, closed socket, refused call)."""


class BenchTimeout(BenchError):
    """An expected server message did not come in time."""


# ------------------------------------------------------------------------- REST


class ServerApi:
    """REST calls of the contract, and the candidate WebSocket."""

    def __init__(self, http: aiohttp.ClientSession, base_url: str, admin_key: str) -> None:
        self.http = http
        self.base_url = base_url.rstrip("/")
        self.admin_key = admin_key

    @property
    def _admin(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.admin_key}"}

    async def health(self) -> tuple[int, dict[str, Any]]:
        try:
            async with self.http.get(f"{self.base_url}/health") as r:
                try:
                    body = await r.json(content_type=None)
                except (json.JSONDecodeError, aiohttp.ContentTypeError):
                    body = {}
                return r.status, body if isinstance(body, dict) else {}
        except (aiohttp.ClientError, OSError) as e:
            raise BenchError(f"cannot reach {self.base_url}/health: {e}") from e

    async def wait_healthy(
        self, timeout_s: float, alive: Callable[[], bool] | None = None
    ) -> dict[str, Any]:
        """Poll ``/health`` until it says ok (200); ``alive`` stops early if it says False."""
        deadline = time.monotonic() + timeout_s
        last = "no answer"
        while time.monotonic() < deadline:
            if alive is not None and not alive():
                raise BenchError("the server process exited while starting")
            try:
                status, body = await self.health()
            except BenchError as e:
                last = str(e)
            else:
                if status == 200 and body.get("status") == "ok":
                    return body
                last = f"HTTP {status} {body}"
            await asyncio.sleep(0.3)
        raise BenchTimeout(f"server not healthy after {timeout_s:.0f} s: {last}")

    async def metrics_text(self) -> str | None:
        """``/metrics`` (a server extension) as text, or None when it is not there."""
        try:
            async with self.http.get(f"{self.base_url}/metrics") as r:
                return await r.text() if r.status == 200 else None
        except (aiohttp.ClientError, OSError):
            return None

    async def create_interview(
        self,
        candidate_id: str,
        num_questions: int,
        *,
        seed: int | None = None,
        role: str | None = None,
    ) -> dict[str, Any]:
        body: dict[str, Any] = {"candidate_id": candidate_id, "num_questions": num_questions}
        if role:
            body["role"] = role
        if seed is not None:
            body["seed"] = seed  # extension; a server that does not know it ignores it
        try:
            async with self.http.post(
                f"{self.base_url}/api/interviews", json=body, headers=self._admin
            ) as r:
                text = await r.text()
                if r.status != 201:
                    raise BenchError(f"POST /api/interviews: HTTP {r.status} {text[:300]}")
        except (aiohttp.ClientError, OSError) as e:
            raise BenchError(f"POST /api/interviews failed: {e}") from e
        try:
            data = json.loads(text)
        except json.JSONDecodeError as e:
            raise BenchError(f"POST /api/interviews: not JSON: {text[:200]}") from e
        if not isinstance(data, dict) or "id" not in data or "candidate_token" not in data:
            raise BenchError(f"POST /api/interviews: unexpected answer {text[:200]}")
        return data

    def ws_url(self, interview: dict[str, Any]) -> str:
        """The interview's ``ws_url`` (or one built from the base URL) with ``?token=``."""
        url = interview.get("ws_url")
        if not isinstance(url, str) or not url:
            parts = urlsplit(self.base_url)
            scheme = "wss" if parts.scheme == "https" else "ws"
            url = urlunsplit((scheme, parts.netloc, f"/ws/interviews/{interview['id']}", "", ""))
        sep = "&" if "?" in url else "?"
        return f"{url}{sep}{urlencode({'token': interview['candidate_token']})}"

    async def connect(
        self, interview: dict[str, Any], *, input_encoding: str = "pcm_s16le"
    ) -> CandidateConnection:
        """Open the WebSocket; a non-PCM input sends ``session.update`` before anything."""
        try:
            ws = await self.http.ws_connect(
                self.ws_url(interview), heartbeat=None, max_msg_size=0, autoping=True
            )
        except (aiohttp.ClientError, OSError) as e:
            raise BenchError(f"WebSocket connect failed: {e}") from e
        conn = CandidateConnection(ws)
        if input_encoding != "pcm_s16le":
            rate = 48000 if "opus" in input_encoding else 16000
            await conn.send_json(
                {
                    "type": p.SessionUpdate.type,
                    "input_audio": {"encoding": input_encoding, "sample_rate": rate},
                }
            )
        conn.start()
        return conn


# ------------------------------------------------------------------------- socket


@dataclass
class Received:
    """One server text message, stamped when it was read."""

    t: float
    type: str
    data: dict[str, Any]


@dataclass
class QuestionSeen:
    """A ``question`` message and what followed it: first audio frame, audio end."""

    t: float
    question_id: str
    index: int
    first_audio_t: float | None = None
    audio_end_t: float | None = None
    audio_bytes: int = 0
    audio_frames: int = 0
    duration_ms: int | None = None
    cancelled_t: float | None = None  # question_audio_cancel: it will be asked again


class CandidateConnection:
    """One candidate WebSocket. A reader task stamps and files every server message."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self.messages: list[Received] = []  # every text message, in order
        self.questions: list[QuestionSeen] = []
        self.finals: dict[str, Received] = {}
        self.evaluations: dict[str, Received] = {}
        self.turn_metrics: dict[str, Received] = {}
        self.speech_stopped: list[Received] = []
        self.speech_started: list[Received] = []
        self.interims: list[Received] = []
        self.resumed: list[Received] = []  # turn_resumed: an answer reopened
        self.cancels: list[Received] = []  # question_audio_cancel
        self.errors: list[Received] = []
        self.complete: Received | None = None
        self.closed_reason: str | None = None
        self._audio_to: QuestionSeen | None = None
        self._changed = asyncio.Event()
        self._reader: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._reader = asyncio.create_task(self._read_loop())

    @property
    def closed(self) -> bool:
        return self.closed_reason is not None

    async def _read_loop(self) -> None:
        try:
            while True:
                msg = await self.ws.receive()
                t = time.monotonic()
                if msg.type == aiohttp.WSMsgType.BINARY:
                    q = self._audio_to
                    if q is not None:
                        if q.first_audio_t is None:
                            q.first_audio_t = t
                            self._changed.set()
                        q.audio_bytes += len(msg.data)
                        q.audio_frames += 1
                    continue
                if msg.type == aiohttp.WSMsgType.TEXT:
                    self._file(t, msg.data)
                    self._changed.set()
                    continue
                if msg.type in (
                    aiohttp.WSMsgType.CLOSE,
                    aiohttp.WSMsgType.CLOSING,
                    aiohttp.WSMsgType.CLOSED,
                ):
                    self.closed_reason = f"closed by the server ({self.ws.close_code})"
                else:
                    self.closed_reason = f"socket error: {self.ws.exception()}"
                break
        except asyncio.CancelledError:
            self.closed_reason = self.closed_reason or "closed by the client"
            raise
        finally:
            self.closed_reason = self.closed_reason or "reader stopped"
            self._changed.set()

    def _file(self, t: float, raw: str) -> None:
        try:
            data = json.loads(raw)
        except json.JSONDecodeError:
            return
        if not isinstance(data, dict) or not isinstance(data.get("type"), str):
            return
        kind = data["type"]
        rec = Received(t, kind, data)
        self.messages.append(rec)
        qid = str(data.get("question_id", ""))
        if kind == p.QuestionMsg.type:
            q = QuestionSeen(t, qid, int(data.get("index", -1)))
            self.questions.append(q)
            self._audio_to = q
        elif kind == p.QuestionAudioEndMsg.type:
            for q in reversed(self.questions):
                if q.question_id == qid and q.audio_end_t is None:
                    q.audio_end_t = t
                    dur = data.get("duration_ms")
                    q.duration_ms = int(dur) if isinstance(dur, int | float) else None
                    break
            self._audio_to = None
        elif kind == p.TranscriptMsg.type:
            if data.get("is_final") is True:
                self.finals[qid] = rec  # a later final for the same question replaces one
            else:
                self.interims.append(rec)
        elif kind == p.SpeechStoppedMsg.type:
            self.speech_stopped.append(rec)
        elif kind == p.SpeechStartedMsg.type:
            self.speech_started.append(rec)
        elif kind == p.EvaluationMsg.type:
            if not data.get("replayed"):
                self.evaluations.setdefault(qid, rec)
        elif kind == p.TurnMetricsMsg.type:
            self.turn_metrics[qid] = rec  # a resumed turn's metrics replace the cut one's
        elif kind == p.TurnResumedMsg.type:
            self.resumed.append(rec)
        elif kind == p.QuestionAudioCancelMsg.type:
            self.cancels.append(rec)
            for q in reversed(self.questions):
                if q.question_id == qid:
                    if q.cancelled_t is None:
                        q.cancelled_t = t
                    if self._audio_to is q:
                        self._audio_to = None
                    break
        elif kind == p.InterviewCompleteMsg.type:
            if self.complete is None:
                self.complete = rec
        elif kind == p.ErrorMsg.type:
            self.errors.append(rec)

    async def wait_for(self, check: Callable[[], T | None], timeout_s: float, what: str) -> T:
        """Wait until ``check()`` gives a value (re-checked after every message)."""
        deadline = time.monotonic() + timeout_s
        while True:
            value = check()
            if value is not None:
                return value
            if self.closed:
                raise BenchError(f"socket closed while waiting for {what}: {self.closed_reason}")
            left = deadline - time.monotonic()
            if left <= 0:
                raise BenchTimeout(f"no {what} within {timeout_s:.0f} s")
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), left)

    async def send_bytes(self, data: bytes) -> None:
        try:
            await self.ws.send_bytes(data)
        except (ConnectionError, RuntimeError, aiohttp.ClientError) as e:
            raise BenchError(f"send failed: {e}") from e

    async def send_json(self, obj: dict[str, Any]) -> None:
        try:
            await self.ws.send_str(json.dumps(obj, separators=(",", ":")))
        except (ConnectionError, RuntimeError, aiohttp.ClientError) as e:
            raise BenchError(f"send failed: {e}") from e

    async def close(self) -> None:
        with contextlib.suppress(ConnectionError, RuntimeError, aiohttp.ClientError):
            await self.ws.close()
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader


# ------------------------------------------------------------------------- session


@dataclass
class TurnRecord:
    """Everything the client saw in one turn; times are ``time.monotonic()`` seconds."""

    session: int
    turn: int
    fixture: str
    reference: str
    mode: str
    speech_end_audio_ms: int
    question_id: str | None = None
    question_index: int | None = None
    question_audio_ms: int | None = None
    t_question: float | None = None
    t_question_first_audio: float | None = None
    t_question_audio_end: float | None = None
    t_answer_start: float | None = None
    t_speech_end: float | None = None
    t_end_of_answer: float | None = None
    t_speech_stopped: float | None = None
    speech_stopped_audio_ms: int | None = None
    speech_stopped_events: list[tuple[float, int]] = field(default_factory=list)
    t_turn_end_seen: float | None = None  # when the client saw the turn end
    turn_end_signal: str | None = None  # which message told it
    t_final: float | None = None
    transcript: str | None = None
    interim_transcripts: int = 0
    t_next_question: float | None = None
    t_next_first_audio: float | None = None
    t_evaluation: float | None = None
    evaluation_score: float | None = None
    evaluation_status: str | None = None
    t_interview_complete: float | None = None
    server_latency_ms: dict[str, Any] | None = None
    frames_sent: int = 0
    tail_frames_sent: int = 0
    send_lags_ms: list[float] = field(default_factory=list)
    cut_early: bool = False  # ended mid-answer and never taken back
    # Each end mid-answer (a next question while the candidate still spoke): where in the
    # answer's audio it came (ms from the answer's first frame) and whether it was taken
    # back (a turn_resumed, continued, for this answer before the next such end).
    early_ends: list[dict[str, Any]] = field(default_factory=list)
    # Every turn_resumed and question_audio_cancel while the candidate spoke this answer:
    # {"at_ms" (from the answer's first frame), "type", "question_id", "reason"}.
    resume_events: list[dict[str, Any]] = field(default_factory=list)
    resumes: int = 0  # ends mid-answer that the server took back (turn_resumed, continued)
    barge_ins: int = 0  # turn_resumed for a barge-in during this answer
    failure: str | None = None

    @property
    def wer(self) -> float | None:
        if self.transcript is None:
            return None
        return word_error_rate(self.reference, self.transcript)


@dataclass
class SessionResult:
    session: int
    interview_id: str | None = None
    t_connect: float | None = None
    t_first_question: float | None = None
    turns: list[TurnRecord] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)
    failure: str | None = None
    incomplete: str | None = None  # interview_complete did not come in time


@dataclass
class SessionOptions:
    mode: Mode = "auto"
    input_encoding: str = "pcm_s16le"
    gap_s: float = 0.3  # "human" pause after the question's audio has arrived
    final_cap_s: float = 10.0  # end of speech -> final transcript, else a failure
    rescue_s: float = 30.0  # after forcing end_of_answer, how long to wait still
    question_timeout_s: float = 120.0
    complete_timeout_s: float = 900.0
    start_delay_s: float = 0.0


class CandidateSession:
    """Answers one interview: waits for each question's audio, then streams an answer."""

    def __init__(
        self,
        api: ServerApi,
        index: int,
        plans: Sequence[TurnAudio],
        options: SessionOptions,
        *,
        candidate_id: str | None = None,
        interview_seed: int | None = None,
        on_event: Callable[[str], None] | None = None,
    ) -> None:
        self.api = api
        self.index = index
        self.plans = list(plans)
        self.opt = options
        self.candidate_id = candidate_id or f"bench-{index}"
        self.interview_seed = interview_seed
        self.on_event = on_event or (lambda _msg: None)
        self.result = SessionResult(index)

    async def run(self) -> SessionResult:
        res = self.result
        for j, plan in enumerate(self.plans):
            res.turns.append(
                TurnRecord(
                    session=self.index,
                    turn=j,
                    fixture=plan.fixture.name,
                    reference=plan.fixture.text,
                    mode=self.opt.mode,
                    speech_end_audio_ms=round(plan.fixture.speech_end_s * 1000),
                )
            )
        if self.opt.start_delay_s > 0:
            await asyncio.sleep(self.opt.start_delay_s)
        conn: CandidateConnection | None = None
        try:
            interview = await self.api.create_interview(
                self.candidate_id, len(self.plans), seed=self.interview_seed
            )
            res.interview_id = str(interview["id"])
            res.t_connect = time.monotonic()
            conn = await self.api.connect(interview, input_encoding=self.opt.input_encoding)
            await self._run_turns(conn)
            try:
                await conn.wait_for(
                    lambda: conn.complete if conn is not None else None,
                    self.opt.complete_timeout_s,
                    "interview_complete",
                )
            except BenchTimeout as e:
                # Every turn was answered; only the evaluations are slow: not a failure.
                res.incomplete = str(e)
                self.on_event(f"session {self.index}: {e}")
        except BenchError as e:
            res.failure = str(e)
            self.on_event(f"session {self.index}: {e}")
        finally:
            if conn is not None:
                self._collect(conn)
                await conn.close()
        return res

    def _current(self, conn: CandidateConnection, answered: set[str]) -> QuestionSeen | None:
        """The latest question not answered yet, once all its audio is in.

        Only the latest ``question`` of each id counts: a question stopped by
        ``question_audio_cancel`` (the candidate went on with the previous answer) is
        asked again, and it is that asking the candidate hears out and answers.
        """
        seen: set[str] = set()
        for q in reversed(conn.questions):
            if q.question_id in answered or q.question_id in seen:
                continue
            seen.add(q.question_id)
            if q.cancelled_t is None:
                return q if q.audio_end_t is not None else None  # its audio is coming
        return None

    async def _run_turns(self, conn: CandidateConnection) -> None:
        answered: set[str] = set()
        for rec, plan in zip(self.result.turns, self.plans, strict=True):
            q = await conn.wait_for(
                lambda: self._current(conn, answered),
                self.opt.question_timeout_s,
                f"question {rec.turn + 1} with its audio",
            )
            if self.result.t_first_question is None:
                self.result.t_first_question = q.t
            first = next(x for x in conn.questions if x.question_id == q.question_id)
            rec.question_id, rec.question_index = q.question_id, q.index
            rec.t_question, rec.t_question_first_audio = first.t, first.first_audio_t
            rec.t_question_audio_end, rec.question_audio_ms = q.audio_end_t, q.duration_ms
            # A candidate hears the question out before answering: speech over it is a
            # barge-in, and speech right after an answer's end continues that answer.
            played = (q.first_audio_t or q.audio_end_t or time.monotonic()) + (
                (q.duration_ms or 0) / 1000.0
            )
            await asyncio.sleep(max(0.0, played - time.monotonic()) + self.opt.gap_s)
            await self._answer(conn, rec, plan)
            answered.add(q.question_id)
            self.on_event(
                f"session {self.index} turn {rec.turn + 1}/{len(self.plans)}: {rec.fixture}"
                + (f" [{rec.failure}]" if rec.failure else "")
                + (" [cut early]" if rec.cut_early else "")
            )
            # A turn that never ended is a failure; the wait for the next question (or
            # for interview_complete) decides whether the session can go on.

    def _turn_ended(self, conn: CandidateConnection, rec: TurnRecord) -> str | None:
        """How the client learns that the server ended this turn, if it has.

        The final transcript, or the next question (a server may send it before the
        final transcript), or this turn's ``turn_metrics`` / ``interview_complete``, each
        after the answer's last word: a candidate says the whole answer, whatever the
        server does meanwhile (it may end the turn at a pause and take the end back).
        """
        qid = rec.question_id or ""
        after = rec.t_speech_end
        if after is None:
            return None
        final = conn.finals.get(qid)
        if final is not None and final.t > after:
            return "final_transcript"
        if any(q.t > after and q.question_id != qid for q in conn.questions[-3:]):
            return "next_question"
        metrics = conn.turn_metrics.get(qid)
        if metrics is not None and metrics.t > after:
            return "turn_metrics"
        if conn.complete is not None:
            return "interview_complete"
        return None

    async def _answer(self, conn: CandidateConnection, rec: TurnRecord, plan: TurnAudio) -> None:
        """Stream the answer then silence, one frame per 20 ms, until the turn ends."""
        frames, n_answer = plan.frames, plan.answer_frames
        tail = max(1, len(frames) - n_answer)
        explicit = self.opt.mode == "explicit-end"
        rescue_until: float | None = None
        t0 = time.monotonic()
        rec.t_answer_start = t0
        i = 0
        while (ended := self._turn_ended(conn, rec)) is None:
            deadline = t0 + i * FRAME_S
            delay = deadline - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
                if (ended := self._turn_ended(conn, rec)) is not None:
                    break
            if conn.closed:
                raise BenchError(f"socket closed during the answer: {conn.closed_reason}")
            frame = frames[i] if i < len(frames) else frames[n_answer + (i - n_answer) % tail]
            await conn.send_bytes(frame)
            now = time.monotonic()
            rec.send_lags_ms.append((now - deadline) * 1000.0)
            rec.frames_sent += 1
            if i >= n_answer:
                rec.tail_frames_sent += 1
            if i == plan.last_voiced:
                rec.t_speech_end = now
                if explicit:
                    await conn.send_json({"type": p.EndOfAnswer.type})
                    rec.t_end_of_answer = time.monotonic()
            if rec.t_speech_end is not None and rescue_until is None:
                if now - rec.t_speech_end > self.opt.final_cap_s:
                    rec.failure = (
                        f"no final transcript or next question within "
                        f"{self.opt.final_cap_s:.0f} s of the end of speech"
                    )
                    await conn.send_json({"type": p.EndOfAnswer.type})
                    rescue_until = now + self.opt.rescue_s
            elif rescue_until is not None and now > rescue_until:
                rec.failure = (rec.failure or "") + "; none after end_of_answer either"
                return
            i += 1
        rec.t_turn_end_seen = time.monotonic()
        rec.turn_end_signal = ended
        self._note_cuts(conn, rec)

    def _note_cuts(self, conn: CandidateConnection, rec: TurnRecord) -> None:
        """Ends mid-answer: those the server took back, and a cut it did not (the rest of
        the answer then landed in the next question's turn)."""
        qid, start = rec.question_id, rec.t_answer_start or 0.0
        spoke_until = rec.t_speech_end if rec.t_speech_end is not None else float("inf")
        resumed = [
            r.t
            for r in conn.resumed
            if r.data.get("question_id") == qid
            and r.data.get("reason") == p.RESUMED_CONTINUED
            and r.t >= start
        ]
        early = [q.t for q in conn.questions if start < q.t < spoke_until and q.question_id != qid]
        rec.early_ends = [
            {
                "at_ms": round((t - start) * 1000.0),
                "taken_back": any(
                    t < r < (early[k + 1] if k + 1 < len(early) else float("inf")) for r in resumed
                ),
            }
            for k, t in enumerate(early)
        ]
        rec.resume_events = [
            {
                "at_ms": round((r.t - start) * 1000.0),
                "type": r.type,
                "question_id": r.data.get("question_id"),
                "reason": r.data.get("reason"),
            }
            for r in sorted([*conn.resumed, *conn.cancels], key=lambda r: r.t)
            if start <= r.t <= spoke_until
        ]
        rec.resumes = len(resumed)
        rec.barge_ins = sum(
            1
            for r in conn.resumed
            if r.data.get("reason") == p.RESUMED_BARGE_IN and start <= r.t <= spoke_until
        )
        rec.cut_early = bool(early) and (not resumed or max(resumed) < max(early))

    def _collect(self, conn: CandidateConnection) -> None:
        """Fill in what arrived after each turn: next question, evaluation, metrics."""
        res = self.result
        res.errors = [
            {"t": e.t, "code": e.data.get("code"), "message": e.data.get("message")}
            for e in conn.errors
        ]
        for k, rec in enumerate(res.turns):
            if rec.question_id is None:
                continue
            qid = rec.question_id
            final = conn.finals.get(qid)
            if final is not None:
                rec.t_final = final.t
                rec.transcript = str(final.data.get("text", ""))
            start = rec.t_answer_start or 0.0
            end = rec.t_turn_end_seen if rec.t_turn_end_seen is not None else float("inf")
            stops = [s for s in conn.speech_stopped if start <= s.t <= end]
            rec.speech_stopped_events = [(s.t, int(s.data.get("audio_ms", -1))) for s in stops]
            if rec.t_speech_end is not None:
                after = [s for s in stops if s.t >= rec.t_speech_end]
                if after:
                    rec.t_speech_stopped = after[0].t
                    rec.speech_stopped_audio_ms = int(after[0].data.get("audio_ms", -1))
            rec.interim_transcripts = sum(
                1 for m in conn.interims if m.data.get("question_id") == qid and m.t >= start
            )
            if rec.t_answer_start is not None and k + 1 < len(res.turns):
                # The next question as asked after this answer: one stopped mid-answer
                # (the end taken back) was asked again, and that one is the reply.
                nxt = next(
                    (
                        q
                        for q in conn.questions
                        if q.t > start and q.question_id != qid and q.cancelled_t is None
                    ),
                    None,
                )
                if nxt is not None:
                    rec.t_next_question, rec.t_next_first_audio = nxt.t, nxt.first_audio_t
            ev = conn.evaluations.get(qid)
            if ev is not None:
                rec.t_evaluation = ev.t
                score = ev.data.get("score")
                rec.evaluation_score = float(score) if isinstance(score, int | float) else None
                status = ev.data.get("status")
                rec.evaluation_status = str(status) if status is not None else None
            tm = conn.turn_metrics.get(qid)
            if tm is not None and isinstance(tm.data.get("latency_ms"), dict):
                rec.server_latency_ms = dict(tm.data["latency_ms"])
        if res.turns and conn.complete is not None:
            res.turns[-1].t_interview_complete = conn.complete.t
