"""Answers, transcripts, timings and evaluations: the writes of a turn and what reports
read back (a mixin of ``Repository``)."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from voice_interview.domain.interview import InterviewStatus, transition
from voice_interview.store.connection import StoreBase, _interview_or_404
from voice_interview.store.records import (
    JOB_EVALUATE,
    AlreadyAnsweredError,
    AnswerRecord,
    FinishedEvaluation,
    NotFoundError,
    _job_kind,
)
from voice_interview.store.tables import (
    AnswerJobRow,
    AnswerRow,
    EvaluationRow,
    InterviewRow,
    QuestionRow,
    TurnTimingRow,
    utcnow,
)

_OfAnswer = TypeVar("_OfAnswer", EvaluationRow, TurnTimingRow)
_ById = TypeVar("_ById", AnswerRow, QuestionRow)


async def _one_of_answer(
    s: AsyncSession, table: type[_OfAnswer], answer_id: str
) -> _OfAnswer | None:
    """The answer's row in ``table`` (an answer has one at most), or None."""
    result = await s.execute(select(table).where(table.answer_id == answer_id))
    return result.scalar_one_or_none()


class AnswerQueries(StoreBase):
    # ------------------------------------------------------------ answers

    async def record_answer(
        self,
        interview_id: str,
        question_id: str,
        *,
        source: str,
        transcript: str,
        end_reason: str,
        speech_ms: int = 0,
        stt: dict[str, Any] | None = None,
        audio: bytes | None = None,
        audio_format: str = "",
        latency_ms: dict[str, Any] | None = None,
    ) -> tuple[AnswerRow, EvaluationRow]:
        """Store one turn and advance the interview, in one transaction.

        The evaluation row starts as ``pending``, and the answer gets its job row
        (``transcribe`` for a voice answer not transcribed yet, else ``evaluate``), claimed
        by this node: if it stops before the evaluation is stored, the claim lapses and
        another node (or this one, restarted) finishes the answer.
        """
        async with self._write() as s:
            interview = await _interview_or_404(s, interview_id)
            question = await s.get(QuestionRow, question_id)
            if question is None or question.interview_id != interview_id:
                raise NotFoundError(f"question {question_id} not in interview {interview_id}")
            answer = AnswerRow(
                interview_id=interview_id,
                question_id=question_id,
                source=source,
                transcript=transcript,
                end_reason=end_reason,
                speech_ms=speech_ms,
                stt=stt or {},
                audio=audio,
                audio_format=audio_format if audio else "",
            )
            s.add(answer)
            try:
                await s.flush()
            except IntegrityError as e:
                raise AlreadyAnsweredError(f"question {question_id} is already answered") from e
            evaluation = EvaluationRow(answer_id=answer.id, status="pending")
            s.add(evaluation)
            now = utcnow()
            s.add(
                AnswerJobRow(
                    answer_id=answer.id,
                    interview_id=interview_id,
                    kind=_job_kind(source, stt),
                    created_at=now,
                    claimed_by=self.node.id,
                    claimed_until=self._until(now),
                    pickups=0,
                )
            )
            if latency_ms is not None:
                s.add(
                    TurnTimingRow(
                        answer_id=answer.id,
                        interview_id=interview_id,
                        question_id=question_id,
                        latency_ms=latency_ms,
                    )
                )
            interview.current_question_index = max(
                interview.current_question_index, question.position + 1
            )
        return answer, evaluation

    async def save_transcript(
        self,
        answer_id: str,
        transcript: str,
        stt: dict[str, Any],
        audio: bytes | None,
        audio_format: str,
    ) -> AnswerRow:
        """Store the final transcript, under this node's claim on the answer's job
        (``ClaimLostError`` if another node holds it now); the job goes on to ``evaluate``."""
        async with self._write() as s:
            row = await s.get(AnswerRow, answer_id)
            if row is None:
                raise NotFoundError(f"answer {answer_id} not found")
            job = await self._own_job(s, answer_id)
            if job is not None:
                job.kind = JOB_EVALUATE
            row.transcript = transcript
            row.stt = stt
            row.audio = audio
            row.audio_format = audio_format if audio else ""
        return row

    async def reopen_answer(
        self,
        answer_id: str,
        *,
        transcript: str,
        end_reason: str,
        speech_ms: int,
        stt: dict[str, Any],
        audio: bytes | None,
        audio_format: str,
    ) -> AnswerRow:
        """Replace a stored answer with its continuation (an early end of turn taken back):
        the whole answer's audio, the transcript back to pending, the evaluation back to
        pending and the earlier turn's timing dropped, all in one transaction."""
        async with self._write() as s:
            row = await s.get(AnswerRow, answer_id)
            if row is None:
                raise NotFoundError(f"answer {answer_id} not found")
            row.transcript = transcript
            row.end_reason = end_reason
            row.speech_ms = speech_ms
            row.stt = stt
            row.audio = audio
            row.audio_format = audio_format if audio else ""
            evaluation = await _one_of_answer(s, EvaluationRow, answer_id)
            if evaluation is None:
                s.add(EvaluationRow(answer_id=answer_id, status="pending"))
            else:
                evaluation.status = "pending"
                evaluation.score = None
                evaluation.feedback = ""
                evaluation.strengths = []
                evaluation.weaknesses = []
                evaluation.details = {}
                evaluation.error = ""
            await s.execute(delete(TurnTimingRow).where(TurnTimingRow.answer_id == answer_id))
            now = utcnow()
            job = await s.get(AnswerJobRow, answer_id)
            if job is None:
                job = AnswerJobRow(
                    answer_id=answer_id, interview_id=row.interview_id, created_at=now, pickups=0
                )
                s.add(job)
            job.kind = _job_kind(row.source, stt)
            job.claimed_by = self.node.id
            job.claimed_until = self._until(now)
        return row

    async def answers_awaiting_transcription(self) -> list[AnswerRow]:
        async with self._read() as s:
            rows = (await s.execute(select(AnswerRow).where(AnswerRow.source == "voice"))).scalars()
            return [r for r in rows if r.stt.get("status") == "pending"]

    async def get_question(self, question_id: str) -> QuestionRow:
        return await self._get_or_404(QuestionRow, question_id, "question")

    async def save_timing(
        self, answer_id: str, interview_id: str, question_id: str, latency_ms: dict[str, Any]
    ) -> None:
        async with self._write() as s:
            existing = await _one_of_answer(s, TurnTimingRow, answer_id)
            if existing is None:
                s.add(
                    TurnTimingRow(
                        answer_id=answer_id,
                        interview_id=interview_id,
                        question_id=question_id,
                        latency_ms=latency_ms,
                    )
                )
            else:
                existing.latency_ms = {**existing.latency_ms, **latency_ms}

    async def save_evaluation(
        self,
        answer_id: str,
        *,
        status: str,
        score: float | None,
        feedback: str,
        strengths: list[str],
        weaknesses: list[str],
        details: dict[str, Any],
        error: str = "",
        claimed: bool = False,
    ) -> EvaluationRow:
        """Store an answer's evaluation. ``claimed``: the answer's job is done by this, so
        it is stored only under this node's claim on the job (``ClaimLostError`` if another
        node holds it now), and the job row goes in the same transaction. Without it (a
        rescore from the command line) the evaluation is stored as it is."""
        async with self._write() as s:
            if claimed:
                job = await self._own_job(s, answer_id)
                if job is not None:
                    await s.delete(job)
            row = await _one_of_answer(s, EvaluationRow, answer_id)
            if row is None:
                row = EvaluationRow(answer_id=answer_id)
                s.add(row)
            row.status = status
            row.score = score
            row.feedback = feedback
            row.strengths = strengths
            row.weaknesses = weaknesses
            row.details = details
            row.error = error
            row.attempts = (row.attempts or 0) + 1
        return row

    async def answer_records(self, interview_id: str) -> list[AnswerRecord]:
        """Every question of the interview with its answer, evaluation and timing (if any)."""
        async with self._read() as s:
            interview = await _interview_or_404(s, interview_id)
            answers = {
                a.question_id: a
                for a in (
                    await s.execute(select(AnswerRow).where(AnswerRow.interview_id == interview_id))
                ).scalars()
            }
            ids = [a.id for a in answers.values()]
            evaluations = {
                e.answer_id: e
                for e in (
                    await s.execute(select(EvaluationRow).where(EvaluationRow.answer_id.in_(ids)))
                ).scalars()
            }
            timings = {
                t.answer_id: t
                for t in (
                    await s.execute(
                        select(TurnTimingRow).where(TurnTimingRow.interview_id == interview_id)
                    )
                ).scalars()
            }
        records = []
        for q in interview.questions:
            a = answers.get(q.id)
            records.append(
                AnswerRecord(
                    q,
                    a,
                    evaluations.get(a.id) if a else None,
                    timings.get(a.id) if a else None,
                )
            )
        return records

    async def pending_evaluations(self) -> list[tuple[str, str]]:
        """(interview_id, answer_id) of every evaluation not finished, across interviews."""
        async with self._read() as s:
            result = await s.execute(
                select(AnswerRow.interview_id, AnswerRow.id)
                .join(EvaluationRow, EvaluationRow.answer_id == AnswerRow.id)
                .where(EvaluationRow.status == "pending")
            )
            return [(str(i), str(a)) for i, a in result.all()]

    async def complete_interview(self, interview_id: str, overall: float | None) -> InterviewRow:
        async with self._write() as s:
            row = await _interview_or_404(s, interview_id)
            row.overall_score = overall
            if row.status != InterviewStatus.COMPLETED.value:
                row.status = transition(
                    InterviewStatus(row.status), InterviewStatus.COMPLETED
                ).value
                row.completed_at = utcnow()
        return row

    async def get_answer(self, answer_id: str) -> AnswerRow:
        return await self._get_or_404(AnswerRow, answer_id, "answer")

    async def _get_or_404(self, table: type[_ById], key: str, what: str) -> _ById:
        async with self._read() as s:
            row = await s.get(table, key)
        if row is None:
            raise NotFoundError(f"{what} {key} not found")
        return row

    async def evaluation_of(self, answer_id: str) -> EvaluationRow | None:
        async with self._read() as s:
            return await _one_of_answer(s, EvaluationRow, answer_id)

    async def finished_evaluations(
        self, interview_ids: Collection[str], since: datetime
    ) -> list[FinishedEvaluation]:
        """Evaluations of these interviews stored (not pending) since ``since``: what a
        node holding their sessions looks for, to tell the candidate about evaluations that
        another node finished."""
        if not interview_ids:
            return []
        async with self._read() as s:
            result = await s.execute(
                select(AnswerRow.interview_id, AnswerRow.question_id, EvaluationRow)
                .join(EvaluationRow, EvaluationRow.answer_id == AnswerRow.id)
                .where(
                    AnswerRow.interview_id.in_(list(interview_ids)),
                    EvaluationRow.status != "pending",
                    EvaluationRow.updated_at >= since,
                )
            )
            return [FinishedEvaluation(str(i), str(q), e) for i, q, e in result.all()]
