"""A small test client over aiohttp: REST calls and a WebSocket reader that collects
messages by type and binary audio per question."""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from tests.conftest import ADMIN_KEY, ServerProcess

ADMIN = {"Authorization": f"Bearer {ADMIN_KEY}"}


async def create_interview(
    http: aiohttp.ClientSession, server: ServerProcess, n: int = 2, **extra: Any
) -> dict[str, Any]:
    body = {"candidate_id": extra.pop("candidate_id", "cand-1"), "num_questions": n, **extra}
    async with http.post(f"{server.base}/api/interviews", json=body, headers=ADMIN) as r:
        assert r.status == 201, await r.text()
        return dict(await r.json())


@dataclass
class WsLog:
    ws: aiohttp.ClientWebSocketResponse
    messages: list[dict[str, Any]] = field(default_factory=list)
    audio: dict[str, bytearray] = field(default_factory=dict)
    audio_done: set[str] = field(default_factory=set)
    _taken: set[int] = field(default_factory=set)
    _current_audio: str | None = None
    # Client clock when each question's first audio frame arrived, and its length.
    audio_started: dict[str, float] = field(default_factory=dict)
    audio_ms: dict[str, int] = field(default_factory=dict)

    async def next(self, *types: str, timeout: float = 60.0) -> dict[str, Any]:
        """The oldest message of one of ``types`` not yet returned, reading on as needed.

        Messages of other types are kept, so a test can wait for them in any order
        (an evaluation may come after the next question, a transcript after it too).
        """
        while True:
            for i, data in enumerate(self.messages):
                if i not in self._taken and data["type"] in types:
                    self._taken.add(i)
                    return data
            await self._read_one(timeout)

    async def _read_one(self, timeout: float) -> None:
        while True:
            msg = await asyncio.wait_for(self.ws.receive(), timeout)
            if msg.type == aiohttp.WSMsgType.BINARY:
                if self._current_audio is not None:
                    self.audio_started.setdefault(self._current_audio, time.monotonic())
                    self.audio.setdefault(self._current_audio, bytearray()).extend(msg.data)
                continue
            if msg.type != aiohttp.WSMsgType.TEXT:
                raise ConnectionError(f"socket closed: {msg.type} {msg.data!r} {msg.extra!r}")
            data = json.loads(msg.data)
            self.messages.append(data)
            if data["type"] == "question":
                self._current_audio = data["question_id"]
                self.audio[data["question_id"]] = bytearray()
            elif data["type"] == "question_audio_end":
                self._current_audio = None
                self.audio_done.add(data["question_id"])
                self.audio_ms[data["question_id"]] = int(data["duration_ms"])
            return

    async def audio_end(self, question_id: str, *, listen: bool = True) -> None:
        """Wait until the question's audio has fully arrived (it may have already) and,
        with ``listen``, until a candidate would have heard it all: the server takes
        speech over a question for a barge-in, and speech right after an answer's end
        for that answer going on."""
        while question_id not in self.audio_done:
            await self.next("question_audio_end")
        if listen:
            started = self.audio_started.get(question_id, time.monotonic())
            left = started + self.audio_ms.get(question_id, 0) / 1000 + 0.4 - time.monotonic()
            if left > 0:
                await asyncio.sleep(left)

    def of_type(self, kind: str) -> list[dict[str, Any]]:
        return [m for m in self.messages if m["type"] == kind]

    async def send(self, **msg: Any) -> None:
        await self.ws.send_str(json.dumps(msg))
