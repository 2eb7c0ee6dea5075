"""audio.echo.EchoGuard: the question's echo out of the microphone, the candidate kept.

The echo is simulated as a client would return it: the question audio the server sent
(a Piper fixture), delayed by 40-300 ms on the server's arrival clock, at -20 or -10 dB,
through a short loudspeaker/room filter with a little saturation, over a room noise
floor; mic chunks arrive on time, with random network jitter, or in bursts.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
import numpy.typing as npt
import pytest
import soundfile as sf

from tests.audio_helpers import FIXTURES, load_fixture
from voice_interview.audio.codecs import resample
from voice_interview.audio.echo import EchoGuard
from voice_interview.audio.vad import TurnSegmenter

RATE = 16000
CHUNK = 320
T0 = 100.0  # server clock when the mic stream starts
QUESTION_AT = 1.0  # ... and when the question's first frame is sent (seconds after T0)
NOISE = 20.0  # int16 RMS of the room: about -64 dBFS
PATH = np.array([0.6, 0.3, -0.15, 0.08, 0.04])  # loudspeaker + room, 0.3 ms

F64 = npt.NDArray[np.float64]
Pcm = npt.NDArray[np.int16]


def _question() -> Pcm:
    pcm = load_fixture("sql_vs_nosql.wav")[: 9 * RATE].astype(np.float64)
    return np.asarray(np.round(pcm * (0.8 * 32767 / np.abs(pcm).max())), dtype=np.int16)


QUESTION = _question()


def candidate(name: str) -> F64:
    data, rate = sf.read(FIXTURES / "pauses" / name, dtype="int16")
    assert rate == RATE
    return np.asarray(data, dtype=np.float64)


def echo_of(pcm: Pcm, level_db: float, filtered: bool = True) -> F64:
    x = pcm.astype(np.float64)
    if filtered:
        x = np.convolve(x, PATH)[: x.size]
        x = 32767 * np.tanh(1.2 * x / 32767) / 1.2  # a loudspeaker driven hard
    return np.asarray(x * 10 ** (level_db / 20))


def add(mic: F64, signal: F64, at_s: float) -> None:
    start = round(at_s * RATE)
    if start < mic.size:
        mic[start : start + signal.size] += signal[: mic.size - start]


def to_pcm(x: F64) -> Pcm:
    return np.clip(np.round(x), -32768, 32767).astype(np.int16)


def room(seconds: float, seed: int = 0) -> F64:
    return np.random.default_rng(seed).normal(0.0, NOISE, round(seconds * RATE))


Events = list[tuple[float, Callable[[EchoGuard], None]]]


def stream(
    guard: EchoGuard,
    mic: Pcm,
    events: Events | None = None,
    arrival: str = "jitter",
    seed: int = 1,
) -> Pcm:
    """Feed ``mic`` in 20 ms chunks as they would arrive; ``events`` run at server times
    (seconds after T0) between chunks."""
    rng = np.random.default_rng(seed)
    todo = sorted(
        events or [(QUESTION_AT, lambda g: g.reference(QUESTION, T0 + QUESTION_AT))],
        key=lambda e: e[0],
    )
    out = []
    for i in range(0, mic.size, CHUNK):
        t = (i + CHUNK) / RATE
        while todo and todo[0][0] <= t:
            todo.pop(0)[1](guard)
        if arrival == "jitter":
            t += rng.exponential(0.015)
        elif arrival == "burst":  # the client sends five chunks at a time
            t = (np.floor(t / 0.1) + 1) * 0.1 + 0.005
        out.append(guard.process(mic[i : i + CHUNK], T0 + t))
    return np.concatenate(out)


def speech_starts(pcm: Pcm) -> list[float]:
    seg = TurnSegmenter(end_silence_ms=60_000)
    events = [ev for i in range(0, pcm.size, CHUNK) for ev in seg.feed(pcm[i : i + CHUNK])]
    return [ev.audio_ms / 1000 for ev in events if ev.kind == "speech_started"]


def db(x: F64 | Pcm) -> float:
    y = np.asarray(x, dtype=np.float64)
    return 10 * float(np.log10(np.mean(y * y) + 1e-9))


def preserved(out: Pcm, clean: F64) -> tuple[float, float]:
    """Correlation and SNR (dB) of the output against the candidate's clean speech, over
    the candidate's span."""
    idx = np.flatnonzero(np.abs(clean) > 0)
    span = slice(int(idx[0]), int(idx[-1]) + 1)
    c, o = clean[span], out[span].astype(np.float64)
    corr = float(np.dot(c, o) / np.sqrt(np.dot(c, c) * np.dot(o, o)))
    snr = 10 * float(np.log10(np.dot(c, c) / np.dot(o - c, o - c)))
    return corr, snr


# --------------------------------------------------------------------------- echo only


@pytest.mark.parametrize("level_db", [-20, -10])
@pytest.mark.parametrize("delay_ms", [40, 150, 300])
@pytest.mark.parametrize("arrival", ["jitter", "burst"])
def test_echo_alone_is_not_heard(level_db: int, delay_ms: int, arrival: str) -> None:
    mic = room(12)
    add(mic, echo_of(QUESTION, level_db), QUESTION_AT + delay_ms / 1000)
    pcm = to_pcm(mic)
    assert speech_starts(pcm), "without the guard the VAD hears the echo"
    guard = EchoGuard()
    out = stream(guard, pcm, arrival=arrival)
    assert speech_starts(out) == []
    # What is left is the room: the echo span is no louder than the noise floor.
    echo_span = slice(round((QUESTION_AT + 0.5) * RATE), round((QUESTION_AT + 9) * RATE))
    assert db(out[echo_span]) <= 10 * np.log10(NOISE**2) + 1.0
    assert guard.stats.delay_ms == pytest.approx(delay_ms, abs=10 if arrival == "jitter" else 12)
    assert guard.stats.erle_db > 15


def test_unfiltered_echo_at_0_db() -> None:
    """No browser echo cancellation at all, laptop speakers: as loud as the question."""
    mic = room(12)
    add(mic, echo_of(QUESTION, 0.0, filtered=False), QUESTION_AT + 0.12)
    out = stream(guard := EchoGuard(), to_pcm(mic))
    assert speech_starts(out) == []
    assert guard.stats.erle_db > 25


def test_the_delay_moves_mid_question() -> None:
    """The client's playout buffer grows from 120 to 220 ms five seconds in."""
    mic = room(12)
    echo = echo_of(QUESTION, -10)
    cut = 5 * RATE
    add(mic, echo[:cut], QUESTION_AT + 0.12)
    add(mic, echo[cut:], QUESTION_AT + 0.22 + 5)
    guard = EchoGuard()
    out = stream(guard, to_pcm(mic))
    assert speech_starts(out) == []
    assert guard.stats.delay_ms == pytest.approx(220, abs=10)


def test_two_questions_with_different_delays() -> None:
    mic = room(24)
    echo = echo_of(QUESTION, -10)
    add(mic, echo, QUESTION_AT + 0.15)
    add(mic, echo, 13.0 + 0.26)
    guard = EchoGuard()
    events: Events = [
        (QUESTION_AT, lambda g: g.reference(QUESTION, T0 + QUESTION_AT)),
        (12.9, lambda g: g.reference(QUESTION, T0 + 13.0)),
    ]
    out = stream(guard, to_pcm(mic), events)
    assert speech_starts(out) == []
    assert guard.stats.delay_ms == pytest.approx(260, abs=10)


def test_reference_at_another_rate_is_resampled() -> None:
    """Piper speaks at 22.05 kHz: the guard takes the reference at its own rate."""
    native = resample(QUESTION, RATE, 22050)
    mic = room(12)
    add(mic, echo_of(QUESTION, -10), QUESTION_AT + 0.1)
    guard = EchoGuard()
    events: Events = [(QUESTION_AT, lambda g: g.reference(native, T0 + QUESTION_AT, 22050))]
    out = stream(guard, to_pcm(mic), events)
    assert speech_starts(out) == []


# --------------------------------------------------------------------------- candidate


@pytest.mark.parametrize("level_db", [-20, -10])
@pytest.mark.parametrize("delay_ms", [40, 150, 300])
def test_candidate_over_the_echo_is_kept(level_db: int, delay_ms: int) -> None:
    """The candidate starts answering 3 s into the question and talks over its rest."""
    speech = candidate("talk_over_start.wav")
    clean = np.zeros(14 * RATE)
    add(clean, speech, 4.0)
    mic = room(14) + clean
    add(mic, echo_of(QUESTION, level_db), QUESTION_AT + delay_ms / 1000)
    pcm = to_pcm(mic)
    out = stream(EchoGuard(), pcm)
    heard, expected = speech_starts(out), speech_starts(to_pcm(room(14, seed=5) + clean))
    assert len(heard) == len(expected)
    assert np.allclose(heard, expected, atol=0.06)
    corr, snr = preserved(out, clean)
    _, snr_in = preserved(pcm, clean)
    assert corr > 0.99
    assert snr > snr_in + 4 and snr > 20


@pytest.mark.parametrize("level_db", [-20, -10])
def test_candidate_talking_from_the_start(level_db: int) -> None:
    """Talk-over before the guard has found the echo of the very first question: until
    it has (or, with the candidate 20 dB over a faint echo, until it gives up looking,
    about 1 s into the question) the gate holds back whatever is not louder than the
    loudest echo the question could make, so the candidate's first word may be cut or
    split in two; after that the candidate is kept."""
    speech = candidate("talk_over_start.wav")
    clean = np.zeros(14 * RATE)
    add(clean, speech, QUESTION_AT + 0.2)
    mic = room(14) + clean
    add(mic, echo_of(QUESTION, level_db), QUESTION_AT + 0.3)
    out = stream(EchoGuard(), to_pcm(mic))
    heard, expected = speech_starts(out), speech_starts(to_pcm(room(14, seed=5) + clean))
    assert 0 <= heard[0] - expected[0] < 0.7
    later = [t for t in heard if t > expected[0] + 1.0]
    assert np.allclose(later, expected[1:], atol=0.06)
    first_second = slice(round(expected[0] * RATE), round((expected[0] + 1) * RATE))
    assert preserved(out[first_second], clean[first_second])[0] > 0.6
    assert preserved(out, clean)[0] > 0.97


@pytest.mark.parametrize("echo_db", [None, -10])
def test_barge_in_is_heard(echo_db: int | None) -> None:
    """'Sorry, could you repeat the question?' 2 s into the question, with the echo or
    with none at all (a client whose own echo cancellation removed it)."""
    speech = candidate("barge_in_repeat.wav")
    clean = np.zeros(12 * RATE)
    add(clean, speech, 3.0)
    mic = room(12) + clean
    if echo_db is not None:
        add(mic, echo_of(QUESTION, echo_db), QUESTION_AT + 0.15)
    out = stream(EchoGuard(), to_pcm(mic))
    heard = speech_starts(out)
    expected = speech_starts(to_pcm(room(12, seed=5) + clean))
    assert len(heard) == len(expected) >= 1
    assert np.allclose(heard, expected, atol=0.06)
    corr, _ = preserved(out, clean)
    assert corr > 0.99


# --------------------------------------------------------------------------- pass-through


def test_outside_playback_the_input_is_untouched() -> None:
    guard = EchoGuard()
    mic = to_pcm(room(3) + np.sin(np.arange(3 * RATE) * 0.05) * 3000)
    for i in range(0, mic.size, CHUNK):
        chunk = mic[i : i + CHUNK]
        assert guard.process(chunk, T0 + (i + CHUNK) / RATE) is chunk
    assert not guard.playing
    assert guard.stats.active_samples == 0


def test_after_the_echo_and_after_cancel_the_input_is_untouched() -> None:
    """Playback cut 4 s in: once its last echo is over, process() is a pass-through."""
    mic = room(12)
    add(mic, echo_of(QUESTION[: 4 * RATE], -10), QUESTION_AT + 0.15)
    pcm = to_pcm(mic)
    guard = EchoGuard()
    events: Events = [
        (QUESTION_AT, lambda g: g.reference(QUESTION, T0 + QUESTION_AT)),
        (QUESTION_AT + 4, lambda g: g.cancel(T0 + QUESTION_AT + 4)),
    ]
    out = stream(guard, pcm, events)
    assert speech_starts(out) == []
    after = slice(round((QUESTION_AT + 4 + 0.5 + 0.25 + 0.1) * RATE), None)
    assert np.array_equal(out[after], pcm[after])
    assert not guard.playing


def test_input_checks() -> None:
    guard = EchoGuard()
    with pytest.raises(TypeError):
        guard.process(np.zeros(320, dtype=np.float32), T0)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        EchoGuard(sample_rate=48000)
    empty = np.zeros(0, dtype=np.int16)
    assert guard.process(empty, T0) is empty


# --------------------------------------------------------------------------- cost


def test_cpu_per_frame() -> None:
    """Measured, and printed (``pytest -s``); the bound only catches a gross regression."""
    speech = candidate("talk_over_start.wav")
    mic = room(14)
    add(mic, speech, 4.0)
    add(mic, echo_of(QUESTION, -10), QUESTION_AT + 0.15)
    pcm = to_pcm(mic)
    guard = EchoGuard()
    stream(guard, pcm)
    active = guard.stats.cpu_ms_per_frame
    idle = EchoGuard()
    chunks = [pcm[i : i + CHUNK] for i in range(0, pcm.size, CHUNK)]
    start = time.thread_time()
    for k, chunk in enumerate(chunks):
        idle.process(chunk, T0 + k * 0.02)
    passthrough = 1000 * (time.thread_time() - start) / len(chunks)
    print(
        f"\nEchoGuard CPU per 20 ms frame: {active:.3f} ms during playback, "
        f"{passthrough:.4f} ms outside it"
    )
    assert active < 2.0
    assert passthrough < 0.1


def test_a_client_that_stops_sending_while_the_question_plays() -> None:
    """The client sends 3 s, nothing while a 4 s question plays, then answers at once:
    the answer's first words are the candidate's, not echo to be muted."""
    guard = EchoGuard()
    for i in range(0, 3 * RATE, CHUNK):
        guard.process(to_pcm(room(CHUNK / RATE, seed=i)), T0 + (i + CHUNK) / RATE)
    q_at = T0 + 3.0
    guard.reference(QUESTION[: 4 * RATE], q_at)
    answer = candidate("resume_rate_limit.wav")[: 3 * RATE]
    start = q_at + 4.3  # heard the question out, then speaks
    out = []
    for i in range(0, answer.size, CHUNK):
        out.append(guard.process(to_pcm(answer[i : i + CHUNK]), start + (i + CHUNK) / RATE))
    kept = np.concatenate(out)
    corr, snr = preserved(kept, answer)
    assert corr > 0.99 and snr > 30, (corr, snr)
