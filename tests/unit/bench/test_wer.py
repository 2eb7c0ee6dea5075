from __future__ import annotations

import pytest

from voice_interview.bench.wer import normalise, word_error_rate


def test_normalise() -> None:
    assert normalise("B-tree, it's 3 TIMES!") == ["b", "tree", "it's", "three", "times"]


@pytest.mark.parametrize(
    ("ref", "hyp", "expected"),
    [
        ("the cat sat", "the cat sat", 0.0),
        ("the cat sat", "the cat", 1 / 3),
        ("the cat sat", "the bat sat down", 2 / 3),
        ("", "", 0.0),
        ("", "noise", 1.0),
        ("one two", "", 1.0),
    ],
)
def test_word_error_rate(ref: str, hyp: str, expected: float) -> None:
    assert word_error_rate(ref, hyp) == pytest.approx(expected)
