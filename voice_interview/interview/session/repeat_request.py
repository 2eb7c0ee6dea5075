"""A candidate asking to hear the question again ("sorry, could you repeat that?"), or
only acknowledging it ("okay", "mm-hmm": backchannel, in Pipecat's word).

Said over a question (a barge-in) a repeat request is not an answer: the question is
asked again. Said right after an answer, over the next question, either one takes that
answer's end back only for a moment: it is dropped from the answer. Only short
utterances count, so an answer that quotes the phrase is still an answer.
"""

from __future__ import annotations

import re

MAX_REPEAT_SPEECH_MS = 4000

_REPEAT = re.compile(
    r"\b("
    r"(could|can|would|will) you (please )?(repeat|say( that| it)? again|rephrase)"
    r"|repeat (that|the question|it)( please)?"
    r"|say (that|it) again"
    r"|(pardon|come again|sorry\?|what was the question)"
    r"|(i )?(didn'?t|did not) (catch|hear|get) (that|the question|it)"
    r")\b",
    re.IGNORECASE,
)


def is_repeat_request(text: str | None, speech_ms: int) -> bool:
    """Whether ``text`` (what a short utterance was heard as) asks for the question again."""
    if not text or speech_ms > MAX_REPEAT_SPEECH_MS:
        return False
    return _REPEAT.search(text.replace("\u2019", "'")) is not None


_BACKCHANNEL = frozenset(
    [
        "ok",
        "okay",
        "yeah",
        "yes",
        "yep",
        "right",
        "sure",
        "alright",
        "mm",
        "mhm",
        "mmhm",
        "mmhmm",
        "hmm",
        "uh",
        "huh",
        "uhhuh",
        "ah",
        "oh",
        "got",
        "it",
        "i",
        "see",
        "cool",
        "great",
        "thanks",
        "thank",
        "you",
    ]
)


def is_backchannel(text: str | None, speech_ms: int) -> bool:
    """Whether a short utterance is only an acknowledgement ("okay", "mm-hmm, right")."""
    if not text or speech_ms > MAX_REPEAT_SPEECH_MS:
        return False
    words = re.findall(r"[a-z]+", text.lower().replace("-", ""))
    return bool(words) and len(words) <= 4 and all(w in _BACKCHANNEL for w in words)
