"""``voice-interview bench``: real-time voice load against a running (or spawned) server."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

DEFAULT_FIXTURES = Path(__file__).resolve().parents[2] / "audio_fixtures"

DESCRIPTION = """\
Streams spoken answers to the server over the WebSocket protocol in real time (one
20 ms frame every 20 ms), N candidates at once, and measures per turn: end of speech
-> speech_stopped, -> final transcript, -> first audio frame of the next question
(voice-to-voice), and final transcript -> evaluation; plus the server's CPU and RSS.
Prints a p50/p95/max table, writes bench-<time>.json and .png into --out.
See docs/BENCHMARKS.md."""


def parse_sessions(text: str) -> list[int]:
    """``"4"`` or ``"1,2,4,8"`` -> [1, 2, 4, 8] (each 1..64)."""
    try:
        values = [int(x) for x in text.split(",") if x.strip()]
    except ValueError as e:
        raise argparse.ArgumentTypeError(f"--sessions takes N or a list like 1,2,4: {e}") from e
    if not values or any(not 1 <= v <= 64 for v in values):
        raise argparse.ArgumentTypeError("--sessions values must be 1..64")
    return values


def _turns(text: str) -> int:
    try:
        value = int(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(f"--turns must be an integer: {e}") from e
    if not 1 <= value <= 20:
        raise argparse.ArgumentTypeError("--turns must be 1..20 (questions per interview)")
    return value


def add_bench_parser(
    sub: Any, common: Callable[[argparse.ArgumentParser], None] | None = None
) -> argparse.ArgumentParser:
    p: argparse.ArgumentParser = sub.add_parser(
        "bench",
        help="real-time voice latency / concurrency benchmark (a protocol client)",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    if common is not None:
        common(p)  # --config / --database-url: passed to a --spawn'ed server
        for action in p._actions:
            if action.dest in ("config", "database_url"):
                action.help = "passed to the --spawn'ed server (ignored with --url)"
    target = p.add_mutually_exclusive_group()
    target.add_argument(
        "--url", default="http://127.0.0.1:8765", help="base URL of a running server"
    )
    target.add_argument(
        "--spawn",
        action="store_true",
        help="start `python -m voice_interview.cli serve` on a free port with a temp "
        "SQLite DB and a generated admin key, and stop it at the end",
    )
    p.add_argument(
        "--admin-key",
        default=os.environ.get("VI_ADMIN_KEY", ""),
        help="recruiter key for --url (default: env VI_ADMIN_KEY)",
    )
    p.add_argument(
        "--sessions",
        type=parse_sessions,
        default=[1],
        help="concurrent candidates; a comma list (1,2,4,8) runs each N in turn",
    )
    p.add_argument(
        "--turns",
        type=_turns,
        default=None,
        help="questions per interview (default 3; with --pauses one per pause fixture, at most 20)",
    )
    p.add_argument(
        "--mode",
        choices=("auto", "explicit-end"),
        default="auto",
        help="auto: the server's VAD ends the turn; explicit-end: send end_of_answer "
        "right after the last voiced frame",
    )
    p.add_argument(
        "--fixtures",
        default=None,
        help="folder of WAV answers with manifest.json, transcripts.txt or <name>.txt "
        "(default: the repo's audio_fixtures; with --pauses audio_fixtures/pauses)",
    )
    p.add_argument(
        "--pauses",
        action="store_true",
        help="the pause fixture set (answers of kind pauses, short_first and resume from "
        "audio_fixtures/pauses): reports ends taken back, answers cut, words that landed "
        "in a neighbouring answer, and final WER against one offline STT pass per fixture",
    )
    p.add_argument(
        "--no-offline",
        action="store_true",
        help="with --pauses: skip the offline STT pass after the sessions",
    )
    p.add_argument(
        "--input",
        choices=("pcm", "opus"),
        default="pcm",
        help="pcm: PCM s16le 16 kHz frames; opus: one raw Opus packet per 20 ms",
    )
    p.add_argument("--out", default="bench-results", help="folder for the JSON and PNG")
    p.add_argument("--json", action="store_true", help="print the summary JSON as the last line")
    p.add_argument("--seed", type=int, default=0, help="fixture order, jitter and noise seed")
    p.add_argument(
        "--gap-ms",
        type=int,
        default=300,
        help="pause after the question's audio has arrived, before answering (default 300)",
    )
    p.add_argument(
        "--final-timeout-s",
        type=float,
        default=10.0,
        help="end of speech -> final transcript cap; beyond it the turn is a failure",
    )
    p.add_argument(
        "--complete-timeout-s",
        type=float,
        default=900.0,
        help="how long to wait for interview_complete (every evaluation) after the last "
        "answer (default 900)",
    )
    p.add_argument(
        "--warmup",
        type=int,
        default=1,
        help="throwaway turns before measuring (first model calls are slow); 0 = none",
    )
    p.add_argument("--no-plot", action="store_true", help="do not draw the PNG")
    p.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    p.set_defaults(func=cmd_bench)
    return p


def cmd_bench(args: argparse.Namespace) -> int:
    from voice_interview.bench.client import BenchError
    from voice_interview.bench.fixtures import FixtureError, load_fixtures
    from voice_interview.bench.pauses import PAUSE_FIXTURES, PAUSE_KINDS
    from voice_interview.bench.report import format_table, summary_json
    from voice_interview.bench.runner import BenchConfig, BenchRunner

    started = time.monotonic()

    def progress(msg: str) -> None:
        if not args.quiet:
            print(f"[bench {time.monotonic() - started:6.1f}s] {msg}", file=sys.stderr, flush=True)

    folder = args.fixtures or str(PAUSE_FIXTURES if args.pauses else DEFAULT_FIXTURES)
    try:
        fixtures = load_fixtures(folder, PAUSE_KINDS if args.pauses else None)
    except FixtureError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    turns = args.turns
    if turns is None:
        turns = min(20, len(fixtures)) if args.pauses else 3
    cfg = BenchConfig(
        url=None if args.spawn else args.url,
        spawn=args.spawn,
        admin_key=args.admin_key,
        sessions=args.sessions,
        turns=turns,
        mode=args.mode,
        input=args.input,
        fixtures_dir=str(Path(folder).resolve()),
        seed=args.seed,
        gap_ms=args.gap_ms,
        final_timeout_s=args.final_timeout_s,
        warmup_turns=max(0, args.warmup),
        complete_timeout_s=args.complete_timeout_s,
        server_config=getattr(args, "config", None),
        server_database_url=getattr(args, "database_url", None),
        pauses=args.pauses,
        offline=not args.no_offline,
    )
    if not cfg.spawn and not cfg.admin_key:
        print(
            "error: --url needs --admin-key (or env VI_ADMIN_KEY); or use --spawn", file=sys.stderr
        )
        return 2
    progress(f"{len(fixtures)} fixtures from {cfg.fixtures_dir}")
    try:
        result = asyncio.run(BenchRunner(cfg, fixtures, progress).run())
    except BenchError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    json_path = out / f"bench-{stamp}.json"
    png_path = out / f"bench-{stamp}.png"
    files: dict[str, Any] = {"json": str(json_path), "png": None}
    if not args.no_plot:
        from voice_interview.bench.plot import PlotUnavailable, plot_result

        try:
            files["png"] = str(plot_result(result, png_path))
        except PlotUnavailable as e:
            progress(str(e))
            files["png_skipped"] = str(e)
    result["files"] = files
    json_path.write_text(json.dumps(result, indent=1))
    print(format_table(result))
    print(f"\nwrote {json_path}" + (f" and {files['png']}" if files["png"] else ""))
    if args.json:
        print(json.dumps(summary_json(result), separators=(",", ":")))
    failed = sum(r["sessions"] - (r.get("sessions_ok") or 0) for r in result["runs"])
    return 1 if failed else 0
