"""Runs answer evaluations off the turn path, stores them, and finishes interviews.

An evaluation is retried once; a second failure is stored as ``failed`` (never
silently dropped). Evaluations left ``pending`` by a crash are redone at start.
Sessions subscribe to hear about the evaluations of their interview.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from voice_interview.domain.interview import InterviewStatus
from voice_interview.domain.scoring import OverallScore, ScoredAnswer, overall_score
from voice_interview.domain.types import Difficulty
from voice_interview.engines.queue import EngineQueue
from voice_interview.interview.evaluator import EvaluationResult, Evaluator, QuestionSpec
from voice_interview.interview.gating import AnswerMeta
from voice_interview.store.repository import NotFoundError, Repository
from voice_interview.store.tables import EvaluationRow, QuestionRow

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 2


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


def question_spec(q: QuestionRow) -> QuestionSpec:
    return QuestionSpec(
        text=q.text,
        question_type=q.question_type,
        difficulty=q.difficulty,
        key_points=list(q.key_points),
        skills=list(q.skills),
    )


def evaluation_payload(result: EvaluationResult) -> dict[str, Any]:
    details = dict(result.details)
    # The evaluator's own per-key-point detail (cosine, lexical, credit, contradiction)
    # is kept; the summary view is added beside it.
    details["key_points"] = [
        {
            "key_point": c.key_point,
            "status": c.status,
            "quote": c.quote,
            "similarity": round(float(c.similarity), 3),
            "start_s": c.start_s,
            "end_s": c.end_s,
        }
        for c in result.coverage
    ]
    return {
        "status": result.status,
        "score": None if result.score is None else round(float(result.score), 1),
        "feedback": result.feedback,
        "strengths": list(result.strengths),
        "weaknesses": list(result.weaknesses),
        "details": details,
    }


class EvaluationService:
    def __init__(self, repo: Repository, evaluator: Evaluator, queue: EngineQueue) -> None:
        self.repo = repo
        self.evaluator = evaluator
        self.queue = queue
        self._listeners: dict[str, set[Listener]] = defaultdict(set)
        self._completion: dict[str, set[CompletionListener]] = defaultdict(set)
        self._tasks: set[asyncio.Task[None]] = set()
        self._inflight: dict[str, set[str]] = defaultdict(set)
        self.on_latency: Callable[[float], None] | None = None

    def subscribe(
        self, interview_id: str, listener: Listener, on_complete: CompletionListener
    ) -> Callable[[], None]:
        self._listeners[interview_id].add(listener)
        self._completion[interview_id].add(on_complete)

        def unsubscribe() -> None:
            self._listeners[interview_id].discard(listener)
            self._completion[interview_id].discard(on_complete)

        return unsubscribe

    def pending_for(self, interview_id: str) -> int:
        return len(self._inflight.get(interview_id, ()))

    def schedule(
        self,
        interview_id: str,
        answer_id: str,
        question: QuestionRow,
        text: str,
        answer_meta: AnswerMeta | None = None,
    ) -> None:
        """Evaluate an answer in the background. ``answer_meta`` (source, speech time, stt
        info) lets the gate judge a spoken answer; without it the text is gated as typed."""
        self._inflight[interview_id].add(answer_id)
        task = asyncio.create_task(
            self._evaluate(interview_id, answer_id, question, text, answer_meta)
        )
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def resume_pending(self) -> int:
        """Redo evaluations that a crash left pending; returns how many were scheduled."""
        count = 0
        for interview_id, answer_id in await self.repo.pending_evaluations():
            try:
                records = await self.repo.answer_records(interview_id)
            except NotFoundError:
                continue
            for rec in records:
                # An untranscribed answer is evaluated once its transcription is recovered.
                if (
                    rec.answer is not None
                    and rec.answer.id == answer_id
                    and rec.answer.stt.get("status") != "pending"
                ):
                    self.schedule(
                        interview_id,
                        answer_id,
                        rec.question,
                        rec.answer.transcript,
                        AnswerMeta.of(rec.answer),
                    )
                    count += 1
        return count

    async def _notify(self, event: EvaluationEvent) -> None:
        for listener in list(self._listeners.get(event.interview_id, ())):
            try:
                await listener(event)
            except (ConnectionError, RuntimeError) as e:  # a closing socket must not stop us
                log.warning("evaluation listener failed: %s", e)

    async def _evaluate(
        self,
        interview_id: str,
        answer_id: str,
        question: QuestionRow,
        text: str,
        answer_meta: AnswerMeta | None = None,
    ) -> None:
        loop = asyncio.get_running_loop()
        spec = question_spec(question)
        error = ""
        try:
            for attempt in range(1, MAX_ATTEMPTS + 1):
                started = loop.time()
                try:
                    result = await self.queue.run(
                        lambda: self.evaluator.evaluate(spec, text, answer_meta)
                    )
                except Exception as e:  # any model failure is retried, then stored as failed
                    error = f"{type(e).__name__}: {e}"
                    log.warning(
                        "evaluation failed",
                        extra={
                            "interview_id": interview_id,
                            "answer_id": answer_id,
                            "attempt": attempt,
                            "error": error,
                        },
                    )
                    await self._notify(
                        EvaluationEvent(
                            interview_id,
                            answer_id,
                            question.id,
                            None,
                            error,
                            attempt == MAX_ATTEMPTS,
                        )
                    )
                    continue
                if self.on_latency is not None:
                    self.on_latency(loop.time() - started)
                row = await self.repo.save_evaluation(answer_id, **evaluation_payload(result))
                await self._notify(EvaluationEvent(interview_id, answer_id, question.id, row))
                return
            await self.repo.save_evaluation(
                answer_id,
                status="failed",
                score=None,
                feedback="",
                strengths=[],
                weaknesses=[],
                details={},
                error=error,
            )
        except NotFoundError:
            log.info(
                "interview deleted before its evaluation finished",
                extra={"interview_id": interview_id},
            )
        finally:
            self._inflight[interview_id].discard(answer_id)
            await self.maybe_complete(interview_id)

    async def maybe_complete(self, interview_id: str) -> OverallScore | None:
        """Complete the interview once every question is answered and every evaluation done."""
        if self._inflight.get(interview_id):
            return None
        try:
            interview = await self.repo.get_interview(interview_id)
            records = await self.repo.answer_records(interview_id)
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
            if (
                interview.status == InterviewStatus.READY.value
                or interview.status == InterviewStatus.PAUSED.value
            ):
                await self.repo.set_status(interview_id, InterviewStatus.IN_PROGRESS)
            await self.repo.complete_interview(interview_id, overall.score)
        for listener in list(self._completion.get(interview_id, ())):
            try:
                await listener(interview_id, overall)
            except (ConnectionError, RuntimeError) as e:
                log.warning("completion listener failed: %s", e)
        return overall

    async def drain(self) -> None:
        if self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
