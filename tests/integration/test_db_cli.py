"""``voice-interview db`` and the schema check of ``serve``, as real processes, on SQLite and
PostgreSQL: a database from before migrations makes the server refuse to start with one
line; ``db upgrade`` stamps it in place; then the server starts on it."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import ADMIN_KEY, REPO, free_port
from voice_interview.domain.question import Question
from voice_interview.store.repository import Repository
from voice_interview.store.schema import initial_columns
from voice_interview.store.tables import Base

pytestmark = pytest.mark.asyncio(loop_scope="session")

REFUSAL = (
    "error: database schema is at revision none, this server needs 0002: "
    "run `voice-interview db upgrade`"
)


def _env(database_url: str) -> dict[str, str]:
    return {
        **os.environ,
        "VI_DATABASE_URL": database_url,
        "VI_ADMIN_KEY": ADMIN_KEY,
        "VI_TOKEN_SECRET": "test-token-secret-0123456789abcdef",
        "VI_LOAD_MODELS": "false",
    }


def _cli(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "voice_interview.cli", *args],
        cwd=REPO,
        env=_env(database_url),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


async def _database_from_before_migrations(database_url: str) -> None:
    """What releases before migrations left: create_all's tables (those of the first
    revision), some data, no version."""
    tables = [Base.metadata.tables[name] for name in initial_columns()]
    repo = Repository(database_url)
    try:
        async with repo.engine.begin() as conn:
            await conn.run_sync(lambda c: Base.metadata.create_all(c, tables=tables))
        await repo.get_or_create_secret("token_secret")
    finally:
        await repo.close()


def _serve_until_up(database_url: str, tmp_path: Path) -> str:
    """Start ``serve`` (no models), wait for any HTTP answer on /health, stop; its output."""
    port = free_port()
    log_path = tmp_path / f"serve-{port}.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "voice_interview.cli", "serve", "--port", str(port)],
            cwd=REPO,
            env=_env(database_url),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2).close()
                break
            except urllib.error.HTTPError:  # 503 while no models load: up all the same
                break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.2)
        else:
            pytest.fail(f"serve did not come up:\n{log_path.read_text(errors='replace')}")
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    return log_path.read_text(errors="replace")


async def test_old_database_is_refused_then_upgraded_in_place(
    database_url: str, tmp_path: Path
) -> None:
    await _database_from_before_migrations(database_url)
    started = time.monotonic()
    refused = _cli(database_url, "serve", "--port", str(free_port()))
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert refused.stderr.strip() == REFUSAL  # one line, before any model is looked at
    assert time.monotonic() - started < 30
    current = _cli(database_url, "db", "current")
    assert (current.returncode, current.stdout.strip()) == (0, "none")

    upgraded = _cli(database_url, "db", "upgrade")
    assert upgraded.returncode == 0, upgraded.stderr
    assert upgraded.stdout.splitlines() == [
        "tables from before migrations match revision 0001: stamped",
        "database schema upgraded from 0001 to 0002",
    ]
    assert _cli(database_url, "db", "current").stdout.strip() == "0002"
    again = _cli(database_url, "db", "upgrade")
    assert again.stdout.strip() == "database schema is at revision 0002: up to date"

    output = _serve_until_up(database_url, tmp_path)
    assert "database schema" not in output
    repo = Repository(database_url)
    try:
        await repo.init()
        assert await repo.count_interviews() == 0
    finally:
        await repo.close()


async def test_serve_creates_an_empty_database(database_url: str, tmp_path: Path) -> None:
    _serve_until_up(database_url, tmp_path)
    assert _cli(database_url, "db", "current").stdout.strip() == "0002"
    repo = Repository(database_url)
    try:
        await repo.init()
        row = await repo.create_interview(
            "c", None, None, [Question.of("Q?", "technical", "easy", [], [], bank_id="b")]
        )
        assert (await repo.get_interview(row.id)).total == 1
    finally:
        await repo.close()


async def test_db_upgrade_creates_an_empty_database(database_url: str) -> None:
    upgraded = _cli(database_url, "db", "upgrade")
    assert upgraded.returncode == 0, upgraded.stderr
    assert upgraded.stdout.strip() == "database schema upgraded from none to 0002"


async def test_a_database_that_cannot_be_opened_is_one_line() -> None:
    url = f"postgresql+asyncpg://vi:hunter2@127.0.0.1:{free_port()}/nowhere"
    for args in (("serve", "--port", str(free_port())), ("db", "upgrade")):
        result = _cli(url, *args)
        assert result.returncode == 2, result.stdout + result.stderr
        line = result.stderr.strip()
        assert "\n" not in line and "hunter2" not in line
        assert line.startswith("error: cannot open the database postgresql+asyncpg://vi:***@")
