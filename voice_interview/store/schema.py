"""Which schema revision a database is at, and moving it to the one this code needs.

The revisions are Alembic migrations in ``migrations/versions``. Two ways in:

- ``ensure_schema`` (every start, through ``Repository.init``): a database with none of
  the store's tables is migrated to the newest revision, so a first start needs no extra
  step; a database already there is used as it is; anything else (an older revision, or
  tables from before migrations) is refused with one line that says what to run.
- ``upgrade_schema`` (``voice-interview db upgrade``): runs the migrations. Tables made
  by releases from before migrations (no alembic_version table) are checked against the
  first revision and stamped with it when they match, then upgraded like any other.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util.exc import CommandError
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from voice_interview.store.tables import Base

MIGRATIONS = Path(__file__).with_name("migrations")
INITIAL_REVISION = "0001"
VERSION_TABLE = "alembic_version"
UPGRADE_COMMAND = "voice-interview db upgrade"

log = logging.getLogger(__name__)


class SchemaError(Exception):
    """The database's schema is not one this code can use as it is."""


class SchemaOutdatedError(SchemaError):
    """The database is at an older revision (or from before migrations): upgrade it."""

    def __init__(self, current: str | None, head: str) -> None:
        self.current = current
        self.head = head
        super().__init__(
            f"database schema is at revision {current or 'none'}, this server needs {head}: "
            f"run `{UPGRADE_COMMAND}`"
        )


@dataclass(frozen=True)
class UpgradeResult:
    before: str | None  # None: no revision (empty, or tables from before migrations)
    after: str
    stamped: bool  # tables from before migrations were stamped with the first revision


def _config(connection: Connection | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def _scripts() -> ScriptDirectory:
    return ScriptDirectory.from_config(_config())


def head_revision() -> str:
    head = _scripts().get_current_head()
    if head is None:
        raise SchemaError(f"no migrations found in {MIGRATIONS}")
    return head


@contextmanager
def _quiet() -> Iterator[None]:
    """Alembic says "Context impl SQLiteImpl." and the like at INFO on every look."""
    logger = logging.getLogger("alembic")
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        logger.setLevel(level)


def _current(conn: Connection) -> str | None:
    with _quiet():
        return MigrationContext.configure(conn).get_current_revision()


def _store_tables(conn: Connection) -> set[str]:
    return set(inspect(conn).get_table_names()) & set(Base.metadata.tables)


def _check_known(current: str | None, head: str) -> None:
    if current is None:
        return
    try:
        _scripts().get_revision(current)
    except CommandError:
        raise SchemaError(
            f"database schema is at revision {current}, which this version of voice-interview "
            f"does not know (was it migrated by a newer release?); this server needs {head}"
        ) from None


def _ensure(conn: Connection) -> None:
    head = head_revision()
    current = _current(conn)
    if current == head:
        return
    if current is None and not _store_tables(conn):
        with _quiet():
            command.upgrade(_config(conn), "head")
        log.info("created the database schema at revision %s", head)
        return
    _check_known(current, head)
    raise SchemaOutdatedError(current, head)


def _columns(conn: Connection) -> dict[str, set[str]]:
    insp = inspect(conn)
    return {
        t: {c["name"] for c in insp.get_columns(t)}
        for t in insp.get_table_names()
        if t != VERSION_TABLE
    }


def initial_columns() -> dict[str, set[str]]:
    """Table -> column names that the first revision creates (built in memory)."""
    engine = create_engine("sqlite://")
    try:
        with engine.begin() as conn, _quiet():
            command.upgrade(_config(conn), INITIAL_REVISION)
            return _columns(conn)
    finally:
        engine.dispose()


def legacy_mismatches(conn: Connection) -> list[str]:
    """How tables from before migrations differ from the first revision (names only)."""
    have = _columns(conn)
    problems = []
    for table, expected in sorted(initial_columns().items()):
        if table not in have:
            problems.append(f"no table {table}")
            continue
        if missing := sorted(expected - have[table]):
            problems.append(f"{table} lacks {', '.join(missing)}")
        if extra := sorted(have[table] - expected):
            problems.append(f"{table} has unknown {', '.join(extra)}")
    return problems


def _upgrade(conn: Connection) -> UpgradeResult:
    head = head_revision()
    before = _current(conn)
    _check_known(before, head)
    stamped = False
    start = before
    if before is None and _store_tables(conn):
        problems = legacy_mismatches(conn)
        if problems:
            raise SchemaError(
                "the database has tables from before migrations that do not match revision "
                f"{INITIAL_REVISION} ({'; '.join(problems)}); nothing was changed"
            )
        with _quiet():
            command.stamp(_config(conn), INITIAL_REVISION)
        stamped, start = True, INITIAL_REVISION
        log.info("stamped tables from before migrations as revision %s", INITIAL_REVISION)
    if start != head:
        with _quiet():
            command.upgrade(_config(conn), "head")
        log.info("upgraded the database schema from %s to %s", start or "none", head)
    return UpgradeResult(before, head, stamped)


# Several nodes starting at once on one empty PostgreSQL database: the first to take this
# lock creates the schema, the others wait for it and then find it at the newest revision.
SCHEMA_LOCK = 0x76695F736368  # "vi_sch"


async def _schema_lock(conn: AsyncConnection) -> None:
    if conn.dialect.name == "postgresql":
        await conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": SCHEMA_LOCK})


async def ensure_schema(engine: AsyncEngine) -> None:
    """Create the schema in an empty database; refuse any revision but the newest."""
    async with engine.begin() as conn:
        await _schema_lock(conn)
        await conn.run_sync(_ensure)


async def upgrade_schema(engine: AsyncEngine) -> UpgradeResult:
    """Run the migrations up to the newest revision (stamping pre-migration tables)."""
    async with engine.begin() as conn:
        await _schema_lock(conn)
        return await conn.run_sync(_upgrade)


async def current_revision(engine: AsyncEngine) -> str | None:
    async with engine.connect() as conn:
        return await conn.run_sync(_current)
