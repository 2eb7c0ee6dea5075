"""The bench's side of the wire: errors, REST calls and one candidate WebSocket whose
reader task stamps and files every server message on ``time.monotonic()``."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urlencode, urlsplit, urlunsplit

import aiohttp

from voice_interview import protocol as p

T = TypeVar("T")


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
