"""Everything a session sends, in order, from one writer task; and the question being
spoken, which a candidate who goes on or talks over it can stop.

A question's text, its audio frames and ``question_audio_end`` go out as one block, so an
evaluation never lands between them. A cancelled block sends no more of its parts; the
client is told by ``question_audio_cancel`` and drops what it has queued.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

log = logging.getLogger(__name__)

# The client plays a question a little after its frames arrive (jitter buffer, output
# latency): it counts as playing this much longer than its duration.
PLAYBACK_MARGIN_S = 0.3


@dataclass
class Outbound:
    """One item for the writer: JSON messages and binary frames sent back to back."""

    parts: list[str | bytes]
    first_binary_sent: asyncio.Future[float] | None = None
    cancelled: bool = False


@dataclass
class Playback:
    """A question's audio on its way to the candidate's ears."""

    question_id: str
    block: Outbound
    duration_s: float
    started_at: float | None = None  # server clock of its first frame; None: not yet sent
    _done: bool = field(default=False, repr=False)

    def playing(self, now: float) -> bool:
        if self._done or self.block.cancelled:
            return False
        if self.started_at is None:
            return True  # queued: about to play
        return now < self.started_at + self.duration_s + PLAYBACK_MARGIN_S

    def heard_ms(self, now: float) -> float:
        """How much of the question the candidate had heard by ``now``."""
        if self.started_at is None:
            return 0.0
        return round(min(self.duration_s, max(0.0, now - self.started_at)) * 1000.0, 1)


class Writer:
    def __init__(
        self,
        send_text: Callable[[str], Awaitable[None]],
        send_bytes: Callable[[bytes], Awaitable[None]],
    ) -> None:
        self._send_text = send_text
        self._send_bytes = send_bytes
        self._out: asyncio.Queue[Outbound | None] = asyncio.Queue(maxsize=256)
        self._task: asyncio.Task[None] | None = None
        self.closed = False

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop())

    async def put(self, item: Outbound) -> None:
        if not self.closed:
            await self._out.put(item)

    async def close(self) -> None:
        self.closed = True
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        while not self._out.empty():
            item = self._out.get_nowait()
            if item is not None and item.first_binary_sent is not None:
                item.first_binary_sent.cancel()

    async def _loop(self) -> None:
        while True:
            item = await self._out.get()
            if item is None:
                return
            try:
                for part in item.parts:
                    if item.cancelled:
                        break
                    if isinstance(part, bytes):
                        await self._send_bytes(part)
                        if item.first_binary_sent is not None and not item.first_binary_sent.done():
                            item.first_binary_sent.set_result(time.monotonic())
                    else:
                        await self._send_text(part)
            except (ConnectionError, RuntimeError) as e:
                log.info("socket closed while sending: %s", e)
                if item.first_binary_sent is not None and not item.first_binary_sent.done():
                    item.first_binary_sent.cancel()
                return
            finally:
                if item.first_binary_sent is not None and not item.first_binary_sent.done():
                    item.first_binary_sent.set_result(time.monotonic())
