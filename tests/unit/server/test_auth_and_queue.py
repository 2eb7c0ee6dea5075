from __future__ import annotations

import asyncio
import threading
import time

import jwt
import pytest

from voice_interview.engines.queue import PRIORITY_FINAL, EngineQueue, StaleWorkError
from voice_interview.server.auth import Authenticator

SECRET = "unit-test-secret-0123456789abcdefghij"


def test_candidate_tokens_are_scoped_and_expire() -> None:
    auth = Authenticator(["k1", "k2"], SECRET, token_ttl_s=60)
    token = auth.candidate_token("interview-a")
    assert auth.verify_candidate(token) == "interview-a"
    assert auth.verify_candidate(token + "x") is None
    other = Authenticator(["k1"], SECRET + "-other", 60)
    assert other.verify_candidate(token) is None
    expired = jwt.encode(
        {"sub": "a", "scope": "candidate", "exp": int(time.time()) - 5}, SECRET, algorithm="HS256"
    )
    assert auth.verify_candidate(expired) is None
    wrong_scope = jwt.encode(
        {"sub": "a", "scope": "admin", "exp": int(time.time()) + 60}, SECRET, algorithm="HS256"
    )
    assert auth.verify_candidate(wrong_scope) is None


def test_admin_keys() -> None:
    auth = Authenticator(["k1", "k2"], "s", 60)
    assert auth.is_admin_key("k1") and auth.is_admin_key("k2")
    assert not auth.is_admin_key("k3") and not auth.is_admin_key("")
    with pytest.raises(ValueError):
        Authenticator([], "s", 60)


async def test_queue_runs_finals_first_and_drops_stale_work() -> None:
    q = EngineQueue("test")
    gate = threading.Event()
    order: list[str] = []
    blocker = q.submit_sync(lambda: gate.wait(5))
    await asyncio.sleep(0.05)  # the worker is now busy with the blocker
    normal = q.run(lambda: order.append("interim"))
    final = q.run(lambda: order.append("final"), PRIORITY_FINAL)
    stale = q.run(lambda: order.append("stale"), is_stale=lambda: True)
    tasks = [asyncio.ensure_future(c) for c in (normal, final, stale)]
    await asyncio.sleep(0.05)
    gate.set()
    results = await asyncio.gather(*tasks, return_exceptions=True)
    assert blocker.result() is True
    assert order == ["final", "interim"]
    assert isinstance(results[2], StaleWorkError)
    assert q.dropped == 1 and q.completed == 3
    q.close()


async def test_queue_hands_exceptions_to_the_caller() -> None:
    q = EngineQueue("err")

    def boom() -> None:
        raise RuntimeError("model broke")

    with pytest.raises(RuntimeError, match="model broke"):
        await q.run(boom)
    assert await q.run(lambda: 42) == 42
    q.close()


def test_rate_limiter_refills_over_time() -> None:
    from voice_interview.server.ratelimit import RateLimiter

    limiter = RateLimiter(per_minute=60)  # one token a second, burst of 60
    assert all(limiter.take("a", now=0.0) == 0 for _ in range(60))
    wait = limiter.take("a", now=0.0)
    assert wait == pytest.approx(1.0, abs=0.01)
    assert limiter.take("b", now=0.0) == 0  # other clients are not affected
    assert limiter.take("a", now=2.5) == 0
