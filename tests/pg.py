"""A throwaway PostgreSQL cluster for the tests: ``initdb`` in a temporary folder,
``pg_ctl start`` on a free port with its socket in that folder, one database per caller.

Nothing here touches a system cluster. As root (CI), the server programs run as the
``postgres`` user (or ``nobody``), because ``initdb``, ``pg_ctl`` and ``postgres`` refuse
to run as root; the folder is handed to that user.
"""

from __future__ import annotations

import os
import pwd
import re
import shutil
import socket
import subprocess
import tempfile
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import inspect, text
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

# The programs a cluster needs. Debian keeps them off PATH, under /usr/lib/postgresql/N/bin.
PROGRAMS = ("initdb", "pg_ctl", "postgres", "psql")
SUPERUSER = "postgres"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _has_programs(folder: Path) -> bool:
    return all(os.access(folder / p, os.X_OK) for p in PROGRAMS)


def _version_key(folder: Path) -> tuple[int, ...]:
    return tuple(int(n) for n in re.findall(r"\d+", folder.parent.name)) or (0,)


def find_bindir() -> Path | None:
    """The folder holding initdb, pg_ctl, postgres and psql: ``VI_PG_BINDIR``, then the
    one of ``initdb`` on PATH, then the newest /usr/lib/postgresql/*/bin."""
    candidates: list[Path] = []
    if os.environ.get("VI_PG_BINDIR"):
        candidates.append(Path(os.environ["VI_PG_BINDIR"]))
    on_path = shutil.which("initdb")
    if on_path:
        candidates.append(Path(on_path).resolve().parent)
    candidates += sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=_version_key, reverse=True)
    return next((c for c in candidates if _has_programs(c)), None)


def _unprivileged_user() -> pwd.struct_passwd | None:
    """Who runs the server programs: None (ourselves) unless we are root."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        try:
            return pwd.getpwnam(name)
        except KeyError:
            continue
    raise RuntimeError("running as root and there is no postgres or nobody user to run initdb")


@dataclass
class PgCluster:
    bindir: Path
    root: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="vi-pg-")))
    port: int = field(default_factory=_free_port)
    user: pwd.struct_passwd | None = field(default_factory=_unprivileged_user)
    version: int = 0

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def log_path(self) -> Path:
        return self.root / "server.log"

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def _run(self, *args: str, as_owner: bool = False) -> subprocess.CompletedProcess[str]:
        owner = self.user if as_owner else None
        result = subprocess.run(
            [str(self.bindir / args[0]), *args[1:]],
            cwd=self.root,
            env={**os.environ, "LC_ALL": "C", "PGTZ": "UTC"},
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
            user=owner.pw_uid if owner else None,
            group=owner.pw_gid if owner else None,
            extra_groups=[] if owner else None,
        )
        if result.returncode != 0:
            raise RuntimeError(
                f"{' '.join(args)} failed ({result.returncode}):\n{result.stdout}{result.stderr}"
                f"\n{self.log()}"
            )
        return result

    def start(self) -> None:
        if self.user is not None:
            os.chown(self.root, self.user.pw_uid, self.user.pw_gid)
        self._run(
            "initdb", "-D", str(self.data), "-U", SUPERUSER, "--auth=trust",
            "--encoding=UTF8", "--no-sync", as_owner=True,
        )  # fmt: skip
        # Fast and disposable: nothing here has to survive a power cut.
        options = " ".join(
            [
                f"-p {self.port}",
                "-c listen_addresses=127.0.0.1",
                f"-c unix_socket_directories={self.root}",
                "-c fsync=off",
                "-c synchronous_commit=off",
                "-c full_page_writes=off",
                "-c max_connections=200",
                "-c timezone=UTC",
            ]
        )
        self._run(
            "pg_ctl", "start", "-w", "-t", "60", "-D", str(self.data), "-l", str(self.log_path),
            "-o", options, as_owner=True,
        )  # fmt: skip

        self.version = int(self.psql("SHOW server_version_num"))

    def stop(self) -> None:
        try:
            if (self.data / "postmaster.pid").exists():
                self._run("pg_ctl", "stop", "-D", str(self.data), "-m", "immediate", as_owner=True)
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    def psql(self, sql: str, database: str = "postgres") -> str:
        return self._run(
            "psql", "-h", "127.0.0.1", "-p", str(self.port), "-U", SUPERUSER, "-d", database,
            "-v", "ON_ERROR_STOP=1", "-At", "-c", sql,
        ).stdout  # fmt: skip

    def url(self, database: str) -> str:
        return f"postgresql+asyncpg://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str | None = None) -> str:
        """A new empty database; its ``postgresql+asyncpg://`` URL."""
        name = name or f"vi_{uuid.uuid4().hex[:12]}"
        # FILE_COPY (PostgreSQL 15+) is the quick way for a tiny template with fsync off.
        strategy = " STRATEGY FILE_COPY" if self.version >= 150000 else ""
        self.psql(f'CREATE DATABASE "{name}" TEMPLATE template0{strategy}')
        return self.url(name)

    def drop_database(self, name: str) -> None:
        self.psql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def database_name(url: str) -> str:
    return url.rsplit("/", 1)[1]


# ---------------------------------------------------------------- either backend


async def fetch_all(url: str, sql: str, **params: Any) -> list[tuple[Any, ...]]:
    """Rows of one SQL query on a SQLite or PostgreSQL URL, on a connection of its own
    (closed after: an open SQLite connection would keep the server from checkpointing)."""
    engine = create_async_engine(url, poolclass=NullPool)
    try:
        async with engine.connect() as conn:
            return [tuple(row) for row in (await conn.execute(text(sql), params)).all()]
    finally:
        await engine.dispose()


async def table_names(url: str) -> list[str]:
    engine = create_async_engine(url, poolclass=NullPool)
    try:
        async with engine.connect() as conn:
            return await conn.run_sync(lambda c: list(inspect(c).get_table_names()))
    finally:
        await engine.dispose()
