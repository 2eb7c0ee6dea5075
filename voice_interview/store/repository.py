"""The one way the application reads and writes the database.

SQLite by default (WAL mode, busy timeout), PostgreSQL by URL. Every write goes
through ``_write``, which holds one lock per process, so writes from concurrent
sessions never interleave inside SQLite's single writer; each turn's answer is
committed in one transaction together with the interview's progress.

Several nodes may share one database (docs/SCALING.md): an interview is driven by the
node holding its lease (``interview_leases``), and the work an answer still needs is a
row of ``answer_jobs`` that a node does only under its claim. Leases and claims are taken
with one guarded statement each (``INSERT ... ON CONFLICT DO UPDATE ... WHERE`` and
``UPDATE ... WHERE claimed_until < now OR claimed_by = me``), on SQLite and PostgreSQL
alike; PostgreSQL also skips rows another node is claiming (``FOR UPDATE SKIP LOCKED``).
Times are this node's clock (UTC): the nodes' clocks must agree to well under the
lease TTL (NTP does).
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from voice_interview.domain.interview import InterviewStatus, start_transition, transition
from voice_interview.domain.question import Question
from voice_interview.store.answers import AnswerQueries
from voice_interview.store.connection import _interview_or_404
from voice_interview.store.leases import LeasesAndJobs
from voice_interview.store.records import (
    JOB_EVALUATE,
    JOB_TRANSCRIBE,
    AlreadyAnsweredError,
    AnswerRecord,
    ClaimedJob,
    ClaimLostError,
    FinishedEvaluation,
    Lease,
    NotFoundError,
    question_of,
)

# What importers take from here (the records live in store/records.py).
__all__ = [
    "JOB_EVALUATE",
    "JOB_TRANSCRIBE",
    "AlreadyAnsweredError",
    "AnswerRecord",
    "ClaimLostError",
    "ClaimedJob",
    "FinishedEvaluation",
    "Lease",
    "NotFoundError",
    "Repository",
    "question_of",
]
from voice_interview.store.tables import (
    AnswerJobRow,
    AnswerRow,
    Candidate,
    CvAnalysisRow,
    EvaluationRow,
    InterviewLeaseRow,
    InterviewRow,
    QuestionRow,
    ServerSecret,
    TurnTimingRow,
    utcnow,
)


class Repository(AnswerQueries, LeasesAndJobs):
    """Secrets, CV analyses and interviews here; answers and evaluations in
    ``AnswerQueries`` (store/answers.py); nodes, leases and jobs in ``LeasesAndJobs``
    (store/leases.py); the engine and sessions in ``StoreBase`` (store/connection.py)."""

    # ------------------------------------------------------------ secrets

    async def get_or_create_secret(self, name: str, nbytes: int = 32) -> str:
        try:
            async with self._write() as s:
                row = await s.get(ServerSecret, name)
                if row is None:
                    row = ServerSecret(name=name, value=secrets.token_urlsafe(nbytes))
                    s.add(row)
                value = row.value
        except IntegrityError:
            # Another node made it at the same moment (nodes starting together): theirs.
            async with self._read() as s:
                made = await s.get(ServerSecret, name)
            if made is None:
                raise
            value = made.value
        return value

    # ------------------------------------------------------------ candidates and CVs

    async def add_cv_analysis(
        self,
        candidate_id: str,
        cv_text: str,
        skills: list[str],
        experience_years: float | None,
        summary: str,
        roles: list[str],
        details: dict[str, Any],
    ) -> CvAnalysisRow:
        async with self._write() as s:
            await self._ensure_candidate(s, candidate_id)
            row = CvAnalysisRow(
                candidate_id=candidate_id,
                cv_text=cv_text,
                skills=skills,
                experience_years=experience_years,
                summary=summary,
                roles=roles,
                details=details,
            )
            s.add(row)
        return row

    async def get_cv_analysis(self, analysis_id: str) -> CvAnalysisRow:
        async with self._read() as s:
            row = await s.get(CvAnalysisRow, analysis_id)
        if row is None:
            raise NotFoundError(f"CV analysis {analysis_id} not found")
        return row

    @staticmethod
    async def _ensure_candidate(s: AsyncSession, candidate_id: str) -> None:
        if await s.get(Candidate, candidate_id) is None:
            s.add(Candidate(id=candidate_id))
            await s.flush()

    # ------------------------------------------------------------ interviews

    async def create_interview(
        self,
        candidate_id: str,
        cv_analysis_id: str | None,
        role: str | None,
        questions: Sequence[Question],
    ) -> InterviewRow:
        async with self._write() as s:
            await self._ensure_candidate(s, candidate_id)
            row = InterviewRow(
                candidate_id=candidate_id,
                cv_analysis_id=cv_analysis_id,
                role=role,
                status=InterviewStatus.READY.value,
                current_question_index=0,
                total=len(questions),
                created_at=utcnow(),
            )
            row.questions = [
                QuestionRow(
                    position=i,
                    bank_id=q.bank_id,
                    text=q.text,
                    question_type=q.question_type.value,
                    difficulty=q.difficulty.value,
                    skills=list(q.skills),
                    key_points=list(q.key_points),
                )
                for i, q in enumerate(questions)
            ]
            s.add(row)
        return row

    async def get_interview(self, interview_id: str) -> InterviewRow:
        async with self._read() as s:
            row = await _interview_or_404(s, interview_id)
        return row

    async def list_interviews(self, limit: int = 100, offset: int = 0) -> list[InterviewRow]:
        async with self._read() as s:
            result = await s.execute(
                select(InterviewRow)
                .order_by(InterviewRow.created_at.desc())
                .limit(limit)
                .offset(offset)
            )
            return list(result.scalars())

    async def count_interviews(self) -> int:
        async with self._read() as s:
            return int((await s.execute(select(func.count(InterviewRow.id)))).scalar_one())

    async def set_status(self, interview_id: str, target: InterviewStatus) -> InterviewRow:
        """Move the interview to ``target`` if the status machine allows it."""
        async with self._write() as s:
            row = await _interview_or_404(s, interview_id)
            row.status = transition(InterviewStatus(row.status), target).value
            if target == InterviewStatus.IN_PROGRESS and row.started_at is None:
                row.started_at = utcnow()
            if target == InterviewStatus.COMPLETED:
                row.completed_at = utcnow()
        return row

    async def start(self, interview_id: str) -> InterviewRow:
        """Ready -> in progress, checked and written under one lock (no other move between)."""
        async with self._write() as s:
            row = await _interview_or_404(s, interview_id)
            row.status = start_transition(InterviewStatus(row.status)).value
            row.started_at = row.started_at or utcnow()
        return row

    async def begin_if_ready(self, interview_id: str) -> InterviewRow:
        """A connecting candidate's start: ready -> in progress; any other status is left
        as it is. Read and written under one lock, so of many sockets connecting at once
        one starts the interview and the others see it started (not a 409)."""
        async with self._write() as s:
            row = await _interview_or_404(s, interview_id)
            if row.status == InterviewStatus.READY.value:
                row.status = InterviewStatus.IN_PROGRESS.value
                row.started_at = row.started_at or utcnow()
        return row

    async def delete_interview(self, interview_id: str) -> None:
        async with self._write() as s:
            row = await _interview_or_404(s, interview_id)
            answer_ids = select(AnswerRow.id).where(AnswerRow.interview_id == interview_id)
            await s.execute(delete(AnswerJobRow).where(AnswerJobRow.interview_id == interview_id))
            await s.execute(
                delete(InterviewLeaseRow).where(InterviewLeaseRow.interview_id == interview_id)
            )
            await s.execute(delete(EvaluationRow).where(EvaluationRow.answer_id.in_(answer_ids)))
            await s.execute(delete(TurnTimingRow).where(TurnTimingRow.interview_id == interview_id))
            await s.execute(delete(AnswerRow).where(AnswerRow.interview_id == interview_id))
            await s.delete(row)
