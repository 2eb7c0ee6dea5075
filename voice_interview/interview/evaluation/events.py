"""What sessions hear of evaluations: the event, the listener types, and (per interview
with a session here) which stored evaluations it was told of."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from voice_interview.domain.scoring import OverallScore
from voice_interview.store.tables import EvaluationRow


@dataclass
class EvaluationEvent:
    """What a session is told: one evaluation finished, or failed once / for good."""

    interview_id: str
    answer_id: str
    question_id: str
    row: EvaluationRow | None
    error: str | None = None
    final_failure: bool = False


Listener = Callable[[EvaluationEvent], Awaitable[None]]
CompletionListener = Callable[[str, OverallScore], Awaitable[None]]


def aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


@dataclass
class SessionWatch:
    """An interview with a session here: evaluations stored since ``since`` that this
    node has not told it about yet (``told``: answer id -> the stored row's updated_at)."""

    since: datetime
    told: dict[str, datetime] = field(default_factory=dict)
