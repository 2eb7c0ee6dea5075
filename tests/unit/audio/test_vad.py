"""audio.vad.TurnSegmenter on the spoken fixtures (known speech boundaries and pauses)."""

from __future__ import annotations

import random
from typing import Any

import numpy as np
import pytest
import webrtcvad

from tests.audio_helpers import load_fixture, manifest
from voice_interview.audio.vad import TurnSegmenter, VadEvent

MANIFEST = manifest()
WITH_PAUSE = [e for e in MANIFEST if e["pauses"]]
ONSET_TOL_MS = 150
RATE = 16000


def ms(seconds: float) -> int:
    return round(seconds * 1000)


def silence(seconds: float, std: float = 0.0, seed: int = 0) -> np.ndarray:
    n = int(seconds * RATE)
    if std == 0:
        return np.zeros(n, dtype=np.int16)
    noise = np.random.default_rng(seed).normal(0, std, n)
    return np.clip(noise, -32768, 32767).astype(np.int16)


def run(seg: TurnSegmenter, pcm: np.ndarray, chunk: int = 320) -> list[VadEvent]:
    events: list[VadEvent] = []
    for i in range(0, pcm.size, chunk):
        events += seg.feed(pcm[i : i + chunk])
    return events


def kinds(events: list[VadEvent], kind: str) -> list[int]:
    return [e.audio_ms for e in events if e.kind == kind]


def entry(name: str) -> dict[str, Any]:
    return next(e for e in MANIFEST if e["file"] == name)


def test_fixtures_are_as_specified() -> None:
    assert len(MANIFEST) >= 14
    assert len(WITH_PAUSE) >= 4
    for e in MANIFEST:
        assert 5 <= e["duration_s"] <= 60
        assert e["question"] and e["text"]
        for pause in e["pauses"]:
            assert 1.2 - 1e-6 <= pause["end_s"] - pause["start_s"] <= 1.5 + 1e-6
        assert load_fixture(e["file"]).size == pytest.approx(e["duration_s"] * RATE, abs=2)


# --------------------------------------------------------------------------- boundaries


@pytest.mark.parametrize("fx", MANIFEST, ids=lambda e: e["file"])
def test_speech_boundaries_on_fixtures(fx: dict[str, Any]) -> None:
    pcm = np.concatenate([load_fixture(fx["file"]), silence(2.5)])
    longest_pause = max((p["end_s"] - p["start_s"] for p in fx["pauses"]), default=0.0)
    end_silence = max(1700, ms(longest_pause) + 300)
    seg = TurnSegmenter(end_silence_ms=end_silence)
    events = run(seg, pcm)
    starts, stops = kinds(events, "speech_started"), kinds(events, "speech_stopped")
    assert starts and stops
    assert abs(starts[0] - ms(fx["speech_start_s"])) <= ONSET_TOL_MS
    end_ms = ms(fx["speech_end_s"])
    assert abs(stops[-1] - end_ms) <= 100
    assert seg.last_voiced_end_ms == stops[-1]
    # Every pause is a stop and a fresh start at the right places.
    for pause in fx["pauses"]:
        assert any(abs(s - ms(pause["start_s"])) <= 250 for s in stops)
        assert any(abs(s - ms(pause["end_s"])) <= ONSET_TOL_MS for s in starts)
    # The turn ends once, after the answer, end_silence after the last voice.
    eot = kinds(events, "end_of_turn")
    assert len(eot) == 1
    assert stops[-1] + end_silence <= eot[0] <= stops[-1] + end_silence + 40
    assert events[-1].kind == "end_of_turn"
    assert seg.turn_ended and seg.heard_speech
    assert seg.received_ms == ms(pcm.size / RATE)


@pytest.mark.parametrize("fx", WITH_PAUSE, ids=lambda e: e["file"])
def test_thinking_pause_ends_turn_only_with_short_silence(fx: dict[str, Any]) -> None:
    pcm = np.concatenate([load_fixture(fx["file"]), silence(2.5)])
    pause = fx["pauses"][0]
    pause_ms = ms(pause["end_s"] - pause["start_s"])
    assert 1200 <= pause_ms <= 1500
    # 1700 ms outlasts the pause: the turn ends only after the answer.
    events = run(TurnSegmenter(end_silence_ms=1700), pcm)
    assert kinds(events, "end_of_turn")[0] > ms(fx["speech_end_s"])
    # 700 ms is shorter than the pause: the turn ends inside it.
    events = run(TurnSegmenter(end_silence_ms=700), pcm)
    eot = kinds(events, "end_of_turn")
    assert len(eot) == 1
    assert ms(pause["start_s"]) + 700 - 100 <= eot[0] < ms(pause["end_s"])
    # Speech after the end of turn is still reported (the caller decides what to do).
    assert any(s > eot[0] for s in kinds(events, "speech_started"))


def test_positions_count_from_the_first_input_sample() -> None:
    fx = entry("idempotency.wav")
    lead = silence(1.0, std=20)
    events = run(TurnSegmenter(), np.concatenate([lead, load_fixture(fx["file"])]))
    onset = kinds(events, "speech_started")[0]
    assert abs(onset - (1000 + ms(fx["speech_start_s"]))) <= ONSET_TOL_MS


def test_chunk_size_does_not_change_events() -> None:
    pcm = np.concatenate([load_fixture(WITH_PAUSE[0]["file"]), silence(1.5)])
    reference = run(TurnSegmenter(), pcm)
    rng = random.Random(4)
    seg = TurnSegmenter()
    events: list[VadEvent] = []
    pos = 0
    while pos < pcm.size:
        n = rng.choice([1, 7, 160, 321, 999, 4000])
        events += seg.feed(pcm[pos : pos + n])
        pos += n
    assert events == reference
    assert seg.feed(np.zeros(0, dtype=np.int16)) == []


# --------------------------------------------------------------------------- no speech


@pytest.mark.parametrize("std", [0.0, 30.0, 300.0, 1000.0])
def test_silence_and_low_noise_are_not_speech(std: float) -> None:
    seg = TurnSegmenter()
    events = run(seg, silence(10.0, std=std, seed=int(std)), chunk=480)
    assert events == []
    assert not seg.heard_speech and seg.speech_ms == 0
    assert seg.last_voiced_end_ms is None
    assert seg.voiced_audio().size == 0
    assert seg.received_ms == 10000


def _voiced_frames(pcm: np.ndarray, count: int) -> list[np.ndarray]:
    """20 ms frames that webrtcvad itself calls speech."""
    vad = webrtcvad.Vad(2)
    frames = []
    for i in range(8000, pcm.size - 320, 320 * 7):
        frame = pcm[i : i + 320]
        if vad.is_speech(frame.tobytes(), RATE):
            frames.append(frame)
        if len(frames) == count:
            break
    assert len(frames) == count
    return frames


@pytest.mark.parametrize("burst_frames", [1, 3])
def test_short_blips_do_not_start_speech(burst_frames: int) -> None:
    blips = _voiced_frames(load_fixture("sql_vs_nosql.wav"), 10 * burst_frames)
    parts = []
    for k in range(10):
        parts.append(silence(0.4, std=30, seed=k))
        parts += blips[k * burst_frames : (k + 1) * burst_frames]
    seg = TurnSegmenter()
    assert run(seg, np.concatenate(parts)) == []


def test_blip_in_trailing_silence_does_not_hold_the_turn() -> None:
    fx = entry("why_this_company.wav")
    speech = load_fixture(fx["file"])
    blip = _voiced_frames(speech, 1)[0]
    quiet = np.concatenate([silence(0.4), blip, silence(1.5)])
    plain = run(TurnSegmenter(), np.concatenate([speech, silence(0.4 + 0.02 + 1.5)]))
    with_blip = run(TurnSegmenter(), np.concatenate([speech, quiet]))
    assert kinds(with_blip, "speech_stopped") == kinds(plain, "speech_stopped")
    assert kinds(with_blip, "end_of_turn") == kinds(plain, "end_of_turn")


# --------------------------------------------------------------------------- turn logic


def test_end_silence_can_change_while_running() -> None:
    fx = entry("database_index.wav")
    speech = load_fixture(fx["file"])
    seg = TurnSegmenter(end_silence_ms=3000)
    events = run(seg, np.concatenate([speech, silence(1.0)]))
    assert not kinds(events, "end_of_turn")
    seg.end_silence_ms = 700  # e.g. the transcript now ends with a full stop
    events = seg.feed(silence(0.02))
    eot = kinds(events, "end_of_turn")
    assert eot == [seg.received_ms]
    assert seg.turn_ended


def test_min_speech_required_for_end_of_turn() -> None:
    speech = load_fixture("idempotency.wav")
    start = ms(entry("idempotency.wav")["speech_start_s"]) * RATE // 1000
    short = speech[start : start + int(0.45 * RATE)]  # under half a second of speech
    pcm = np.concatenate([silence(0.5), short, silence(2.0)])
    seg = TurnSegmenter(min_speech_ms=1000)
    events = run(seg, pcm)
    assert kinds(events, "speech_started") and kinds(events, "speech_stopped")
    assert not kinds(events, "end_of_turn")
    assert 0 < seg.speech_ms < 1000 and not seg.heard_speech
    events = run(TurnSegmenter(min_speech_ms=200), pcm)
    assert len(kinds(events, "end_of_turn")) == 1


def test_end_silence_shorter_than_hangover_still_stops_first() -> None:
    speech = load_fixture("python_gil.wav")
    events = run(TurnSegmenter(end_silence_ms=200), np.concatenate([speech, silence(1.0)]))
    names = [e.kind for e in events]
    eot_index = names.index("end_of_turn")
    assert names[eot_index - 1] == "speech_stopped"
    # Decided 200 ms after webrtcvad's end; the stop is placed back over its hangover.
    assert events[eot_index].audio_ms - events[eot_index - 1].audio_ms in range(200, 341)


def test_reset_starts_a_new_turn() -> None:
    seg = TurnSegmenter()
    run(seg, np.concatenate([load_fixture("python_gil.wav"), silence(1.0)]))
    assert seg.turn_ended and seg.heard_speech and seg.received_ms > 0
    seg.reset()
    assert not seg.turn_ended and not seg.heard_speech
    assert seg.received_ms == 0 and seg.last_voiced_end_ms is None
    assert seg.voiced_audio().size == 0
    fx = entry("python_gil.wav")
    events = run(seg, load_fixture(fx["file"]))
    assert abs(kinds(events, "speech_started")[0] - ms(fx["speech_start_s"])) <= ONSET_TOL_MS


def test_forgotten_speech_needs_new_speech_to_end_the_turn() -> None:
    speech = load_fixture("idempotency.wav")
    start = ms(entry("idempotency.wav")["speech_start_s"]) * RATE // 1000
    blip = speech[start : start + int(0.5 * RATE)]
    seg = TurnSegmenter(min_speech_ms=200, end_silence_ms=800)
    events = run(seg, np.concatenate([silence(0.5), blip, silence(0.4)]))
    assert kinds(events, "speech_stopped") and seg.heard_speech
    received = seg.received_ms
    seg.forget_speech()
    assert not seg.heard_speech and seg.speech_ms == 0 and seg.closed_segments == 0
    assert seg.voiced_audio().size == 0 and seg.received_ms == received  # positions kept
    assert not kinds(run(seg, silence(2.0)), "end_of_turn")  # the blip alone ends nothing
    events = run(seg, np.concatenate([speech[start : start + 2 * RATE], silence(1.5)]))
    assert len(kinds(events, "end_of_turn")) == 1
    # Only between segments: an open one is left as it is.
    seg = TurnSegmenter()
    run(seg, np.concatenate([silence(0.5), speech[start : start + RATE]]))
    assert seg.in_speech
    before = seg.speech_ms
    seg.forget_speech()
    assert seg.speech_ms == before > 0


def test_invalid_arguments() -> None:
    with pytest.raises(ValueError):
        TurnSegmenter(sample_rate=22050)
    with pytest.raises(ValueError):
        TurnSegmenter(frame_ms=25)
    with pytest.raises(ValueError):
        TurnSegmenter(aggressiveness=4)
    with pytest.raises(TypeError):
        TurnSegmenter().feed(np.zeros(320, dtype=np.float32))


# --------------------------------------------------------------------------- audio for STT


def _longest_quiet_ms(pcm: np.ndarray, threshold: float = 200.0) -> int:
    n = pcm.size // 320
    rms = np.sqrt(np.mean(pcm[: n * 320].reshape(n, 320).astype(np.float64) ** 2, axis=1))
    best = run_len = 0
    for quiet in rms < threshold:
        run_len = run_len + 1 if quiet else 0
        best = max(best, run_len)
    return best * 20


@pytest.mark.parametrize("fx", WITH_PAUSE[:2], ids=lambda e: e["file"])
def test_voiced_audio_pads_and_squeezes(fx: dict[str, Any]) -> None:
    lead_s = 3.0  # a long silence before the answer, as when the candidate thinks first
    pcm = np.concatenate([silence(lead_s, std=20), load_fixture(fx["file"]), silence(2.0)])
    seg = TurnSegmenter(end_silence_ms=1800)
    onset_ms = kinds(run(seg, pcm), "speech_started")[0]
    voiced = seg.voiced_audio()
    assert voiced.dtype == np.int16
    pause_s = sum(p["end_s"] - p["start_s"] for p in fx["pauses"])
    span_s = fx["speech_end_s"] - fx["speech_start_s"]
    expected_s = span_s - pause_s + 0.3 * len(fx["pauses"]) + 0.2 + 0.2
    assert voiced.size / RATE == pytest.approx(expected_s, abs=0.3)
    # No silence longer than the squeeze (plus VAD slack) is left for Whisper.
    assert _longest_quiet_ms(pcm) >= 1200
    assert _longest_quiet_ms(voiced) <= 500
    # It begins with 200 ms of pre-roll before the onset, taken verbatim from the input.
    start = (onset_ms - 200) * RATE // 1000
    assert np.array_equal(voiced[:8000], pcm[start : start + 8000])
    assert abs(onset_ms - ms(lead_s + fx["speech_start_s"])) <= ONSET_TOL_MS


def test_voiced_audio_while_speech_is_open() -> None:
    fx = entry("sql_vs_nosql.wav")
    speech = load_fixture(fx["file"])
    seg = TurnSegmenter()
    cut = 3 * RATE  # mid-sentence, before the first pause that closes a segment
    run(seg, speech[:cut])
    assert seg.in_speech and seg.closed_segments == 0
    voiced = seg.voiced_audio()
    # Everything from the pre-roll up to now (interim transcripts need the latest audio).
    expected = cut - (ms(fx["speech_start_s"]) - 200) * RATE // 1000
    assert abs(voiced.size - expected) <= 320
    assert np.array_equal(voiced[-1000:], speech[cut - 1000 : cut])
    assert seg.speech_ms > 2000


def test_voiced_audio_from_a_later_segment_covers_only_the_new_speech() -> None:
    seg = TurnSegmenter(end_silence_ms=5000)
    first = load_fixture("python_gil.wav")
    run(seg, np.concatenate([first, silence(0.8)]))
    done = seg.closed_segments
    assert done >= 1
    whole_before = seg.voiced_audio().size
    run(seg, np.concatenate([load_fixture("idempotency.wav"), silence(0.8)]))
    tail = seg.voiced_audio(first_segment=done)
    assert 0 < tail.size < seg.voiced_audio().size
    # The tail is the second answer's speech (about its length), not the first's.
    assert abs(tail.size - (seg.voiced_audio().size - whole_before)) < 16000 * 0.6
    assert seg.voiced_audio(first_segment=seg.closed_segments).size == 0
