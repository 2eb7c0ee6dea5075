"""Shared fixtures. Integration tests run the real server as a real process."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.pg import PgCluster, database_name, find_bindir
from voice_interview.bench.machine import stop_process

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
FIXTURES = REPO / "audio_fixtures"
ADMIN_KEY = "test-admin-key"
# The backends that the store, interview, crash-recovery and data-rights tests run on.
BACKENDS = ["sqlite", "postgres"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class ServerProcess:
    proc: subprocess.Popen[bytes]
    port: int
    db_path: Path
    log_path: Path
    env: dict[str, str]

    @property
    def database_url(self) -> str:
        return self.env["VI_DATABASE_URL"]

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_base(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self, sig: int | None = None) -> None:
        stop_process(self.proc, sig)


def start_server(
    tmp: Path,
    extra_env: dict[str, str] | None = None,
    db_path: Path | None = None,
    timeout: float = 120.0,
    database_url: str | None = None,
) -> ServerProcess:
    """Start ``voice-interview serve`` on a free port and wait until /health says ok.

    The database is ``database_url`` if given, else the SQLite file ``db_path``."""
    port = free_port()
    db = db_path or tmp / "vi.db"
    log_path = tmp / f"server-{port}.log"
    env = {
        **os.environ,
        "VI_DATABASE_URL": database_url or f"sqlite+aiosqlite:///{db}",
        "VI_ADMIN_KEY": ADMIN_KEY,
        "VI_TOKEN_SECRET": "test-token-secret-0123456789abcdef",
        "VI_LOG_FORMAT": "json",
        "VI_NO_ANSWER_REPROMPT_S": "60",
        "VI_NO_ANSWER_TIMEOUT_S": "120",
        # Every test talks from 127.0.0.1; the limiter has tests of its own.
        "VI_RATE_LIMIT_PER_MINUTE": "100000",
        **(extra_env or {}),
    }
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "voice_interview.cli", "serve", "--port", str(port)],
            cwd=REPO,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    server = ServerProcess(proc, port, db, log_path, env)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited early:\n{server.log()}")
        try:
            with urllib.request.urlopen(f"{server.base}/health", timeout=2) as r:
                if r.status == 200:
                    return server
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.3)
    server.stop()
    raise RuntimeError(f"server did not become healthy:\n{server.log()}")


@pytest.fixture(scope="session")
def postgres() -> Iterator[PgCluster]:
    """A PostgreSQL cluster of the session's own (see tests/pg.py), stopped and removed at
    the end. Skipped without PostgreSQL's programs, unless VI_REQUIRE_POSTGRES=1 (CI)."""
    bindir = find_bindir()
    if bindir is None:
        reason = "PostgreSQL is not installed (no initdb/pg_ctl/postgres/psql found)"
        if os.environ.get("VI_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"VI_REQUIRE_POSTGRES=1 but {reason}", pytrace=False)
        pytest.skip(reason)
    cluster = PgCluster(bindir)
    try:
        cluster.start()
    except Exception:
        cluster.stop()
        raise
    yield cluster
    cluster.stop()


@pytest.fixture(scope="session")
def postgres_url(postgres: PgCluster) -> str:
    """A ``postgresql+asyncpg://`` URL of one database in the session's cluster."""
    return postgres.create_database("vi_test")


def _database_for(backend: str, request: pytest.FixtureRequest, folder: Path) -> str:
    if backend == "sqlite":
        return f"sqlite+aiosqlite:///{folder / 'vi.db'}"
    cluster: PgCluster = request.getfixturevalue("postgres")
    url = cluster.create_database()
    request.addfinalizer(lambda: cluster.drop_database(database_name(url)))
    return url


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh empty database for one test, once on each backend."""
    return _database_for(str(request.param), request, tmp_path)


@pytest.fixture(scope="session")
def database_backend(request: pytest.FixtureRequest) -> str:
    """The backend of the shared ``server``: SQLite unless a module parametrizes it with
    ``pytest.mark.parametrize("database_backend", BACKENDS, indirect=True, scope="session")``."""
    return str(getattr(request, "param", "sqlite"))


@pytest.fixture(scope="session")
def server(
    tmp_path_factory: pytest.TempPathFactory,
    database_backend: str,
    request: pytest.FixtureRequest,
) -> Iterator[ServerProcess]:
    tmp = tmp_path_factory.mktemp("server")
    url = _database_for(database_backend, request, tmp)
    srv = start_server(tmp, database_url=url)
    yield srv
    srv.stop()


@pytest.fixture(scope="session")
def dev_set() -> Path:
    path = SHARED / "eval" / "dev.jsonl"
    if not path.is_file():
        pytest.skip("../shared/eval/dev.jsonl is not present")
    return path
