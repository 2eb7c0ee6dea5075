from __future__ import annotations

import pytest

from voice_interview.interview.session.turn_end import (
    EndOfTurnInputs,
    EndOfTurnPolicy,
    sentence_complete,
    sentence_ending,
)


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


POLICY = EndOfTurnPolicy(finished_ms=700, unfinished_ms=1700, short_answer_ms=800, unsure_ms=800)


def wait(
    text: str | None,
    *,
    last_word_probability: float = 0.95,
    turn_probability: float | None = None,
    policy: EndOfTurnPolicy = POLICY,
) -> int:
    """The wait the policy chooses for ``text`` in an answer long enough and on its key
    points (so only the words and the voice decide)."""
    inputs = EndOfTurnInputs(
        text=text,
        last_word_probability=last_word_probability,
        turn_probability=turn_probability,
        speech_ms=30_000,
        difficulty="medium",
        question_type="technical",
        coverage=1.0,
    )
    return policy.decide(inputs).wait_ms


def test_end_silence_is_short_only_after_a_finished_sentence() -> None:
    assert wait("Done.") == 700
    assert wait("and the") == 1700
    assert wait(None) == 1700


@pytest.mark.parametrize(
    ("text", "ending"),
    [
        ("I would use a process pool instead.", "finished"),
        ("For CPU bound work I would use.", "open"),
        ("Then I tell the team and the", "open"),
        ("So, um.", "open"),
        ("...", "open"),
        ("", "open"),
        ("It scales to thousands of connections", "unclosed"),
    ],
)
def test_how_a_sentence_ends(text: str, ending: str) -> None:
    assert sentence_ending(text) == ending


def test_an_uncertain_ending_gets_the_middle_wait() -> None:
    # "the response is" heard as "the responses." with an unsure last word: maybe an end.
    assert wait("... and the responses.", last_word_probability=0.66) == 800
    assert wait("... and the responses.", last_word_probability=0.9) == 700
    assert wait("It scales to thousands of connections") == 800
    # A last word that cannot end a sentence waits long, unless it was barely heard.
    assert wait("and then I would use", last_word_probability=0.6) == 1700
    assert wait("and then I would use", last_word_probability=0.36) == 800


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
    veto = EndOfTurnPolicy(700, 1700, 800, unsure_ms=800, min_turn_probability=0.1)
    # A finished sentence said with a voice that goes on: the middle wait.
    assert wait("It worked.", turn_probability=0.04, policy=veto) == 800
    assert wait("It worked.", turn_probability=0.5, policy=veto) == 700
    # The model never shortens the wait for words that are not finished.
    assert wait("I would use", turn_probability=0.99, policy=veto) == 1700
    # Not run (no model, or the check timed out): the words alone decide.
    assert wait("It worked.", turn_probability=None, policy=veto) == 700
