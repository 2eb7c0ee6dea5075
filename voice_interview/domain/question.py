"""The interview question every part of the server shares. Pure: no I/O.

The bank's entries (``interview.questions.BankQuestion``, which add the roles they suit),
the stored rows (``store.tables.QuestionRow``, mapped by ``store.records.question_of``)
and the evaluator all speak this one type.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from voice_interview.domain.types import Difficulty, QuestionType


@dataclass(frozen=True)
class Question:
    text: str
    question_type: QuestionType
    difficulty: Difficulty
    key_points: tuple[str, ...]  # what a strong answer covers (the rubric)
    skills: tuple[str, ...] = ()
    bank_id: str = ""  # the bank entry it came from; "" for a question not from the bank

    @classmethod
    def of(
        cls,
        text: str,
        question_type: str,
        difficulty: str,
        key_points: Iterable[str],
        skills: Iterable[str] = (),
        bank_id: str = "",
    ) -> Question:
        """From wire or file strings; an unknown type or difficulty raises ValueError."""
        return cls(
            text=text,
            question_type=QuestionType(question_type),
            difficulty=Difficulty(difficulty),
            key_points=tuple(key_points),
            skills=tuple(skills),
            bank_id=bank_id,
        )
