"""Evaluations and the interview's completion, relayed to the candidate's socket."""

from __future__ import annotations

from typing import TYPE_CHECKING

from voice_interview import protocol as p
from voice_interview.domain.interview import InterviewStatus
from voice_interview.domain.scoring import OverallScore
from voice_interview.interview.evaluation.jobs import EvaluationEvent

if TYPE_CHECKING:
    from voice_interview.interview.session.session import InterviewSession


async def on_evaluation(s: InterviewSession, event: EvaluationEvent) -> None:
    if event.row is None:
        await s.error(
            p.EVALUATION_FAILED,
            f"evaluation of answer {event.answer_id} failed"
            + (" for good; it is stored as failed" if event.final_failure else "; retrying"),
        )
        if event.final_failure:
            # Every answer gets an evaluation message, a failed one included.
            await s.send(p.EvaluationMsg.failed(event.answer_id, event.question_id))
        return
    await s.send(p.EvaluationMsg.of_row(event.answer_id, event.question_id, event.row))


async def on_complete(s: InterviewSession, interview_id: str, overall: OverallScore) -> None:
    if s.completed_sent:
        return
    s.completed_sent = True
    s.status = InterviewStatus.COMPLETED
    await s.send(
        p.InterviewCompleteMsg(
            overall.score,
            s.feedback_url,
            {"assessed": overall.assessed, "not_assessed": overall.not_assessed},
        )
    )
