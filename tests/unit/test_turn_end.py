from __future__ import annotations

import pytest

from voice_interview.interview.session.turn_end import end_silence_ms, sentence_complete


@pytest.mark.parametrize(
    "text",
    [
        "I would use a process pool instead.",
        "It is great for thousands of network connections.",
        "Why would you do that?",
        'He said "no."',
    ],
)
def test_finished_sentences(text: str) -> None:
    assert sentence_complete(text)


@pytest.mark.parametrize(
    "text",
    [
        "For CPU bound work I would use.",  # Whisper's stop at the end of a clip
        "I thought it was too risky because.",
        "Then I tell the team and the",
        "So, um.",
        "the answer is",
        "",
        "   ",
        "...",
    ],
)
def test_unfinished_sentences(text: str) -> None:
    assert not sentence_complete(text)


def test_end_silence_is_short_only_after_a_finished_sentence() -> None:
    assert end_silence_ms("Done.", finished_ms=600, unfinished_ms=1700) == 600
    assert end_silence_ms("and the", finished_ms=600, unfinished_ms=1700) == 1700
    assert end_silence_ms(None, finished_ms=600, unfinished_ms=1700) == 1700


def test_an_uncertain_last_word_gets_the_long_wait() -> None:
    kw = {"finished_ms": 700, "unfinished_ms": 1700}
    assert end_silence_ms("... and the responses.", last_word_probability=0.66, **kw) == 1700
    assert end_silence_ms("... and the responses.", last_word_probability=0.9, **kw) == 700


@pytest.mark.parametrize(
    ("text", "finished"),
    [
        ("I built a prototype in a week to show the team that.", False),
        ("We all knew that.", False),  # rare as a whole answer; a long wait only costs time
        ("I told my manager that.", False),
        ("I did that.", True),
        ("We never wanted that.", True),
        ("That is what I would do about that.", True),
    ],
)
def test_a_final_that_after_a_verb_of_saying_is_unfinished(text: str, finished: bool) -> None:
    assert sentence_complete(text) is finished


def test_the_turn_model_can_only_lengthen_the_wait() -> None:
    kw = {"finished_ms": 700, "unfinished_ms": 1700, "min_turn_probability": 0.1}
    # A finished sentence said with a voice that goes on: wait long.
    assert end_silence_ms("It worked.", turn_probability=0.04, **kw) == 1700
    assert end_silence_ms("It worked.", turn_probability=0.5, **kw) == 700
    # The model never shortens the wait for words that are not finished.
    assert end_silence_ms("I would use", turn_probability=0.99, **kw) == 1700
    # Not run (no model, or the check timed out): the words alone decide.
    assert end_silence_ms("It worked.", turn_probability=None, **kw) == 700
