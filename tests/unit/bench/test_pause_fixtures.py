"""audio_fixtures/pauses/: the manifest agrees with the audio (issue #11).

The pauses are measured from the files when they are made; here they are measured again:
each listed pause is quiet throughout and bounded by speech, no unlisted pause hides in
the speech, and the set has the pauses, short first sentences, resumes, barge-ins and
talk-over speech the turn-taking tests need.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
import soundfile as sf

from tests.paths import REPO
from voice_interview.audio.vad import TurnSegmenter

DIR = REPO / "audio_fixtures" / "pauses"
MANIFEST: list[dict[str, Any]] = json.loads((DIR / "manifest.json").read_text())
RATE = 16000
WIN = 160  # 10 ms
MIN_LISTED_S = 0.3  # every silence at least this long inside the speech is listed
ANSWER_KINDS = {"pauses", "short_first", "resume", "talk_over"}


def load(entry: dict[str, Any]) -> npt.NDArray[np.int16]:
    info = sf.info(DIR / entry["file"])
    assert (info.samplerate, info.channels, info.subtype) == (RATE, 1, "PCM_16")
    data, _ = sf.read(DIR / entry["file"], dtype="int16")
    return np.asarray(data, dtype=np.int16)


def window_rms(pcm: npt.NDArray[np.int16]) -> npt.NDArray[np.float64]:
    n = pcm.size // WIN
    x = pcm[: n * WIN].astype(np.float64).reshape(n, WIN)
    return np.asarray(np.sqrt(np.mean(x * x, axis=1)))


def threshold(entry: dict[str, Any]) -> float:
    return float(32768 * 10 ** (entry["silence_threshold_dbfs"] / 20))


def by_kind(kind: str) -> list[dict[str, Any]]:
    return [e for e in MANIFEST if e["kind"] == kind]


def length(pause: dict[str, Any]) -> float:
    return float(pause["end_s"] - pause["start_s"])


def test_the_set_has_every_kind_and_stays_small() -> None:
    assert 10 <= len(MANIFEST) <= 16
    kinds = {e["kind"] for e in MANIFEST}
    assert kinds == {"pauses", "short_first", "resume", "barge_in", "talk_over"}
    assert len(by_kind("resume")) >= 2
    assert len(by_kind("pauses")) >= 4
    assert len({e["voice"] for e in MANIFEST}) >= 6
    assert any(e["voice"].startswith("piper:") for e in MANIFEST)
    assert any(not e["voice"].startswith("piper:") for e in MANIFEST)
    assert sorted(p.name for p in DIR.glob("*.wav")) == sorted(e["file"] for e in MANIFEST)
    assert sum((DIR / e["file"]).stat().st_size for e in MANIFEST) < 8.5e6


@pytest.mark.parametrize("entry", MANIFEST, ids=lambda e: e["file"])
def test_manifest_matches_the_audio(entry: dict[str, Any]) -> None:
    pcm = load(entry)
    assert pcm.size == pytest.approx(entry["duration_s"] * RATE, abs=2)
    assert entry["question"] and entry["text"]
    if entry["kind"] in ANSWER_KINDS:
        assert 12 <= entry["duration_s"] <= 45
    rms = window_rms(pcm)
    thr = threshold(entry)
    # A noise floor, not digital silence, and far under the speech.
    floor_db = 20 * np.log10(np.percentile(rms, 10) / 32768)
    assert -66 <= floor_db <= -48
    assert entry["silence_threshold_dbfs"] <= -40
    assert 20 * np.log10(np.percentile(rms, 95) / 32768) > entry["silence_threshold_dbfs"] + 18
    start, end = round(entry["speech_start_s"] * 100), round(entry["speech_end_s"] * 100)
    assert rms[start] >= thr and rms[end - 1] >= thr
    assert np.all(rms[:start] < thr) and np.all(rms[end:] < thr)

    previous_end = entry["speech_start_s"]
    for pause in entry["pauses"]:
        assert pause["kind"] in ("after_sentence", "mid_sentence")
        assert previous_end < pause["start_s"] < pause["end_s"] < entry["speech_end_s"]
        previous_end = pause["end_s"]
        a, b = round(pause["start_s"] * 100), round(pause["end_s"] * 100)
        inside = rms[a:b]
        assert inside.size >= MIN_LISTED_S * 100 - 1
        assert np.all(inside < thr), f"speech inside the pause at {pause['start_s']} s"
        # ... and it is bounded by speech: the pause is as long as listed, not longer.
        assert rms[a - 1] >= thr and rms[b] >= thr

    # No unlisted pause: every quiet run of MIN_LISTED_S inside the speech is in the list.
    listed = {(round(p["start_s"] * 100), round(p["end_s"] * 100)) for p in entry["pauses"]}
    quiet = np.concatenate([[False], rms[start:end] < thr, [False]])
    edges = np.flatnonzero(np.diff(quiet.astype(np.int8)))
    for a, b in zip(edges[::2], edges[1::2], strict=True):
        if (b - a) / 100 >= MIN_LISTED_S:
            assert (start + a, start + b) in listed, f"unlisted pause at {(start + a) / 100} s"


def test_required_pauses_are_there() -> None:
    planned = [p for e in MANIFEST for p in e["pauses"] if p["planned"]]
    after = [length(p) for p in planned if p["kind"] == "after_sentence"]
    mid = [length(p) for p in planned if p["kind"] == "mid_sentence"]
    long_after = [s for s in after if 1.2 <= s <= 2.5]
    assert len(long_after) >= 12
    assert min(long_after) <= 1.3 and max(long_after) >= 2.3  # the whole 1.2-2.5 s range
    assert len([s for s in mid if 1.15 <= s <= 2.0]) >= 5
    assert max(mid) >= 1.5
    with_mid = 0
    for entry in by_kind("pauses"):
        # Several long pauses after finished sentences in every answer.
        kinds = [p["kind"] for p in entry["pauses"] if p["planned"] and length(p) >= 1.2]
        assert kinds.count("after_sentence") >= 2
        with_mid += "mid_sentence" in kinds
    assert with_mid >= 3


@pytest.mark.parametrize("entry", by_kind("short_first"), ids=lambda e: e["file"])
def test_short_first_sentence_then_a_short_pause(entry: dict[str, Any]) -> None:
    first = entry["pauses"][0]
    assert first["kind"] == "after_sentence" and first["planned"]
    assert entry["first_sentence_s"] <= 1.1
    assert first["start_s"] == pytest.approx(entry["speech_start_s"] + entry["first_sentence_s"])
    assert 0.25 <= length(first) <= 0.45
    assert entry["speech_end_s"] - first["end_s"] >= 8  # ... and the answer goes on


@pytest.mark.parametrize("entry", by_kind("resume"), ids=lambda e: e["file"])
def test_resume_parts(entry: dict[str, Any]) -> None:
    one, two = entry["parts"]
    gap = next(p for p in entry["pauses"] if p.get("resume"))
    assert gap["kind"] == "after_sentence"
    assert 1.2 <= length(gap) <= 2.0  # long enough for an eager server to end the turn
    assert one["start_s"] == entry["speech_start_s"] and two["end_s"] == entry["speech_end_s"]
    assert (one["end_s"], two["start_s"]) == (gap["start_s"], gap["end_s"])
    assert one["end_s"] < entry["split_s"] < two["start_s"]
    assert f"{one['text']} {two['text']}" == entry["text"]
    assert one["text"].endswith(".") and two["end_s"] - two["start_s"] >= 4


def test_barge_in_and_talk_over() -> None:
    for entry in by_kind("barge_in"):
        assert "repeat the question" in entry["text"]
        assert entry["duration_s"] <= 4
        assert 1.0 <= entry["speech_end_s"] - entry["speech_start_s"] <= 3.0
    assert by_kind("talk_over")


@pytest.mark.parametrize("entry", MANIFEST, ids=lambda e: e["file"])
def test_vad_hears_the_speech_and_not_the_pauses(entry: dict[str, Any]) -> None:
    seg = TurnSegmenter(end_silence_ms=60_000)
    pcm = load(entry)
    events = [ev for i in range(0, pcm.size, 320) for ev in seg.feed(pcm[i : i + 320])]
    starts = [ev.audio_ms / 1000 for ev in events if ev.kind == "speech_started"]
    assert starts and abs(starts[0] - entry["speech_start_s"]) <= 0.1
    for pause in entry["pauses"]:
        inside = [s for s in starts if pause["start_s"] + 0.05 < s < pause["end_s"] - 0.05]
        assert not inside, f"the VAD hears speech in the pause at {pause['start_s']} s"
