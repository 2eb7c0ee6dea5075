"""What the leases and answer jobs cost the database (docs/SCALING.md, "Measured").

    .venv/bin/python scripts/bench_leases.py sqlite+aiosqlite:////tmp/leases.db
    .venv/bin/python scripts/bench_leases.py postgresql+asyncpg://vi@127.0.0.1/vi_bench

On an empty database (it is created at the newest revision): the time of one lease
acquire + release (each connect and close), one heartbeat renewing N leases, and one
poll that finds nothing to claim with J jobs held by a live node, each the median of
R runs.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable

from voice_interview.domain.question import Question
from voice_interview.store.repository import JOB_EVALUATE, Repository


async def _median_ms(step: Callable[[], Awaitable[object]], runs: int) -> float:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        await step()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


async def main(url: str, leases: int, jobs: int, runs: int) -> None:
    repo = Repository(url, lease_ttl_s=60)
    other = Repository(url, lease_ttl_s=60)
    try:
        await repo.init()
        questions = [Question.of("Q?", "technical", "easy", [], [], bank_id="b")] * max(
            1, jobs // leases
        )
        interviews = [
            await repo.create_interview("c", None, None, questions) for _ in range(leases)
        ]
        for row in interviews:
            full = await repo.get_interview(row.id)
            for q in full.questions:
                await repo.record_answer(
                    row.id, q.id, source="text", transcript="t", end_reason="x"
                )
        ids = [row.id for row in interviews]
        one = ids[0]

        async def connect_and_close() -> None:
            await repo.acquire_lease(one)
            await repo.release_lease(one)

        for i in ids:
            await repo.acquire_lease(i)
        print(f"{repo.engine.dialect.name}: {leases} interviews, {len(await repo.jobs())} jobs")
        print(
            f"  acquire + release one lease   {await _median_ms(connect_and_close, runs):7.2f} ms"
        )
        await repo.acquire_lease(one)
        beat = await _median_ms(lambda: repo.heartbeat(set(ids), ()), runs)
        print(f"  heartbeat, {leases} leases + their jobs {beat:7.2f} ms")
        refused = await _median_ms(lambda: other.acquire_lease(one), runs)
        print(f"  acquire refused (held)        {refused:7.2f} ms")
        poll = await _median_ms(lambda: other.claim_jobs(JOB_EVALUATE, 4), runs)
        print(f"  poll, nothing claimable       {poll:7.2f} ms")
    finally:
        await repo.close()
        await other.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("url")
    parser.add_argument("--leases", type=int, default=32)
    parser.add_argument("--jobs", type=int, default=128)
    parser.add_argument("--runs", type=int, default=50)
    a = parser.parse_args()
    asyncio.run(main(a.url, a.leases, a.jobs, a.runs))
