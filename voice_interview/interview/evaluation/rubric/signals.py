"""Answer signals: specificity (numbers and distinct non-generic content words per word),
vagueness (hedges and filler), sweeping claims, dismissive stances and deflection ("I'd
look it up", "could we skip this one"). Relevance and focus come from ``coverage``;
``evaluator`` turns all of it into the score.
"""

from __future__ import annotations

from voice_interview.interview.evaluation.rubric.cues import (
    _DEFLECT,
    _DISMISSIVE,
    _HEDGE,
    _NUMBER,
    _OVERCLAIM,
    _VAGUE,
    GENERIC_WORDS,
)
from voice_interview.interview.evaluation.rubric.negation import _find
from voice_interview.interview.evaluation.rubric.results import AnswerSignals
from voice_interview.interview.evaluation.rubric.spans import split_sentences
from voice_interview.interview.evaluation.rubric.thresholds import _round
from voice_interview.text.normalize import STOPWORDS, content_stems, stem, words


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
