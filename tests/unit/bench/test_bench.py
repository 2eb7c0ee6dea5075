"""The pure parts of ``voice-interview bench``: percentiles, fixtures, pacing, reports."""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import shutil
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf

from tests.paths import REPO
from voice_interview.bench import report
from voice_interview.bench.cli import parse_sessions
from voice_interview.bench.client import (
    CandidateSession,
    QuestionSeen,
    Received,
    SessionOptions,
    TurnRecord,
)
from voice_interview.bench.fixtures import (
    FRAME_SAMPLES,
    RATE,
    Fixture,
    FixtureError,
    detect_speech_bounds,
    last_voiced_frame,
    load_fixtures,
    parse_transcript_lines,
    pcm_frames,
    turn_audio,
)
from voice_interview.bench.machine import engine_deltas, metrics_resources, parse_prometheus
from voice_interview.bench.runner import assign_fixtures

REPO = REPO
FIXTURES = REPO / "audio_fixtures"
TWO = ("why_this_company.wav", "idempotency.wav")


def _manifest() -> list[dict[str, Any]]:
    data: list[dict[str, Any]] = json.loads((FIXTURES / "manifest.json").read_text())
    return data


def _tone(seconds: float, amp: float = 8000.0) -> np.ndarray:
    t = np.arange(int(seconds * RATE)) / RATE
    return (np.sin(2 * np.pi * 300 * t) * amp).astype(np.int16)


def _quiet(seconds: float, sigma: float = 10.0, seed: int = 0) -> np.ndarray:
    gen = np.random.default_rng(seed)
    return gen.normal(0, sigma, int(seconds * RATE)).astype(np.int16)


# ------------------------------------------------------------------------- percentiles


@pytest.mark.parametrize("q", [0, 5, 25, 50, 90, 95, 99, 100])
def test_percentile_matches_numpy(q: float) -> None:
    values = [random.Random(3).uniform(0, 1000) for _ in range(37)]
    values = [v * (i % 5 + 1) for i, v in enumerate(values)]
    assert report.percentile(values, q) == pytest.approx(float(np.percentile(values, q)))


def test_percentile_small_and_errors() -> None:
    assert report.percentile([7.0], 95) == 7.0
    assert report.percentile([1.0, 3.0], 50) == 2.0
    assert report.percentile([3.0, 1.0, 2.0], 100) == 3.0
    with pytest.raises(ValueError):
        report.percentile([], 50)
    with pytest.raises(ValueError):
        report.percentile([1.0], 101)


def test_stats_skips_none_and_handles_empty() -> None:
    s = report.stats([100.0, None, 300.0, 200.0])
    assert s == {"n": 3, "p50": 200.0, "p95": 290.0, "max": 300.0, "mean": 200.0}
    assert report.stats([None, None]) == {
        "n": 0,
        "p50": None,
        "p95": None,
        "max": None,
        "mean": None,
    }
    assert report.stats([float("nan"), 1.0])["n"] == 1


# ------------------------------------------------------------------------- fixtures


def _copy_two(dst: Path) -> None:
    for name in TWO:
        shutil.copy(FIXTURES / name, dst / name)


def test_load_repo_manifest() -> None:
    fixtures = load_fixtures(FIXTURES)
    assert len(fixtures) == len(_manifest()) == 16
    by_name = {f.name: f for f in fixtures}
    for entry in _manifest():
        f = by_name[entry["file"]]
        assert f.bounds_source == "manifest"
        assert f.text == entry["text"]
        assert f.speech_end_s == pytest.approx(entry["speech_end_s"])
        assert f.pcm.dtype == np.int16
        assert len(f.pcm) == pytest.approx(entry["duration_s"] * RATE, abs=0.01 * RATE)
        # the energy detector agrees with the manifest (within 30 ms)
        assert detect_speech_bounds(f.pcm)[1] == pytest.approx(entry["speech_end_s"], abs=0.03)


def test_load_manifest_subset_and_mapping_form(tmp_path: Path) -> None:
    _copy_two(tmp_path)
    entries = [e for e in _manifest() if e["file"] in TWO]
    (tmp_path / "manifest.json").write_text(json.dumps(entries))
    assert sorted(f.name for f in load_fixtures(tmp_path)) == sorted(TWO)
    # {"file": "text"} works too; bounds then come from the audio.
    (tmp_path / "manifest.json").write_text(json.dumps({e["file"]: e["text"] for e in entries}))
    fixtures = load_fixtures(tmp_path)
    assert {f.bounds_source for f in fixtures} == {"energy"}
    ref = {e["file"]: e["speech_end_s"] for e in entries}
    for f in fixtures:
        assert f.speech_end_s == pytest.approx(ref[f.name], abs=0.03)


def test_load_transcripts_txt(tmp_path: Path) -> None:
    _copy_two(tmp_path)
    (tmp_path / "transcripts.txt").write_text(
        "# name <TAB> text\n"
        "why_this_company.wav\tI like that your product helps small teams.\n"
        "\n"
        "idempotency | It means calling twice has the same effect.\n"
    )
    fixtures = load_fixtures(tmp_path)
    assert [f.name for f in fixtures] == ["why_this_company.wav", "idempotency.wav"]
    assert fixtures[1].text == "It means calling twice has the same effect."


def test_load_txt_beside_each_wav(tmp_path: Path) -> None:
    _copy_two(tmp_path)
    for name in TWO:
        (tmp_path / name).with_suffix(".txt").write_text(f"  text of {name}\n")
    fixtures = load_fixtures(tmp_path)
    assert [f.name for f in fixtures] == sorted(TWO)
    assert fixtures[0].text == f"text of {sorted(TWO)[0]}"


def test_parse_transcript_lines_separators() -> None:
    lines = ["a.wav\tone two", "b | three", "c four five", "# comment", "  "]
    assert parse_transcript_lines(lines) == [
        ("a.wav", "one two"),
        ("b", "three"),
        ("c", "four five"),
    ]
    with pytest.raises(FixtureError):
        parse_transcript_lines(["lonely.wav"])


def test_fixture_errors(tmp_path: Path) -> None:
    with pytest.raises(FixtureError, match="does not exist"):
        load_fixtures(tmp_path / "nope")
    _copy_two(tmp_path)
    with pytest.raises(FixtureError, match="no transcripts"):
        load_fixtures(tmp_path)
    (tmp_path / "transcripts.txt").write_text("missing.wav\tsome text\n")
    with pytest.raises(FixtureError, match=r"missing\.wav"):
        load_fixtures(tmp_path)
    (tmp_path / "transcripts.txt").unlink()
    (tmp_path / "manifest.json").write_text('[{"file": "idempotency.wav"}]')
    with pytest.raises(FixtureError, match="'text'"):
        load_fixtures(tmp_path)


def test_other_rates_and_stereo_are_converted(tmp_path: Path) -> None:
    mono = np.concatenate([_quiet(0.5), _tone(1.0), _quiet(0.5)])
    t48 = np.repeat(mono, 3)  # crude 48 kHz version, good enough for bounds
    stereo = np.stack([t48, t48], axis=1)
    sf.write(tmp_path / "s.wav", stereo, 48000, subtype="PCM_16")
    (tmp_path / "s.txt").write_text("a tone")
    [f] = load_fixtures(tmp_path)
    assert len(f.pcm) == pytest.approx(2.0 * RATE, abs=200)
    assert f.speech_start_s == pytest.approx(0.5, abs=0.03)
    assert f.speech_end_s == pytest.approx(1.5, abs=0.03)


def test_detect_speech_bounds() -> None:
    pcm = np.concatenate([_quiet(0.3), _tone(2.0), _quiet(0.2), _tone(0.5, 2000), _quiet(0.4)])
    start, end = detect_speech_bounds(pcm)
    assert start == pytest.approx(0.3, abs=0.011)
    assert end == pytest.approx(3.0, abs=0.011)
    # Pure noise: no speech boundary to find, the whole file counts.
    assert detect_speech_bounds(_quiet(1.0)) == (0.0, 1.0)


def test_frames_and_last_voiced_frame() -> None:
    frames = pcm_frames(np.arange(700, dtype=np.int16))
    assert [len(f) for f in frames] == [640, 640, 640]
    assert frames[2][120:] == bytes(640 - 120)  # padded with zeros
    assert last_voiced_frame(0.02, 10) == 0  # last voiced sample is #319: frame 0
    assert last_voiced_frame(0.021, 10) == 1
    assert last_voiced_frame(5.0, 10) == 9  # clamped


def _fixture(seconds: float = 1.0) -> Fixture:
    pcm = np.concatenate([_quiet(0.3), _tone(seconds), _quiet(0.3)])
    return Fixture("t.wav", "a tone", pcm, 0.3, 0.3 + seconds, "manifest")


def test_turn_audio_pcm_and_opus() -> None:
    fx = _fixture()
    pcm = turn_audio(fx, encoding="pcm_s16le", tail_s=1.0, rng=random.Random(1))
    assert pcm.answer_frames == fx.n_frames == 80
    assert len(pcm.frames) == 80 + 50
    assert all(len(f) == FRAME_SAMPLES * 2 for f in pcm.frames)
    assert pcm.last_voiced == 64  # sample 20799 is in frame 64
    opus = turn_audio(fx, encoding="opus", tail_s=1.0, rng=random.Random(1))
    assert opus.answer_frames == 80
    assert abs(len(opus.frames) - 130) <= 2  # one packet per 20 ms, plus look-ahead
    assert all(0 < len(f) < 400 for f in opus.frames)
    with pytest.raises(ValueError):
        turn_audio(fx, encoding="mp3", tail_s=1.0, rng=random.Random(1))


def test_assign_fixtures_is_seeded_and_stable_across_n() -> None:
    fixtures = [_fixture() for _ in range(5)]
    fixtures = [
        Fixture(f"f{i}.wav", "x", f.pcm, 0.3, 1.3, "manifest") for i, f in enumerate(fixtures)
    ]
    one = assign_fixtures(fixtures, 1, 3, seed=7)
    four = assign_fixtures(fixtures, 4, 3, seed=7)
    assert [f.name for f in one[0]] == [f.name for f in four[0]]
    assert len(four) == 4 and all(len(s) == 3 for s in four)
    assert assign_fixtures(fixtures, 4, 3, seed=7) == four  # same seed, same plan
    names = [f.name for s in four for f in s]
    assert len(set(names[:5])) == 5  # round-robin over the shuffled list


# ------------------------------------------------------------------------- schedule


def test_schedule_lag_and_drift() -> None:
    deadlines = report.frame_deadlines(100.0, 5)
    assert deadlines == pytest.approx([100.0, 100.02, 100.04, 100.06, 100.08])
    sent = [100.001, 100.0215, 100.041, 100.09, 100.095]
    lags = report.send_lags_ms(deadlines, sent)
    assert lags == pytest.approx([1.0, 1.5, 1.0, 30.0, 15.0])
    assert report.drift_ms(deadlines, sent) == pytest.approx(14.0)
    assert not report.falls_behind([1.0] * 99 + [200.0])
    assert report.falls_behind([1.0] * 90 + [60.0] * 10)
    with pytest.raises(ValueError):
        report.send_lags_ms([1.0], [])


class _FakeConn:
    """Enough of CandidateConnection for CandidateSession._answer."""

    def __init__(
        self, end_after: int, end_kind: str = "final", early: tuple[int, ...] = ()
    ) -> None:
        self.finals: dict[str, Received] = {}
        self.resumed: list[Received] = []
        self.cancels: list[Received] = []
        # Frame counts at which the server ends the turn mid-answer (it sends the next
        # question), and, for the first of a pair, takes it back (turn_resumed).
        self.early = early
        self.questions: list[QuestionSeen] = []
        self.turn_metrics: dict[str, Received] = {}
        self.complete: Received | None = None
        self.closed = False
        self.closed_reason = None
        self.sent: list[tuple[float, str]] = []
        self.end_after = end_after
        self.end_kind = end_kind

    async def send_bytes(self, data: bytes) -> None:
        self.sent.append((time.monotonic(), "audio"))
        n = sum(1 for _, k in self.sent if k == "audio")
        if self.early and n == self.early[0]:
            self.questions.append(QuestionSeen(time.monotonic(), "q2", 1))
            self.finals["q1"] = Received(time.monotonic(), "transcript", {"is_final": True})
        if len(self.early) > 1 and n == self.early[1]:
            resumed = {"question_id": "q1", "reason": "continued"}
            self.resumed.append(Received(time.monotonic(), "turn_resumed", resumed))
        if n == self.end_after:
            t = time.monotonic()
            if self.end_kind == "final":
                self.finals["q1"] = Received(t, "transcript", {"text": "hi", "is_final": True})
            else:
                self.questions.append(QuestionSeen(t, "q2", 1))

    async def send_json(self, obj: dict[str, Any]) -> None:
        self.sent.append((time.monotonic(), str(obj["type"])))


def _record() -> TurnRecord:
    rec = TurnRecord(0, 0, "t.wav", "a tone", "auto", 1300)
    rec.question_id = "q1"
    return rec


@pytest.mark.parametrize("end_kind", ["final", "next_question"])
async def test_answer_is_paced_on_absolute_deadlines(end_kind: str) -> None:
    fx = _fixture(0.2)  # 0.8 s: 40 frames, the last voiced one is #24
    plan = turn_audio(fx, encoding="pcm_s16le", tail_s=1.0, rng=random.Random(0))
    conn = _FakeConn(end_after=45, end_kind=end_kind)
    session = CandidateSession(None, 0, [plan], SessionOptions())  # type: ignore[arg-type]
    rec = _record()
    await session._answer(conn, rec, plan)  # type: ignore[arg-type]
    audio = [t for t, k in conn.sent if k == "audio"]
    assert len(audio) == rec.frames_sent == 45
    assert rec.tail_frames_sent == 5
    # Drift-free: frame i leaves at start + 20 ms * i, whatever the per-frame jitter.
    elapsed = audio[-1] - audio[0]
    assert elapsed == pytest.approx(44 * 0.02, abs=0.015)
    assert report.percentile(rec.send_lags_ms, 50) < 10.0
    assert rec.t_speech_end == pytest.approx(audio[plan.last_voiced], abs=0.002)
    assert not rec.cut_early
    assert rec.turn_end_signal == ("final_transcript" if end_kind == "final" else "next_question")
    assert all(k == "audio" for _, k in conn.sent)  # auto mode sends no end_of_answer


@pytest.mark.parametrize("taken_back", [True, False])
async def test_a_candidate_says_the_whole_answer_whatever_the_server_does(
    taken_back: bool,
) -> None:
    fx = _fixture(0.2)  # the last voiced frame is #24
    plan = turn_audio(fx, encoding="pcm_s16le", tail_s=1.0, rng=random.Random(0))
    conn = _FakeConn(end_after=45, early=(10, 14) if taken_back else (10,))
    session = CandidateSession(None, 0, [plan], SessionOptions())  # type: ignore[arg-type]
    rec = _record()
    await session._answer(conn, rec, plan)  # type: ignore[arg-type]
    # An end at frame 10 (and a final for the cut answer) does not stop the candidate.
    assert rec.frames_sent == 45
    assert rec.t_speech_end is not None
    assert rec.resumes == (1 if taken_back else 0)
    assert rec.cut_early is not taken_back


async def test_explicit_end_sends_end_of_answer_after_last_voiced_frame() -> None:
    fx = _fixture(0.2)
    plan = turn_audio(fx, encoding="pcm_s16le", tail_s=1.0, rng=random.Random(0))
    conn = _FakeConn(end_after=30)
    opts = SessionOptions(mode="explicit-end")
    session = CandidateSession(None, 0, [plan], opts)  # type: ignore[arg-type]
    rec = _record()
    await session._answer(conn, rec, plan)  # type: ignore[arg-type]
    kinds = [k for _, k in conn.sent]
    assert kinds.index("end_of_answer") == plan.last_voiced + 1
    assert rec.t_end_of_answer is not None and rec.t_speech_end is not None


async def test_turn_that_never_ends_is_a_failure() -> None:
    plan = turn_audio(_fixture(0.1), encoding="pcm_s16le", tail_s=0.5, rng=random.Random(0))
    conn = _FakeConn(end_after=10_000)
    opts = SessionOptions(final_cap_s=0.1, rescue_s=0.1)
    session = CandidateSession(None, 0, [plan], opts)  # type: ignore[arg-type]
    rec = _record()
    await asyncio.wait_for(session._answer(conn, rec, plan), 5)  # type: ignore[arg-type]
    assert rec.failure is not None and "no final transcript" in rec.failure
    assert [k for _, k in conn.sent].count("end_of_answer") == 1  # the rescue


# ------------------------------------------------------------------------- reports


def _turn(epoch: float, **over: Any) -> TurnRecord:
    rec = TurnRecord(0, 0, "a.wav", "the cat sat", "auto", 2000)
    rec.question_id, rec.question_index = "q1", 0
    rec.t_answer_start = epoch + 1.0
    rec.t_speech_end = epoch + 3.0
    rec.t_speech_stopped = epoch + 3.31
    rec.t_turn_end_seen = epoch + 3.7
    rec.t_next_question = epoch + 3.75
    rec.t_next_first_audio = epoch + 3.76
    rec.t_final = epoch + 4.2
    rec.transcript = "the cat"
    rec.t_evaluation = epoch + 9.2
    rec.server_latency_ms = {"end_of_turn": 700.0, "voice_to_voice": 740.0}
    rec.send_lags_ms = [1.0, 2.0, 3.0]
    for k, v in over.items():
        setattr(rec, k, v)
    return rec


def test_turn_to_dict_and_stages() -> None:
    d = report.turn_to_dict(_turn(50.0), 50.0)
    assert d["t_speech_end"] == 3000.0
    assert d["stages"] == {
        "speech_stopped": pytest.approx(310.0),
        "final_transcript": pytest.approx(1200.0),
        "voice_to_voice": pytest.approx(760.0),
        "evaluation": pytest.approx(5000.0),
        "interview_complete": None,
    }
    assert d["wer"] == pytest.approx(1 / 3, abs=1e-3)
    assert d["send_lag_ms"]["p50"] == 2.0
    json.dumps(d)  # serialisable
    cut = report.turn_to_dict(_turn(0.0, t_speech_end=None, cut_early=True), 0.0)
    assert cut["stages"]["voice_to_voice"] is None and cut["stages"]["evaluation"] == 5000.0


def _run_dict(n: int, turns: list[dict[str, Any]], mode: str = "auto") -> dict[str, Any]:
    return {
        "sessions": n,
        "sessions_ok": n,
        "wall_s": 12.0,
        "summary": report.summarize_run(turns, mode=mode, lags_ms=[1.0, 2.0, 50.0]),
        "resources": {
            "cpu_percent": report.stats([80.0, 120.0]),
            "rss_mb": report.stats([800.0, 900.0]),
            "client_cpu_percent": report.stats([2.0]),
        },
        "engines": {"stt": {"calls": 3, "run_mean_ms": 400.0, "wait_mean_ms": 20.0}},
        "turns": turns,
    }


def test_summarize_run_excludes_cut_turns_from_latency() -> None:
    good = [report.turn_to_dict(_turn(0.0), 0.0) for _ in range(3)]
    cut = report.turn_to_dict(_turn(0.0, t_speech_end=None, cut_early=True), 0.0)
    late = report.turn_to_dict(_turn(0.0, t_speech_stopped=5.0), 0.0)
    s = report.summarize_run([*good, cut, late], mode="auto", session_lag_p95_ms=[3.0, 55.0])
    assert s["stages"]["voice_to_voice"]["n"] == 4
    assert s["stages"]["evaluation"]["n"] == 5  # defined for cut turns too
    assert s["server_stages"]["voice_to_voice"]["p50"] == 740.0
    assert s["counts"] == {
        "turns": 5,
        "answered": 5,
        "cut_early": 1,
        "taken_back": 0,
        "barge_ins": 0,
        "failed": 0,
        "forced_end": 0,
        "speech_stopped_late": 1,
        "evaluations": 5,
    }
    assert s["real_time"]["sessions_behind"] == 1 and not s["real_time"]["ok"]
    # explicit-end has no speech_stopped to wait for: nothing is "late"
    s2 = report.summarize_run(good, mode="explicit-end")
    assert s2["real_time"]["ok"]


def test_failed_turns_count_unless_the_bench_ended_them() -> None:
    fail = "no final transcript or next question within 10 s of the end of speech"
    late = _turn(0.0, failure=fail, t_final=15.0)  # 12 s after the end of speech
    late.server_latency_ms = {"end_reason": "vad", "voice_to_voice": 740.0}
    forced = _turn(0.0, failure=fail, t_final=13.5)
    forced.server_latency_ms = {"end_reason": "end_of_answer"}
    turns = [report.turn_to_dict(r, 0.0) for r in (_turn(0.0), late, forced)]
    assert [report.forced_end(t) for t in turns] == [False, False, True]
    s = report.summarize_run(turns, mode="auto")
    # the server's own late answer counts; the one the bench forced does not
    assert s["stages"]["final_transcript"]["n"] == 2
    assert s["stages"]["final_transcript"]["max"] == 12000.0
    assert s["counts"]["failed"] == 2 and s["counts"]["forced_end"] == 1
    explicit = dict(turns[2], mode="explicit-end")
    assert not report.forced_end(explicit)


def test_format_table_and_summary_json() -> None:
    turns = [report.turn_to_dict(_turn(0.0), 0.0) for _ in range(2)]
    result = {
        "schema": "voice-interview-bench/1",
        "config": {"mode": "auto", "input": "pcm", "turns": 3, "sessions": [1, 2]},
        "machine": {
            "cpu_count": 2,
            "cpu_model": "Test CPU",
            "git_commit": "abc1234",
            "git_dirty": True,
        },
        "runs": [_run_dict(1, turns), _run_dict(2, turns + turns)],
        "files": {"json": "x.json", "png": None},
    }
    table = report.format_table(result)
    assert "commit abc1234 (+ uncommitted changes)" in table
    assert "N=1 sessions" in table and "N=2 sessions" in table
    for stage in (*report.STAGES, "server voice_to_voice", "send lag per frame"):
        assert stage in table
    row = next(line for line in table.splitlines() if line.strip().startswith("voice_to_voice"))
    assert row.split()[1:] == ["760", "760", "760", "2"]
    assert "engine stt: 3 calls" in table and "server CPU mean 100%" in table
    summary = report.summary_json(result)
    text = json.dumps(summary)
    back = json.loads(text)
    assert [r["sessions"] for r in back["runs"]] == [1, 2]
    assert back["runs"][1]["stages"]["voice_to_voice"]["n"] == 4
    assert "turns" not in back["runs"][0]  # the raw turns stay in the file


def test_plot_writes_png(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    from voice_interview.bench.plot import plot_result

    turns = [report.turn_to_dict(_turn(0.0), 0.0) for _ in range(3)]
    result = {
        "config": {"mode": "auto", "input": "pcm"},
        "machine": {"git_commit": "abc", "cpu_count": 2},
        "runs": [_run_dict(1, turns), _run_dict(2, turns)],
    }
    path = plot_result(result, tmp_path / "b.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


# ------------------------------------------------------------------------- misc


def test_parse_sessions() -> None:
    assert parse_sessions("4") == [4]
    assert parse_sessions("1,2,4,8") == [1, 2, 4, 8]
    for bad in ("0", "x", "", "1,100"):
        with pytest.raises(argparse.ArgumentTypeError):
            parse_sessions(bad)


METRICS_A = """# HELP x
vi_engine_inference_seconds_count{engine="stt"} 2.0
vi_engine_inference_seconds_sum{engine="stt"} 1.0
vi_engine_queue_wait_seconds_count{engine="stt"} 2.0
vi_engine_queue_wait_seconds_sum{engine="stt"} 0.1
vi_evaluation_seconds_count 0.0
vi_evaluation_seconds_sum 0.0
"""
METRICS_B = """vi_engine_inference_seconds_count{engine="stt"} 6.0
vi_engine_inference_seconds_sum{engine="stt"} 3.0
vi_engine_queue_wait_seconds_count{engine="stt"} 6.0
vi_engine_queue_wait_seconds_sum{engine="stt"} 0.5
vi_engine_inference_seconds_count{engine="llm"} 1.0
vi_engine_inference_seconds_sum{engine="llm"} 2.5
vi_evaluation_seconds_count 2.0
vi_evaluation_seconds_sum 8.0
"""


def test_prometheus_parsing_and_engine_deltas() -> None:
    parsed = parse_prometheus(METRICS_B)
    assert parsed[("vi_engine_inference_seconds_count", (("engine", "stt"),))] == 6.0
    d = engine_deltas(METRICS_A, METRICS_B)
    assert d["stt"] == {
        "calls": 4,
        "run_total_s": 2.0,
        "run_mean_ms": 500.0,
        "wait_mean_ms": 100.0,
    }
    assert d["llm"]["calls"] == 1 and d["llm"]["wait_mean_ms"] is None
    assert d["evaluation"]["run_mean_ms"] == 4000.0
    assert engine_deltas(None, METRICS_B) == {}


def test_metrics_resources_without_process_metrics() -> None:
    assert "skipped" in metrics_resources(METRICS_A, METRICS_B, 10.0)["note"]
    a = "process_cpu_seconds_total 10.0\nprocess_resident_memory_bytes 5e8\n"
    b = "process_cpu_seconds_total 15.0\nprocess_resident_memory_bytes 6e8\n"
    res = metrics_resources(a, b, 10.0)
    assert res["cpu_percent_overall"] == 50.0 and res["rss_mb"]["max"] == 600.0


def test_transcript_file_keeps_and_reuses_transcripts(tmp_path: Path) -> None:
    from voice_interview.bench.speech_roundtrip import TranscriptFile

    heard: list[str] = []

    def round_trip(text: str) -> str:
        heard.append(text)
        return text.lower().rstrip(".")

    path = tmp_path / "t.json"
    first = TranscriptFile(path, lambda: round_trip)
    assert first("Hash maps use buckets.") == "hash maps use buckets"
    assert first("Hash maps use buckets.") == "hash maps use buckets"
    assert heard == ["Hash maps use buckets."]  # once, then from the file's memory
    # a second run reads the file and never builds the round trip
    again = TranscriptFile(path, None)
    assert again("Hash maps use buckets.") == "hash maps use buckets"
    with pytest.raises(KeyError, match="no transcript"):
        again("Something new.")
    path.write_text("[1, 2]", encoding="utf-8")
    with pytest.raises(ValueError, match="no 'transcripts' object"):
        TranscriptFile(path, None)
