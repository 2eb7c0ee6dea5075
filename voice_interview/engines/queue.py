"""A fair, prioritised work queue in front of one blocking engine.

Each engine (STT, LLM, TTS) gets exactly one worker thread, so one model instance
serves every session, and the event loop only awaits futures. Lower priority
numbers run first (a final transcript before an interim one); equal priorities
run in arrival order. Work whose ``is_stale`` callback says so when it reaches
the front is dropped instead of run (an interim superseded by a newer one).
"""

from __future__ import annotations

import asyncio
import itertools
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from queue import PriorityQueue
from typing import Any, TypeVar

T = TypeVar("T")

PRIORITY_TURN = -1  # decides when a turn ends: the candidate is waiting on it
PRIORITY_FINAL = 0
PRIORITY_NORMAL = 5
PRIORITY_BACKGROUND = 9


def _STOP() -> None:  # sentinel work item that ends the worker
    return None


class StaleWorkError(Exception):
    """The work item was dropped because it was stale when its turn came."""


@dataclass(order=True)
class _Item:
    priority: int
    seq: int
    fn: Callable[[], Any] = field(compare=False)
    future: Future[Any] = field(compare=False)
    is_stale: Callable[[], bool] | None = field(compare=False, default=None)
    enqueued: float = field(compare=False, default=0.0)


class EngineQueue:
    """One worker thread per engine, fed by a priority queue."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._queue: PriorityQueue[_Item] = PriorityQueue()
        self._seq = itertools.count()
        self._thread = threading.Thread(target=self._run, name=f"engine-{name}", daemon=True)
        self._thread.start()
        self.busy_s = 0.0
        self.completed = 0
        self.dropped = 0
        self.on_done: Callable[[str, float, float], None] | None = None

    @property
    def depth(self) -> int:
        return self._queue.qsize()

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item.fn is _STOP:
                return
            if not item.future.set_running_or_notify_cancel():
                continue
            if item.is_stale is not None and item.is_stale():
                self.dropped += 1
                item.future.set_exception(StaleWorkError(self.name))
                continue
            started = time.monotonic()
            try:
                result = item.fn()
            except BaseException as e:  # handed to the awaiting coroutine
                item.future.set_exception(e)
            else:
                item.future.set_result(result)
            elapsed = time.monotonic() - started
            self.busy_s += elapsed
            self.completed += 1
            if self.on_done is not None:
                self.on_done(self.name, started - item.enqueued, elapsed)

    def submit_sync(
        self,
        fn: Callable[[], T],
        priority: int = PRIORITY_NORMAL,
        is_stale: Callable[[], bool] | None = None,
    ) -> Future[T]:
        future: Future[T] = Future()
        self._queue.put(_Item(priority, next(self._seq), fn, future, is_stale, time.monotonic()))
        return future

    async def run(
        self,
        fn: Callable[[], T],
        priority: int = PRIORITY_NORMAL,
        is_stale: Callable[[], bool] | None = None,
    ) -> T:
        return await asyncio.wrap_future(self.submit_sync(fn, priority, is_stale))

    def close(self) -> None:
        # Sorts after every real item, so queued work finishes first.
        self._queue.put(_Item(1 << 30, next(self._seq), _STOP, Future()))
