"""Contradiction: when a key point's quote says the opposite of it.

A match is voided (no credit, listed as contradicted) when its quote makes a sweeping claim
the key point does not ("basically the same", "no downside", "can't happen"), takes a
dismissive stance ("not my problem", "I'd just ship it"), uses the antonym of a key-point
word ("faster" against "slow down", "multi-threaded" against "single thread"), or negates
a word the key point affirms ("can't learn the data" against "learns noise in the data"),
or asserts of the same thing what the key point denies ("volatile makes writes atomic"
against "volatile does not make an operation atomic").
Heuristics, tuned for precision: they miss wrong claims phrased neutrally, and they skip key
points that are themselves advice in the negative ("Do not ...", "Never ...").
"""

from __future__ import annotations

import re

from voice_interview.interview.evaluation.rubric.cues import (
    _ANTONYM_MAP,
    _ANTONYM_WORDS,
    _DISMISSIVE,
    _NEGATOR_WORDS,
    _SIMPLE_PLAN,
    _SWEEPING,
)
from voice_interview.interview.evaluation.rubric.negation import _find, _scoped_tokens, _tokens
from voice_interview.text.normalize import STOPWORDS, stem, words


def _polarities(text: str) -> tuple[set[str], set[str]]:
    """Content stems used affirmatively, and stems used under a negation."""
    pos: set[str] = set()
    neg: set[str] = set()
    for tok, negated in _scoped_tokens(text):
        if tok in STOPWORDS and tok not in _ANTONYM_WORDS:
            continue
        bucket = neg if negated else pos
        st = stem(tok)
        bucket.add(st)
        if "-" in tok:  # "multi-threaded" also says "multi" and "threaded"
            bucket.update(stem(part) for part in tok.split("-") if part)
        # Comparatives and superlatives count as their base word ("faster" -> "fast").
        for suffix in ("er", "est"):
            base = st[: -len(suffix)]
            if st.endswith(suffix) and len(base) >= 3 and base in _ANTONYM_MAP:
                bucket.add(base)
    return pos, neg


ANCHOR_WINDOW = 4  # words between an opposite word and the key-point word it qualifies
SUBJECT_WINDOW = 6  # words between an asserted property and what it is asserted of


def _anchored(
    quote: str, word_stem: str, anchors: set[str], window: int = ANCHOR_WINDOW
) -> bool:
    """Whether ``word_stem`` occurs in ``quote`` within ``window`` words of one of the
    key point's own specific words: "faster" says the opposite of "slow" only about the
    same thing ("a fast hash", not "it looks the same after a bake period")."""
    stems = [stem(w) for w in words(quote)]
    at = [i for i, st in enumerate(stems) if st == word_stem or st.rstrip("e") == word_stem
          or (st.endswith(("er", "est")) and st[: -2 if st.endswith("er") else -3] == word_stem)]
    near = [i for i, st in enumerate(stems) if st in anchors]
    return any(abs(i - j) <= window for i in at for j in near)


def _contradiction(
    key_point: str, quote: str, specific: set[str], elsewhere: frozenset[str] = frozenset()
) -> str | None:
    """A heuristic reason why ``quote`` contradicts ``key_point``, or None.

    Five cues: a sweeping claim the key point does not make ("basically the same", "no
    downside"), a dismissive stance ("not my problem", "I'd just ship it"), the opposite of a
    key-point word (an antonym, and not the word itself), or a negation of a word the key
    point affirms; or, for a key point that denies something, a quote that asserts it
    (``elsewhere``: stems the rubric's other key points use, which are no sign of that)."""
    claims = _find(_SWEEPING, quote, skip_negated=True)
    if claims and not _SWEEPING.search(key_point):
        return f"sweeping claim '{claims[0]}'"
    # A dismissive stance voids the match, except the over-simple plan ("I'd just disable
    # those buttons"), which is a red flag of its own but does not say the opposite of a
    # key point.
    stances = [
        c for c in _find(_DISMISSIVE, quote, skip_negated=True) if not _SIMPLE_PLAN.match(c)
    ]
    if stances:
        return f"dismissive '{stances[0]}'"
    kp_pos, kp_neg = _polarities(key_point)
    q_pos, q_neg = _polarities(quote)
    kp_all, q_all = kp_pos | kp_neg, q_pos | q_neg
    kp_negative = any(w in _NEGATOR_WORDS for w in words(key_point))
    ordered = _temporal_objects(key_point)
    for st in sorted(kp_pos):
        opposites = _ANTONYM_MAP.get(st, set())
        if opposites & kp_all:
            continue  # a contrastive key point ("separate ..., while ... share") names both sides
        for opposite in sorted(opposites):
            if (
                opposite in q_pos and st not in q_all and opposite not in kp_all
                and _anchored(quote, opposite, specific - {st})
                and (st not in _TEMPORAL_STEMS or _orders_same(quote, opposite, ordered))
            ):
                return f"says '{opposite}' where the key point says '{st}'"
    # The other direction, asserting what the key point denies, only for a plain denial
    # ("volatile does not make an operation atomic") and said of the same thing ("volatile
    # makes writes atomic"): "do X rather than Y" key points, or an answer naming the
    # denied thing in passing ("you still need a lock"), would look wrong otherwise.
    kp_denials = {
        st: subject for st, subject in _denials(key_point).items()
        if st in specific and st not in elsewhere and subject
    }
    if kp_denials:
        q_denied = _denied(quote)
        q_claims = _main_clause_stems(quote)
        for st, subject in sorted(kp_denials.items()):
            if (st in q_claims and st not in q_denied and st not in q_neg
                    and _anchored(quote, st, subject, SUBJECT_WINDOW)):
                return f"asserts '{st}', which the key point denies"
    if kp_negative:
        # "Do not X" / "without Y": polarity comparisons on such key points are unreliable.
        return None
    # Only what the key point claims can be negated: a word of its condition ("send them
    # when the connection comes back") is no claim that "no connection" denies.
    for st in sorted(specific - ordered - _condition_stems(key_point)):
        if st in kp_pos and st in q_neg and st not in q_pos:
            return f"negates '{st}'"
    return None


_PLAIN_NEGATORS = frozenset(
    ["not", "never", "no", "doesn't", "don't", "isn't", "aren't", "can't", "cannot", "won't",
     "nothing", "none", "nobody", "neither", "nor"]
)
_CLAUSE_WORDS = frozenset(["and", "but", "so", "because", "while", "which", "since", "although"])
# A negation after these claims nothing (a condition, a purpose, a time) ...
_SUBORDINATORS = frozenset(["if", "unless", "when", "whenever", "whether", "so", "until", "once"])
# ... and words after these describe rather than claim (a condition, a relative clause;
# "which" ends a clause instead: ", which is why ..." goes on claiming).
_DESCRIBING = frozenset(["if", "unless", "when", "whenever", "whether", "that", "who"])
DENIAL_SCOPE = 5  # content words after a plain negator that it denies, within its clause


def _clause_stems(text: str, openers: frozenset[str]) -> tuple[set[str], set[str]]:
    """(content stems inside clauses that one of ``openers`` begins, up to the clause's
    end; content stems outside them)."""
    inside: set[str] = set()
    outside: set[str] = set()
    opened = False
    for tok in _tokens(text):
        if tok in _CLAUSE_WORDS or not tok[0].isalnum():
            opened = False
        elif tok in openers:
            opened = True
        elif tok not in STOPWORDS:
            (inside if opened else outside).add(stem(tok))
    return inside, outside


def _main_clause_stems(text: str) -> set[str]:
    """Content stems outside conditional and relative clauses: what the text claims ("a
    key that changes after insertion gets lost" does not claim that keys change)."""
    return _clause_stems(text, _DESCRIBING)[1]


_CONDITIONS = frozenset(["if", "unless", "when", "whenever", "whether", "until", "once"])


def _condition_stems(text: str) -> set[str]:
    """Content stems inside a condition or a time clause ("when the connection comes
    back"), and not also used outside one."""
    inside, outside = _clause_stems(text, _CONDITIONS)
    return inside - outside


def _denials(text: str) -> dict[str, set[str]]:
    """Stems a plain negation denies up to the end of its clause ("does not make an
    operation atomic", "is not a lock or a memory barrier"), each with the stems before
    the negation in its sentence (what it is said of: "volatile"). Not "instead of" or
    "rather than" forms, which name the alternative in passing, and not a negation inside
    a condition or a purpose ("rolls back if it does not confirm", "so it does not erode
    trust"), which claims nothing."""
    out: dict[str, set[str]] = {}
    left = 0
    subordinate = False
    subject: set[str] = set()
    # "A 304 Not Modified reply": a capitalised "Not" inside a sentence is part of a name
    text = re.sub(r"(?<=[A-Za-z0-9,] )Not\b", "", text)
    at = 0  # words since the sentence or the comma-separated clause began
    for tok in _tokens(text):
        at += 1
        if tok in _CLAUSE_WORDS or not tok[0].isalnum():
            left = 0
            at = at if tok[0].isalnum() else 0
            subordinate = tok in _SUBORDINATORS
            if tok in ".;:!?":
                subject = set()
        elif tok in _SUBORDINATORS:
            subordinate = True
        elif tok in _PLAIN_NEGATORS:
            # "no" denies the noun it determines ("no caching for user data"), "not" and
            # "never" the rest of their clause. A clause that opens with its negation is
            # advice ("Never hit the production API", "Do not rebase shared commits"): an
            # answer naming that thing in another sense is no sign, so it denies nothing.
            imperative = at <= 2
            left = 0 if subordinate or imperative else 1 if tok == "no" else DENIAL_SCOPE
        elif tok not in STOPWORDS:
            if left:
                out.setdefault(stem(tok), set()).update(subject)
                left -= 1
            else:
                subject.add(stem(tok))
    return out


def _denied(text: str) -> set[str]:
    """The stems of ``_denials``."""
    return set(_denials(text))


_TEMPORAL = frozenset(["before", "until", "till", "after", "once"])
_TEMPORAL_STEMS = frozenset(stem(w) for w in _TEMPORAL)
TEMPORAL_OBJECT_WORDS = 2  # content words after "before" / "after" that it orders


def _orders_same(quote: str, opposite: str, ordered: set[str]) -> bool:
    """Whether the quote's "after" orders the same thing as the key point's "before":
    "verify the checksum after the download" does not contradict "verify before switching
    to it", while "verify after switching" does."""
    toks = words(quote)
    objects = {
        stem(t) for i, tok in enumerate(toks) if stem(tok) == opposite
        for t in toks[i + 1 : i + 1 + TEMPORAL_OBJECT_WORDS] if t not in STOPWORDS
    }
    return bool(objects & ordered)


def _temporal_objects(key_point: str) -> set[str]:
    """Stems a key point only orders in time ("find the cause *before deleting* anything"):
    it does not say they happen, so "without deleting anything yet" does not negate them."""
    toks = words(key_point)
    out: set[str] = set()
    for i, tok in enumerate(toks):
        if tok in _TEMPORAL:
            following = toks[i + 1 : i + 1 + TEMPORAL_OBJECT_WORDS]
            out.update(stem(t) for t in following if t not in STOPWORDS)
    return out
