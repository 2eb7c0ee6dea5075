"""When has the candidate finished? Words and voice decide how long a silence ends the turn.

After a finished sentence a short silence ends the turn; mid-sentence (the last word
cannot end a sentence, or the text has no closing punctuation) the server waits
longer, so a candidate who stops to find the next word is not cut off. Whisper puts a
full stop at the end of almost any clip, so the last word matters more than the
punctuation. A turn model that listens to the voice (Smart Turn) can only lengthen the
wait: a finished sentence said with a "more to come" voice gets the long one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from voice_interview.interview.rubric import content_stems

# Words after which an English sentence practically never ends: articles, prepositions,
# conjunctions, auxiliaries, subject pronouns, fillers, and verbs that need an object.
CONTINUATION_WORDS = frozenset(
    """
    a an the my our your their his her its every each
    and or but nor because so then than as if when while whereas although though since
    unless until whether which who whom whose where why how what
    to of in on at by for with from into onto about over under between through during
    without within across after before like via per
    is are was were be been being am do does did have has had will would can could
    should shall may might must
    i we you they he she it's i'm we're you're they're i'd we'd i'll we'll
    um uh er erm hmm ah very just maybe
    use using make making get getting put take call
    """.split()  # noqa: SIM905 - a word list reads better as text
)

# "to show the team that ...": after a verb of saying, knowing or showing, a final "that"
# introduces a clause still to come ("I did that." stays finished).
COMPLEMENT_VERBS = frozenset(
    """
    say says said tell tells told show shows showed shown think thinks thought know knows
    knew believe believes believed realise realised realize realized mean means meant
    prove proved proven ensure ensured convince convinced agree agreed decide decided
    notice noticed find found learn learned learnt explain explained argue argued
    """.split()  # noqa: SIM905 - a word list reads better as text
)

_WORD = re.compile(r"[a-z']+")
_CLOSED = re.compile(r"[.!?][\"')\]]*\s*$")


def sentence_complete(text: str) -> bool:
    """Whether the transcript so far ends at the end of a sentence."""
    stripped = text.strip()
    if not stripped or not _CLOSED.search(stripped):
        return False
    words = _WORD.findall(stripped.lower())
    if not words:
        return False
    if words[-1] == "that" and COMPLEMENT_VERBS.intersection(words[-4:-1]):
        return False
    return words[-1] not in CONTINUATION_WORDS


# Below this, the last word may be misheard ("returns" heard as "return."): wait longer.
MIN_LAST_WORD_PROBABILITY = 0.7


def end_silence_ms(
    text: str | None,
    *,
    finished_ms: int,
    unfinished_ms: int,
    last_word_probability: float = 1.0,
    turn_probability: float | None = None,
    min_turn_probability: float = 0.0,
) -> int:
    """The silence that ends the turn now: short only after a finished sentence whose last
    word was heard with confidence, unless the turn model (``turn_probability``, None when
    it did not run) hears the voice going on; else long (also while the words are not
    known yet). A wrong "long" costs a second of waiting; a wrong "short" cuts the
    candidate off."""
    if (
        text is not None
        and last_word_probability >= MIN_LAST_WORD_PROBABILITY
        and sentence_complete(text)
        and (turn_probability is None or turn_probability >= min_turn_probability)
    ):
        return finished_ms
    return unfinished_ms


# ---------------------------------------------------------------------------- the policy

# How long a complete spoken answer to a question usually runs (seconds of speech). An
# answer far short of it is more likely a first sentence than the whole answer.
EXPECTED_SPEECH_S = {"easy": 10.0, "medium": 16.0, "hard": 24.0}
# Stories (behavioral, situational) run longer than explanations.
TYPE_FACTOR = {"behavioral": 1.4, "situational": 1.25}
SHORT_ANSWER_SHARE = 0.35  # under this share of the expected speech, an answer is short
LOW_COVERAGE = 0.5  # under this share of key points touched, an answer is not done yet


@dataclass(frozen=True)
class EndOfTurnInputs:
    """What the decision reads at a pause, all of it logged with the verdict."""

    text: str | None  # the last words (a quick pass over the tail), None if not heard
    last_word_probability: float
    turn_probability: float | None  # Smart Turn on the voice; None when it did not run
    speech_ms: int  # speech in the answer so far
    difficulty: str
    question_type: str
    coverage: float | None  # share of the key points the words so far touch; None: no rubric


@dataclass(frozen=True)
class EndOfTurnDecision:
    wait_ms: int  # the silence that now ends the turn
    why: str  # unfinished | voice_going_on | short_answer | finished
    expected_speech_ms: int
    inputs: EndOfTurnInputs

    def to_log(self) -> dict[str, object]:
        i = self.inputs
        return {
            "wait_ms": self.wait_ms,
            "why": self.why,
            "speech_ms": i.speech_ms,
            "expected_speech_ms": self.expected_speech_ms,
            "coverage": None if i.coverage is None else round(i.coverage, 2),
            "last_word_probability": round(i.last_word_probability, 3),
            "turn_probability": None
            if i.turn_probability is None
            else round(i.turn_probability, 3),
            "ending": (i.text or "")[-40:],
        }


@dataclass(frozen=True)
class EndOfTurnPolicy:
    """How much silence ends the turn, decided at each pause, in one place.

    Mid-sentence, or when the voice sounds like more is coming: the long wait. After a
    finished sentence: the short wait, unless the answer is still short for its question
    and touches few of its key points, when a first sentence is the likely thing heard
    ("It's a hash table."). The short wait can be short because an end taken too early is
    taken back when the candidate goes on (see ``turn.Turn.window``)."""

    finished_ms: int
    unfinished_ms: int
    short_answer_ms: int
    min_turn_probability: float = 0.0

    def expected_speech_ms(self, difficulty: str, question_type: str) -> int:
        seconds = EXPECTED_SPEECH_S.get(difficulty, EXPECTED_SPEECH_S["medium"])
        return int(seconds * TYPE_FACTOR.get(question_type, 1.0) * 1000)

    def decide(self, inputs: EndOfTurnInputs) -> EndOfTurnDecision:
        expected = self.expected_speech_ms(inputs.difficulty, inputs.question_type)

        def verdict(wait_ms: int, why: str) -> EndOfTurnDecision:
            return EndOfTurnDecision(wait_ms, why, expected, inputs)

        if (
            inputs.text is None
            or inputs.last_word_probability < MIN_LAST_WORD_PROBABILITY
            or not sentence_complete(inputs.text)
        ):
            return verdict(self.unfinished_ms, "unfinished")
        if (
            inputs.turn_probability is not None
            and inputs.turn_probability < self.min_turn_probability
        ):
            return verdict(self.unfinished_ms, "voice_going_on")
        short = inputs.speech_ms < SHORT_ANSWER_SHARE * expected
        uncovered = inputs.coverage is None or inputs.coverage < LOW_COVERAGE
        if short and uncovered:
            return verdict(max(self.finished_ms, self.short_answer_ms), "short_answer")
        return verdict(self.finished_ms, "finished")


def key_point_coverage(text: str, key_points: list[str]) -> float | None:
    """Share of the key points the words so far touch (half of a point's content words,
    at least two, said): a cheap lexical look, enough to tell a first sentence from a
    whole answer. None when the question has no key points."""
    if not key_points:
        return None
    said = set(content_stems(text))
    touched = 0
    for point in key_points:
        stems = set(content_stems(point))
        need = min(len(stems), max(2, (len(stems) + 1) // 2))
        if stems and len(stems & said) >= need:
            touched += 1
    return touched / len(key_points)
