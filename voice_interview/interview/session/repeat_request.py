"""A candidate asking to hear the question again ("sorry, could you repeat that?").

Said over a question (a barge-in) it is not an answer: the question is asked again.
Only short utterances count, so an answer that quotes the phrase is still an answer.
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
