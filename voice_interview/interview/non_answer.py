"""Non-answers: a clear refusal or an empty reply is an answer, and it scores at the bottom.

"I don't know", "pass", "no idea", "can we skip this", a one-word reply, a typed answer
with nothing in it, or silence after the reprompt (the turn ended with end_reason
``no_answer``) all score 0 and count in the overall score, so skipping a hard question
can never raise it. Only "could not hear" cases stay *not assessed* (``gating``): no
speech at all without a no-answer timeout (a mic failure), or a transcript too uncertain
to trust. A short spoken reply counts as a non-answer only when it was heard with
confidence; otherwise it is not assessed, because the words themselves are in doubt.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from voice_interview.interview.gating import (
    MIN_AVG_LOGPROB,
    MIN_MEAN_WORD_PROB,
    MIN_TYPED_WORDS,
    AnswerMeta,
    GateResult,
)
from voice_interview.interview.rubric import words
from voice_interview.interview.speech_metrics import parse_words

NON_ANSWER_VERSION = "non-answer-2026.1"

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


@dataclass(frozen=True)
class NonAnswer:
    kind: str  # refusal | too_short | empty | silence
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
