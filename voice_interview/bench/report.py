"""Bench numbers: per-turn stages, percentiles, the text table and the summary JSON.

Everything here works on plain dicts (the bench JSON), so a saved run can be
summarised again without the server.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from voice_interview.bench.client import TurnRecord
from voice_interview.bench.pauses import format_pause_table

# Client-side stages, all in ms (see docs/BENCHMARKS.md).
STAGES = (
    "speech_stopped",  # end of speech -> speech_stopped message
    "final_transcript",  # end of speech -> final transcript
    "voice_to_voice",  # end of speech -> first audio frame of the next question
    "evaluation",  # final transcript -> evaluation of that answer
    "interview_complete",  # end of speech of the last answer -> interview_complete
)
# The server's own turn_metrics.latency_ms, kept beside ours (end_check: last voice ->
# the end-of-turn check's verdict, in input audio time).
SERVER_STAGES = ("end_check", "end_of_turn", "stt_final", "tts_first_audio", "voice_to_voice")

# A session "falls behind real time" when its frames go out this late (p95).
LAG_P95_LIMIT_MS = 40.0
# speech_stopped comes ~300 ms after the last voice (VAD hangover); later than this
# means the server is not keeping up with the audio.
SPEECH_STOPPED_SANE_MS = 1000.0


def percentile(values: Sequence[float], q: float) -> float:
    """Linear-interpolated percentile (numpy's default method); ``q`` in 0..100."""
    if not values:
        raise ValueError("percentile of no values")
    if not 0.0 <= q <= 100.0:
        raise ValueError("q must be within 0..100")
    xs = sorted(values)
    pos = (len(xs) - 1) * q / 100.0
    lo = math.floor(pos)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


def stats(values: Iterable[float | None]) -> dict[str, Any]:
    """n, p50, p95, max and mean of the values that are not None (None when empty)."""
    xs = [float(v) for v in values if v is not None and math.isfinite(v)]
    if not xs:
        return {"n": 0, "p50": None, "p95": None, "max": None, "mean": None}
    return {
        "n": len(xs),
        "p50": round(percentile(xs, 50), 1),
        "p95": round(percentile(xs, 95), 1),
        "max": round(max(xs), 1),
        "mean": round(sum(xs) / len(xs), 1),
    }


# ------------------------------------------------------------------------- schedule


def frame_deadlines(t0: float, n: int, frame_s: float = 0.02) -> list[float]:
    """Absolute send deadlines of a drift-free schedule: ``t0 + i * frame_s``."""
    return [t0 + i * frame_s for i in range(n)]


def send_lags_ms(deadlines: Sequence[float], sent: Sequence[float]) -> list[float]:
    """How late each send was against its deadline, in ms (negative = early)."""
    if len(deadlines) != len(sent):
        raise ValueError("deadlines and send times differ in length")
    return [(s - d) * 1000.0 for d, s in zip(deadlines, sent, strict=True)]


def drift_ms(deadlines: Sequence[float], sent: Sequence[float]) -> float:
    """Lag of the last send minus lag of the first: how far the stream slipped overall."""
    lags = send_lags_ms(deadlines, sent)
    return lags[-1] - lags[0] if lags else 0.0


def falls_behind(lags_ms: Sequence[float], limit_ms: float = LAG_P95_LIMIT_MS) -> bool:
    return bool(lags_ms) and percentile(lags_ms, 95) > limit_ms


# ------------------------------------------------------------------------- turns


def _ms(t: float | None, epoch: float) -> float | None:
    return None if t is None else round((t - epoch) * 1000.0, 1)


def _diff(a: Any, b: Any) -> float | None:
    if isinstance(a, int | float) and isinstance(b, int | float):
        return round(float(b) - float(a), 1)
    return None


def turn_stages(turn: Mapping[str, Any]) -> dict[str, float | None]:
    """The client-side stages of one serialised turn (times in ms on one clock).

    A turn the server cut early (it ended the turn before the answer's speech was
    over) has no end of speech, so only its evaluation stage is defined.
    """
    end = turn.get("t_speech_end")
    return {
        "speech_stopped": _diff(end, turn.get("t_speech_stopped")),
        "final_transcript": _diff(end, turn.get("t_final")),
        "voice_to_voice": _diff(end, turn.get("t_next_first_audio")),
        "evaluation": _diff(turn.get("t_final"), turn.get("t_evaluation")),
        "interview_complete": _diff(end, turn.get("t_interview_complete")),
    }


def turn_to_dict(rec: TurnRecord, epoch: float) -> dict[str, Any]:
    """A TurnRecord as JSON: times in ms since ``epoch``, stages and WER added."""
    lags = rec.send_lags_ms
    out: dict[str, Any] = {
        "session": rec.session,
        "turn": rec.turn,
        "fixture": rec.fixture,
        "mode": rec.mode,
        "question_id": rec.question_id,
        "question_index": rec.question_index,
        "question_audio_ms": rec.question_audio_ms,
        "t_question": _ms(rec.t_question, epoch),
        "t_question_first_audio": _ms(rec.t_question_first_audio, epoch),
        "t_question_audio_end": _ms(rec.t_question_audio_end, epoch),
        "t_answer_start": _ms(rec.t_answer_start, epoch),
        "t_speech_end": _ms(rec.t_speech_end, epoch),
        "t_end_of_answer": _ms(rec.t_end_of_answer, epoch),
        "t_speech_stopped": _ms(rec.t_speech_stopped, epoch),
        "speech_end_audio_ms": rec.speech_end_audio_ms,
        "speech_stopped_audio_ms": rec.speech_stopped_audio_ms,
        "speech_stopped_events": [[_ms(t, epoch), ms] for t, ms in rec.speech_stopped_events],
        "t_turn_end_seen": _ms(rec.t_turn_end_seen, epoch),
        "turn_end_signal": rec.turn_end_signal,
        "t_final": _ms(rec.t_final, epoch),
        "t_next_question": _ms(rec.t_next_question, epoch),
        "t_next_first_audio": _ms(rec.t_next_first_audio, epoch),
        "t_evaluation": _ms(rec.t_evaluation, epoch),
        "t_interview_complete": _ms(rec.t_interview_complete, epoch),
        "reference": rec.reference,
        "transcript": rec.transcript,
        "wer": None if rec.wer is None else round(rec.wer, 4),
        "interim_transcripts": rec.interim_transcripts,
        "evaluation_score": rec.evaluation_score,
        "evaluation_status": rec.evaluation_status,
        "server_latency_ms": rec.server_latency_ms,
        "frames_sent": rec.frames_sent,
        "tail_frames_sent": rec.tail_frames_sent,
        "send_lag_ms": {k: v for k, v in stats(lags).items() if k != "n"},
        "cut_early": rec.cut_early,
        "early_ends": [dict(e) for e in rec.early_ends],
        "resume_events": [dict(e) for e in rec.resume_events],
        "resumes": rec.resumes,
        "barge_ins": rec.barge_ins,
        "failure": rec.failure,
    }
    out["stages"] = turn_stages(out)
    return out


def forced_end(turn: Mapping[str, Any]) -> bool:
    """Whether the bench itself ended this turn (its end_of_answer after the cap).

    In auto mode a turn that failed the cap gets an ``end_of_answer`` from the bench;
    if that is what ended it (the server's ``end_reason`` says so, or the server sent
    no metrics), its latencies measure the cap, not the server, and are left out. A
    turn the server had ended by itself (``vad``) keeps its real, late numbers.
    """
    if not turn.get("failure") or turn.get("mode") != "auto":
        return False
    reason = (turn.get("server_latency_ms") or {}).get("end_reason")
    return reason in (None, "end_of_answer")


def _counts(turns: Sequence[Mapping[str, Any]], mode: str) -> dict[str, int]:
    late = 0
    for t in turns:
        if t.get("cut_early") or t.get("t_speech_end") is None or forced_end(t):
            continue
        ss = t["stages"]["speech_stopped"]
        if mode == "auto" and (ss is None or ss > SPEECH_STOPPED_SANE_MS):
            late += 1
    return {
        "turns": len(turns),
        "answered": sum(1 for t in turns if t.get("t_final") is not None),
        "cut_early": sum(1 for t in turns if t.get("cut_early")),
        "taken_back": sum(int(t.get("resumes") or 0) for t in turns),
        "barge_ins": sum(int(t.get("barge_ins") or 0) for t in turns),
        "failed": sum(1 for t in turns if t.get("failure") or t.get("t_final") is None),
        "forced_end": sum(1 for t in turns if forced_end(t)),
        "speech_stopped_late": late,
        "evaluations": sum(1 for t in turns if t.get("t_evaluation") is not None),
    }


def summarize_run(
    turns: Sequence[Mapping[str, Any]],
    *,
    mode: str,
    lags_ms: Sequence[float] = (),
    session_lag_p95_ms: Sequence[float] = (),
) -> dict[str, Any]:
    """Stage statistics, WER, send lag and failure counts of one run (one N)."""
    clean = [t for t in turns if not t.get("cut_early") and not forced_end(t)]
    stage_stats = {s: stats(t["stages"][s] for t in clean) for s in STAGES}
    stage_stats["evaluation"] = stats(t["stages"]["evaluation"] for t in turns)
    server: dict[str, Any] = {}
    for s in SERVER_STAGES:
        server[s] = stats((t.get("server_latency_ms") or {}).get(s) for t in clean)
    wers = [t["wer"] for t in turns if t.get("wer") is not None]
    wers_clean = [t["wer"] for t in clean if t.get("wer") is not None]
    behind = [x for x in session_lag_p95_ms if x > LAG_P95_LIMIT_MS]
    counts = _counts(turns, mode)
    return {
        "stages": stage_stats,
        "server_stages": server,
        "wer": {
            "mean": round(sum(wers) / len(wers), 4) if wers else None,
            "max": round(max(wers), 4) if wers else None,
            "mean_uncut": round(sum(wers_clean) / len(wers_clean), 4) if wers_clean else None,
            "n": len(wers),
        },
        "send_lag_ms": stats(lags_ms),
        "real_time": {
            "sessions_behind": len(behind),
            "lag_p95_limit_ms": LAG_P95_LIMIT_MS,
            "speech_stopped_late": counts["speech_stopped_late"],
            "speech_stopped_limit_ms": SPEECH_STOPPED_SANE_MS,
            "ok": not behind and counts["speech_stopped_late"] == 0,
        },
        "counts": counts,
    }


# ------------------------------------------------------------------------- output


def _fmt(v: Any, width: int = 8) -> str:
    if v is None:
        return f"{'-':>{width}}"
    if isinstance(v, float):
        return f"{v:>{width}.0f}" if abs(v) >= 100 else f"{v:>{width}.1f}"
    return f"{v!s:>{width}}"


def _resource_line(res: Mapping[str, Any] | None) -> str:
    if not res:
        return "server CPU/RSS: not measured"
    if res.get("note") and res.get("cpu_percent") is None:
        return f"server CPU/RSS: {res['note']}"
    cpu, rss = res.get("cpu_percent") or {}, res.get("rss_mb") or {}
    line = (
        f"server CPU mean {_fmt(cpu.get('mean'), 0)}% max {_fmt(cpu.get('max'), 0)}% "
        f"(100% = one core), RSS mean {_fmt(rss.get('mean'), 0)} MB "
        f"max {_fmt(rss.get('max'), 0)} MB"
    )
    client = res.get("client_cpu_percent")
    if client and client.get("mean") is not None:
        line += f"; bench client CPU mean {_fmt(client['mean'], 0)}%"
    return line


def format_run_table(run: Mapping[str, Any]) -> str:
    """One run (one N) as a plain-text table, values in ms."""
    s = run["summary"]
    c = s["counts"]
    lines = [
        f"N={run['sessions']} sessions: {run.get('sessions_ok', '?')}/{run['sessions']} ran through"
        f" ({run.get('interviews_completed', '?')} got interview_complete);"
        f" turns {c['turns']} (answered {c['answered']}, cut early {c['cut_early']},"
        f" ends taken back {c.get('taken_back', 0)},"
        f" failed {c['failed']}, of them ended by the bench {c.get('forced_end', 0)});"
        f" wall {run.get('wall_s', 0):.0f} s",
        f"  {'stage (ms)':<28}{'p50':>8}{'p95':>8}{'max':>8}{'n':>6}",
    ]

    def row(name: str, st: Mapping[str, Any]) -> None:
        lines.append(f"  {name:<28}{_fmt(st['p50'])}{_fmt(st['p95'])}{_fmt(st['max'])}{st['n']:>6}")

    for stage in STAGES:
        row(stage, s["stages"][stage])
    for stage in SERVER_STAGES:
        row(f"server {stage}", s["server_stages"][stage])
    row("send lag per frame", s["send_lag_ms"])
    w = s["wer"]
    wer = "-" if w["mean"] is None else f"{w['mean']:.3f} (max {w['max']:.3f}, n {w['n']})"
    rt = s["real_time"]
    verdict = "kept up" if rt["ok"] else "FELL BEHIND"
    lines.append(f"  WER mean {wer}")
    lines.append(
        f"  real time: {verdict} (sessions with p95 send lag > {rt['lag_p95_limit_ms']:.0f} ms:"
        f" {rt['sessions_behind']}; speech_stopped later than"
        f" {rt['speech_stopped_limit_ms']:.0f} ms or missing: {rt['speech_stopped_late']})"
    )
    lines.append("  " + _resource_line(run.get("resources")))
    engines = run.get("engines") or {}
    for name, e in sorted(engines.items()):
        if name == "evaluation":
            continue
        lines.append(
            f"  engine {name}: {e['calls']} calls, run mean {_fmt(e['run_mean_ms'], 0)} ms,"
            f" queue wait mean {_fmt(e['wait_mean_ms'], 0)} ms"
        )
    if s.get("pauses"):
        lines.append(format_pause_table(s["pauses"]))
    return "\n".join(lines)


def format_table(result: Mapping[str, Any]) -> str:
    cfg = result["config"]
    m = result["machine"]
    commit = m.get("git_commit") or "unknown"
    if m.get("git_dirty"):
        commit += " (+ uncommitted changes)"
    head = (
        f"voice-interview bench: mode {cfg['mode']}, input {cfg['input']}, "
        f"{cfg['turns']} turns per interview, "
        + ("pause fixtures (--pauses), " if cfg.get("fixture_set") == "pauses" else "")
        + f"commit {commit}, "
        f"{m.get('cpu_count')} CPUs ({m.get('cpu_model') or '?'})"
    )
    parts = [head]
    for run in result["runs"]:
        parts.append(format_run_table(run))
    return "\n\n".join(parts)


def summary_json(result: Mapping[str, Any]) -> dict[str, Any]:
    """The compact summary (what ``--json`` prints): config, machine and per-N stats."""
    return {
        "schema": result.get("schema"),
        "config": result["config"],
        "machine": result["machine"],
        "runs": [
            {
                "sessions": run["sessions"],
                "sessions_ok": run.get("sessions_ok"),
                "interviews_completed": run.get("interviews_completed"),
                "wall_s": run.get("wall_s"),
                **run["summary"],
                "resources": run.get("resources"),
                "engines": run.get("engines"),
            }
            for run in result["runs"]
        ],
        "files": result.get("files", {}),
    }
