"""Nodes, interview leases and answer jobs: how several nodes share one database
(docs/SCALING.md; a mixin of ``Repository``). Leases and claims are taken with one
guarded statement each, on SQLite and PostgreSQL alike; PostgreSQL also skips rows
another node is claiming (``FOR UPDATE SKIP LOCKED``)."""

from __future__ import annotations

from collections.abc import Collection
from datetime import timedelta

from sqlalchemy import case, delete, or_, select, update
from sqlalchemy.exc import IntegrityError

from voice_interview.store.connection import StoreBase
from voice_interview.store.records import (
    _BULK,
    ClaimedJob,
    Lease,
    NotFoundError,
)
from voice_interview.store.tables import (
    AnswerJobRow,
    InterviewLeaseRow,
    NodeRow,
    utcnow,
)


class LeasesAndJobs(StoreBase):
    async def register_node(self) -> list[str]:
        """Say this node exists; free at once what dead nodes of this same machine held
        (a node restarted in place: its predecessor's pid is gone); forget nodes not seen
        for an hour. Returns the freed nodes' holders (``hostname pid N``)."""
        me = self.node
        now = utcnow()
        freed: list[str] = []
        async with self._write() as s:
            s.add(
                NodeRow(
                    id=me.id,
                    hostname=me.hostname,
                    pid=me.pid,
                    host_key=me.host_key,
                    started_at=now,
                    seen_at=now,
                )
            )
            dead = []
            if me.host_key:
                others = (
                    await s.execute(
                        select(NodeRow).where(NodeRow.host_key == me.host_key, NodeRow.id != me.id)
                    )
                ).scalars()
                dead = [n for n in others if me.sees_dead(n.host_key, n.pid)]
            ids = [n.id for n in dead]
            freed = [f"{n.hostname} pid {n.pid}" for n in dead]
            if ids:
                await s.execute(
                    delete(InterviewLeaseRow).where(InterviewLeaseRow.node_id.in_(ids)),
                    execution_options=_BULK,
                )
                await s.execute(
                    update(AnswerJobRow)
                    .where(AnswerJobRow.claimed_by.in_(ids))
                    .values(claimed_by=None, claimed_until=None),
                    execution_options=_BULK,
                )
            stale = now - timedelta(seconds=max(3600.0, 10 * self.lease_ttl_s))
            await s.execute(
                delete(NodeRow).where(or_(NodeRow.id.in_(ids), NodeRow.seen_at < stale)),
                execution_options=_BULK,
            )
        return freed

    async def unregister_node(self) -> None:
        """A clean stop: this node's leases go and its claims are freed now, for any other
        node to take without waiting for them to expire."""
        me = self.node.id
        async with self._write() as s:
            await s.execute(
                delete(InterviewLeaseRow).where(InterviewLeaseRow.node_id == me),
                execution_options=_BULK,
            )
            await s.execute(
                update(AnswerJobRow)
                .where(AnswerJobRow.claimed_by == me)
                .values(claimed_by=None, claimed_until=None),
                execution_options=_BULK,
            )
            await s.execute(delete(NodeRow).where(NodeRow.id == me), execution_options=_BULK)

    async def acquire_lease(self, interview_id: str) -> Lease:
        """Take (or renew) the interview's lease for this node, in one statement: free,
        expired or already ours, it is ours now; held by another node, it is not
        (``held`` False, and whose it is)."""
        me = self.node
        now = utcnow()
        until = self._until(now)
        table = InterviewLeaseRow.__table__
        insert = self._upsert(table).values(
            interview_id=interview_id,
            node_id=me.id,
            holder=me.holder,
            acquired_at=now,
            expires_at=until,
        )
        statement = insert.on_conflict_do_update(
            index_elements=[table.c.interview_id],
            set_={
                "node_id": insert.excluded.node_id,
                "holder": insert.excluded.holder,
                "acquired_at": case(
                    (table.c.node_id == me.id, table.c.acquired_at),
                    else_=insert.excluded.acquired_at,
                ),
                "expires_at": insert.excluded.expires_at,
            },
            where=or_(table.c.expires_at < now, table.c.node_id == me.id),
        ).returning(table.c.node_id)
        async with self._write() as s:
            try:
                taken = (await s.execute(statement)).first()
            except IntegrityError as e:  # no such interview (deleted meanwhile)
                raise NotFoundError(f"interview {interview_id} not found") from e
            if taken is not None:
                return Lease(interview_id, True, me.id, me.holder, until)
            other = await s.get(InterviewLeaseRow, interview_id)
            assert other is not None
            return Lease(interview_id, False, other.node_id, other.holder, other.expires_at)

    async def release_lease(self, interview_id: str) -> None:
        async with self._write() as s:
            await s.execute(
                delete(InterviewLeaseRow).where(
                    InterviewLeaseRow.interview_id == interview_id,
                    InterviewLeaseRow.node_id == self.node.id,
                ),
                execution_options=_BULK,
            )

    async def lease_of(self, interview_id: str) -> InterviewLeaseRow | None:
        async with self._read() as s:
            return await s.get(InterviewLeaseRow, interview_id)

    async def heartbeat(self, leased: Collection[str], working: Collection[str]) -> set[str]:
        """This node's renewal, one transaction every ``lease_ttl_s / 3``: the node's
        seen_at; the leases of ``leased`` (returns those still this node's: one missing was
        taken by another node after it expired here); the claims on the jobs of those
        interviews and of the answers in ``working``."""
        me = self.node.id
        now = utcnow()
        until = self._until(now)
        held: set[str] = set()
        async with self._write() as s:
            await s.execute(
                update(NodeRow).where(NodeRow.id == me).values(seen_at=now), execution_options=_BULK
            )
            if leased:
                renewed = await s.execute(
                    update(InterviewLeaseRow)
                    .where(
                        InterviewLeaseRow.node_id == me,
                        InterviewLeaseRow.interview_id.in_(list(leased)),
                    )
                    .values(expires_at=until)
                    .returning(InterviewLeaseRow.interview_id),
                    execution_options=_BULK,
                )
                held = {str(i) for i in renewed.scalars()}
            mine = []
            if held:
                mine.append(AnswerJobRow.interview_id.in_(list(held)))
            if working:
                mine.append(AnswerJobRow.answer_id.in_(list(working)))
            if mine:
                await s.execute(
                    update(AnswerJobRow)
                    .where(AnswerJobRow.claimed_by == me, or_(*mine))
                    .values(claimed_until=until),
                    execution_options=_BULK,
                )
        return held

    async def claim_job(self, answer_id: str) -> ClaimedJob | None:
        """Claim one answer's job for this node now (the fast path: the node that made the
        answer works on it at once). None if it has no job (done) or another node holds an
        unexpired claim on it."""
        me = self.node.id
        now = utcnow()
        async with self._write() as s:
            result = await s.execute(
                update(AnswerJobRow)
                .where(
                    AnswerJobRow.answer_id == answer_id,
                    or_(
                        AnswerJobRow.claimed_by == me,
                        AnswerJobRow.claimed_until.is_(None),
                        AnswerJobRow.claimed_until < now,
                    ),
                )
                .values(claimed_by=me, claimed_until=self._until(now))
                .returning(AnswerJobRow.interview_id, AnswerJobRow.kind, AnswerJobRow.pickups),
                execution_options=_BULK,
            )
            got = result.first()
        if got is None:
            return None
        return ClaimedJob(answer_id, str(got[0]), str(got[1]), int(got[2]))

    async def claim_jobs(
        self, kind: str, limit: int, exclude: Collection[str] = ()
    ) -> list[ClaimedJob]:
        """Claim up to ``limit`` jobs of ``kind`` that nobody holds (never claimed, or the
        claim lapsed), oldest first. On PostgreSQL the rows are picked ``FOR UPDATE SKIP
        LOCKED``, so nodes polling at once take different jobs; the guarded ``UPDATE``
        (the same on SQLite, which has no row locks) is what makes a claim one node's."""
        if limit <= 0:
            return []
        me = self.node.id
        now = utcnow()
        lapsed = or_(AnswerJobRow.claimed_until.is_(None), AnswerJobRow.claimed_until < now)
        query = (
            select(AnswerJobRow.answer_id)
            .where(AnswerJobRow.kind == kind, lapsed)
            .order_by(AnswerJobRow.created_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        if exclude:
            query = query.where(AnswerJobRow.answer_id.not_in(list(exclude)))
        async with self._write() as s:
            ids = list((await s.execute(query)).scalars())
            if not ids:
                return []
            result = await s.execute(
                update(AnswerJobRow)
                .where(AnswerJobRow.answer_id.in_(ids), AnswerJobRow.kind == kind, lapsed)
                .values(
                    claimed_by=me,
                    claimed_until=self._until(now),
                    # A lapsed claim (not a free job): the node that held it stopped.
                    pickups=AnswerJobRow.pickups
                    + case((AnswerJobRow.claimed_until.is_not(None), 1), else_=0),
                )
                .returning(AnswerJobRow.answer_id, AnswerJobRow.interview_id, AnswerJobRow.pickups),
                execution_options=_BULK,
            )
            claimed = [ClaimedJob(str(a), str(i), kind, int(n)) for a, i, n in result.all()]
        order = {a: k for k, a in enumerate(ids)}
        return sorted(claimed, key=lambda j: order[j.answer_id])

    async def release_job(self, answer_id: str) -> None:
        """Give this node's claim back now (anyone may take the job at once)."""
        async with self._write() as s:
            await s.execute(
                update(AnswerJobRow)
                .where(AnswerJobRow.answer_id == answer_id, AnswerJobRow.claimed_by == self.node.id)
                .values(claimed_by=None, claimed_until=None),
                execution_options=_BULK,
            )

    async def drop_job(self, answer_id: str) -> None:
        """The job has nothing left to do (its evaluation is stored already)."""
        async with self._write() as s:
            await s.execute(
                delete(AnswerJobRow).where(AnswerJobRow.answer_id == answer_id),
                execution_options=_BULK,
            )

    async def job_of(self, answer_id: str) -> AnswerJobRow | None:
        async with self._read() as s:
            return await s.get(AnswerJobRow, answer_id)

    async def jobs(self) -> list[AnswerJobRow]:
        async with self._read() as s:
            rows = await s.execute(select(AnswerJobRow).order_by(AnswerJobRow.created_at))
            return list(rows.scalars())
