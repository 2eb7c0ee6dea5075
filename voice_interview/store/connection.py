"""The repository's engine, sessions and write lock (``StoreBase``), and the helpers the
query mixins share: one ``_write`` lock per process, so writes from concurrent sessions
never interleave inside SQLite's single writer; lease clocks and dialect upserts."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from voice_interview.store.nodes import Node
from voice_interview.store.records import ClaimLostError, NotFoundError, _aware, _json_dumps
from voice_interview.store.schema import (
    UpgradeResult,
    current_revision,
    ensure_schema,
    upgrade_schema,
)
from voice_interview.store.tables import (
    AnswerJobRow,
    InterviewRow,
    utcnow,
)


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.execute("PRAGMA foreign_keys=ON")
    # A deleted interview's transcripts and audio must not linger in free pages.
    cursor.execute("PRAGMA secure_delete=ON")
    cursor.close()


async def _interview_or_404(s: AsyncSession, interview_id: str) -> InterviewRow:
    row = await s.get(InterviewRow, interview_id)
    if row is None:
        raise NotFoundError(f"interview {interview_id} not found")
    return row


class StoreBase:
    def __init__(
        self, database_url: str, *, node: Node | None = None, lease_ttl_s: float = 15.0
    ) -> None:
        """``node``: who this process is to the other nodes (a new random id if not given);
        ``lease_ttl_s``: how long its leases and job claims last unless renewed."""
        self.node = node or Node.this_process()
        self.lease_ttl_s = lease_ttl_s
        url = make_url(database_url)
        self.is_sqlite = url.get_backend_name() == "sqlite"
        if self.is_sqlite and url.database and url.database != ":memory:":
            Path(url.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        self.url = url
        self.engine: AsyncEngine = create_async_engine(url, json_serializer=_json_dumps)
        if self.is_sqlite:
            event.listen(self.engine.sync_engine, "connect", _sqlite_pragmas)
        self._sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        self._write_lock = asyncio.Lock()

    async def init(self) -> None:
        """Create the schema in an empty database; refuse one at another revision
        (``SchemaOutdatedError``: ``voice-interview db upgrade`` moves it)."""
        await ensure_schema(self.engine)

    async def upgrade_schema(self) -> UpgradeResult:
        return await upgrade_schema(self.engine)

    async def schema_revision(self) -> str | None:
        return await current_revision(self.engine)

    async def close(self) -> None:
        await self.engine.dispose()

    @asynccontextmanager
    async def _read(self) -> AsyncIterator[AsyncSession]:
        async with self._sessions() as session:
            yield session

    @asynccontextmanager
    async def _write(self) -> AsyncIterator[AsyncSession]:
        async with self._write_lock, self._sessions() as session, session.begin():
            yield session

    def _until(self, now: datetime) -> datetime:
        return now + timedelta(seconds=self.lease_ttl_s)

    def _upsert(self, table: Any) -> Any:
        """``INSERT`` with ``ON CONFLICT`` of the backend (SQLite and PostgreSQL spell it
        alike; SQLAlchemy has one construct per dialect)."""
        return sqlite.insert(table) if self.is_sqlite else postgresql.insert(table)

    async def _own_job(self, s: AsyncSession, answer_id: str) -> AnswerJobRow | None:
        """The answer's job, claimed (again) by this node in the caller's transaction; None
        if it has none. ``ClaimLostError`` if another node holds an unexpired claim."""
        now = utcnow()
        job = await s.get(AnswerJobRow, answer_id, with_for_update=True)
        if job is None:
            return None
        if (
            job.claimed_by not in (None, self.node.id)
            and job.claimed_until is not None
            and _aware(job.claimed_until) >= now
        ):
            raise ClaimLostError(f"answer {answer_id} is claimed by node {job.claimed_by}")
        job.claimed_by = self.node.id
        job.claimed_until = self._until(now)
        return job
