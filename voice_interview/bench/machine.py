"""What a bench run measures around the sessions: a spawned server, its CPU and memory,
its engine counters from ``/metrics``, and the machine it ran on."""

from __future__ import annotations

import asyncio
import contextlib
import os
import platform
import re
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import psutil

from voice_interview.bench.report import stats

SAMPLE_INTERVAL_S = 0.5
REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def stop_process(
    proc: subprocess.Popen[bytes], sig: int | None = None, timeout: float = 20.0
) -> None:
    """Stop a child: ``sig`` (SIGTERM by default), then SIGKILL after ``timeout`` s."""
    if proc.poll() is not None:
        return
    if sig is None:
        proc.terminate()
    else:
        proc.send_signal(sig)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


class SpawnedServer:
    """``python -m voice_interview.cli serve`` on a free port, a temp DB and a fresh key."""

    def __init__(self, config: str | None = None, database_url: str | None = None) -> None:
        self._tmp = tempfile.TemporaryDirectory(prefix="vi-bench-")
        tmp = Path(self._tmp.name)
        self.port = free_port()
        self.admin_key = secrets.token_urlsafe(24)
        self.log_path = tmp / "server.log"
        env = dict(os.environ)
        env.update(
            {
                "VI_DATABASE_URL": database_url or f"sqlite+aiosqlite:///{tmp / 'bench.db'}",
                "VI_ADMIN_KEY": self.admin_key,
                "VI_TOKEN_SECRET": secrets.token_hex(32),
                "VI_HOST": "127.0.0.1",
                "VI_PORT": str(self.port),
            }
        )
        env.pop("VI_ADMIN_KEYS", None)
        # The bench is one address speaking for N candidates; the per-address limit meant
        # for N real clients would throttle the run, not the server under test.
        env.setdefault("VI_RATE_LIMIT_PER_MINUTE", "1000000")
        cmd = [sys.executable, "-m", "voice_interview.cli", "serve", "--port", str(self.port)]
        if config:
            cmd += ["--config", config]
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def log_tail(self, lines: int = 30) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def stop(self) -> None:
        stop_process(self.proc)
        self._tmp.cleanup()


# ------------------------------------------------------------------------- resources


class ResourceSampler:
    """Samples a process (and its children) every 0.5 s: CPU percent and RSS."""

    def __init__(self, pid: int) -> None:
        self.proc = psutil.Process(pid)
        self.me = psutil.Process()
        self.cpu: list[float] = []
        self.rss_mb: list[float] = []
        self.client_cpu: list[float] = []
        self._known: dict[int, Any] = {}
        self._task: asyncio.Task[None] | None = None
        self._cpu_times0 = 0.0
        self._t0 = 0.0

    def _procs(self) -> list[Any]:
        procs = [self.proc]
        with contextlib.suppress(psutil.Error):
            procs += self.proc.children(recursive=True)
        out = []
        for pr in procs:
            known = self._known.setdefault(pr.pid, pr)
            out.append(known)
        return out

    def _cpu_seconds(self) -> float:
        total = 0.0
        for pr in self._procs():
            with contextlib.suppress(psutil.Error):
                t = pr.cpu_times()
                total += t.user + t.system
        return total

    def _sample(self, record: bool) -> None:
        cpu = rss = 0.0
        for pr in self._procs():
            with contextlib.suppress(psutil.Error):
                cpu += pr.cpu_percent(None)
                rss += pr.memory_info().rss / 1e6
        client = self.me.cpu_percent(None)
        if record:
            self.cpu.append(cpu)
            self.rss_mb.append(rss)
            self.client_cpu.append(client)

    async def _loop(self) -> None:
        self._sample(record=False)  # the first cpu_percent call only sets the baseline
        while True:
            await asyncio.sleep(SAMPLE_INTERVAL_S)
            self._sample(record=True)

    def start(self) -> None:
        self._cpu_times0 = self._cpu_seconds()
        self._t0 = time.monotonic()
        self._task = asyncio.create_task(self._loop())

    async def stop(self) -> dict[str, Any]:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        wall = time.monotonic() - self._t0
        cpu_s = self._cpu_seconds() - self._cpu_times0
        return {
            "source": "psutil",
            "pid": self.proc.pid,
            "samples": len(self.cpu),
            "cpu_percent": stats(self.cpu),
            "cpu_seconds": round(cpu_s, 1),
            "cpu_percent_overall": round(100.0 * cpu_s / wall, 1) if wall > 0 else None,
            "rss_mb": stats(self.rss_mb),
            "client_cpu_percent": stats(self.client_cpu),
        }


def find_listener_pid(url: str) -> int | None:
    """PID of the local process listening on the URL's port (same user), if any."""
    parts = urlsplit(url)
    if parts.hostname not in ("127.0.0.1", "localhost", "::1", "0.0.0.0"):
        return None
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        for conn in psutil.net_connections(kind="tcp"):
            if conn.status == psutil.CONN_LISTEN and conn.laddr and conn.laddr.port == port:
                return int(conn.pid) if conn.pid else None
    except (psutil.Error, OSError, RuntimeError):
        return None
    return None


_SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)")
_LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


def parse_prometheus(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Prometheus text format -> {(name, sorted labels): value} (comments skipped)."""
    out: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = _SAMPLE.match(line)
        if not m:
            continue
        labels = tuple(sorted(_LABEL.findall(m.group(2) or "")))
        try:
            out[(m.group(1), labels)] = float(m.group(3))
        except ValueError:
            continue
    return out


def engine_deltas(before: str | None, after: str | None) -> dict[str, dict[str, Any]]:
    """Per engine: calls, mean run time and mean queue wait between two /metrics reads."""
    if not before or not after:
        return {}
    a, b = parse_prometheus(before), parse_prometheus(after)

    def delta(name: str, labels: tuple[tuple[str, str], ...]) -> float:
        return b.get((name, labels), 0.0) - a.get((name, labels), 0.0)

    engines = sorted(
        {dict(lab).get("engine", "") for (n, lab) in b if n == "vi_engine_inference_seconds_count"}
    )
    out: dict[str, dict[str, Any]] = {}
    for eng in engines:
        lab = (("engine", eng),)
        calls = delta("vi_engine_inference_seconds_count", lab)
        waits = delta("vi_engine_queue_wait_seconds_count", lab)
        if calls <= 0:
            continue
        run_s = delta("vi_engine_inference_seconds_sum", lab)
        wait_s = delta("vi_engine_queue_wait_seconds_sum", lab)
        out[eng] = {
            "calls": int(calls),
            "run_total_s": round(run_s, 2),
            "run_mean_ms": round(1000 * run_s / calls, 1),
            "wait_mean_ms": round(1000 * wait_s / waits, 1) if waits > 0 else None,
        }
    n_eval = delta("vi_evaluation_seconds_count", ())
    if n_eval > 0:
        out["evaluation"] = {
            "calls": int(n_eval),
            "run_mean_ms": round(1000 * delta("vi_evaluation_seconds_sum", ()) / n_eval, 1),
            "wait_mean_ms": None,
        }
    return out


def metrics_resources(before: str | None, after: str | None, wall_s: float) -> dict[str, Any]:
    """CPU/RSS from a /metrics that exports the standard process_* collector."""
    if not before or not after:
        return {"note": "no --spawn and /metrics is not readable: server CPU/RSS skipped"}
    a, b = parse_prometheus(before), parse_prometheus(after)
    cpu_a, cpu_b = (
        a.get(("process_cpu_seconds_total", ())),
        b.get(("process_cpu_seconds_total", ())),
    )
    rss = b.get(("process_resident_memory_bytes", ()))
    if cpu_a is None or cpu_b is None or rss is None:
        return {
            "note": "no --spawn, no local server process found, and /metrics has no "
            "process_* metrics: server CPU/RSS skipped"
        }
    return {
        "source": "/metrics",
        "cpu_percent_overall": round(100.0 * (cpu_b - cpu_a) / wall_s, 1) if wall_s else None,
        "cpu_seconds": round(cpu_b - cpu_a, 1),
        "rss_mb": stats([rss / 1e6]),
        "cpu_percent": None,
        "note": "from /metrics process_* counters (mean over the run only)",
    }


# ------------------------------------------------------------------------- machine


def _git(*args: str) -> str | None:
    try:
        out = subprocess.run(
            ["git", *args], cwd=REPO, capture_output=True, text=True, timeout=10, check=True
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip()


def _cpu_model() -> str | None:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or None


def machine_info(health: dict[str, Any] | None = None) -> dict[str, Any]:
    dirty = _git("status", "--porcelain", "--untracked-files=no")
    load = None
    with contextlib.suppress(OSError, AttributeError):
        load = [round(x, 2) for x in os.getloadavg()]
    mem_gb = None
    with contextlib.suppress(psutil.Error, OSError):
        mem_gb = round(psutil.virtual_memory().total / 1e9, 1)
    return {
        "cpu_count": os.cpu_count(),
        "cpu_model": _cpu_model(),
        "memory_gb": mem_gb,
        "platform": platform.platform(),
        "python": platform.python_version(),
        "load_average_at_start": load,
        "git_commit": _git("rev-parse", "--short", "HEAD"),
        "git_dirty": bool(dirty) if dirty is not None else None,
        "models": (health or {}).get("models"),
    }


# ------------------------------------------------------------------------- plan
