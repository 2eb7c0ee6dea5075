"""This node's part among several nodes on one database (docs/SCALING.md).

- Leases: the candidate's socket takes the interview's lease (``acquire``) before its
  session starts, and gives it back when it closes (``release``). While it is open the
  heartbeat renews it every ``lease_ttl_s / 3``, together with this node's claims on the
  answer jobs of its interviews and of the answers it is working on. A lease found taken
  by another node at a renewal (this node stalled past the TTL and another took over) ends
  the session here (``on_lost``: closed with 4409).
- Jobs: the poller, every ``job_poll_s`` (and whenever an evaluation here ends), tells
  the sessions here about evaluations other nodes stored, takes up evaluation jobs nobody
  holds, and transcribes answers nobody holds (one batch at a time, beside the rest).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Collection

from aiohttp import web

from voice_interview.interview.evaluation.jobs import EvaluationService
from voice_interview.interview.evaluation.transcription import AnswerTranscriber
from voice_interview.store.repository import Lease, Repository

log = logging.getLogger(__name__)


class Cluster:
    def __init__(self, repo: Repository, *, lease_ttl_s: float, job_poll_s: float) -> None:
        self.repo = repo
        self.node = repo.node
        self.lease_ttl_s = lease_ttl_s
        self.job_poll_s = job_poll_s
        # Interviews whose lease this node holds -> sockets here using it (a superseded
        # socket still closing, and the one that replaced it).
        self._users: dict[str, int] = {}
        self._lost: set[str] = set()  # taken by another node; ended here, not renewed
        self._lease_lock = asyncio.Lock()
        # Called with an interview whose lease another node took: end its session here.
        self.on_lost: Callable[[str], Awaitable[None]] | None = None
        self._working: Callable[[], Collection[str]] = set
        self._evaluations: EvaluationService | None = None
        self._transcriber: AnswerTranscriber | None = None
        self._beat: asyncio.Task[None] | None = None
        self._poll: asyncio.Task[None] | None = None
        self._recovery: asyncio.Task[int] | None = None

    # ------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        """Register this node (freeing what a dead predecessor on this machine held) and
        start the heartbeat."""
        freed = await self.repo.register_node()
        log.info(
            "node registered",
            extra={"node_id": self.node.id, "holder": self.node.holder, "freed_nodes": freed},
        )
        self._beat = asyncio.create_task(self._beat_loop())

    def start_jobs(self, evaluations: EvaluationService, transcriber: AnswerTranscriber) -> None:
        """Once the models are loaded: renew the claims of what they work on, and poll."""
        self._evaluations = evaluations
        self._transcriber = transcriber
        self._working = lambda: evaluations.working | transcriber.working
        self._poll = asyncio.create_task(self._poll_loop())

    async def stop_jobs(self) -> None:
        """Take up no more jobs (a transcription taken up is dropped: its claim is freed
        at ``stop`` for another node)."""
        for task in (self._poll, self._recovery):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task

    async def stop(self) -> None:
        """Stop the heartbeat; give back every lease and claim of this node at once."""
        await self.stop_jobs()
        if self._beat is not None:
            self._beat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._beat
        try:
            await self.repo.unregister_node()
        except Exception as e:  # the database may be what is going away
            log.warning("could not give back this node's leases and claims: %s", e)

    # ------------------------------------------------------------ leases

    @property
    def held(self) -> set[str]:
        """Interviews whose lease this node holds (and renews)."""
        return {i for i in self._users if i not in self._lost}

    async def acquire(self, interview_id: str) -> Lease:
        """Take the lease for one socket; each taken lease is given back with ``release``
        once. A lease another node holds is not taken (``held`` False)."""
        async with self._lease_lock:
            lease = await self.repo.acquire_lease(interview_id)
            if lease.held:
                self._users[interview_id] = self._users.get(interview_id, 0) + 1
                self._lost.discard(interview_id)
            return lease

    async def release(self, interview_id: str) -> None:
        """One socket is done with the lease; the last one here gives it back (another
        node may take it at once)."""
        async with self._lease_lock:
            users = self._users.get(interview_id, 0) - 1
            if users > 0:
                self._users[interview_id] = users
                return
            self._users.pop(interview_id, None)
            self._lost.discard(interview_id)
            try:
                await self.repo.release_lease(interview_id)
            except Exception as e:  # it expires on its own
                log.warning(
                    "could not release the lease: %s", e, extra={"interview_id": interview_id}
                )

    async def beat(self) -> None:
        """One renewal: leases, claims, this node's seen_at; sessions whose lease another
        node took are ended."""
        leased = self.held
        still = await self.repo.heartbeat(leased, set(self._working()))
        for interview_id in leased - still:
            if interview_id not in self.held:
                continue  # released meanwhile
            self._lost.add(interview_id)
            log.warning(
                "lease taken by another node; ending the session here",
                extra={"interview_id": interview_id},
            )
            if self.on_lost is not None:
                await self.on_lost(interview_id)

    async def _beat_loop(self) -> None:
        while True:
            await asyncio.sleep(self.lease_ttl_s / 3)
            try:
                await self.beat()
            except Exception as e:  # the database is away: try again at the next beat
                log.warning("heartbeat failed: %s", e)

    # ------------------------------------------------------------ jobs

    async def poll(self) -> None:
        """One look for work: evaluations stored elsewhere for the sessions here, then
        evaluation jobs nobody holds, then (beside, one batch at a time) transcriptions."""
        evaluations, transcriber = self._evaluations, self._transcriber
        if evaluations is None or transcriber is None:
            return
        await evaluations.poll_remote()
        if taken := await evaluations.resume_pending():
            log.info("took up answer jobs", extra={"evaluations": taken})
        if self._recovery is None or self._recovery.done():
            self._recovery = asyncio.create_task(self._recover(transcriber))

    @staticmethod
    async def _recover(transcriber: AnswerTranscriber) -> int:
        try:
            done = await transcriber.recover()
        except Exception as e:
            log.warning("taking up transcriptions failed: %s", e)
            return 0
        if done:
            log.info("took up answer jobs", extra={"transcriptions": done})
        return done

    async def _poll_loop(self) -> None:
        evaluations = self._evaluations
        assert evaluations is not None
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(evaluations.room.wait(), self.job_poll_s)
            evaluations.room.clear()
            try:
                await self.poll()
            except Exception as e:
                log.warning("job poll failed: %s", e)


CLUSTER = web.AppKey("cluster", Cluster)
