"""``voice-interview bench`` end to end: a real server, real models, real-time audio.

Two short answers, two turns, one candidate: about half a minute per run. The
evaluation's LLM feedback is capped at a few tokens (the bench waits for every
evaluation, and full feedback takes long on a small CPU).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ADMIN_KEY, FIXTURES, REPO, start_server

pytestmark = pytest.mark.models

SHORT = ("why_this_company.wav", "idempotency.wav")
FAST_EVAL = {"VI_LLM_FEEDBACK_MAX_TOKENS": "16"}


@pytest.fixture
def two_fixtures(tmp_path: Path) -> Path:
    folder = tmp_path / "fixtures"
    folder.mkdir()
    manifest = json.loads((FIXTURES / "manifest.json").read_text())
    for name in SHORT:
        shutil.copy(FIXTURES / name, folder / name)
    (folder / "manifest.json").write_text(json.dumps([e for e in manifest if e["file"] in SHORT]))
    return folder


def run_bench(
    args: list[str], out: Path, extra_env: dict[str, str] | None = None
) -> dict[str, Any]:
    env = {**os.environ, **FAST_EVAL, **(extra_env or {})}
    env.pop("VI_ADMIN_KEY", None)
    proc = subprocess.run(
        [sys.executable, "-m", "voice_interview.cli", "bench", *args, "--out", str(out), "--json"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert proc.returncode == 0, f"stdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    lines = proc.stdout.strip().splitlines()
    assert "p50" in proc.stdout and "voice_to_voice" in proc.stdout  # the table
    summary: dict[str, Any] = json.loads(lines[-1])
    return summary


def test_bench_spawn_auto(two_fixtures: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    summary = run_bench(
        [
            "--spawn",
            "--sessions",
            "1",
            "--turns",
            "2",
            "--fixtures",
            str(two_fixtures),
            "--warmup",
            "0",
            "--quiet",
        ],
        out,
    )
    assert summary["config"]["mode"] == "auto" and summary["config"]["spawn"] is True
    [run] = summary["runs"]
    assert run["sessions"] == 1 and run["sessions_ok"] == 1
    assert run["counts"]["answered"] == 2 and run["counts"]["failed"] == 0
    stages = run["stages"]
    for stage in ("speech_stopped", "final_transcript", "evaluation"):
        assert stages[stage]["n"] == 2, stage
        assert stages[stage]["p50"] > 0, stage
    assert stages["voice_to_voice"]["n"] == 1  # the last turn has no next question
    assert stages["voice_to_voice"]["p50"] > 0
    assert stages["interview_complete"]["n"] == 1
    # speech_stopped comes after the VAD's 300 ms hangover, not before.
    assert stages["speech_stopped"]["p50"] >= 250
    assert run["server_stages"]["voice_to_voice"]["n"] == 1
    assert run["wer"]["n"] == 2 and 0 <= run["wer"]["mean"] < 0.5
    assert run["send_lag_ms"]["n"] > 500 and run["send_lag_ms"]["p50"] < 20
    assert run["resources"]["source"] == "psutil"
    assert run["resources"]["rss_mb"]["max"] > 100
    assert run["resources"]["cpu_percent"]["mean"] > 0
    assert summary["machine"]["cpu_count"] >= 1 and summary["machine"]["models"]
    data = json.loads(Path(summary["files"]["json"]).read_text())
    turns = data["runs"][0]["turns"]
    assert [t["fixture"] for t in turns] and all(t["transcript"] for t in turns)
    assert {t["server_latency_ms"]["end_reason"] for t in turns} == {"vad"}
    if summary["files"].get("png"):
        assert Path(summary["files"]["png"]).read_bytes()[:4] == b"\x89PNG"


def test_bench_url_explicit_end(two_fixtures: Path, tmp_path: Path) -> None:
    (tmp_path / "srv").mkdir()
    server = start_server(tmp_path / "srv", extra_env=FAST_EVAL)
    try:
        summary = run_bench(
            [
                "--url",
                server.base,
                "--admin-key",
                ADMIN_KEY,
                "--mode",
                "explicit-end",
                "--sessions",
                "1",
                "--turns",
                "2",
                "--fixtures",
                str(two_fixtures),
                "--warmup",
                "0",
                "--quiet",
                "--no-plot",
            ],
            tmp_path / "out",
        )
    finally:
        server.stop()
    [run] = summary["runs"]
    assert summary["config"]["mode"] == "explicit-end" and run["sessions_ok"] == 1
    stages = run["stages"]
    assert stages["speech_stopped"]["n"] == 0  # the turn ends before the VAD's hangover
    assert stages["final_transcript"]["n"] == 2 and stages["final_transcript"]["p50"] > 0
    assert stages["voice_to_voice"]["n"] == 1 and stages["voice_to_voice"]["p50"] > 0
    assert run["wer"]["n"] == 2
    # Without --spawn the bench finds the local server process by its port.
    assert run["resources"].get("source") in ("psutil", "/metrics") or "note" in run["resources"]
    data = json.loads(Path(summary["files"]["json"]).read_text())
    turns = data["runs"][0]["turns"]
    assert {t["server_latency_ms"]["end_reason"] for t in turns} == {"end_of_answer"}
    assert all(t["t_end_of_answer"] >= t["t_speech_end"] for t in turns)
    assert summary["files"]["png"] is None


PAUSE_SUBSET = ("short_first_yes.wav", "resume_cache.wav", "barge_in_repeat.wav")


def test_bench_spawn_pauses(tmp_path: Path) -> None:
    """The pause set: one session, two answers with pauses, the offline pass after."""
    src = REPO / "audio_fixtures" / "pauses"
    folder = tmp_path / "pauses"
    folder.mkdir()
    manifest = json.loads((src / "manifest.json").read_text())
    for name in PAUSE_SUBSET:
        shutil.copy(src / name, folder / name)
    (folder / "manifest.json").write_text(
        json.dumps([e for e in manifest if e["file"] in PAUSE_SUBSET])
    )
    summary = run_bench(
        [
            "--spawn",
            "--pauses",
            "--fixtures",
            str(folder),
            "--sessions",
            "1",
            "--warmup",
            "0",
            "--quiet",
            "--no-plot",
        ],
        tmp_path / "out",
    )
    # --pauses: one turn per answer of kind pauses / short_first / resume (no barge_in)
    assert summary["config"]["fixture_set"] == "pauses" and summary["config"]["turns"] == 2
    [run] = summary["runs"]
    assert run["sessions_ok"] == 1 and run["counts"]["turns"] == 2
    pz = run["pauses"]
    assert set(pz["fixtures"]) == {"short_first_yes.wav", "resume_cache.wav"}
    assert pz["offline"]["skipped"] is None and pz["offline"]["beam_size"] == 5
    assert pz["offline"]["model"] == summary["machine"]["models"]["stt"]
    for row in pz["fixtures"].values():
        assert row["turns"] == 1 and row["final_wer"] is not None
        assert row["offline_wer"] is not None and 0 <= row["offline_wer"] < 0.5
    assert pz["wer"]["fixtures"] == 2 and pz["wer"]["mean_final"] is not None
    assert pz["taken_back"] == run["counts"]["taken_back"]
    assert pz["cut_not_taken_back"] == run["counts"]["cut_early"]
    # Two answers with no neighbour sharing their words: nothing may land in the other.
    assert pz["misattributed_words"] == 0, pz
    data = json.loads(Path(summary["files"]["json"]).read_text())
    assert set(data["offline"]["fixtures"]) == {"short_first_yes.wav", "resume_cache.wav"}
    assert data["pause_fixtures"]["resume_cache.wav"]["kind"] == "resume"
    assert all("early_ends" in t for t in data["runs"][0]["turns"])
