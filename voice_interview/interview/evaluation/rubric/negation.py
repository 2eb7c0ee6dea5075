"""Negation scope: which words a negation governs, and cue matches that are not negated."""

from __future__ import annotations

import re

from voice_interview.interview.evaluation.rubric.cues import _DETERMINERS, _NEGATOR_WORDS
from voice_interview.text.normalize import STOPWORDS, words

_NEGATION_SCOPE = 2  # words after a negator that it applies to ("doesn't really matter")


_TOKEN_RE = re.compile(r"[a-z0-9]+(?:['’][a-z]+)?(?:-[a-z0-9]+)*|[,.;:!?()]")


def _lowered(text: str) -> str:
    return text.lower().replace("\u2019", "'")


def _tokens(text: str) -> list[str]:
    """Lower-cased words and punctuation marks, in order (the tokens ``_scoped_tokens``
    walks, without its negation scope)."""
    return _TOKEN_RE.findall(_lowered(text))


# Words that say "not X" about the words after them without being a plain negator ("skip
# the signature check", "avoids the shuffle", "no need for salting", "removed old options":
# so "doesn't decrypt old traffic" agrees with a key point that says old options are gone).
_IMPLICIT_NEGATORS = frozenset(
    [
        "avoid", "avoids", "avoided", "avoiding", "skip", "skips", "skipped", "skipping",
        "ignore", "ignores", "ignored", "ignoring", "prevent", "prevents", "prevented",
        "preventing", "bypass", "bypasses", "bypassing", "lose", "loses", "losing", "lost",
        "forget", "forgets", "unlike", "remove", "removes", "removed", "removing", "drop",
        "drops", "dropped", "dropping", "eliminate", "eliminates", "eliminated", "deprecate",
        "deprecates", "deprecated",
    ]
)
# Words the negation scope passes over ("rather than per user", "no need to use X").
_SCOPE_TRANSPARENT = frozenset(
    [
        *_DETERMINERS, "of", "than", "per", "to", "even", "really", "just", "bother",
        "bothering", "need", "needs", "ever",
    ]
)
# A predicate that says "not X" about the words before it in its clause: "salting isn't
# necessary", "sample size calculations are mostly academic", "the inversion is harmless",
# "frameworks like RICE are a waste of time", "broadcasting makes it worse".
_POST_NEGATION = re.compile(
    r"\b(?:(?:is|are|was|were)\s*n[o']t|isn't|aren't|wasn't|weren't|'s\s+not|'re\s+not)\s+"
    r"(?:really\s+|strictly\s+|actually\s+)?(?:necessary|needed|required|important|useful|"
    r"worth\s+it|worth\s+(?:the|doing))\b"
    r"|\b(?:is|are|was|were|'s|'re)\s+(?:(?:mostly|just|only|an?|really|pretty|totally|"
    r"completely|basically|an\s+old|old|largely)\s+)*(?:myths?|overkill|pointless|unnecessary|"
    r"optional|useless|academic|harmless|unsuitable|overrated|obsolete|(?:a\s+)?waste\s+of\s+"
    r"time)\b"
    r"|\b(?:doesn't|don't|does\s+not|do\s+not|won't|will\s+not)\s+(?:really\s+|actually\s+)?"
    r"(?:matter|help|work)\b|\bnever\s+works\b|\bmakes?\s+(?:it|things|them)\s+worse\b",
    re.IGNORECASE,
)
_POST_SCOPE = 6  # content words before such a predicate that it applies to


def _scoped_tokens(text: str) -> list[tuple[str, bool]]:
    """Each word with whether a negation governs it: a negator among the previous few words
    of the same clause ("doesn't really matter", "instead of appending", "skip the
    signature check"), or a predicate after it that denies it ("salting isn't necessary",
    "X is a myth")."""
    low = _lowered(text)
    denied: set[int] = set()  # character offsets of predicates that deny what precedes
    for m in _POST_NEGATION.finditer(low):
        denied.add(m.start())
    out: list[tuple[str, bool]] = []
    offsets: list[int] = []
    since_neg = _NEGATION_SCOPE + 1
    clause_start = 0
    for m in _TOKEN_RE.finditer(low):
        tok = m.group(0)
        while denied and min(denied) <= m.start():
            at = min(denied)
            denied.discard(at)
            back = 0
            for i in range(len(out) - 1, clause_start - 1, -1):
                if offsets[i] >= at:
                    continue
                word, _ = out[i]
                if word in _NEGATOR_WORDS or word in _IMPLICIT_NEGATORS:
                    break  # "not X ... isn't needed": leave the double negation alone
                out[i] = (word, True)
                if word not in STOPWORDS:
                    back += 1
                    if back >= _POST_SCOPE:
                        break
        if not tok[0].isalnum():
            since_neg = _NEGATION_SCOPE + 1
            clause_start = len(out)
            continue
        if tok in _NEGATOR_WORDS or tok in _IMPLICIT_NEGATORS:
            out.append((tok, False))
            offsets.append(m.start())
            since_neg = 0
            continue
        if tok not in _SCOPE_TRANSPARENT:
            since_neg += 1
        out.append((tok, since_neg <= _NEGATION_SCOPE))
        offsets.append(m.start())
    return out


def _negated_at(text: str, start: int) -> bool:
    """Whether a negator governs the cue that starts at ``start`` ("wouldn't just ship")."""
    before = text[max(0, start - 40) : start]
    before = re.split(r"[,.;:!?]", before)[-1]
    return any(w in _NEGATOR_WORDS for w in words(before)[-5:])


def _find(pattern: re.Pattern[str], text: str, *, skip_negated: bool = False) -> list[str]:
    return [
        m.group(0)
        for m in pattern.finditer(text)
        if not (skip_negated and _negated_at(text, m.start()))
    ]
