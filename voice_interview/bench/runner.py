"""Load generator: starts (or finds) the server, runs N candidates at once, collects.

For every N of ``--sessions`` it creates N interviews, runs N
:class:`~voice_interview.bench.client.CandidateSession` at once, samples the server's
CPU and RSS, diffs the server's engine counters from ``/metrics``, and summarises.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

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
from voice_interview.bench.machine import (
    ResourceSampler,
    SpawnedServer,
    engine_deltas,
    find_listener_pid,
    machine_info,
    metrics_resources,
)
from voice_interview.bench.pauses import fixture_info, offline_pass, pause_summary
from voice_interview.bench.report import stats, summarize_run, turn_to_dict

SCHEMA = "voice-interview-bench/1"


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
