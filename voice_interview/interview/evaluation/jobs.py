"""Runs answer evaluations off the turn path, stores them, and finishes interviews.

An evaluation is retried once; a second failure is stored as ``failed`` (never
silently dropped). Sessions subscribe to hear about the evaluations of their interview.

Every evaluation is an answer job in the database (``answer_jobs``), done only under
this node's claim on it: the node that made the answer claims it and evaluates at once
(``schedule``); jobs nobody holds (a node stopped mid-answer, or this one restarted) are
taken up by ``resume_pending``, which the job poller calls every ``VI_JOB_POLL_S``. The
result is stored and the job deleted in one transaction, only while the claim is still
this node's, so no evaluation is stored twice. A session hears of evaluations made here
at once; of those another node made, at the next poll (``poll_remote``), or in the
replay when it reconnects.

What sessions hear is in :mod:`.events`, the stored fields of a result in
:mod:`.payload`, and completing the interview in :mod:`.completion`.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Callable
from datetime import timedelta

from voice_interview.domain.answer import AnswerMeta
from voice_interview.domain.scoring import OverallScore
from voice_interview.engines.queue import EngineQueue
from voice_interview.interview.evaluation.completion import complete_if_done
from voice_interview.interview.evaluation.evaluator import Evaluator
from voice_interview.interview.evaluation.events import (
    CompletionListener,
    EvaluationEvent,
    Listener,
    SessionWatch,
    aware,
)
from voice_interview.interview.evaluation.payload import evaluation_payload
from voice_interview.store.repository import (
    JOB_EVALUATE,
    ClaimedJob,
    ClaimLostError,
    NotFoundError,
    Repository,
    question_of,
)
from voice_interview.store.tables import EvaluationRow, QuestionRow, utcnow

__all__ = [
    "JOB_CAPACITY",
    "MAX_ATTEMPTS",
    "MAX_PICKUPS",
    "REMOTE_SLACK",
    "CompletionListener",
    "EvaluationEvent",
    "EvaluationService",
    "Listener",
    "evaluation_payload",
]

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 2
# A job whose claim lapsed this many times is given up (stored as failed) when taken up:
# an answer whose work keeps killing the node that takes it must not take every node down.
MAX_PICKUPS = 5
# Jobs the poller takes up at once per node (the answers made here are never held back).
JOB_CAPACITY = 4
# Evaluations another node stored this long before a session subscribed are still looked
# for (clocks a little apart); the session's own replay covers the older ones.
REMOTE_SLACK = timedelta(seconds=1)


class EvaluationService:
    def __init__(self, repo: Repository, evaluator: Evaluator, queue: EngineQueue) -> None:
        self.repo = repo
        self.evaluator = evaluator
        self.queue = queue
        self._listeners: dict[str, set[Listener]] = defaultdict(set)
        self._completion: dict[str, set[CompletionListener]] = defaultdict(set)
        self._tasks: set[asyncio.Task[None]] = set()
        self._inflight: dict[str, set[str]] = defaultdict(set)
        self._watch: dict[str, SessionWatch] = {}
        self.on_latency: Callable[[float], None] | None = None
        # Set when an evaluation here ends: the job poller may take up the next job now.
        self.room = asyncio.Event()

    def subscribe(
        self, interview_id: str, listener: Listener, on_complete: CompletionListener
    ) -> Callable[[], None]:
        self._listeners[interview_id].add(listener)
        self._completion[interview_id].add(on_complete)
        self._watch.setdefault(interview_id, SessionWatch(utcnow() - REMOTE_SLACK))

        def unsubscribe() -> None:
            self._listeners[interview_id].discard(listener)
            self._completion[interview_id].discard(on_complete)
            if not self._listeners[interview_id]:
                self._watch.pop(interview_id, None)

        return unsubscribe

    def pending_for(self, interview_id: str) -> int:
        return len(self._inflight.get(interview_id, ()))

    @property
    def working(self) -> set[str]:
        """Answers evaluated here now (their job claims are renewed while they are)."""
        return {a for answers in self._inflight.values() for a in answers}

    def schedule(
        self,
        interview_id: str,
        answer_id: str,
        question: QuestionRow,
        text: str,
        answer_meta: AnswerMeta | None = None,
    ) -> None:
        """Evaluate an answer in the background, once its job is claimed by this node (if
        another node holds it, that node evaluates it). ``answer_meta`` (source, speech
        time, stt info) lets the gate judge a spoken answer; without it the text is gated
        as typed."""
        if answer_id in self._inflight[interview_id]:
            return  # already being evaluated here
        self._inflight[interview_id].add(answer_id)
        task = asyncio.create_task(
            self._evaluate(interview_id, answer_id, question, text, answer_meta)
        )
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def resume_pending(self) -> int:
        """Take up evaluation jobs that no node holds (left by a node that stopped, or by
        this one before a restart), as many as there is room for; returns how many were
        scheduled. An answer not transcribed yet is the transcriber's job first."""
        room = JOB_CAPACITY - len(self.working)
        count = 0
        for job in await self.repo.claim_jobs(JOB_EVALUATE, room, exclude=self.working):
            if job.pickups >= MAX_PICKUPS:
                await self.give_up(job)
                continue
            try:
                answer = await self.repo.get_answer(job.answer_id)
                question = await self.repo.get_question(answer.question_id)
                evaluation = await self.repo.evaluation_of(job.answer_id)
            except NotFoundError:
                continue  # deleted meanwhile: the job went with it
            if evaluation is not None and evaluation.status != "pending":
                await self.repo.drop_job(job.answer_id)
                continue
            self.schedule(
                job.interview_id,
                job.answer_id,
                question,
                answer.transcript,
                AnswerMeta.of(answer),
            )
            count += 1
        return count

    async def give_up(self, job: ClaimedJob) -> None:
        """A job that nodes kept stopping on: stored as a failed evaluation, for good."""
        error = f"given up: {job.pickups} times a node stopped while working on this answer"
        log.error(
            "answer job given up",
            extra={"interview_id": job.interview_id, "answer_id": job.answer_id, "error": error},
        )
        try:
            row = await self._save_failed(job.answer_id, error)
            answer = await self.repo.get_answer(job.answer_id)
        except (NotFoundError, ClaimLostError):
            return
        self._told(job.interview_id, row)
        await self._notify(
            EvaluationEvent(job.interview_id, job.answer_id, answer.question_id, row, error, True)
        )
        await self.maybe_complete(job.interview_id)

    async def poll_remote(self) -> int:
        """Tell the sessions here about evaluations of their interviews that another node
        stored (it took up the job after this one or another stopped); returns how many."""
        watched = {i: w for i, w in self._watch.items() if self._listeners.get(i)}
        if not watched:
            return 0
        since = min(w.since for w in watched.values())
        found = await self.repo.finished_evaluations(list(watched), since)
        told = 0
        touched: set[str] = set()
        for f in found:
            watch = watched.get(f.interview_id)
            answer_id = f.row.answer_id
            if watch is None or answer_id in self._inflight.get(f.interview_id, ()):
                continue
            stamp = aware(f.row.updated_at)
            if stamp < watch.since or stamp <= watch.told.get(answer_id, watch.since):
                continue
            watch.told[answer_id] = stamp
            await self._notify(EvaluationEvent(f.interview_id, answer_id, f.question_id, f.row))
            told += 1
            touched.add(f.interview_id)
        for interview_id in touched:
            await self.maybe_complete(interview_id)
        return told

    def _told(self, interview_id: str, row: EvaluationRow) -> None:
        watch = self._watch.get(interview_id)
        if watch is not None:
            stamp = row.updated_at
            watch.told[row.answer_id] = aware(stamp) if stamp is not None else utcnow()

    async def _notify(self, event: EvaluationEvent) -> None:
        for listener in list(self._listeners.get(event.interview_id, ())):
            try:
                await listener(event)
            except (ConnectionError, RuntimeError) as e:  # a closing socket must not stop us
                log.warning("evaluation listener failed: %s", e)

    async def _save_failed(self, answer_id: str, error: str) -> EvaluationRow:
        """A claimed job given up: stored as ``failed`` (never a fabricated score)."""
        return await self.repo.save_evaluation(
            answer_id,
            status="failed",
            score=None,
            feedback="",
            strengths=[],
            weaknesses=[],
            details={},
            error=error,
            claimed=True,
        )

    async def _evaluate(
        self,
        interview_id: str,
        answer_id: str,
        question: QuestionRow,
        text: str,
        answer_meta: AnswerMeta | None = None,
    ) -> None:
        loop = asyncio.get_running_loop()
        spec = question_of(question)
        error = ""
        try:
            if await self.repo.claim_job(answer_id) is None:
                log.info(
                    "evaluation left to the node that holds its job",
                    extra={"interview_id": interview_id, "answer_id": answer_id},
                )
                return
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
                row = await self.repo.save_evaluation(
                    answer_id, **evaluation_payload(result), claimed=True
                )
                self._told(interview_id, row)
                await self._notify(EvaluationEvent(interview_id, answer_id, question.id, row))
                return
            row = await self._save_failed(answer_id, error)
            self._told(interview_id, row)
        except NotFoundError:
            log.info(
                "interview deleted before its evaluation finished",
                extra={"interview_id": interview_id},
            )
        except ClaimLostError as e:
            # This node stalled past its claim and another took the job: theirs stands.
            log.warning(
                "evaluation dropped: %s",
                e,
                extra={"interview_id": interview_id, "answer_id": answer_id},
            )
        finally:
            self._inflight[interview_id].discard(answer_id)
            self.room.set()
            await self.maybe_complete(interview_id)

    async def maybe_complete(self, interview_id: str) -> OverallScore | None:
        """Complete the interview once every question is answered and every evaluation done."""
        if self._inflight.get(interview_id):
            return None
        overall = await complete_if_done(self.repo, interview_id)
        if overall is None:
            return None
        for listener in list(self._completion.get(interview_id, ())):
            try:
                await listener(interview_id, overall)
            except (ConnectionError, RuntimeError) as e:
                log.warning("completion listener failed: %s", e)
        return overall

    async def drain(self) -> None:
        if self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
