"""Rubric key-point coverage and answer-quality signals, computed without an LLM.

Coverage. The answer is cut into candidate quotes (clauses, pairs of clauses, sentences,
pairs of short sentences, and word windows for unpunctuated transcripts). Each key point is
scored against each quote by sentence-embedding cosine (all-MiniLM-L6-v2) plus a lexical
signal: the share of the key point's content stems found in the quote, each stem weighted
by how specific it is to that key point within the rubric (topic words shared by every key
point, or taken from the question, count little). Key points pick their evidence strongest
first, and a clause already used as evidence for another key point counts less, so one
sweeping sentence cannot cover the whole rubric. The best quote is then tightened to the
shortest stretch that scores about as well; that quote is what the report shows.

Contradiction. A match is voided (no credit, listed as contradicted) when its quote makes a
sweeping claim the key point does not ("basically the same", "no downside", "can't
happen"), takes a dismissive stance ("not my problem", "I'd just ship it"), uses the
antonym of a key-point word ("faster" against "slow down", "multi-threaded" against "single
thread"), or negates a word the key point affirms ("can't learn the data" against "learns
noise in the data"). Heuristics, tuned for precision: they miss wrong claims phrased
neutrally, and they skip key points that are themselves negative ("Do not ...").

Answer signals. Relevance (how on-topic the two most on-topic sentences are), focus,
specificity (numbers and distinct non-generic content words per word), vagueness (hedges
and filler), sweeping claims, dismissive stances and deflection ("I'd look it up",
"could we skip this one"). ``evaluator`` turns all of it into the score.

Deterministic: similarities are rounded to 4 decimals before any threshold, so float noise
from batching cannot flip a label. Without an embedder the lexical signal decides alone.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol

import numpy as np
from numpy.typing import NDArray

from voice_interview.text.normalize import STOPWORDS, content_stems, stem, words

RUBRIC_VERSION = "rubric-2025.1"

CoverageStatus = Literal["covered", "partial", "missing"]


class TextEmbedder(Protocol):
    def embed(self, texts: list[str]) -> NDArray[np.float32]: ...


# ----------------------------------------------------------------------------- answer spans


@dataclass(frozen=True)
class Span:
    text: str
    start: int  # character offsets into the answer
    end: int
    sentence: int  # index of the (first) sentence it belongs to
    units: tuple[int, ...] = ()  # the clauses (numbered across the answer) it is made of


_SENTENCE_END = re.compile(r"(?<=[.!?])[\"')\]]*\s+|\n+")
_CLAUSE_BREAK = re.compile(
    r"\s*[,;:–—]\s+|\s+-\s+|\s+(?=(?:and|but|so|because|while|whereas|although|though|"
    r"since|which|or else|otherwise|instead|unless)\b)",
    re.IGNORECASE,
)
CLAUSE_RUNS = 2  # longest run of consecutive clauses tried as one quote
SENTENCE_PAIRS = True  # also try two consecutive short sentences as one quote
_WINDOW = 14  # words per window when a sentence runs on without punctuation
_LONG_SENTENCE = 28


def _pieces(text: str, pattern: re.Pattern[str], offset: int) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    pos = 0
    for m in pattern.finditer(text):
        if m.start() > pos:
            out.append((offset + pos, offset + m.start()))
        pos = m.end()
    if pos < len(text):
        out.append((offset + pos, offset + len(text)))
    return [(a, b) for a, b in out if text[a - offset : b - offset].strip()]


def _merge_short(
    pieces: list[tuple[int, int]], text: str, min_words: int = 3
) -> list[tuple[int, int]]:
    """Glue clause fragments of one or two words onto the next (or previous) clause."""
    merged: list[tuple[int, int]] = []
    carry: int | None = None
    for a, b in pieces:
        start = a if carry is None else carry
        if len(text[start:b].split()) < min_words:
            carry = start
            continue
        merged.append((start, b))
        carry = None
    if carry is not None:
        if merged:
            merged[-1] = (merged[-1][0], pieces[-1][1])
        else:
            merged.append((carry, pieces[-1][1]))
    return merged


def split_sentences(answer: str) -> list[tuple[int, int]]:
    return _pieces(answer, _SENTENCE_END, 0)


def split_spans(answer: str) -> list[Span]:
    """Candidate quotes for key points: sentences, clauses, runs of 2-3 clauses, sentence
    pairs and, for long unpunctuated stretches (speech transcripts), word windows."""
    spans: dict[tuple[int, int], Span] = {}

    def add(a: int, b: int, si: int) -> None:
        while a < b and answer[a].isspace():
            a += 1
        while b > a and answer[b - 1] in " \t\n,;:":
            b -= 1
        if b > a and (a, b) not in spans:
            spans[(a, b)] = Span(answer[a:b], a, b, si)

    sentences = split_sentences(answer)
    for si, (s0, s1) in enumerate(sentences):
        add(s0, s1, si)
        clauses = _merge_short(_pieces(answer[s0:s1], _CLAUSE_BREAK, s0), answer)
        if len(clauses) > 1:
            for k, (c0, c1) in enumerate(clauses):
                add(c0, c1, si)
                if k + 1 < len(clauses):
                    add(c0, clauses[k + 1][1], si)
                if CLAUSE_RUNS >= 3 and k + 2 < len(clauses):
                    add(c0, clauses[k + 2][1], si)
        n_words = len(answer[s0:s1].split())
        if n_words > _LONG_SENTENCE:
            tokens = [(m.start() + s0, m.end() + s0) for m in re.finditer(r"\S+", answer[s0:s1])]
            step = _WINDOW // 2
            for k in range(0, max(1, len(tokens) - _WINDOW + step), step):
                chunk = tokens[k : k + _WINDOW]
                if chunk:
                    add(chunk[0][0], chunk[-1][1], si)
        if SENTENCE_PAIRS and si + 1 < len(sentences):
            t1 = sentences[si + 1][1]
            if len(answer[s0:t1].split()) <= 45:
                add(s0, t1, si)
    if not spans and answer.strip():
        add(0, len(answer), 0)
    units = clause_units(answer)
    out = []
    for sp in sorted(spans.values(), key=lambda s: (s.start, s.end)):
        inside = tuple(
            u for u, (a, b) in enumerate(units)
            if min(b, sp.end) - max(a, sp.start) > (b - a) / 2
        )
        out.append(Span(sp.text, sp.start, sp.end, sp.sentence, inside))
    return out


def clause_units(answer: str) -> list[tuple[int, int]]:
    """The answer as consecutive clauses (character ranges): the units of evidence."""
    units: list[tuple[int, int]] = []
    for s0, s1 in split_sentences(answer):
        clauses = _merge_short(_pieces(answer[s0:s1], _CLAUSE_BREAK, s0), answer)
        units.extend(clauses or [(s0, s1)])
    return units


# ------------------------------------------------------------------------- cue lexicons
# General interview-language cues, written from how people hedge, pad and over-claim, not
# taken from any evaluation set.

_NEGATOR_WORDS = frozenset(
    [
        "not", "no", "never", "nothing", "none", "nobody", "neither", "nor", "cannot", "without",
        "instead", "rather", "don't", "doesn't", "didn't", "isn't", "aren't", "wasn't", "weren't",
        "can't", "couldn't", "won't", "wouldn't", "shouldn't", "haven't", "hasn't", "hadn't",
        "mustn't", "needn't"
    ]
)
_DETERMINERS = frozenset(
    [
        "a", "an", "the", "my", "your", "our", "their", "his", "her", "its", "this", "that",
        "these", "those", "any"
    ]
)
_NEGATION_SCOPE = 2  # words after a negator that it applies to ("doesn't really matter")

_ANTONYMS: tuple[tuple[str, str], ...] = (
    ("fast", "slow"), ("faster", "slower"), ("quick", "slow"), ("quickly", "slowly"),
    ("more", "less"), ("more", "fewer"), ("increase", "decrease"), ("increase", "reduce"),
    ("grow", "shrink"), ("add", "remove"), ("same", "different"), ("same", "separate"),
    ("shared", "separate"), ("share", "separate"), ("single", "multiple"), ("single", "multi"),
    ("before", "after"), ("first", "last"), ("early", "late"), ("earlier", "later"),
    ("simple", "complex"), ("simpler", "complex"), ("cheap", "expensive"), ("cheaper", "expensive"),
    ("safe", "unsafe"), ("secure", "insecure"), ("private", "public"), ("privately", "publicly"),
    ("directly", "indirectly"), ("synchronous", "asynchronous"),
    ("inside", "outside"), ("internal", "external"), ("strong", "weak"), ("stronger", "weaker"),
    ("high", "low"), ("higher", "lower"), ("big", "small"), ("large", "small"),
    ("accept", "reject"), ("allow", "deny"), ("open", "closed"), ("enable", "disable"),
    ("include", "exclude"), ("keep", "drop"), ("keep", "discard"), ("success", "failure"),
    ("succeed", "fail"), ("valid", "invalid"), ("correct", "incorrect"), ("true", "false"),
    ("immediately", "later"), ("sooner", "later"), ("minimum", "maximum"), ("always", "never"),
    ("sorted", "unsorted"), ("ordered", "unordered"), ("bounded", "unbounded"),
    ("mutable", "immutable"), ("stateful", "stateless"), ("visible", "invisible"),
    ("possible", "impossible"), ("honest", "dishonest"), ("respectful", "disrespectful"),
)
_ANTONYM_MAP: dict[str, set[str]] = {}
for _a, _b in _ANTONYMS:
    _ANTONYM_MAP.setdefault(stem(_a), set()).add(stem(_b))
    _ANTONYM_MAP.setdefault(stem(_b), set()).add(stem(_a))
_ANTONYM_WORDS = frozenset(w for pair in _ANTONYMS for w in pair)

# Absolute or sweeping claims: costly when the rubric makes no such claim.
_OVERCLAIM = re.compile(
    r"\b(?:always|never|no (?:real )?(?:downside|cost|risk|difference|drawback)s?|"
    r"nothing (?:can|could|will) (?:\w+ )?(?:go wrong|change|happen)|can(?:'t|not) (?:ever )?"
    r"(?:happen|fail|go wrong)|(?:basically|exactly|just|really) the same(?: thing)?|"
    r"(?:is|are) the same thing|guaranteed?|impossible|only ever|doesn't (?:really )?(?:matter|"
    r"apply)|don't (?:really )?(?:need|matter)|(?:pretty much|almost) always|for good|"
    r"(?:is|are) the fastest|the best way|in every case)\b",
    re.IGNORECASE,
)
# The strongest of those: as the quote for a key point, they mark it as contradicted.
_SWEEPING = re.compile(
    r"\b(?:(?:basically|exactly|just|really) the same(?: thing)?|(?:is|are) the same thing|"
    r"no (?:real )?(?:downside|cost|risk|difference|drawback)s?|can(?:'t|not) (?:ever )?"
    r"(?:happen|fail|go wrong)|doesn't (?:really )?(?:matter|apply)|don't (?:really )?"
    r"(?:need|matter)|(?:is|are) the fastest|(?:is|are) always (?:the )?(?:fastest|best|faster|"
    r"better))\b",
    re.IGNORECASE,
)
# Dismissive / careless stances a recruiter reads as red flags, including the over-simple
# plan ("I'd just ...").
_DISMISSIVE = re.compile(
    r"\b(?:doesn't (?:really )?matter|don't (?:really )?matter|waste of time|not my (?:problem|"
    r"job|fault)|(?:their|his|her|the \w+'s) fault|(?:that's|it's) on them|"
    r"(?:i'd|i would|i'll|i|we'd|we|you|you'd) (?:\w+ )?(?:just|simply) "
    r"(?!don't|doesn't|didn't|can't|not|need|have|had|want|like|love)\w+|"
    r"skip(?:ping)? (?:the )?test\w*|nobody (?:really )?(?:checks|cares|notices)|"
    r"go back to sleep|fix (?:it|the rest|things) later|i knew i was right|my way|"
    r"never bother\w*)\b",
    re.IGNORECASE,
)
_SIMPLE_PLAN = re.compile(
    r"(?:i'd|i would|i'll|i|we'd|we|you|you'd) (?:\w+ )?(?:just|simply) \w+$", re.IGNORECASE
)
# Hedging and vague filler: low information, typical of answers that circle the topic.
_HEDGE = re.compile(
    r"\b(?:i think|i guess|i believe|i suppose|i feel like|i'm not sure|not (?:really )?sure|"
    r"probably|maybe|perhaps|somehow|some kind of|some sort of|kind of|sort of|or something|"
    r"i'd say|might be|could be|i assume|hopefully)\b",
    re.IGNORECASE,
)
_VAGUE = re.compile(
    r"\b(?:things?|stuff|something|somewhere|someone|a lot|lots of|really|pretty|very|"
    r"super|generally|in general|basically|whatever|important|at some point|at the end of the "
    r"day|and so on|etc|everyone|everything|all sorts|a few|certain|good|great|nice|fine|"
    r"definitely|obviously|honestly|of course|just)\b",
    re.IGNORECASE,
)
# The candidate steps around the question instead of answering it.
_DEFLECT = re.compile(
    r"\b(?:look it up|google it|(?:could|can) we skip|skip this one|rather not|rather talk|"
    r"rather focus|(?:i'd|i would) have to ask|(?:i|we) (?:haven't|have not|never|didn't) "
    r"(?:really |actually )?(?:had|worked|done|used|been|tried|dealt)|i've never|"
    r"i (?:really )?don't (?:really )?know|no idea|can't (?:really )?say|i'm not (?:really )?sure|"
    r"not my area|someone else's job|(?:i'd|i) prefer to (?:talk|focus)|instead\?|"
    r"talk about (?:my|the) \w+ instead|can i tell you about)\b",
    re.IGNORECASE,
)
# Words that carry no specific information however often they are used: they do not count
# as concrete detail ("it's a really important topic in practice" adds nothing).
GENERIC_WORDS = frozenset(
    [
        "thing", "things", "stuff", "important", "good", "great", "nice", "fine", "bad",
        "topic", "topics", "situation", "situations", "practice", "case", "cases", "ways",
        "people", "everyone", "everybody", "someone", "somebody", "anything", "everything",
        "different", "various", "whole", "type", "types", "aspect", "aspects", "part", "parts",
        "point", "points", "idea", "ideas", "opinion", "opinions", "issue", "issues", "area",
        "areas", "level", "actually", "definitely", "obviously", "honestly", "generally",
        "usually", "probably", "maybe", "depends", "depend", "matter", "matters", "end", "day",
        "bit", "whatever", "certain", "overall", "pretty", "super", "totally", "tricky",
        "hard", "easy", "big", "huge", "common", "comes", "come", "think", "know", "guess",
        "believe", "feel", "want", "need", "needs", "try", "tried", "trying", "able", "sure",
        "keep", "mind", "sense", "work", "works", "working", "help", "helps", "stuff",
    ]
)
_GENERIC_STEMS = frozenset(stem(w) for w in GENERIC_WORDS | {"anything", "nothing"})
_NUMBER_WORDS = (
    r"one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fifteen|twenty|thirty|"
    r"forty|fifty|sixty|seventy|eighty|ninety|hundred|thousand|million|billion|percent|half|"
    r"twice|dozen|quarter"
)
_NUMBER = re.compile(rf"\b(?:\d+(?:[.,:]\d+)*%?|(?:{_NUMBER_WORDS}))\b", re.IGNORECASE)


_TOKEN_RE = re.compile(r"[a-z0-9]+(?:['’][a-z]+)?(?:-[a-z0-9]+)*|[,.;:!?()]")


# Words that say "not X" about the words after them without being a plain negator ("skip
# the signature check", "avoids the shuffle", "no need for salting").
_IMPLICIT_NEGATORS = frozenset(
    [
        "avoid", "avoids", "avoided", "avoiding", "skip", "skips", "skipped", "skipping",
        "ignore", "ignores", "ignored", "ignoring", "prevent", "prevents", "prevented",
        "preventing", "bypass", "bypasses", "bypassing", "lose", "loses", "losing", "lost",
        "forget", "forgets", "unlike",
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
    low = text.lower().replace("\u2019", "'")
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


# ------------------------------------------------------------------------------ results


@dataclass
class KeyPointMatch:
    key_point: str
    status: CoverageStatus
    quote: str  # the best-matching stretch of the answer ("" when missing)
    similarity: float  # combined embedding + lexical score, 0..1
    cosine: float
    lexical: float
    credit: float  # 0..1, what the key point contributes to coverage
    contradiction: str | None = None  # why the match was downgraded


@dataclass
class AnswerSignals:
    words: int
    relevance: float  # 0..1, how on-topic the answer's most on-topic sentences are
    focus: float  # 0..1, how much of the answer addresses the rubric
    specificity: float  # 0..1, concrete details (numbers, named things, technical words)
    vagueness: float  # 0..1, hedging and filler density
    hedges: list[str] = field(default_factory=list)
    vague: list[str] = field(default_factory=list)
    overclaims: list[str] = field(default_factory=list)
    dismissive: list[str] = field(default_factory=list)
    deflections: list[str] = field(default_factory=list)
    numbers: list[str] = field(default_factory=list)
    answer_cosine: float = 0.0  # whole answer vs question


@dataclass
class RubricAssessment:
    matches: list[KeyPointMatch]
    signals: AnswerSignals
    coverage: float  # 0..1 mean credit over key points
    contradictions: list[str]  # key points the answer contradicts
    embedding_used: bool


# ---------------------------------------------------------------------------- thresholds

# combined = cosine + LEXICAL_WEIGHT * lexical (cosine of MiniLM is ~0.1 for unrelated text,
# 0.5-0.6 for a loose paraphrase, 0.7+ for a close one).
LEXICAL_WEIGHT = 0.25
CREDIT_LOW = 0.38  # combined score where credit starts
CREDIT_HIGH = 0.72  # combined score for full credit
COVERED_AT = 0.62
PARTIAL_AT = 0.46
# Without embeddings, the lexical overlap alone decides.
LEX_CREDIT_LOW = 0.15
LEX_CREDIT_HIGH = 0.6
LEX_COVERED_AT = 0.5
LEX_PARTIAL_AT = 0.3


def _round(x: float) -> float:
    return round(float(x), 4)


def _soft(x: float, lo: float, hi: float) -> float:
    return min(1.0, max(0.0, (x - lo) / (hi - lo)))


def _kp_weights(question: str, key_points: Sequence[str]) -> list[dict[str, float]]:
    """Per key point, its content stems weighted by specificity within the rubric: a stem
    in every key point (the topic word) or in the question carries little evidence."""
    stems = [set(content_stems(kp)) for kp in key_points]
    q_stems = set(content_stems(question))
    n = len(key_points)
    out: list[dict[str, float]] = []
    for s in stems:
        weights: dict[str, float] = {}
        for st in s:
            df = sum(1 for other in stems if st in other)
            w = math.log(1.0 + n / df)
            if st in q_stems:
                w *= 0.35
            weights[st] = w
        out.append(weights)
    return out


def _lexical(weights: dict[str, float], span_stems: set[str]) -> float:
    total = sum(weights.values())
    if total <= 0:
        return 0.0
    return sum(w for st, w in weights.items() if st in span_stems) / total


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


def _anchored(quote: str, word_stem: str, anchors: set[str]) -> bool:
    """Whether ``word_stem`` occurs in ``quote`` within ANCHOR_WINDOW words of one of the
    key point's own specific words: "faster" says the opposite of "slow" only about the
    same thing ("a fast hash", not "it looks the same after a bake period")."""
    stems = [stem(w) for w in words(quote)]
    at = [i for i, st in enumerate(stems) if st == word_stem or st.rstrip("e") == word_stem
          or (st.endswith(("er", "est")) and st[: -2 if st.endswith("er") else -3] == word_stem)]
    near = [i for i, st in enumerate(stems) if st in anchors]
    return any(abs(i - j) <= ANCHOR_WINDOW for i in at for j in near)


def _contradiction(key_point: str, quote: str, specific: set[str]) -> str | None:
    """A heuristic reason why ``quote`` contradicts ``key_point``, or None.

    Four cues: a sweeping claim the key point does not make ("basically the same", "no
    downside"), a dismissive stance ("not my problem", "I'd just ship it"), the opposite of a
    key-point word (an antonym, and not the word itself), or a negation of a word the key
    point affirms."""
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
    for st in sorted(kp_pos):
        opposites = _ANTONYM_MAP.get(st, set())
        if opposites & kp_all:
            continue  # a contrastive key point ("separate ..., while ... share") names both sides
        for opposite in sorted(opposites):
            if (
                opposite in q_pos and st not in q_all and opposite not in kp_all
                and _anchored(quote, opposite, specific - {st})
            ):
                return f"says '{opposite}' where the key point says '{st}'"
    # (The other direction, affirming what the key point negates, is left out: key points
    # of the form "do X rather than Y" make answers that mention Y in passing look wrong.)
    if kp_negative:
        # "Do not X" / "without Y": polarity comparisons on such key points are unreliable.
        return None
    ordered = _temporal_objects(key_point)
    for st in sorted(specific - ordered):
        if st in kp_pos and st in q_neg and st not in q_pos:
            return f"negates '{st}'"
    return None


_TEMPORAL = frozenset(["before", "until", "till", "after", "once"])


def _temporal_objects(key_point: str) -> set[str]:
    """Stems a key point only orders in time ("find the cause *before deleting* anything"):
    it does not say they happen, so "without deleting anything yet" does not negate them."""
    toks = words(key_point)
    out: set[str] = set()
    for i, tok in enumerate(toks):
        if tok in _TEMPORAL:
            out.update(stem(t) for t in toks[i + 1 : i + 3] if t not in STOPWORDS)
    return out


def _answer_signals(
    question: str, answer: str, rel: float, focus: float
) -> AnswerSignals:
    toks = words(answer)
    n = max(1, len(toks))
    hedges = _find(_HEDGE, answer)
    deflections = _find(_DEFLECT, answer)
    # A dismissive match inside the sentence that deflects ("I'd probably just look it up")
    # is the deflection, not a second red flag.
    deflect_spans = [
        answer[a:b] for a, b in split_sentences(answer)
        if _DEFLECT.search(answer[a:b])
    ]
    vague = _find(_VAGUE, answer)
    numbers = _find(_NUMBER, answer)
    content = [w for w in toks if w not in STOPWORDS and w not in GENERIC_WORDS and len(w) > 2]
    q_stems = set(content_stems(question))
    novel = {stem(w) for w in content} - q_stems
    # Concrete detail per word: numbers, and distinct non-generic content words beyond the
    # question's, over roughly the count a dense answer of this length would have; the +8
    # means a very short answer cannot look detailed on a handful of words.
    specificity = min(1.0, (len(numbers) * 1.5 + len(novel) * 0.35) / (0.22 * n + 8.0))
    vagueness = min(1.0, (len(hedges) * 2.0 + len(vague)) / (0.12 * n + 2.0))
    return AnswerSignals(
        words=len(toks),
        relevance=rel,
        focus=focus,
        specificity=_round(specificity),
        vagueness=_round(vagueness),
        hedges=hedges,
        vague=vague,
        overclaims=_find(_OVERCLAIM, answer, skip_negated=True),
        dismissive=[
            d for d in _find(_DISMISSIVE, answer, skip_negated=True)
            if not any(d.lower() in f.lower() or f.lower() in d.lower() for f in deflect_spans)
        ],
        deflections=deflections,
        numbers=numbers,
    )


REUSE_PENALTY = 0.2  # cost of citing clauses another key point already used as evidence
TIGHTEN_TOLERANCE = 0.03  # a shorter quote inside the best span may score this much less


def assess(
    question: str,
    key_points: Sequence[str],
    answer: str,
    embedder: TextEmbedder | None,
) -> RubricAssessment:
    """Match every key point against the answer and gather the answer-level signals."""
    spans = split_spans(answer)
    sentences = split_sentences(answer)
    weights = _kp_weights(question, key_points)
    q_stems = set(content_stems(question))
    span_stems = [set(content_stems(s.text)) for s in spans]
    n_kp = len(key_points)
    lex = np.zeros((n_kp, len(spans)), dtype=np.float64)
    for k in range(n_kp):
        for j in range(len(spans)):
            lex[k, j] = _lexical(weights[k], span_stems[j])
    cos = np.zeros_like(lex)
    rel = 0.0
    answer_cos = 0.0
    focus = 0.0
    if embedder is not None and spans:
        vecs = embedder.embed([question, answer, *key_points])
        qv, av, kv = vecs[0], vecs[1], vecs[2:]
        sv = embedder.embed([s.text for s in spans])
        cos = np.round(kv @ sv.T, 4).astype(np.float64)
        q_cos = np.round(sv @ qv, 4).astype(np.float64)
        answer_cos = _round(float(qv @ av))
        # Each sentence's best match against the question and the key points.
        index = {(s.start, s.end): j for j, s in enumerate(spans)}
        sent_kp: list[float] = []
        sent_topic: list[float] = []
        sent_len: list[int] = []
        for a, b in sentences:
            found_j = index.get((a, b))
            # (trimmed punctuation: take the first span inside the sentence)
            j = found_j if found_j is not None else next(
                (i for i, s in enumerate(spans) if s.start >= a and s.end <= b), 0
            )
            kp_best = float(cos[:, j].max()) if n_kp else 0.0
            sent_kp.append(kp_best)
            sent_topic.append(max(kp_best, float(q_cos[j])))
            sent_len.append(len(answer[a:b].split()))
        # Relevance: how on-topic the answer's two most on-topic sentences are (a concrete
        # story can be on topic without resembling the question as a whole).
        top = sorted(sent_topic, reverse=True)[:2]
        rel = _round(max(0.0, sum(top) / len(top))) if top else 0.0
        # Focus: word-weighted share of the sentences that address some key point.
        focus = _round(
            float(np.dot([_soft(x, 0.25, 0.55) for x in sent_kp], sent_len))
            / max(1, sum(sent_len))
        )
    elif spans:
        rubric = set(content_stems(question)).union(*(set(w) for w in weights))
        used = set(content_stems(answer))
        rel = _round(min(1.0, 3.0 * len(rubric & used) / max(1, len(rubric))))
    scores = cos + LEXICAL_WEIGHT * lex if embedder is not None else lex
    if embedder is not None:
        lo, hi, cov_at, part_at = CREDIT_LOW, CREDIT_HIGH, COVERED_AT, PARTIAL_AT
    else:
        lo, hi, cov_at, part_at = LEX_CREDIT_LOW, LEX_CREDIT_HIGH, LEX_COVERED_AT, LEX_PARTIAL_AT
    found: dict[int, KeyPointMatch] = {}
    contradicted: set[int] = set()
    sizes = np.array([max(1, len(sp.units)) for sp in spans], dtype=np.float64)
    claimed: set[int] = set()
    # Strongest key points pick their evidence first; a clause already used as evidence for
    # another key point counts less the second time, so one sweeping sentence cannot cover
    # the whole rubric.
    order = sorted(range(n_kp), key=lambda k: (-float(scores[k].max()) if spans else 0.0, k))
    for k in order:
        kp = key_points[k]
        if not spans:
            found[k] = KeyPointMatch(kp, "missing", "", 0.0, 0.0, 0.0, 0.0)
            continue
        reused = np.array([sum(1 for u in sp.units if u in claimed) for sp in spans])
        adjusted = np.round(scores[k] - REUSE_PENALTY * reused / sizes, 4)
        j = int(np.argmax(adjusted))
        score = float(adjusted[j])
        # Quote the tightest stretch inside the best span that scores about as well.
        t = min(
            (i for i, sp in enumerate(spans)
             if sp.start >= spans[j].start and sp.end <= spans[j].end
             and adjusted[i] >= score - TIGHTEN_TOLERANCE),
            key=lambda i: (spans[i].end - spans[i].start, i),
        )
        credit = _soft(score, lo, hi)
        status: CoverageStatus = (
            "covered" if score >= cov_at else "partial" if score >= part_at else "missing"
        )
        specific = {st for st in weights[k] if st not in q_stems and st not in _GENERIC_STEMS}
        why = None
        if status != "missing":
            why = _contradiction(kp, spans[t].text, specific) or _contradiction(
                kp, spans[j].text, specific
            )
        if why is not None:
            contradicted.add(k)
            credit = 0.0
            status = "missing"
        elif status != "missing":
            claimed.update(spans[t].units)
        found[k] = KeyPointMatch(
            key_point=kp,
            status=status,
            quote=spans[t].text if status != "missing" or why is not None else "",
            similarity=_round(min(1.0, max(0.0, score))),
            cosine=_round(float(cos[k, t])),
            lexical=_round(float(lex[k, t])),
            credit=_round(credit),
            contradiction=why,
        )
    matches = [found[k] for k in range(n_kp)]
    contradictions = [key_points[k] for k in sorted(contradicted)]
    coverage = _round(sum(m.credit for m in matches) / n_kp) if n_kp else 0.0
    signals = _answer_signals(question, answer, rel, focus)
    signals.answer_cosine = answer_cos
    return RubricAssessment(
        matches=matches,
        signals=signals,
        coverage=coverage,
        contradictions=contradictions,
        embedding_used=embedder is not None,
    )
