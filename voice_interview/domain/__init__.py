"""Pure domain types: no I/O, no dependencies on the rest of the package."""

from voice_interview.domain.types import Difficulty, QuestionType

__all__ = ["Difficulty", "QuestionType"]
