"""Two front nodes on a shared PostgreSQL and shared inference servers, beside one node
with local models, measured by the same bench in one run (docs/SCALING.md, issue 14).

Starts, each on a free port and in one temporary folder removed at the end:

* a throwaway PostgreSQL cluster (``tests/pg.py``: initdb + pg_ctl, no system service)
  and ``voice-interview db upgrade`` on a new database;
* ``python -m llama_cpp.server`` on the bundled GGUF (VI_LLM_URL) and
  ``python -m faster_whisper_server`` on the bundled STT model, beam 5 (VI_STT_URL),
  as docs/REMOTE_INFERENCE.md runs them;
* two ``voice-interview serve`` nodes on that database and those servers, sharing the
  admin key and token secret, and nginx in front with deploy/nginx.conf's proxy rules;

then ``voice-interview bench --url <nginx>`` at each N; stops all of it, and runs
``voice-interview bench --spawn`` (one node, local models, SQLite) at the same N.
Prints a markdown table and writes it with every figure as JSON into --out.

    .venv/bin/python scripts/bench_cluster.py --sessions 4,8,16 --out bench-cluster

Run it from the repository root on an otherwise idle machine: every process shares its
cores, so the figures say what one box does with the work split this way, not what
separate machines would.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.pg import PgCluster, _free_port, find_bindir  # noqa: E402
from voice_interview.bench.machine import stop_process  # noqa: E402

ADMIN_KEY = "bench-cluster-admin-key"
TOKEN_SECRET = "bench-cluster-token-secret-0123456789abcdef"
NGINX_CONF = """
pid {tmp}/nginx.pid;
error_log {tmp}/nginx-error.log;
worker_processes 1;
events {{}}
http {{
    access_log {tmp}/nginx-access.log;
    client_body_temp_path {tmp}/nginx-body;
    proxy_temp_path {tmp}/nginx-proxy;
    fastcgi_temp_path {tmp}/nginx-fastcgi;
    uwsgi_temp_path {tmp}/nginx-uwsgi;
    scgi_temp_path {tmp}/nginx-scgi;
    map $http_upgrade $connection_upgrade {{
        default upgrade;
        ""      "";
    }}
    upstream front {{
{servers}
        keepalive 16;
    }}
    server {{
        listen 127.0.0.1:{port};
        client_max_body_size 2m;
        location / {{
            proxy_pass http://front;
            proxy_http_version 1.1;
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection $connection_upgrade;
            proxy_set_header Host $http_host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_next_upstream error timeout;
            proxy_connect_timeout 2s;
            proxy_read_timeout 3600s;
            proxy_send_timeout 3600s;
            proxy_buffering off;
        }}
    }}
}}
"""


@dataclass
class Child:
    name: str
    proc: subprocess.Popen[bytes]
    log: Path

    def stop(self) -> None:
        stop_process(self.proc)


@dataclass
class Sampler:
    """CPU seconds and peak RSS of each watched process (children included), once a
    second in a thread."""

    procs: dict[str, int]
    peak_rss_mb: dict[str, float] = field(default_factory=dict)
    cpu_s: dict[str, float] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)

    def _sample(self) -> None:
        for name, pid in self.procs.items():
            try:
                top = psutil.Process(pid)
                tree = [top, *top.children(recursive=True)]
                rss = sum(p.memory_info().rss for p in tree) / 2**20
                cpu = sum(sum(p.cpu_times()[:2]) for p in tree)
            except psutil.Error:
                continue
            self.peak_rss_mb[name] = max(self.peak_rss_mb.get(name, 0.0), rss)
            self.cpu_s[name] = cpu

    def run(self) -> None:
        while not self._stop.wait(1.0):
            self._sample()

    def __enter__(self) -> Sampler:
        self._sample()
        self._start = dict(self.cpu_s)
        self._thread = threading.Thread(target=self.run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()
        self.cpu_s = {k: round(v - self._start.get(k, 0.0), 1) for k, v in self.cpu_s.items()}
        self.peak_rss_mb = {k: round(v, 1) for k, v in self.peak_rss_mb.items()}


def wait_http(url: str, child: Child, timeout: float = 180.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if child.proc.poll() is not None:
            tail = child.log.read_text(errors="replace")[-3000:]
            raise RuntimeError(f"{child.name} exited early:\n{tail}")
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.3)
    raise RuntimeError(f"{child.name} did not answer {url} within {timeout:.0f} s")


def spawn(name: str, args: Sequence[str], tmp: Path, env: dict[str, str]) -> Child:
    log = tmp / f"{name}.log"
    with open(log, "wb") as fh:
        proc = subprocess.Popen(list(args), cwd=REPO, env=env, stdout=fh, stderr=subprocess.STDOUT)
    return Child(name, proc, log)


def bundled_models() -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, "-m", "voice_interview.cli", "models", "--json"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    )
    models: dict[str, Any] = json.loads(out.stdout)
    return models


def run_bench(args: list[str], env: dict[str, str]) -> dict[str, Any]:
    cmd = [sys.executable, "-m", "voice_interview.cli", "bench", *args, "--json", "--quiet"]
    print("+", " ".join(cmd), flush=True)
    done = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True)
    sys.stdout.write(done.stdout.rsplit("\n", 2)[0] + "\n")
    lines = [ln for ln in done.stdout.splitlines() if ln.startswith("{")]
    if not lines:
        raise RuntimeError(f"bench gave no JSON (exit {done.returncode}):\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(lines[-1])
    result["exit_status"] = done.returncode
    return result


def rows_of(setup: str, bench: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for run in bench["runs"]:
        s = run.get("summary", run)  # the printed summary has no "summary" level
        st: dict[str, dict[str, float]] = s["stages"]

        def pct(stage: str, key: str, st: dict[str, dict[str, float]] = st) -> float | None:
            value = st.get(stage, {}).get(key)
            return None if value is None else round(float(value))

        rows.append(
            {
                "setup": setup,
                "sessions": run["sessions"],
                "turns": s["counts"]["turns"],
                "failed": s["counts"]["failed"],
                "cut_early": s["counts"]["cut_early"],
                "taken_back": s["counts"].get("taken_back"),
                "v2v_p50": pct("voice_to_voice", "p50"),
                "v2v_p95": pct("voice_to_voice", "p95"),
                "final_p50": pct("final_transcript", "p50"),
                "final_p95": pct("final_transcript", "p95"),
                "evaluation_p50": pct("evaluation", "p50"),
                "real_time_ok": s["real_time"]["ok"],
                "load_average_at_start": run.get("load_average_at_start")
                or bench.get("machine", {}).get("load_average_at_start"),
                "wall_s": run["wall_s"],
            }
        )
    return rows


def table(rows: list[dict[str, Any]]) -> str:
    head = (
        "| setup | N | turns (failed / cut) | voice-to-voice p50 / p95 | final transcript "
        "p50 / p95 | evaluation p50 | kept real time | load at start |\n"
        "| --- | ---: | --- | --- | --- | ---: | --- | --- |\n"
    )

    def ms(v: float | None) -> str:
        return "-" if v is None else f"{v:.0f}"

    def s(v: float | None) -> str:
        return "-" if v is None else f"{v / 1000:.1f} s"

    body = "".join(
        f"| {r['setup']} | {r['sessions']} | {r['turns']} ({r['failed']} / {r['cut_early']}) | "
        f"{ms(r['v2v_p50'])} / {ms(r['v2v_p95'])} ms | {s(r['final_p50'])} / "
        f"{s(r['final_p95'])} | {s(r['evaluation_p50'])} | "
        f"{'yes' if r['real_time_ok'] else 'no'} | {(r['load_average_at_start'] or ['-'])[0]} |\n"
        for r in rows
    )
    return head + body


def cluster_run(tmp: Path, sessions: str, turns: int, out: Path) -> dict[str, Any]:
    bindir = find_bindir()
    nginx = shutil.which("nginx") or (
        "/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx") else None
    )
    if bindir is None:
        raise SystemExit("PostgreSQL's programs are missing: apt-get install postgresql")
    if nginx is None:
        raise SystemExit("nginx is missing: apt-get install nginx")
    models = bundled_models()
    offline = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    children: list[Child] = []
    pg = PgCluster(bindir)
    pg.start()
    try:
        url = pg.create_database("vi_bench")
        node_env = {
            **os.environ,
            "VI_DATABASE_URL": url,
            "VI_ADMIN_KEY": ADMIN_KEY,
            "VI_TOKEN_SECRET": TOKEN_SECRET,
            "VI_RATE_LIMIT_PER_MINUTE": "100000",
            "VI_LOG_FORMAT": "json",
        }
        subprocess.run(
            [sys.executable, "-m", "voice_interview.cli", "db", "upgrade"],
            cwd=REPO,
            env=node_env,
            check=True,
        )
        llm_port, stt_port = _free_port(), _free_port()
        llm = spawn(
            "llama_cpp_server",
            [
                sys.executable,
                "-m",
                "llama_cpp.server",
                "--model",
                models["llm"]["path"],
                "--host",
                "127.0.0.1",
                "--port",
                str(llm_port),
                "--n_ctx",
                "2048",
                "--seed",
                "0",
            ],
            tmp,
            offline,
        )
        children.append(llm)
        fws = tmp / "fws.yaml"
        fws.write_text(
            json.dumps(
                {
                    "models": [
                        {
                            "name": "whisper-1",
                            "path": models["stt"]["path"],
                            "model_options": {"device": "cpu", "compute_type": "int8"},
                            "transcribe_options": {
                                "beam_size": 5,
                                "condition_on_previous_text": False,
                            },
                        }
                    ]
                }
            )
        )  # JSON is YAML
        stt = spawn(
            "faster_whisper_server",
            [
                sys.executable,
                "-m",
                "faster_whisper_server",
                "--config",
                str(fws),
                "--host",
                "127.0.0.1",
                "--port",
                str(stt_port),
            ],
            tmp,
            offline,
        )
        children.append(stt)
        wait_http(f"http://127.0.0.1:{llm_port}/v1/models", llm)
        wait_http(f"http://127.0.0.1:{stt_port}/health", stt)
        node_env["VI_LLM_URL"] = f"http://127.0.0.1:{llm_port}/v1"
        node_env["VI_STT_URL"] = f"http://127.0.0.1:{stt_port}/v1"
        ports = [_free_port(), _free_port()]
        nodes = []
        for name, port in zip(("node_a", "node_b"), ports, strict=True):
            node = spawn(
                name,
                [
                    sys.executable,
                    "-m",
                    "voice_interview.cli",
                    "serve",
                    "--port",
                    str(port),
                ],
                tmp,
                node_env,
            )
            children.append(node)
            nodes.append(node)
        for node, port in zip(nodes, ports, strict=True):
            wait_http(f"http://127.0.0.1:{port}/health", node)
        lb_port = _free_port()
        servers = "\n".join(
            f"        server 127.0.0.1:{p} max_fails=1 fail_timeout=10s;" for p in ports
        )
        conf = tmp / "nginx.conf"
        conf.write_text(NGINX_CONF.format(tmp=tmp, servers=servers, port=lb_port))
        lb = spawn("nginx", [nginx, "-c", str(conf), "-g", "daemon off;"], tmp, dict(os.environ))
        children.append(lb)
        wait_http(f"http://127.0.0.1:{lb_port}/health", lb)
        watched = {c.name: c.proc.pid for c in children}
        watched["postgres"] = _postmaster_pid(pg)
        with Sampler(watched) as sampler:
            bench = run_bench(
                [
                    "--url",
                    f"http://127.0.0.1:{lb_port}",
                    "--admin-key",
                    ADMIN_KEY,
                    "--sessions",
                    sessions,
                    "--turns",
                    str(turns),
                    "--out",
                    str(out),
                ],
                dict(os.environ),
            )
        bench["processes"] = {"cpu_s": sampler.cpu_s, "peak_rss_mb": sampler.peak_rss_mb}
        return bench
    finally:
        for child in reversed(children):
            child.stop()
        pg.stop()


def _postmaster_pid(pg: PgCluster) -> int:
    first = (pg.data / "postmaster.pid").read_text().split("\n", 1)[0]
    return int(first)


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sessions", default="4,8,16", help="N values, as for bench --sessions")
    ap.add_argument("--turns", type=int, default=3, help="questions per interview")
    ap.add_argument("--out", type=Path, default=Path("bench-cluster"))
    ap.add_argument("--skip-local", action="store_true", help="only the two-node setup")
    args = ap.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="vi-cluster-"))
    try:
        two = cluster_run(tmp, args.sessions, args.turns, args.out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    rows = rows_of("two nodes, shared PostgreSQL + llama_cpp.server + faster-whisper-server", two)
    local: dict[str, Any] | None = None
    if not args.skip_local:
        local = run_bench(
            [
                "--spawn",
                "--sessions",
                args.sessions,
                "--turns",
                str(args.turns),
                "--out",
                str(args.out),
            ],
            dict(os.environ),
        )
        rows += rows_of("one node, local models, SQLite", local)
    report = table(rows)
    procs = two["processes"]
    report += (
        "\nTwo-node run, per process: CPU seconds / peak RSS MB: "
        + ", ".join(
            f"{k} {procs['cpu_s'].get(k, 0)} s / {procs['peak_rss_mb'].get(k, 0)} MB"
            for k in sorted(procs["peak_rss_mb"])
        )
        + "\n"
    )
    print(report)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    (args.out / f"cluster-{stamp}.md").write_text(report)
    (args.out / f"cluster-{stamp}.json").write_text(
        json.dumps({"rows": rows, "two_nodes": two, "one_node": local}, indent=1)
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
