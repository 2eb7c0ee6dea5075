"""Enumerations shared across the domain: question types and difficulty levels. Pure, no I/O."""

from __future__ import annotations

from enum import StrEnum


class QuestionType(StrEnum):
    """The kind of interview question; the value is the wire form."""

    TECHNICAL = "technical"
    BEHAVIORAL = "behavioral"
    SITUATIONAL = "situational"


class Difficulty(StrEnum):
    """How hard a question is; orders questions and weights scores."""

    EASY = "easy"
    MEDIUM = "medium"
    HARD = "hard"

    @property
    def rank(self) -> int:
        """1 for easy, 2 for medium, 3 for hard: sort key for easy -> hard ordering."""
        return _RANK[self]

    @property
    def weight(self) -> float:
        """Weight of an answer to a question of this difficulty in an overall score."""
        return _WEIGHT[self]


_RANK: dict[Difficulty, int] = {Difficulty.EASY: 1, Difficulty.MEDIUM: 2, Difficulty.HARD: 3}
_WEIGHT: dict[Difficulty, float] = {
    Difficulty.EASY: 1.0,
    Difficulty.MEDIUM: 1.5,
    Difficulty.HARD: 2.0,
}
