"""The interview status machine. Pure: no I/O, no framework imports."""

from __future__ import annotations

from enum import StrEnum


class InterviewStatus(StrEnum):
    READY = "ready"
    IN_PROGRESS = "in_progress"
    PAUSED = "paused"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


class InvalidTransitionError(Exception):
    """A status change that the machine does not allow (409 INTERVIEW_NOT_ACTIVE)."""

    def __init__(
        self, current: InterviewStatus, target: InterviewStatus, why: str | None = None
    ) -> None:
        super().__init__(
            f"interview is {current.value}; {why or f'cannot move to {target.value}'}"
        )
        self.current = current
        self.target = target


_ALLOWED: dict[InterviewStatus, frozenset[InterviewStatus]] = {
    InterviewStatus.READY: frozenset({InterviewStatus.IN_PROGRESS, InterviewStatus.CANCELLED}),
    InterviewStatus.IN_PROGRESS: frozenset(
        {InterviewStatus.PAUSED, InterviewStatus.COMPLETED, InterviewStatus.CANCELLED}
    ),
    InterviewStatus.PAUSED: frozenset({InterviewStatus.IN_PROGRESS, InterviewStatus.CANCELLED}),
    InterviewStatus.COMPLETED: frozenset(),
    InterviewStatus.CANCELLED: frozenset(),
}


def can_transition(current: InterviewStatus, target: InterviewStatus) -> bool:
    return target in _ALLOWED[current]


def transition(current: InterviewStatus, target: InterviewStatus) -> InterviewStatus:
    """Return ``target`` if the move is allowed, else raise InvalidTransitionError."""
    if not can_transition(current, target):
        raise InvalidTransitionError(current, target)
    return target


def start_transition(current: InterviewStatus) -> InterviewStatus:
    """A start moves a ready interview to in progress. Paused -> in progress is also a
    move the machine allows, but that is a resume (the candidate's), not a start."""
    if current != InterviewStatus.READY:
        raise InvalidTransitionError(
            current, InterviewStatus.IN_PROGRESS, "only a ready interview can be started"
        )
    return InterviewStatus.IN_PROGRESS


def is_active(status: InterviewStatus) -> bool:
    """Whether a candidate may still answer (a paused interview is resumed on connect)."""
    return status in (InterviewStatus.READY, InterviewStatus.IN_PROGRESS, InterviewStatus.PAUSED)
