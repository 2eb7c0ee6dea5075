"""Speech metrics, the voiced-audio timeline, and finding quotes among the words."""

from __future__ import annotations

import numpy as np
import pytest

from tests.audio_helpers import load_fixture
from voice_interview.audio.vad import TurnSegmenter
from voice_interview.interview.evaluation.speech_metrics import (
    FILLER_NOTE,
    PAUSE_MIN_S,
    SQUEEZED_NOTE,
    SpokenWord,
    count_fillers,
    fit_words,
    locate_quote,
    parse_words,
    speech_metrics,
    timeline_of,
    to_input_s,
    voiced_chunks,
)

RATE = 16000


def _spaced(text: str, start: float = 0.0, step: float = 0.3) -> list[SpokenWord]:
    return [
        SpokenWord(w, round(start + i * step, 3), round(start + i * step + step * 0.8, 3), 0.9)
        for i, w in enumerate(text.split())
    ]


def _noise(seconds: float, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.normal(0, 10, int(seconds * RATE)).astype(np.int16)


def _stitched(*, open_end: bool) -> tuple[TurnSegmenter, np.ndarray]:
    """Two answers' speech with a 1.4 s thinking pause and a 0.45 s one inside."""
    a = load_fixture("why_this_company.wav")
    b = load_fixture("idempotency.wav")
    c = load_fixture("python_gil.wav")[: RATE * 3]
    parts = [a, _noise(1.4, 1), b, _noise(0.45, 2), c]
    if not open_end:
        parts.append(_noise(1.0, 3))
    audio = np.concatenate(parts).astype(np.int16)
    seg = TurnSegmenter(end_silence_ms=5000)
    for i in range(0, audio.size, 320):
        seg.feed(audio[i : i + 320])
    return seg, audio


@pytest.mark.parametrize("open_end", [False, True])
def test_voiced_chunks_rebuild_the_segmenter_voiced_audio(open_end: bool) -> None:
    seg, audio = _stitched(open_end=open_end)
    assert len(seg.segments_ms) >= 2
    assert seg.in_speech == open_end
    timeline = timeline_of(seg)
    rebuilt = np.concatenate(
        [audio[a * RATE // 1000 : b * RATE // 1000] for a, b in timeline["chunks_ms"]]
    )
    voiced = seg.voiced_audio()
    assert rebuilt.size == voiced.size
    assert np.array_equal(rebuilt, voiced)
    assert timeline["segments_ms"] == [[a, b] for a, b in seg.segments_ms]


def test_no_pause_can_hide_inside_a_vad_segment() -> None:
    # Pauses are read from the gaps between VAD segments: a silence long enough to be a
    # pause must close a segment.
    assert TurnSegmenter.hangover_ms < PAUSE_MIN_S * 1000


def test_voiced_chunks_squeeze_long_gaps_only() -> None:
    chunks = voiced_chunks(
        [(300, 2000), (2200, 4000), (5400, 6000)], received_ms=8000, pre_roll_ms=200,
        squeeze_ms=300,
    )
    # 200 ms gap kept whole; 1.4 s gap cut to 150 + 150 ms; 200 ms pre-roll at both ends.
    assert chunks == [(100, 4150), (5250, 6200)]
    assert voiced_chunks([], received_ms=1000, pre_roll_ms=200, squeeze_ms=300) == []
    # An open segment runs to the audio received.
    assert voiced_chunks([(100, 900)], received_ms=900, pre_roll_ms=200, squeeze_ms=300) == [
        (0, 900)
    ]


def test_to_input_s_maps_across_a_cut() -> None:
    chunks = [(100, 4150), (5250, 6200)]
    assert to_input_s(0.0, chunks) == pytest.approx(0.1)
    assert to_input_s(4.0, chunks) == pytest.approx(4.1)
    assert to_input_s(4.1, chunks) == pytest.approx(5.3)  # 50 ms into the second chunk
    assert to_input_s(1.0, []) == 1.0


def test_pauses_come_from_the_vad_segments_between_words() -> None:
    # Input: speech 0.3-2.0, a 1.4 s pause, speech 3.4-5.0, a cough at 6.0-6.2 alone, a
    # 0.4 s pause (not counted), speech 6.6-8.0; stored audio squeezes the long gaps.
    segments = [(300, 2000), (3400, 5000), (6000, 6200), (6600, 8000)]
    chunks = voiced_chunks(segments, received_ms=9000, pre_roll_ms=200, squeeze_ms=300)
    timeline = {"segments_ms": [list(s) for s in segments], "chunks_ms": [list(c) for c in chunks]}

    def stored(t_input: float) -> float:  # inverse of to_input_s, for building words
        ms, offset = t_input * 1000, 0.0
        for a, b in chunks:
            if a <= ms <= b:
                return (offset + ms - a) / 1000
            offset += b - a
        raise AssertionError(t_input)

    spoken = [(0.4, 1.9), (3.5, 4.9), (6.7, 7.9)]  # three stretches of words
    words: list[SpokenWord] = []
    for a, b in spoken:
        for k in range(5):
            t0 = a + k * (b - a) / 5
            words.append(SpokenWord("word", stored(t0), stored(t0 + (b - a) / 6), 0.9))
    m = speech_metrics(words, 4800, timeline)
    # 1.4 s between the first two stretches; the cough segment holds no word, so the
    # silence from 5.0 to 6.6 counts as one pause of 1.6 s.
    assert m["pauses"] == {
        "count": 2, "longest_s": 1.6, "total_s": 3.0, "min_pause_s": 0.5, "timeline": "input",
    }
    assert m["wpm"] == pytest.approx(15 * 60 / 4.8, abs=0.1)
    assert m["speaking_time_from"] == "vad"
    assert FILLER_NOTE in m["notes"] and SQUEEZED_NOTE not in m["notes"]


def test_without_a_timeline_pauses_are_gaps_in_the_stored_audio() -> None:
    words = [*_spaced("one two three"), *_spaced("four five", start=1.6)]
    m = speech_metrics(words, 0, None)
    assert m["pauses"]["timeline"] == "stored_audio"
    assert m["pauses"]["count"] == 1 and m["pauses"]["longest_s"] == pytest.approx(0.76)
    assert SQUEEZED_NOTE in m["notes"]
    assert m["speaking_time_from"] == "words"
    empty = speech_metrics([], 0, None)
    assert empty["wpm"] is None and empty["words"] == 0 and empty["pauses"]["count"] == 0


def test_speech_metrics_are_deterministic_and_json_ready() -> None:
    import json

    words = _spaced("so um I think it's, like, kind of slow, you know, basically")
    first = speech_metrics(words, 4000, None)
    assert first == speech_metrics(words, 4000, None)
    assert json.loads(json.dumps(first)) == first
    assert first["fillers"]["by_word"] == {
        "basically": 1, "kind of": 1, "like": 1, "um": 1, "you know": 1,
    }
    assert first["fillers"]["count"] == 5
    assert first["fillers"]["per_100_words"] == pytest.approx(100 * 5 / 12, abs=0.1)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("I like Go and things like caching.", {}),
        ("It was, like, really slow.", {"like": 1}),
        ("Like, we shipped it anyway.", {"like": 1}),
        ("Um, so uh we rolled back. Erm, then hmm.", {"um": 1, "uh": 1, "er": 1, "hmm": 1}),
        ("Do you know the answer? If you know, say it.", {}),
        ("It is fast, you know, and cheap.", {"you know": 1}),
        ("It is fast, you know.", {"you know": 1}),
        ("I mean, it works.", {"I mean": 1}),
        ("I mean the index, not the table.", {}),
        ("It is kind of slow and sort of fragile.", {"kind of": 1, "sort of": 1}),
        ("What kind of index is a sort of tree?", {}),
        ("Basically it actually worked.", {"actually": 1, "basically": 1}),
        ("", {}),
    ],
)
def test_filler_words(text: str, expected: dict[str, int]) -> None:
    assert count_fillers(text.split()) == expected


def test_locate_quote_exact_despite_punctuation_case_and_word_splits() -> None:
    words = [
        SpokenWord("An", 0.0, 0.2, 0.9), SpokenWord("index", 0.2, 0.6, 0.9),
        SpokenWord("is", 0.6, 0.7, 0.9), SpokenWord("a", 0.7, 0.8, 0.9),
        SpokenWord("B", 0.8, 1.0, 0.9), SpokenWord("-tree,", 1.0, 1.4, 0.9),
        SpokenWord("so", 1.5, 1.7, 0.9), SpokenWord("reads", 1.7, 2.1, 0.9),
        SpokenWord("are", 2.1, 2.2, 0.9), SpokenWord("fast.", 2.2, 2.6, 0.9),
    ]
    assert locate_quote("a B-tree", words) == (0.7, 1.4)
    assert locate_quote("So reads are FAST", words) == (1.5, 2.6)
    assert locate_quote("An index", words) == (0.0, 0.6)


def test_locate_quote_fuzzy_and_not_found() -> None:
    words = _spaced("we moved the indexing to a background queue so the app stayed fast")
    # One word heard differently ("cue" for "queue"): the in-order word match finds it.
    at = locate_quote("moved the indexing to a background cue", words)
    assert at is not None
    assert at[0] == words[1].start and at[1] == words[6].end
    assert locate_quote("completely unrelated sentence about cats", words) is None
    assert locate_quote("", words) is None
    assert locate_quote("anything", []) is None


def test_fit_words_stretches_onto_the_stored_audio() -> None:
    words = _spaced("a b c", step=1.0)
    fitted = fit_words(words, 10.0, 9.9)
    assert fitted[2].start == pytest.approx(2.0 * 0.99)
    assert fitted[0].word == "a" and fitted[0].probability == 0.9
    assert fit_words(words, 10.0, 10.001) == words
    assert fit_words(words, 0.0, 5.0) == words


def test_parse_words_skips_malformed_entries() -> None:
    raw = [["ok", 0.1, 0.2, 0.9], ["short", 0.2, 0.3], "bad", [None, "x", 1, 1], 5]
    parsed = parse_words(raw)
    assert parsed == [SpokenWord("ok", 0.1, 0.2, 0.9), SpokenWord("short", 0.2, 0.3, 1.0)]
    assert parse_words(None) == [] and parse_words("text") == []
