"""Key-point coverage: each key point matched against the answer's candidate quotes.

Each key point is scored against each quote (``spans``) by sentence-embedding cosine
(all-MiniLM-L6-v2) plus a lexical signal: the share of the key point's content stems found
in the quote, each stem weighted by how specific it is to that key point within the rubric
(topic words shared by every key point, or taken from the question, count little). Key
points pick their evidence strongest first, and a clause already used as evidence for
another key point counts less, so one sweeping sentence cannot cover the whole rubric. The
best quote is then tightened to the shortest stretch that scores about as well; that quote
is what the report shows. When the best quote contradicts the key point but a separate
span of the same standing states it plainly, that span is the evidence (one clause that
looks negated does not void a point the answer makes elsewhere). Relevance (how on-topic
the two most on-topic sentences are) and focus are measured here too. For coverage a key
point is also embedded without the question's own words, and the closer of the two
matches counts, so an answer that explains the idea without naming it is not outscored by
one that repeats the question's terms. Without an embedder
the lexical signal decides alone.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

from voice_interview.interview.evaluation.rubric.contradiction import _contradiction
from voice_interview.interview.evaluation.rubric.cues import _GENERIC_STEMS
from voice_interview.interview.evaluation.rubric.results import (
    CoverageStatus,
    KeyPointMatch,
    RubricAssessment,
)
from voice_interview.interview.evaluation.rubric.signals import _answer_signals
from voice_interview.interview.evaluation.rubric.spans import Span, split_sentences, split_spans
from voice_interview.interview.evaluation.rubric.thresholds import (
    COVERED_AT,
    CREDIT_HIGH,
    CREDIT_LOW,
    LEX_COVERED_AT,
    LEX_CREDIT_HIGH,
    LEX_CREDIT_LOW,
    LEX_PARTIAL_AT,
    LEXICAL_WEIGHT,
    PARTIAL_AT,
    _round,
)
from voice_interview.text.normalize import STOPWORDS, content_stems, stem, words


class TextEmbedder(Protocol):
    def embed(self, texts: list[str]) -> NDArray[np.float32]: ...


def _soft(x: float, lo: float, hi: float) -> float:
    return min(1.0, max(0.0, (x - lo) / (hi - lo)))


QUESTION_STEM_WEIGHT = 0.35  # a stem the question itself uses is weak evidence


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
                w *= QUESTION_STEM_WEIGHT
            weights[st] = w
        out.append(weights)
    return out


def _lexical(weights: dict[str, float], span_stems: set[str]) -> float:
    total = sum(weights.values())
    if total <= 0:
        return 0.0
    return sum(w for st, w in weights.items() if st in span_stems) / total


def _status(score: float, covered_at: float, partial_at: float) -> CoverageStatus:
    return "covered" if score >= covered_at else "partial" if score >= partial_at else "missing"


def _tightest(spans: Sequence[Span], adjusted: NDArray[np.float64], j: int) -> int:
    """The shortest span inside span j that scores about as well (the quote shown)."""
    return min(
        (i for i, sp in enumerate(spans)
         if sp.start >= spans[j].start and sp.end <= spans[j].end
         and adjusted[i] >= adjusted[j] - TIGHTEN_TOLERANCE),
        key=lambda i: (spans[i].end - spans[i].start, i),
    )


def _quoted(
    kp: str, spans: Sequence[Span], adjusted: NDArray[np.float64], j: int, specific: set[str],
    elsewhere: frozenset[str],
) -> tuple[int, str | None]:
    """The quote shown for span j (its tightest stretch) and why span j contradicts the
    key point (None: it does not)."""
    t = _tightest(spans, adjusted, j)
    why = _contradiction(kp, spans[t].text, specific, elsewhere) or _contradiction(
        kp, spans[j].text, specific, elsewhere
    )
    return t, why


TOPIC_MIN_WORDS = 2  # content words a key point must keep to be matched without its topic


def _without_topic(kp: str, q_stems: set[str]) -> str | None:
    """The key point with the question's own words taken out (None: it has none, or too
    little is left). An answer that explains the idea without naming it ("It's asking how
    this could be abused") then still meets "Threat modelling is a look at what could go
    wrong": the named topic otherwise lifts the answers that repeat the question."""
    toks = kp.split()
    parts = [words(t) for t in toks]  # the rubric's own word rules, token by token
    topic = [bool(ws) and all(w not in STOPWORDS and stem(w) in q_stems for w in ws)
             for ws in parts]
    if not any(topic):
        return None
    content = sum(1 for ws, tp in zip(parts, topic, strict=True)
                  if not tp and any(w not in STOPWORDS for w in ws))
    if content < TOPIC_MIN_WORDS:
        return None
    return " ".join(t for t, tp in zip(toks, topic, strict=True) if not tp)


def _coverage_cosines(
    key_points: Sequence[str], q_stems: set[str], cos: NDArray[np.float64],
    span_vecs: NDArray[np.float32], embedder: TextEmbedder,
) -> NDArray[np.float64]:
    """Key point x span cosines for coverage: each key point's plain match or, where
    closer, its match without the question's words (``_without_topic``)."""
    stripped = {k: t for k, kp in enumerate(key_points)
                if (t := _without_topic(kp, q_stems)) is not None}
    if not stripped:
        return cos
    out = cos.copy()
    vecs = embedder.embed(list(stripped.values()))
    for v, k in zip(vecs, stripped, strict=True):
        out[k] = np.maximum(cos[k], np.round(v @ span_vecs.T, 4))
    return out


REUSE_PENALTY = 0.2  # cost of citing clauses another key point already used as evidence
TIGHTEN_TOLERANCE = 0.03  # a shorter quote inside the best span may score this much less
CONTRADICTION_ALTERNATIVES = 3  # next-best spans tried when the best one contradicts


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
    cov_cos = cos
    rel = 0.0
    answer_cos = 0.0
    rubric_cos = 0.0
    focus = 0.0
    if embedder is not None and spans:
        rubric_text = question + " " + " ".join(key_points)
        vecs = embedder.embed([question, answer, rubric_text, *key_points])
        qv, av, rv, kv = vecs[0], vecs[1], vecs[2], vecs[3:]
        sv = embedder.embed([s.text for s in spans])
        cos = np.round(kv @ sv.T, 4).astype(np.float64)
        # (topicality and focus below keep the plain match)
        cov_cos = _coverage_cosines(key_points, q_stems, cos, sv, embedder)
        q_cos = np.round(sv @ qv, 4).astype(np.float64)
        answer_cos = _round(float(qv @ av))
        rubric_cos = _round(float(rv @ av))
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
    scores = cov_cos + LEXICAL_WEIGHT * lex if embedder is not None else lex
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
        specific = {st for st in weights[k] if st not in q_stems and st not in _GENERIC_STEMS}
        elsewhere = frozenset().union(*(weights[i].keys() for i in range(n_kp) if i != k))
        ranked = sorted(range(len(spans)), key=lambda i: (-float(adjusted[i]), i))

        j = ranked[0]
        score = float(adjusted[j])
        status = _status(score, cov_at, part_at)
        t, why = _quoted(kp, spans, adjusted, j, specific, elsewhere)
        if status == "missing":
            why = None
        elif why is not None:
            # One clause that looks negated does not void a key point the answer states
            # plainly in another span of the same standing ("using sleeps instead of
            # waiting" as the cause, "fix it with proper waits" as the fix).
            # (A span overlapping the contradicting one is a piece of the same claim.)
            alts = [i for i in ranked[1:] if spans[i].end <= spans[j].start
                    or spans[i].start >= spans[j].end][:CONTRADICTION_ALTERNATIVES]
            for alt in alts:
                if _status(float(adjusted[alt]), cov_at, part_at) != status:
                    break
                alt_t, alt_why = _quoted(kp, spans, adjusted, alt, specific, elsewhere)
                if alt_why is None:
                    j, t, why, score = alt, alt_t, None, float(adjusted[alt])
                    break
        credit = _soft(score, lo, hi)
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
            cosine=_round(float(cov_cos[k, t])),
            lexical=_round(float(lex[k, t])),
            credit=_round(credit),
            contradiction=why,
        )
    matches = [found[k] for k in range(n_kp)]
    contradictions = [key_points[k] for k in sorted(contradicted)]
    coverage = _round(sum(m.credit for m in matches) / n_kp) if n_kp else 0.0
    signals = _answer_signals(question, answer, rel, focus)
    signals.answer_cosine = answer_cos
    signals.rubric_cosine = rubric_cos
    return RubricAssessment(
        matches=matches,
        signals=signals,
        coverage=coverage,
        contradictions=contradictions,
        embedding_used=embedder is not None,
    )
