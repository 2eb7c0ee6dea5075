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
