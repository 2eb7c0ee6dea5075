"""The Alembic migrations against the tables' metadata, on SQLite and PostgreSQL: an empty
database is created at the newest revision, an older one is refused until ``db upgrade``,
and tables from before migrations are stamped in place."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection

from voice_interview.domain.question import Question
from voice_interview.store import schema
from voice_interview.store.repository import Repository
from voice_interview.store.tables import Base

# asyncpg's connections belong to the loop that opened them: one loop for fixtures and tests.
pytestmark = pytest.mark.asyncio(loop_scope="session")

HEAD = "0002"


@pytest.fixture
async def repo(database_url: str) -> Repository:
    """A repository on a fresh, empty database (not initialised)."""
    r = Repository(database_url)
    yield r  # type: ignore[misc]
    await r.close()


def _layout(conn: Connection) -> dict[str, dict[str, Any]]:
    """Every table's columns (name, type, nullable), primary key, uniques and foreign keys."""
    insp = inspect(conn)
    out: dict[str, dict[str, Any]] = {}
    for table in insp.get_table_names():
        if table == schema.VERSION_TABLE:
            continue
        out[table] = {
            "columns": {
                c["name"]: (str(c["type"].compile(dialect=conn.dialect)), c["nullable"])
                for c in insp.get_columns(table)
            },
            "pk": insp.get_pk_constraint(table)["constrained_columns"],
            "unique": sorted(tuple(u["column_names"]) for u in insp.get_unique_constraints(table)),
            "fks": sorted(
                (tuple(f["constrained_columns"]), f["referred_table"], f["options"].get("ondelete"))
                for f in insp.get_foreign_keys(table)
            ),
        }
    return out


async def _create_all(repo: Repository, *, before_migrations: bool = False) -> None:
    """create_all's tables; ``before_migrations``: only those of the first revision, what
    releases before migrations made at every start."""
    tables = None
    if before_migrations:
        tables = [Base.metadata.tables[name] for name in schema.initial_columns()]
    async with repo.engine.begin() as conn:
        await conn.run_sync(lambda c: Base.metadata.create_all(c, tables=tables))


async def _layout_of(repo: Repository) -> dict[str, dict[str, Any]]:
    async with repo.engine.connect() as conn:
        return await conn.run_sync(_layout)


async def _has_version_table(repo: Repository) -> bool:
    async with repo.engine.connect() as conn:
        return schema.VERSION_TABLE in await conn.run_sync(lambda c: inspect(c).get_table_names())


def _questions() -> list[Question]:
    return [Question.of("Q?", "technical", "easy", ["k"], ["sql"], bank_id="b")]


async def test_upgrade_on_an_empty_database_gives_the_metadata_exactly(repo: Repository) -> None:
    result = await repo.upgrade_schema()
    assert result == schema.UpgradeResult(before=None, after=HEAD, stamped=False)
    assert schema.head_revision() == HEAD
    assert await repo.schema_revision() == HEAD
    async with repo.engine.connect() as conn:
        diff = await conn.run_sync(
            lambda c: compare_metadata(MigrationContext.configure(c), Base.metadata)
        )
    assert diff == []
    migrated = await _layout_of(repo)
    assert set(migrated) == set(Base.metadata.tables)
    for name, table in Base.metadata.tables.items():
        assert set(migrated[name]["columns"]) == {c.name for c in table.columns}, name
    # The same tables, columns, types, keys and constraints as create_all makes.
    await _drop_everything(repo)
    await _create_all(repo)
    assert await _layout_of(repo) == migrated


async def _drop_everything(repo: Repository) -> None:
    async with repo.engine.begin() as conn:
        await conn.run_sync(Base.metadata.drop_all)
        await conn.execute(text(f"DROP TABLE {schema.VERSION_TABLE}"))


async def test_init_creates_an_empty_database_and_accepts_it_after(repo: Repository) -> None:
    await repo.init()
    assert await repo.schema_revision() == HEAD
    await repo.create_interview("cand", None, None, _questions())
    await repo.init()  # at head: used as it is
    assert await repo.count_interviews() == 1


async def test_tables_from_before_migrations_are_refused_then_stamped(repo: Repository) -> None:
    await _create_all(repo, before_migrations=True)
    await repo.create_interview("cand", None, None, _questions())
    with pytest.raises(schema.SchemaOutdatedError) as refused:
        await repo.init()
    assert str(refused.value) == (
        "database schema is at revision none, this server needs 0002: "
        "run `voice-interview db upgrade`"
    )
    assert not await _has_version_table(repo)  # nothing changed by the refusal
    result = await repo.upgrade_schema()  # stamped 0001, then upgraded to the head
    assert result == schema.UpgradeResult(before=None, after=HEAD, stamped=True)
    assert await repo.schema_revision() == HEAD
    await repo.init()
    assert await repo.count_interviews() == 1  # the data is where it was
    again = await repo.upgrade_schema()
    assert again == schema.UpgradeResult(before=HEAD, after=HEAD, stamped=False)


async def test_old_tables_that_do_not_match_are_left_alone(repo: Repository) -> None:
    async with repo.engine.begin() as conn:
        await conn.execute(text("CREATE TABLE candidates (id VARCHAR(64) PRIMARY KEY)"))
        await conn.execute(
            text("CREATE TABLE answers (id VARCHAR(36) PRIMARY KEY, audio_ogg BLOB)")
            if repo.is_sqlite
            else text("CREATE TABLE answers (id VARCHAR(36) PRIMARY KEY, audio_ogg BYTEA)")
        )
    with pytest.raises(schema.SchemaError) as failed:
        await repo.upgrade_schema()
    message = str(failed.value)
    assert "do not match revision 0001" in message
    assert "candidates lacks created_at" in message
    assert "answers has unknown audio_ogg" in message and "no table interviews" in message
    assert not await _has_version_table(repo)


async def test_an_unknown_revision_is_refused(repo: Repository) -> None:
    await repo.init()
    async with repo.engine.begin() as conn:
        await conn.execute(text(f"UPDATE {schema.VERSION_TABLE} SET version_num = 'f00d'"))
    for step in (repo.init, repo.upgrade_schema):
        with pytest.raises(schema.SchemaError, match="revision f00d, which this version"):
            await step()


NEXT_REVISION = """
import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("interviews", sa.Column("note", sa.Text(), nullable=True))


def downgrade() -> None:
    op.drop_column("interviews", "note")
"""


async def test_an_older_revision_is_refused_until_upgraded(
    repo: Repository, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A database at 0002 under a release whose migrations go on to 0003."""
    await repo.init()
    await repo.create_interview("cand", None, None, _questions())
    newer = tmp_path / "migrations"
    shutil.copytree(schema.MIGRATIONS, newer, ignore=shutil.ignore_patterns("__pycache__"))
    (newer / "versions" / "0003_note.py").write_text(NEXT_REVISION)
    monkeypatch.setattr(schema, "MIGRATIONS", newer)
    with pytest.raises(schema.SchemaOutdatedError) as refused:
        await repo.init()
    assert str(refused.value) == (
        "database schema is at revision 0002, this server needs 0003: "
        "run `voice-interview db upgrade`"
    )
    result = await repo.upgrade_schema()
    assert result == schema.UpgradeResult(before="0002", after="0003", stamped=False)
    await repo.init()
    assert "note" in (await _layout_of(repo))["interviews"]["columns"]
    assert await repo.count_interviews() == 1
