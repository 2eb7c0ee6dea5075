"""When has the candidate finished? Words and voice decide how long a silence ends the turn.

After a finished sentence a short silence ends the turn; mid-sentence (the last word
cannot end a sentence) the server waits long, so a candidate who stops to find the next
word is not cut off; in between (an unsure last word, no closing punctuation, a short
first sentence) a middle wait. Whisper puts a full stop at the end of almost any clip, so
the last word matters more than the punctuation. A turn model that listens to the voice
(Smart Turn) can only lengthen the wait: a finished sentence said with a "more to come"
voice gets the long one. Every end can be taken back (continuation), so no wait has to
be long enough for every pause.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from voice_interview.settings import Settings
from voice_interview.text.normalize import content_stems

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


def sentence_ending(text: str) -> str:
    """How the transcript so far ends: ``open`` when its last word cannot end a sentence
    (or there are no words), ``unclosed`` when it has no closing punctuation, else
    ``finished``."""
    stripped = text.strip()
    words = _WORD.findall(stripped.lower())
    if not words or words[-1] in CONTINUATION_WORDS:
        return "open"
    if words[-1] == "that" and COMPLEMENT_VERBS.intersection(words[-4:-1]):
        return "open"
    if not _CLOSED.search(stripped):
        return "unclosed"
    return "finished"


def sentence_complete(text: str) -> bool:
    """Whether the transcript so far ends at the end of a sentence."""
    return sentence_ending(text) == "finished"


# Below this, the last word may be misheard ("returns" heard as "return."): wait longer.
MIN_LAST_WORD_PROBABILITY = 0.7
# Below this, a last word that cannot end a sentence is as likely a mishearing of the
# real end ("in the path." heard as "or"): not trusted to mean mid-sentence.
MIN_OPEN_WORD_PROBABILITY = 0.5


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
    why: str  # unfinished | voice_going_on | unsure | short_answer | finished
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

    The waits are short because an end taken too early is taken back when the candidate
    goes on (see ``turn.Turn.window``); the long one is kept for words that cannot end an
    answer at all. So an answer that really ends gets its reply within the middle wait at
    worst, and a thinking pause after a finished sentence costs a take-back, not the rest
    of the answer:

    * ``unfinished`` (long): the last word, heard with some confidence, cannot end a
      sentence ("I would use", "and the"), or no words are known yet;
    * ``voice_going_on`` (middle): Smart Turn hears a voice that goes on. It does so
      after many finished sentences mid-answer, but on synthetic and flat voices also at
      real ends, so it earns the middle wait, not the long one;
    * ``unsure`` (middle): a sentence that may be finished but was heard without closing
      punctuation or with an unsure last word ("the response is" heard as "the responses.");
    * ``short_answer`` (middle): a finished sentence in an answer still short for its
      question that touches few of its key points ("It's a hash table.");
    * ``finished`` (short): anything else."""

    finished_ms: int
    unfinished_ms: int
    short_answer_ms: int
    unsure_ms: int = 800
    min_turn_probability: float = 0.0

    @classmethod
    def from_settings(cls, s: Settings) -> EndOfTurnPolicy:
        return cls(
            finished_ms=s.end_of_turn_silence_ms,
            unfinished_ms=s.end_of_turn_unfinished_ms,
            short_answer_ms=s.end_of_turn_short_answer_ms,
            unsure_ms=s.end_of_turn_unsure_ms,
            min_turn_probability=s.smart_turn_veto_below,
        )

    def expected_speech_ms(self, difficulty: str, question_type: str) -> int:
        seconds = EXPECTED_SPEECH_S.get(difficulty, EXPECTED_SPEECH_S["medium"])
        return int(seconds * TYPE_FACTOR.get(question_type, 1.0) * 1000)

    def decide(self, inputs: EndOfTurnInputs) -> EndOfTurnDecision:
        expected = self.expected_speech_ms(inputs.difficulty, inputs.question_type)

        def verdict(wait_ms: int, why: str) -> EndOfTurnDecision:
            return EndOfTurnDecision(wait_ms, why, expected, inputs)

        middle = max(self.finished_ms, self.unsure_ms)
        if inputs.text is None:
            return verdict(self.unfinished_ms, "unfinished")
        ending = sentence_ending(inputs.text)
        if ending == "open" and inputs.last_word_probability >= MIN_OPEN_WORD_PROBABILITY:
            return verdict(self.unfinished_ms, "unfinished")
        if (
            inputs.turn_probability is not None
            and inputs.turn_probability < self.min_turn_probability
        ):
            return verdict(middle, "voice_going_on")
        if ending != "finished" or inputs.last_word_probability < MIN_LAST_WORD_PROBABILITY:
            return verdict(middle, "unsure")
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
