"""What an assessment returns: one match per key point and the answer-level signals."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

CoverageStatus = Literal["covered", "partial", "missing"]


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
    rubric_cosine: float = 0.0  # whole answer vs question and key points together


@dataclass
class RubricAssessment:
    matches: list[KeyPointMatch]
    signals: AnswerSignals
    coverage: float  # 0..1 mean credit over key points
    contradictions: list[str]  # key points the answer contradicts
    embedding_used: bool
