"""The rules of a turn, without a server: continuation after an early end, the end-of-turn
policy, repeat requests. Real VAD over real speech; no models."""

from __future__ import annotations

import asyncio
from typing import Any, cast

import numpy as np
import pytest

from tests.audio_helpers import load_fixture
from voice_interview.audio.vad import TurnSegmenter
from voice_interview.interview.session.incremental import IncrementalTranscript
from voice_interview.interview.session.repeat_request import (
    is_backchannel,
    is_repeat_request,
)
from voice_interview.interview.session.turn import (
    AnswerTooLong,
    EndOfTurn,
    InterimDue,
    SpeechStarted,
    SpeechStopped,
    Turn,
    TurnEvent,
    Window,
)
from voice_interview.interview.session.turn_end import (
    EndOfTurnInputs,
    EndOfTurnPolicy,
    key_point_coverage,
)

RATE = 16000
FRAME = 320
WINDOW_MS, MIN_SPEECH_MS = 2000, 300
SPEECH = load_fixture("idempotency.wav")


def make_turn(end_silence_ms: int = 500, max_answer_ms: int = 120_000) -> Turn:
    seg = TurnSegmenter(sample_rate=RATE, end_silence_ms=end_silence_ms)
    none = cast(Any, None)
    return Turn(
        question=none,
        started=0.0,
        segmenter=seg,
        transcript=IncrementalTranscript(seg, none, none, none, is_stale=lambda: False),
        max_answer_ms=max_answer_ms,
        interim_interval_ms=1000,
    )


class Clock:
    """Feeds a turn in 20 ms frames on a fake server clock that moves with the audio."""

    def __init__(self, turn: Turn) -> None:
        self.turn, self.now = turn, 100.0

    def feed(self, pcm: np.ndarray) -> list[TurnEvent]:
        events: list[TurnEvent] = []
        for i in range(0, pcm.size, FRAME):
            self.now += FRAME / RATE
            events += self.turn.feed(pcm[i : i + FRAME], self.now)
        return events

    def window(self) -> Window:
        return self.turn.window(self.now, WINDOW_MS, MIN_SPEECH_MS)


def silence(seconds: float) -> np.ndarray:
    noise = np.random.default_rng(1).normal(0, 10, int(seconds * RATE))
    return noise.astype(np.int16)


def speak_then_end(clock: Clock) -> None:
    events = clock.feed(np.concatenate([SPEECH[: 3 * RATE], silence(1.0)]))
    assert any(isinstance(e, EndOfTurn) for e in events)
    clock.turn.mark_ended(clock.now, asyncio.get_running_loop().create_future())


def test_events_come_in_input_order() -> None:
    clock = Clock(make_turn())
    events = clock.feed(np.concatenate([silence(0.5), SPEECH[: 3 * RATE], silence(1.0)]))
    kinds = [type(e) for e in events]
    assert kinds[0] is SpeechStarted
    assert SpeechStopped in kinds
    assert kinds.index(EndOfTurn) > kinds.index(SpeechStopped)
    assert InterimDue in kinds


async def test_speech_soon_after_the_end_takes_it_back() -> None:
    clock = Clock(make_turn())
    speak_then_end(clock)
    closed = clock.turn.segmenter.closed_segments
    clock.feed(silence(0.8))
    assert clock.window() is Window.OPEN
    clock.feed(SPEECH[3 * RATE : int(3.15 * RATE)])
    assert clock.window() is Window.OPEN  # a continuation starting: not yet long enough
    clock.feed(SPEECH[int(3.15 * RATE) : 5 * RATE])
    assert clock.window() is Window.RESUME
    turn = clock.turn
    turn.reopen()
    assert turn.resumes == 1 and turn.resumed_at_segment == closed and not turn.ended
    events = clock.feed(silence(1.0))
    assert any(isinstance(e, EndOfTurn) for e in events), "a reopened turn can end again"
    # The whole answer, both parts, is what the final pass hears.
    assert turn.segmenter.voiced_audio().size > turn.audio_before_resume().size + 1.5 * RATE
    assert turn.continuation_audio().size > 1.5 * RATE


async def test_the_window_closes_on_the_input_audio_clock() -> None:
    clock = Clock(make_turn())
    speak_then_end(clock)
    clock.feed(silence(1.9))
    assert clock.window() is Window.OPEN
    clock.feed(silence(0.2))
    assert clock.window() is Window.CLOSED
    clock.feed(SPEECH[3 * RATE : 5 * RATE])
    assert clock.window() is Window.CLOSED  # speech after closing is the next answer's


async def test_the_window_closes_on_the_server_clock_when_no_audio_comes() -> None:
    clock = Clock(make_turn())
    speak_then_end(clock)
    assert clock.turn.window(clock.now + 1.5, WINDOW_MS, MIN_SPEECH_MS) is Window.OPEN
    assert clock.turn.window(clock.now + 2.1, WINDOW_MS, MIN_SPEECH_MS) is Window.CLOSED


async def test_the_window_stays_open_while_the_next_question_plays() -> None:
    clock = Clock(make_turn())
    speak_then_end(clock)
    clock.feed(silence(3.0))
    turn = clock.turn
    assert turn.window(clock.now, WINDOW_MS, MIN_SPEECH_MS, question_playing=True) is Window.OPEN
    clock.feed(SPEECH[3 * RATE : 5 * RATE])
    assert turn.window(clock.now, WINDOW_MS, MIN_SPEECH_MS, question_playing=True) is (
        Window.RESUME
    )


async def test_a_click_in_the_window_does_not_take_the_end_back() -> None:
    clock = Clock(make_turn())
    speak_then_end(clock)
    click = (np.sin(np.arange(int(0.08 * RATE)) * 0.3) * 8000).astype(np.int16)
    clock.feed(np.concatenate([silence(0.3), click, silence(0.4)]))
    assert clock.window() is Window.OPEN


async def test_after_the_end_only_the_window_listens() -> None:
    clock = Clock(make_turn(max_answer_ms=4000))
    speak_then_end(clock)
    events = clock.feed(np.concatenate([SPEECH[3 * RATE : 6 * RATE], silence(1.0)]))
    assert not any(isinstance(e, EndOfTurn | AnswerTooLong | InterimDue) for e in events)


def test_an_answer_over_the_limit_says_so_once() -> None:
    clock = Clock(make_turn(max_answer_ms=2000))
    events = clock.feed(SPEECH[: 4 * RATE])
    assert sum(isinstance(e, AnswerTooLong) for e in events) == 1


async def test_settled_tells_whether_the_answer_stands() -> None:
    loop = asyncio.get_running_loop()
    turn = make_turn()
    assert await turn.settled() is True  # no window: an explicit end
    turn.mark_ended(1.0, loop.create_future())
    turn.settle(False)
    assert await turn.settled() is False
    turn.reopen()
    turn.mark_ended(2.0, loop.create_future())
    turn.settle(True)
    turn.settle(False)  # a second verdict changes nothing
    assert await turn.settled() is True


# ---------------------------------------------------------------------------- the policy

POLICY = EndOfTurnPolicy(finished_ms=500, unfinished_ms=1700, short_answer_ms=1000, unsure_ms=800)


def inputs(text: str | None, **kw: Any) -> EndOfTurnInputs:
    base: dict[str, Any] = {
        "text": text,
        "last_word_probability": 0.95,
        "turn_probability": 0.9,
        "speech_ms": 15_000,
        "difficulty": "medium",
        "question_type": "technical",
        "coverage": 0.8,
    }
    base.update(kw)
    return EndOfTurnInputs(**base)


def test_mid_sentence_gets_the_long_wait() -> None:
    d = POLICY.decide(inputs("and then I would use the"))
    assert (d.wait_ms, d.why) == (1700, "unfinished")
    assert POLICY.decide(inputs(None)).why == "unfinished"
    # Maybe finished, but heard unsure: the middle wait, under the long one.
    d = POLICY.decide(inputs("It is done.", last_word_probability=0.5))
    assert (d.wait_ms, d.why) == (800, "unsure")


def test_a_voice_going_on_gets_the_middle_wait() -> None:
    policy = EndOfTurnPolicy(500, 1700, 1000, unsure_ms=800, min_turn_probability=0.1)
    d = policy.decide(inputs("It is done.", turn_probability=0.05))
    assert (d.wait_ms, d.why) == (800, "voice_going_on")
    assert policy.decide(inputs("It is done.", turn_probability=None)).why == "finished"


def test_a_finished_sentence_in_a_full_answer_gets_the_short_wait() -> None:
    d = POLICY.decide(inputs("That is how I would shard it."))
    assert (d.wait_ms, d.why) == (500, "finished")


def test_a_short_first_sentence_waits_longer() -> None:
    d = POLICY.decide(inputs("It's a hash table.", speech_ms=900, coverage=0.0))
    assert (d.wait_ms, d.why) == (1000, "short_answer")
    # Short but already on the key points: a concise answer, not a first sentence.
    assert POLICY.decide(inputs("Done.", speech_ms=900, coverage=0.6)).why == "finished"


def test_what_counts_as_short_depends_on_the_question() -> None:
    easy = POLICY.decide(inputs("Done.", speech_ms=4000, coverage=0.0, difficulty="easy"))
    hard = POLICY.decide(inputs("Done.", speech_ms=4000, coverage=0.0, difficulty="hard"))
    story = POLICY.decide(inputs("Done.", speech_ms=5000, coverage=0.0, question_type="behavioral"))
    assert (easy.why, hard.why, story.why) == ("finished", "short_answer", "short_answer")


def test_the_decision_logs_its_inputs() -> None:
    log = POLICY.decide(inputs("It's a hash table.", speech_ms=900, coverage=0.0)).to_log()
    assert log["why"] == "short_answer" and log["speech_ms"] == 900
    assert log["expected_speech_ms"] == 16000 and log["coverage"] == 0.0


def test_key_point_coverage_counts_points_touched() -> None:
    points = [
        "An index is a sorted structure such as a B-tree",
        "Indexes slow down writes because they must be updated",
    ]
    assert key_point_coverage("", points) == 0.0
    assert key_point_coverage("A B-tree index keeps the keys sorted.", points) == 0.5
    both = "A sorted B-tree index; every write must update the indexes, which slows writes."
    assert key_point_coverage(both, points) == 1.0
    assert key_point_coverage("anything", []) is None


# ---------------------------------------------------------------------------- repeats


@pytest.mark.parametrize(
    "text",
    [
        "Sorry, could you repeat that?",
        "Can you say that again please?",
        "Sorry, I didn't catch that.",
        "Could you repeat the question?",
        "Pardon?",
        "What was the question?",
    ],
)
def test_repeat_requests(text: str) -> None:
    assert is_repeat_request(text, 1500)


@pytest.mark.parametrize(
    "text",
    [
        "I would repeat the request with an idempotency key.",
        "The client retries, so the server must not apply it twice.",
        "",
        None,
    ],
)
def test_not_repeat_requests(text: str | None) -> None:
    assert not is_repeat_request(text, 1500)


def test_a_long_answer_is_never_a_repeat_request() -> None:
    assert not is_repeat_request("Could you repeat that? Anyway, I would use a queue.", 6000)


@pytest.mark.parametrize("text", ["Okay.", "Mm-hmm.", "Yeah, right.", "OK, got it.", "Thank you."])
def test_backchannels(text: str) -> None:
    assert is_backchannel(text, 600)


@pytest.mark.parametrize("text", ["Okay, and then the cache.", "Yes, with a lock.", "", None])
def test_not_backchannels(text: str | None) -> None:
    assert not is_backchannel(text, 600)
