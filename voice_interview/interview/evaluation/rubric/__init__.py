"""Rubric key-point coverage and answer-quality signals, computed without an LLM.

``coverage`` holds :func:`assess`, which matches every key point against the candidate
quotes that ``spans`` cuts from the answer; ``contradiction`` voids matches whose quote says
the opposite; ``signals`` measures specificity, vagueness, over-claims and deflection;
``negation`` tells which words a negation governs; ``cues`` holds the lexicons;
``results`` the returned dataclasses; ``thresholds`` the version and the score thresholds.
"""

from voice_interview.interview.evaluation.rubric.contradiction import _contradiction
from voice_interview.interview.evaluation.rubric.coverage import TextEmbedder, assess
from voice_interview.interview.evaluation.rubric.cues import _DISMISSIVE, GENERIC_WORDS
from voice_interview.interview.evaluation.rubric.negation import _find, _scoped_tokens
from voice_interview.interview.evaluation.rubric.results import (
    AnswerSignals,
    CoverageStatus,
    KeyPointMatch,
    RubricAssessment,
)
from voice_interview.interview.evaluation.rubric.spans import (
    Span,
    clause_units,
    split_sentences,
    split_spans,
)
from voice_interview.interview.evaluation.rubric.thresholds import RUBRIC_VERSION

# The private names are the heuristics' internals that
# tests/unit/interview/evaluation/test_rubric.py pins.
__all__ = [
    "GENERIC_WORDS",
    "RUBRIC_VERSION",
    "_DISMISSIVE",
    "AnswerSignals",
    "CoverageStatus",
    "KeyPointMatch",
    "RubricAssessment",
    "Span",
    "TextEmbedder",
    "_contradiction",
    "_find",
    "_scoped_tokens",
    "assess",
    "clause_units",
    "split_sentences",
    "split_spans",
]
