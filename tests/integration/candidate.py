"""A candidate in real time, for the turn-taking tests: a reader task files every server
message with its arrival time (and each question's audio), while the test streams a
microphone, 20 ms frames on absolute deadlines, silence included, the way a browser does.

The candidate hears each question out before answering and says the whole answer,
whatever the server does meanwhile; a question spoken again (after an answer was
reopened) is heard out again.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import numpy as np
import numpy.typing as npt

RATE = 16000
FRAME = 320  # 20 ms
Pcm = npt.NDArray[np.int16]


@dataclass
class Stamped:
    t: float
    data: dict[str, Any]

    @property
    def type(self) -> str:
        return str(self.data["type"])


@dataclass
class Asked:
    """One ``question`` message (a question asked again is a new one) and its audio."""

    t: float
    question_id: str
    audio: bytearray = field(default_factory=bytearray)
    first_audio_t: float | None = None
    duration_ms: int | None = None
    cancelled: bool = False


class RealtimeCandidate:
    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self.messages: list[Stamped] = []
        self.asked: list[Asked] = []
        self.done: set[str] = set()
        self._changed = asyncio.Event()
        self._reader = asyncio.create_task(self._read())
        self._noise = np.random.default_rng(7)

    async def _read(self) -> None:
        receiving: Asked | None = None
        while True:
            msg = await self.ws.receive()
            now = time.monotonic()
            if msg.type == aiohttp.WSMsgType.BINARY:
                if receiving is not None:
                    if receiving.first_audio_t is None:
                        receiving.first_audio_t = now
                    receiving.audio.extend(msg.data)
                continue
            if msg.type != aiohttp.WSMsgType.TEXT:
                self._changed.set()
                return
            data = json.loads(msg.data)
            self.messages.append(Stamped(now, data))
            kind = data["type"]
            if kind == "question":
                receiving = Asked(now, data["question_id"])
                self.asked.append(receiving)
            elif kind == "question_audio_end" and receiving is not None:
                receiving.duration_ms = int(data["duration_ms"])
                receiving = None
            elif kind == "question_audio_cancel":
                for a in self.asked:
                    if a.question_id == data["question_id"]:
                        a.cancelled = True
            self._changed.set()

    async def close(self) -> None:
        self._reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._reader

    async def wait(self, check: Callable[[], Any], timeout: float, what: str) -> Any:
        deadline = time.monotonic() + timeout
        while (value := check()) is None or value is False:
            left = deadline - time.monotonic()
            if left <= 0 or self._reader.done():
                raise AssertionError(f"no {what} within {timeout:.0f} s\n{self.transcript()}")
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), min(left, 0.5))
        return value

    def transcript(self, last: int = 40) -> str:
        """The last messages, one line each, for a failure's message."""
        t0 = self.messages[0].t if self.messages else 0.0
        lines = []
        for m in self.messages[-last:]:
            d = m.data
            bits = [f"{m.t - t0:7.2f}", d["type"], str(d.get("question_id", ""))[:6]]
            bits += [str(d[k])[:60] for k in ("reason", "text", "is_final", "code") if k in d]
            lines.append(" ".join(bits))
        return "\n".join(lines)

    def of_type(self, kind: str, since: float = 0.0) -> list[Stamped]:
        return [m for m in self.messages if m.type == kind and m.t >= since]

    def pending_question(self) -> Asked | None:
        """The last question asked, if it still wants an answer and its audio is in."""
        if not self.asked:
            return None
        last = self.asked[-1]
        if last.question_id in self.done or (last.duration_ms is None and not last.cancelled):
            return None
        return last

    def noise(self, n: int) -> Pcm:
        return self._noise.normal(0, 10, n).astype(np.int16)

    async def stream(
        self,
        pcm: Pcm,
        *,
        until: Callable[[float], bool] | None = None,
        mix: Callable[[int, int], Pcm | None] | None = None,
    ) -> float:
        """Send ``pcm`` in real time, then noise until ``until(t_last)`` is true, given the
        client time of the last frame of ``pcm``; ``mix(a, b)`` may add what the microphone
        also picks up for samples [a, b) of this stream. Returns that time."""
        t0 = time.monotonic()
        i = 0
        last = t0
        while True:
            start = i * FRAME
            if start >= pcm.size and (until is None or until(last)):
                return last
            frame = pcm[start : start + FRAME] if start < pcm.size else self.noise(FRAME)
            if frame.size < FRAME:
                frame = np.concatenate([frame, self.noise(FRAME - frame.size)])
            if mix is not None:
                extra = mix(start, start + FRAME)
                if extra is not None:
                    frame = np.clip(frame.astype(np.int32) + extra, -32768, 32767).astype(np.int16)
            delay = t0 + i * FRAME / RATE - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            await self.ws.send_bytes(frame.astype("<i2").tobytes())
            if start < pcm.size:
                last = time.monotonic()
            i += 1
            if i * FRAME / RATE > 240:
                raise AssertionError("the turn did not end within 4 minutes")

    async def hear_out(self, asked: Asked) -> None:
        """Listen to the question (its whole audio) before answering."""
        await self.wait(
            lambda: asked.duration_ms is not None or asked.cancelled, 60, "question audio"
        )
        if asked.first_audio_t is not None and asked.duration_ms is not None:
            left = asked.first_audio_t + asked.duration_ms / 1000 + 0.3 - time.monotonic()
            if left > 0:
                # The microphone stays open: room noise goes on while the question plays.
                await self.stream(self.noise(int(left * RATE)))

    def moved_on(self, question_id: str, after: float) -> bool:
        """Whether the server went past this question after ``after``."""
        return any(a.t > after and a.question_id != question_id for a in self.asked) or bool(
            self.of_type("interview_complete")
        )

    async def answer(
        self, speech: Pcm, *, mix: Callable[[int, int], Pcm | None] | None = None
    ) -> str:
        """Answer the pending question with ``speech`` and keep the mic open until the
        server has moved on (next question, or the interview is complete)."""
        asked = await self.wait(self.pending_question, 120, "a question to answer")
        await self.hear_out(asked)
        qid = asked.question_id
        await self.stream(speech, until=lambda last: self.moved_on(qid, last), mix=mix)
        self.done.add(qid)
        return qid
