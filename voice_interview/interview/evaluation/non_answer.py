"""Non-answers: a clear refusal or an empty reply is an answer, and it scores at the bottom.

"I don't know", "pass", "no idea", "can we skip this", a one-word reply, a typed answer
with nothing in it, or silence after the reprompt (the turn ended with end_reason
``no_answer``) all score 0 and count in the overall score, so skipping a hard question
can never raise it. So does a longer reply that *declares* it is not answering ("I'd
rather not guess", "I couldn't explain it", "I'm not familiar with interrupts", "I don't
have a good example", "can you give me a different question?") when it also covers almost
none of the rubric (:func:`detect_declared`, run after the rubric): a rambling admission
is still an admission. A declaration followed by an attempt in the same sentence ("I
don't know the exact flag, but ...") or quoted ("managers don't like hearing 'I don't
know'", with or without the quote marks a transcript drops) is not one. Only "could not
hear" cases stay *not assessed* (``gating``): no speech at all without a no-answer
timeout (a mic failure), or a transcript too uncertain to trust. A short spoken reply
counts as a non-answer only when it was heard with confidence; otherwise it is not
assessed, because the words themselves are in doubt.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from voice_interview.domain.answer import AnswerMeta
from voice_interview.interview.evaluation.gating import (
    MIN_AVG_LOGPROB,
    MIN_MEAN_WORD_PROB,
    MIN_TYPED_WORDS,
    GateResult,
)
from voice_interview.interview.evaluation.speech_metrics import parse_words
from voice_interview.text.normalize import words

NON_ANSWER_VERSION = "non-answer-2026.3"

# An answer longer than this is judged on its content, even if it opens with "no idea".
MAX_NON_ANSWER_WORDS = 16

# Phrases that say "I am not answering", matched against the whole (short) reply.
_REFUSAL = re.compile(
    r"\b(?:i\s+(?:really\s+|honestly\s+)?(?:do\s*n[o']?t|don't|dont)\s+(?:really\s+)?know|"
    r"i\s+have\s+no\s+(?:idea|clue)|no\s+(?:idea|clue)|not\s+sure|i'?m\s+not\s+sure|"
    r"(?:i'?ll|i\s+will|let\s+me|i'?d\s+like\s+to|i\s+want\s+to)\s+pass|\bpass\b|"
    r"(?:can|could|may)\s+we\s+(?:please\s+)?(?:skip|move\s+on|go\s+to\s+the\s+next)|"
    r"skip(?:\s+(?:this|that|it))?|next\s+question|i\s+can'?t\s+answer|"
    r"i\s+(?:have|'ve)\s+never\s+(?:heard|done|used)|no\s+comment|nothing\s+to\s+(?:say|add)|"
    r"i\s+(?:don't|do\s+not)\s+have\s+an\s+answer|i\s+(?:forget|forgot)|beats\s+me|dunno)\b",
    re.IGNORECASE,
)


# A reply that declares it is not answering: "I don't know", "I couldn't tell you", "I'd
# rather not guess", "can we skip this", "I'm not familiar with ...", "I don't have a good
# example", "can you ask me something else". Written from how people decline a question,
# matched per sentence.
_DECLINE = re.compile(
    r"""\b(?:
    i\s+(?:really\s+|honestly\s+|just\s+|genuinely\s+)?(?:don't|do\s+not|dont)\s+
        (?:really\s+)?know(?!\s+(?:if|whether|why|exactly|the\s+exact|for\s+sure))
    |(?:couldn't|could\s+not|can't|cannot|can\s+not)\s+(?:really\s+|honestly\s+)?
        (?:tell\s+you|answer|explain|walk\s+you\s+through|remember|recall|think\s+of|
        come\s+up\s+with|say)(?!\s+(?:more|much|for\s+sure|for\s+certain|exactly))
    |(?:i'd|i\s+would|i'll|i\s+will)\s+(?:rather|prefer\s+to)\s+not\s+
        (?:guess|answer|bluff|say|speculate|comment|go\s+into|make|give|try)
    |i\s+(?:don't|do\s+not)\s+want\s+to\s+(?:make\s+(?:something|things|it)\s+up|guess|
        bluff|speculate|stretch)
    |drawing\s+a\s+(?:complete\s+|total\s+)?blank|(?:gone|went|going)\s+blank
    |(?:i'm|i\s+am)\s+(?:not|un)\s*familiar\s+with
    |not\s+(?:really\s+)?(?:my|an)\s+(?:strong\s+(?:point|suit)|area|field)
    |(?:outside|beyond)\s+(?:of\s+)?(?:what\s+i've\s+(?:done|worked\s+on)|
        my\s+(?:experience|area|expertise))
    |i\s+(?:don't|do\s+not)\s+(?:really\s+)?have\s+(?:a|an|any)\s+
        (?:good\s+|real\s+|relevant\s+)?(?:example|story|answer)
    |(?:can|could|may)\s+(?:we|i)\s+(?:please\s+)?(?:skip|move\s+on|go\s+(?:on\s+)?to\s+
        the\s+next|come\s+back\s+to)
    |let's\s+(?:skip|move\s+on)
    |(?:can|could)\s+you\s+(?:please\s+)?(?:ask|give)\s+me\s+(?:something|a\s+different|another)
    |(?:a\s+)?different\s+question|next\s+question|skip\s+(?:this|that|it)\b
    |pass\s+on\s+(?:this|that)|(?:i'll|i\s+will|i'd\s+like\s+to)\s+pass
    |i\s+wouldn't\s+know\s+(?:where|how|what)|no\s+(?:idea|clue)|beats\s+me|dunno
    )""",
    re.IGNORECASE | re.VERBOSE,
)
# What follows a declaration in the same sentence and makes it a hedge, not a refusal.
_ATTEMPT_AFTER = re.compile(r"\b(?:but|though|although|however|except)\b", re.IGNORECASE)
_QUOTE_BEFORE = re.compile(r"['\"\u2018\u201c]\s*$")
# Reported speech: a transcript has no quote marks ("managers don't like hearing, I don't
# know, or big ranges"), so a verb of saying or hearing just before the phrase quotes it;
# not the candidate's own "I'd say" or "I have to say", which is the declaration itself.
_REPORTED_BEFORE = re.compile(
    r"(?<!\bi )(?<!\bi'd )(?<!\bi'll )(?<!have to )(?<!must )\b(?:hear|hearing|heard|say|says|"
    r"saying|said|tell|telling|told|reply|replying|replied|answer\s+with|answering\s+with)"
    r"(?:\s+(?:them|him|her|people|you|me|us))?\b[\s,:;\-]*(?:that\s+)?$",
    re.IGNORECASE,
)
# A declared non-answer is judged on the rubric too: at most this many words, and under
# this rubric coverage (a reply that declines and then covers key points is an answer).
MAX_DECLARED_WORDS = 120
DECLARED_MAX_COVERAGE = 0.3


@dataclass(frozen=True)
class NonAnswer:
    kind: str  # refusal | declined | too_short | empty | silence
    reason: str  # for the report: why this scores 0

    def to_dict(self) -> dict[str, str]:
        return {"version": NON_ANSWER_VERSION, "kind": self.kind, "reason": self.reason}


def _heard_clearly(meta: AnswerMeta) -> bool:
    stt = meta.stt
    probs = [w.probability for w in parse_words(stt.get("words"))]
    if probs and sum(probs) / len(probs) < MIN_MEAN_WORD_PROB:
        return False
    logprob = stt.get("avg_logprob")
    return not (isinstance(logprob, int | float) and logprob < MIN_AVG_LOGPROB)


def _refusal_share(text: str) -> float:
    """How much of the reply the refusal phrases make up (0..1, by words)."""
    n = len(words(text))
    if n == 0:
        return 0.0
    covered = sum(len(words(m.group(0))) for m in _REFUSAL.finditer(text))
    return covered / n


def _sentences(text: str) -> list[str]:
    return [x for x in re.split(r"(?<=[.!?])\s+", text) if x.strip()]


def declined(text: str) -> list[str]:
    """The phrases by which ``text`` declares it is not answering, one per sentence: a
    phrase that is quoted, or followed in its sentence by "but" / "though" (an attempt
    after the hedge), does not count."""
    out: list[str] = []
    for sentence in _sentences(text):
        for m in _DECLINE.finditer(sentence):
            before = sentence[: m.start()]
            if _QUOTE_BEFORE.search(before) or _REPORTED_BEFORE.search(before):
                continue
            if _ATTEMPT_AFTER.search(sentence[m.end():]):
                continue
            out.append(" ".join(m.group(0).split()))
            break
    return out


def detect_declared(text: str, coverage: float) -> NonAnswer | None:
    """A reply that says it is not answering and covers almost none of the rubric
    (``coverage``, 0..1), however long it rambles (up to MAX_DECLARED_WORDS), or None."""
    n = len(words(text))
    if n == 0 or n > MAX_DECLARED_WORDS or coverage >= DECLARED_MAX_COVERAGE:
        return None
    cues = declined(text)
    if not cues:
        return None
    return NonAnswer(
        "declined",
        f"no answer: the reply declines the question (\u201c{cues[0]}\u201d) and covers "
        f"almost none of it (rubric coverage {coverage:.2f})",
    )


def detect(text: str, meta: AnswerMeta, verdict: GateResult) -> NonAnswer | None:
    """The non-answer this reply is, or None (then the gate / the rubric decide)."""
    n = len(words(text))
    if meta.spoken:
        if verdict.code == "no_speech":
            if meta.end_reason == "no_answer":
                return NonAnswer(
                    "silence", "no answer: silence after the question and its reprompt"
                )
            return None  # could not hear: a mic failure is not the candidate's answer
        if verdict.code == "low_confidence" or not _heard_clearly(meta):
            return None
    elif n == 0:
        return NonAnswer("empty", "no answer: the reply was empty")
    if n == 0:
        return None
    if n <= MAX_NON_ANSWER_WORDS and _REFUSAL.search(text) and _refusal_share(text) >= 0.25:
        return NonAnswer("refusal", f"no answer: \u201c{' '.join(text.split())}\u201d")
    short = MIN_TYPED_WORDS if not meta.spoken else 3
    if n < short or verdict.code in ("too_short", "too_little_speech"):
        return NonAnswer(
            "too_short",
            f"no answer: a {n}-word reply (\u201c{' '.join(text.split())}\u201d) says "
            "nothing about the question",
        )
    return None
