"""Re-run gating and evaluation on an interview's stored answers (``voice-interview rescore``).

Nothing is transcribed again: the stored transcript, stt info (confidences, word
timestamps) and speech time go through the same gate and evaluator as live answers, with
whatever models are configured now (e.g. a bigger LLM for the feedback). Each answer's
evaluation is overwritten; its details keep ``rescored_at`` and ``previous`` (the status,
score, models and versions it replaces), so the report shows what changed. The overall
score is recomputed and stored if the interview is completed (a report of an unfinished
interview computes it on the fly).

An interview in progress is refused: its live session is still writing evaluations.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from typing import Any, TypeVar

from voice_interview.domain.answer import AnswerMeta
from voice_interview.domain.evaluation import Evaluation
from voice_interview.domain.interview import InterviewStatus
from voice_interview.domain.scoring import OverallScore, ScoredAnswer, overall_score
from voice_interview.domain.types import Difficulty
from voice_interview.interview.evaluation.evaluator import Evaluator
from voice_interview.interview.evaluation.jobs import evaluation_payload
from voice_interview.store.repository import Repository, question_of

T = TypeVar("T")
Runner = Callable[[Callable[[], T]], Awaitable[T]]


class RescoreError(Exception):
    """The interview cannot be rescored now (e.g. it is in progress)."""


@dataclass
class RescoredAnswer:
    question_index: int
    answer_id: str
    old_status: str | None
    old_score: float | None
    new_status: str
    new_score: float | None
    reason: str | None  # why not assessed, when it is not


@dataclass
class RescoreSummary:
    interview_id: str
    rescored_at: str
    models: dict[str, Any]
    old_overall: float | None
    overall: OverallScore
    answers: list[RescoredAnswer] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # why some answers were not redone

    def to_dict(self) -> dict[str, Any]:
        return {
            "interview_id": self.interview_id,
            "rescored_at": self.rescored_at,
            "models": self.models,
            "old_overall": self.old_overall,
            "overall": self.overall.score,
            "note": self.overall.note,
            "answers": [vars(a) for a in self.answers],
            "skipped": self.skipped,
        }


def _iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).isoformat()


async def _in_thread(fn: Callable[[], T]) -> T:
    return await asyncio.to_thread(fn)


async def rescore_interview(
    repo: Repository,
    evaluator: Evaluator,
    interview_id: str,
    *,
    run: Runner[Evaluation] = _in_thread,
    now: datetime | None = None,
) -> RescoreSummary:
    """Re-evaluate every transcribed answer of the interview and store the results."""
    interview = await repo.get_interview(interview_id)
    if interview.status == InterviewStatus.IN_PROGRESS.value:
        raise RescoreError(
            f"interview {interview_id} is in progress; rescore it once it is paused or completed"
        )
    stamp = (now or datetime.now(UTC)).isoformat()
    records = await repo.answer_records(interview_id)
    summary = RescoreSummary(
        interview_id=interview_id,
        rescored_at=stamp,
        models={},
        old_overall=interview.overall_score,
        overall=OverallScore(None, 0, 0),
    )
    scored: list[ScoredAnswer] = []
    for rec in records:
        answer, old = rec.answer, rec.evaluation
        if answer is None:
            continue
        difficulty = Difficulty(rec.question.difficulty)
        if answer.stt.get("status") == "pending":
            summary.skipped.append(
                f"question {rec.question.position + 1}: not transcribed yet (the server "
                "transcribes it at its next start)"
            )
            keep = old.score if old is not None and old.status == "scored" else None
            scored.append(ScoredAnswer(difficulty, keep))
            continue
        job = partial(
            evaluator.evaluate, question_of(rec.question), answer.transcript,
            AnswerMeta.of(answer),
        )
        result = await run(job)
        payload = evaluation_payload(result)
        payload["details"]["rescored_at"] = stamp
        if old is not None:
            payload["details"]["previous"] = {
                "status": old.status,
                "score": old.score,
                "models": (old.details or {}).get("models"),
                "rubric_version": (old.details or {}).get("rubric_version"),
                "prompt_version": (old.details or {}).get("prompt_version"),
                "scoring_version": (old.details or {}).get("scoring_version"),
                "evaluated_at": _iso(old.updated_at),
            }
        await repo.save_evaluation(answer.id, **payload)
        summary.models = dict(result.details.get("models") or {})
        summary.answers.append(
            RescoredAnswer(
                question_index=rec.question.position,
                answer_id=answer.id,
                old_status=old.status if old is not None else None,
                old_score=old.score if old is not None else None,
                new_status=result.status,
                new_score=payload["score"],
                reason=result.details.get("reason") if result.status != "scored" else None,
            )
        )
        scored.append(
            ScoredAnswer(
                difficulty,
                payload["score"] if result.status == "scored" else None,
                non_answer=bool(result.details.get("non_answer")),
            )
        )
    summary.overall = overall_score(scored)
    if interview.status == InterviewStatus.COMPLETED.value:
        await repo.complete_interview(interview_id, summary.overall.score)
    return summary


def format_summary(summary: RescoreSummary) -> str:
    """The summary the CLI prints."""

    def score(status: str | None, value: float | None) -> str:
        if status is None:
            return "none"
        return f"{value:.1f}" if status == "scored" and value is not None else status

    lines = [f"interview {summary.interview_id} rescored at {summary.rescored_at}"]
    for role, info in sorted(summary.models.items()):
        if info:
            sha = str(info.get("sha256") or "?")[:12]
            lines.append(f"  {role:6} {info.get('name')} (sha256 {sha})")
        else:
            lines.append(f"  {role:6} none")
    for a in summary.answers:
        line = (
            f"  Q{a.question_index + 1}: {score(a.old_status, a.old_score)} -> "
            f"{score(a.new_status, a.new_score)}"
        )
        if a.reason:
            line += f" ({a.reason})"
        lines.append(line)
    lines.extend(f"  skipped {s}" for s in summary.skipped)
    old = "none" if summary.old_overall is None else f"{summary.old_overall:.1f}"
    new = "none" if summary.overall.score is None else f"{summary.overall.score:.1f}"
    lines.append(f"overall {old} -> {new} ({summary.overall.note})")
    return "\n".join(lines)
