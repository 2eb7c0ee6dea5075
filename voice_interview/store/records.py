"""What the repository hands out besides ORM rows: its errors, the records of leases,
claimed jobs and finished evaluations, and the shapes of new questions and stored
answers; plus the JSON encoding every JSON column goes through."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from voice_interview.domain.question import Question
from voice_interview.store.tables import (
    AnswerRow,
    EvaluationRow,
    QuestionRow,
    TurnTimingRow,
    utcnow,
)

# Bulk UPDATE/DELETE statements: the rows are not loaded in the session to be kept in step.
_BULK = {"synchronize_session": False}

JOB_TRANSCRIBE = "transcribe"
JOB_EVALUATE = "evaluate"


class NotFoundError(Exception):
    """No record with that id."""


class AlreadyAnsweredError(Exception):
    """The question already has a stored answer."""


class ClaimLostError(Exception):
    """Another node holds the claim on this answer's job now: its result is theirs."""


@dataclass(frozen=True)
class Lease:
    """An interview's lease as one acquire found it: ``held`` by this node, or not (then
    ``holder`` and ``expires_at`` say whose, until when)."""

    interview_id: str
    held: bool
    node_id: str
    holder: str
    expires_at: datetime

    def seconds_left(self, now: datetime | None = None) -> float:
        return max(0.0, (_aware(self.expires_at) - (now or utcnow())).total_seconds())


@dataclass(frozen=True)
class ClaimedJob:
    answer_id: str
    interview_id: str
    kind: str  # transcribe | evaluate
    pickups: int  # times taken up after a lapsed claim (its node stopped), this one included


@dataclass(frozen=True)
class FinishedEvaluation:
    interview_id: str
    question_id: str
    row: EvaluationRow


def _aware(value: datetime) -> datetime:
    """SQLite gives naive datetimes back (stored as UTC)."""
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _job_kind(source: str, stt: dict[str, Any] | None) -> str:
    pending = source == "voice" and (stt or {}).get("status") == "pending"
    return JOB_TRANSCRIBE if pending else JOB_EVALUATE


@dataclass
class AnswerRecord:
    question: QuestionRow
    answer: AnswerRow | None
    evaluation: EvaluationRow | None
    timing: TurnTimingRow | None


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def _json_dumps(value: Any) -> str:
    """JSON columns as strict JSON: NaN and infinities become null. PostgreSQL's json type
    rejects them (the whole write would fail) and no JSON parser reads them back."""
    try:
        return json.dumps(value, allow_nan=False)
    except ValueError:
        return json.dumps(_finite(value), allow_nan=False)


def question_of(row: QuestionRow) -> Question:
    """The stored question as the domain's value type."""
    return Question.of(
        text=row.text,
        question_type=row.question_type,
        difficulty=row.difficulty,
        key_points=[str(k) for k in row.key_points],
        skills=[str(k) for k in row.skills],
        bank_id=row.bank_id,
    )
