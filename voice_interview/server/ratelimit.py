"""Per-client token-bucket rate limit for the REST API and WebSocket connects (429 with
Retry-After; a refused WebSocket upgrade never becomes a connection)."""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable

from aiohttp import web
from aiohttp.typedefs import Middleware

from voice_interview.server.errors import error_response

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class RateLimiter:
    def __init__(self, per_minute: int, max_clients: int = 10_000) -> None:
        self.capacity = float(max(1, per_minute))
        self.rate = self.capacity / 60.0  # tokens per second
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self._max_clients = max_clients

    def take(self, client: str, now: float | None = None) -> float:
        """Take one token; returns 0 if allowed, else the seconds until one is free."""
        now = time.monotonic() if now is None else now
        tokens, last = self._buckets.pop(client, (self.capacity, now))
        tokens = min(self.capacity, tokens + (now - last) * self.rate)
        wait = 0.0
        if tokens >= 1.0:
            tokens -= 1.0
        else:
            wait = (1.0 - tokens) / self.rate
        self._buckets[client] = (tokens, now)
        # Bounded memory: forget the least recently seen clients.
        while len(self._buckets) > self._max_clients:
            self._buckets.popitem(last=False)
        return wait


def rate_limit_middleware(limiter: RateLimiter) -> Middleware:
    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        # A WebSocket connect is one request of the same budget: a key or token guessed
        # over the socket costs as much as one guessed over REST.
        if request.path.startswith(("/api/", "/ws/")):
            wait = limiter.take(request.remote or "unknown")
            if wait > 0:
                return error_response(
                    429,
                    "RATE_LIMITED",
                    "too many requests; slow down",
                    {"Retry-After": str(math.ceil(wait))},
                )
        return await handler(request)

    return middleware
