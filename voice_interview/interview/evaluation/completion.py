"""Finishing an interview: once every question is answered and every evaluation stored,
the overall score, and the interview completed (once, whichever node gets there first)."""

from __future__ import annotations

from voice_interview.domain.interview import InterviewStatus, InvalidTransitionError
from voice_interview.domain.scoring import OverallScore, ScoredAnswer, overall_score
from voice_interview.domain.types import Difficulty
from voice_interview.store.repository import NotFoundError, Repository


async def complete_if_done(repo: Repository, interview_id: str) -> OverallScore | None:
    """The overall score, once every question is answered and every evaluation done (the
    interview completed now if it was not yet); None while it is not done, or cancelled."""
    try:
        interview = await repo.get_interview(interview_id)
        records = await repo.answer_records(interview_id)
    except NotFoundError:
        return None
    if interview.status == InterviewStatus.CANCELLED.value:
        return None
    if any(r.answer is None for r in records):
        return None
    if any(r.evaluation is None or r.evaluation.status == "pending" for r in records):
        return None
    overall = overall_score(
        ScoredAnswer(
            Difficulty(r.question.difficulty),
            r.evaluation.score
            if r.evaluation is not None and r.evaluation.status == "scored"
            else None,
            non_answer=r.evaluation is not None
            and bool((r.evaluation.details or {}).get("non_answer")),
        )
        for r in records
    )
    first_time = interview.status != InterviewStatus.COMPLETED.value
    if first_time:
        try:
            if (
                interview.status == InterviewStatus.READY.value
                or interview.status == InterviewStatus.PAUSED.value
            ):
                await repo.set_status(interview_id, InterviewStatus.IN_PROGRESS)
            await repo.complete_interview(interview_id, overall.score)
        except (InvalidTransitionError, NotFoundError):
            # Another node moved it meanwhile (it completed it too, most likely).
            if not await _completed(repo, interview_id):
                return None
    return overall


async def _completed(repo: Repository, interview_id: str) -> bool:
    try:
        interview = await repo.get_interview(interview_id)
    except NotFoundError:
        return False
    return interview.status == InterviewStatus.COMPLETED.value
