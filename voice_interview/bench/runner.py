"""Load generator: starts (or finds) the server, runs N candidates at once, collects.

For every N of ``--sessions`` it creates N interviews, runs N
:class:`~voice_interview.bench.client.CandidateSession` at once, samples the server's
CPU and RSS, diffs the server's engine counters from ``/metrics``, and summarises.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import platform
import random
import re
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import psutil

from voice_interview.bench.client import (
    BenchError,
    CandidateSession,
    Mode,
    ServerApi,
    SessionOptions,
    SessionResult,
)
from voice_interview.bench.fixtures import Fixture, TurnAudio, turn_audio
from voice_interview.bench.pauses import fixture_info, offline_pass, pause_summary
from voice_interview.bench.report import stats, summarize_run, turn_to_dict

SCHEMA = "voice-interview-bench/1"
SAMPLE_INTERVAL_S = 0.5
REPO = Path(__file__).resolve().parents[2]


@dataclass
class BenchConfig:
    url: str | None = "http://127.0.0.1:8765"
    spawn: bool = False
    admin_key: str = ""
    sessions: list[int] = field(default_factory=lambda: [1])
    turns: int = 3
    mode: Mode = "auto"
    input: str = "pcm"  # "pcm" (16 kHz s16le) or "opus" (raw packets)
    fixtures_dir: str = ""
    seed: int = 0
    gap_ms: int = 300
    final_timeout_s: float = 10.0
    warmup_turns: int = 1
    complete_timeout_s: float = 900.0
    server_config: str | None = None  # --config for a spawned server
    server_database_url: str | None = None
    pauses: bool = False  # the pause fixture set: pause numbers and the offline pass
    offline: bool = True  # with pauses: one offline STT pass per fixture after the runs

    @property
    def encoding(self) -> str:
        return "opus" if self.input == "opus" else "pcm_s16le"


# ------------------------------------------------------------------------- spawn


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


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
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
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


def assign_fixtures(
    fixtures: Sequence[Fixture], sessions: int, turns: int, seed: int, *, rotate: bool = False
) -> list[list[Fixture]]:
    """Fixtures for each session's turns: a seeded shuffle, dealt round-robin.

    Session k of any N gets the same answers, so runs with different N compare.
    ``rotate`` (the pause set, where every session says every answer): session k takes
    the shuffle from its k-th answer on, so sessions do not say the same answer at once.
    """
    order = list(fixtures)
    random.Random(seed).shuffle(order)
    if rotate:
        return [[order[(k + j) % len(order)] for j in range(turns)] for k in range(sessions)]
    return [[order[(k * turns + j) % len(order)] for j in range(turns)] for k in range(sessions)]


Progress = Callable[[str], None]


@dataclass
class _RunOutput:
    sessions: list[SessionResult]
    wall_s: float
    resources: dict[str, Any]
    engines: dict[str, Any]
    load_average: list[float] | None


class BenchRunner:
    def __init__(
        self, cfg: BenchConfig, fixtures: Sequence[Fixture], progress: Progress | None = None
    ) -> None:
        self.cfg = cfg
        self.fixtures = list(fixtures)
        self.progress = progress or (lambda _m: None)
        self.server: SpawnedServer | None = None
        self.pid: int | None = None

    def _options(self, delay: float = 0.0) -> SessionOptions:
        return SessionOptions(
            mode=self.cfg.mode,
            input_encoding=self.cfg.encoding,
            gap_s=self.cfg.gap_ms / 1000.0,
            final_cap_s=self.cfg.final_timeout_s,
            complete_timeout_s=self.cfg.complete_timeout_s,
            start_delay_s=delay,
        )

    def _plans(self, fixtures: Sequence[Fixture], rng: random.Random) -> list[TurnAudio]:
        tail_s = self.cfg.final_timeout_s + 2.0
        return [turn_audio(f, encoding=self.cfg.encoding, tail_s=tail_s, rng=rng) for f in fixtures]

    async def run(self) -> dict[str, Any]:
        cfg = self.cfg
        created = datetime.now(UTC).isoformat(timespec="seconds")
        if cfg.spawn:
            self.server = SpawnedServer(cfg.server_config, cfg.server_database_url)
            base, key = self.server.base_url, self.server.admin_key
            self.pid = self.server.pid
            self.progress(f"started server pid {self.pid} on {base}")
        else:
            if not cfg.url:
                raise BenchError("give --url or --spawn")
            base, key = cfg.url, cfg.admin_key
            if not key:
                raise BenchError("an admin key is needed: --admin-key or VI_ADMIN_KEY")
            self.pid = find_listener_pid(base)
        timeout = aiohttp.ClientTimeout(total=None, sock_connect=10, sock_read=None)
        try:
            async with aiohttp.ClientSession(timeout=timeout) as http:
                api = ServerApi(http, base, key)
                alive = self.server.alive if self.server is not None else None
                try:
                    health = await api.wait_healthy(180.0 if cfg.spawn else 30.0, alive)
                except BenchError as e:
                    tail = self.server.log_tail() if self.server is not None else ""
                    raise BenchError(f"{e}\n{tail}".rstrip()) from e
                machine = machine_info(health)
                warmup = await self._warmup(api)
                runs = []
                for idx, n in enumerate(cfg.sessions):
                    runs.append(await self._run_n(api, n, idx))
        finally:
            if self.server is not None:
                self.server.stop()
        extra: dict[str, Any] = {}
        if cfg.pauses:
            extra = await self._pause_numbers(runs, machine.get("models"))
        return {
            "schema": SCHEMA,
            "created": created,
            "config": {
                "url": None if cfg.spawn else cfg.url,
                "spawn": cfg.spawn,
                "sessions": cfg.sessions,
                "turns": cfg.turns,
                "mode": cfg.mode,
                "input": cfg.input,
                "fixtures": cfg.fixtures_dir,
                "fixture_set": "pauses" if cfg.pauses else "default",
                "fixture_count": len(self.fixtures),
                "seed": cfg.seed,
                "gap_ms": cfg.gap_ms,
                "final_timeout_s": cfg.final_timeout_s,
                "warmup_turns": cfg.warmup_turns,
                "complete_timeout_s": cfg.complete_timeout_s,
                "frame_ms": 20,
            },
            "machine": machine,
            "warmup": warmup,
            "runs": runs,
            **extra,
        }

    async def _pause_numbers(
        self, runs: list[dict[str, Any]], server_models: Any
    ) -> dict[str, Any]:
        """After the sessions (and the spawned server's stop): one offline pass per
        fixture used, then each run's pause summary (into its ``summary``)."""
        used = {t["fixture"] for run in runs for t in run["turns"]}
        fixtures = [f for f in self.fixtures if f.name in used]
        offline: dict[str, Any] | None = None
        if self.cfg.offline:
            self.progress(f"offline pass: {len(fixtures)} fixture(s), beam 5, whole files")
            offline = await asyncio.to_thread(
                offline_pass,
                fixtures,
                server_models=server_models if isinstance(server_models, dict) else None,
                config_file=self.cfg.server_config,
            )
            if offline.get("skipped"):
                self.progress(str(offline["skipped"]))
        info = fixture_info(self.fixtures)
        for run in runs:
            run["summary"]["pauses"] = pause_summary(run["turns"], info, offline)
        return {"pause_fixtures": info, "offline": offline}

    async def _warmup(self, api: ServerApi) -> dict[str, Any] | None:
        """Throwaway turns on the shortest answer: first model calls are slow."""
        if self.cfg.warmup_turns <= 0:
            return None
        shortest = min(self.fixtures, key=lambda f: f.duration_s)
        rng = random.Random(self.cfg.seed ^ 0x5EED)
        plans = self._plans([shortest] * self.cfg.warmup_turns, rng)
        self.progress(f"warm-up: {len(plans)} turn(s) with {shortest.name}")
        session = CandidateSession(
            api, -1, plans, self._options(), candidate_id="bench-warmup", interview_seed=999_999
        )
        res = await session.run()
        return {"turns": len(plans), "ok": res.failure is None, "failure": res.failure}

    async def _run_n(self, api: ServerApi, n: int, run_index: int) -> dict[str, Any]:
        cfg = self.cfg
        rng = random.Random(cfg.seed * 7919 + n)
        per_session = assign_fixtures(self.fixtures, n, cfg.turns, cfg.seed, rotate=cfg.pauses)
        plans = [self._plans(f, rng) for f in per_session]
        delays = [0.0] + [rng.uniform(0.0, 1.0) for _ in range(n - 1)]
        self.progress(f"N={n}: {n} session(s) x {cfg.turns} turns, mode {cfg.mode}")
        out = await self._execute(api, n, run_index, plans, delays)
        epoch = min(
            (s.t_connect for s in out.sessions if s.t_connect is not None), default=time.monotonic()
        )
        turns = [turn_to_dict(rec, epoch) for s in out.sessions for rec in s.turns]
        lags = [x for s in out.sessions for rec in s.turns for x in rec.send_lags_ms]
        session_p95 = [
            st["p95"]
            for s in out.sessions
            if (st := stats(x for rec in s.turns for x in rec.send_lags_ms))["p95"] is not None
        ]
        summary = summarize_run(turns, mode=cfg.mode, lags_ms=lags, session_lag_p95_ms=session_p95)
        return {
            "sessions": n,
            "sessions_ok": sum(1 for s in out.sessions if s.failure is None),
            "interviews_completed": sum(
                1 for s in out.sessions if s.failure is None and s.incomplete is None
            ),
            "wall_s": round(out.wall_s, 1),
            "load_average_at_start": out.load_average,
            "summary": summary,
            "resources": out.resources,
            "engines": out.engines,
            "session_results": [
                {
                    "session": s.session,
                    "interview_id": s.interview_id,
                    "failure": s.failure,
                    "incomplete": s.incomplete,
                    "errors": [{**e, "t": round((e["t"] - epoch) * 1000, 1)} for e in s.errors],
                    "send_lag_ms": stats(x for rec in s.turns for x in rec.send_lags_ms),
                    "first_question_ms": (
                        round((s.t_first_question - s.t_connect) * 1000, 1)
                        if s.t_first_question is not None and s.t_connect is not None
                        else None
                    ),
                }
                for s in out.sessions
            ],
            "turns": turns,
        }

    async def _execute(
        self,
        api: ServerApi,
        n: int,
        run_index: int,
        plans: list[list[TurnAudio]],
        delays: list[float],
    ) -> _RunOutput:
        load = None
        with contextlib.suppress(OSError, AttributeError):
            load = [round(x, 2) for x in os.getloadavg()]
        metrics_before = await api.metrics_text()
        sampler: ResourceSampler | None = None
        if self.pid is not None:
            try:
                sampler = ResourceSampler(self.pid)
            except (psutil.Error, OSError):
                sampler = None  # the process is gone or not ours
            else:
                sampler.start()
        t0 = time.monotonic()
        sessions = [
            CandidateSession(
                api,
                k,
                plans[k],
                self._options(delays[k]),
                candidate_id=f"bench-n{n}-{k}",
                interview_seed=self.cfg.seed * 1000 + run_index * 100 + k,
                on_event=self.progress,
            )
            for k in range(n)
        ]
        results = list(await asyncio.gather(*(s.run() for s in sessions)))
        wall = time.monotonic() - t0
        metrics_after = await api.metrics_text()
        if sampler is not None:
            resources = await sampler.stop()
        else:
            resources = metrics_resources(metrics_before, metrics_after, wall)
        return _RunOutput(
            results, wall, resources, engine_deltas(metrics_before, metrics_after), load
        )
