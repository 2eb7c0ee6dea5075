"""The one way the application reads and writes the database.

SQLite by default (WAL mode, busy timeout), PostgreSQL by URL. Every write goes
through ``_write``, which holds one lock per process, so writes from concurrent
sessions never interleave inside SQLite's single writer; each turn's answer is
committed in one transaction together with the interview's progress.
"""

from __future__ import annotations

import asyncio
import json
import math
import secrets
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import delete, event, func, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from voice_interview.domain.interview import InterviewStatus, start_transition, transition
from voice_interview.store.schema import (
    UpgradeResult,
    current_revision,
    ensure_schema,
    upgrade_schema,
)
from voice_interview.store.tables import (
    AnswerRow,
    Candidate,
    CvAnalysisRow,
    EvaluationRow,
    InterviewRow,
    QuestionRow,
    ServerSecret,
    TurnTimingRow,
    utcnow,
)


class NotFoundError(Exception):
    """No record with that id."""


class AlreadyAnsweredError(Exception):
    """The question already has a stored answer."""


@dataclass
class NewQuestion:
    bank_id: str
    text: str
    question_type: str
    difficulty: str
    skills: list[str]
    key_points: list[str]


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


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.execute("PRAGMA foreign_keys=ON")
    # A deleted interview's transcripts and audio must not linger in free pages.
    cursor.execute("PRAGMA secure_delete=ON")
    cursor.close()


async def _interview_or_404(s: AsyncSession, interview_id: str) -> InterviewRow:
    row = await s.get(InterviewRow, interview_id)
    if row is None:
        raise NotFoundError(f"interview {interview_id} not found")
    return row


class Repository:
    def __init__(self, database_url: str) -> None:
        url = make_url(database_url)
        self.is_sqlite = url.get_backend_name() == "sqlite"
        if self.is_sqlite and url.database and url.database != ":memory:":
            Path(url.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        self.url = url
        self.engine: AsyncEngine = create_async_engine(url, json_serializer=_json_dumps)
        if self.is_sqlite:
            event.listen(self.engine.sync_engine, "connect", _sqlite_pragmas)
        self._sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        self._write_lock = asyncio.Lock()

    async def init(self) -> None:
        """Create the schema in an empty database; refuse one at another revision
        (``SchemaOutdatedError``: ``voice-interview db upgrade`` moves it)."""
        await ensure_schema(self.engine)

    async def upgrade_schema(self) -> UpgradeResult:
        return await upgrade_schema(self.engine)

    async def schema_revision(self) -> str | None:
        return await current_revision(self.engine)

    async def close(self) -> None:
        await self.engine.dispose()

    @asynccontextmanager
    async def _read(self) -> AsyncIterator[AsyncSession]:
        async with self._sessions() as session:
            yield session

    @asynccontextmanager
    async def _write(self) -> AsyncIterator[AsyncSession]:
        async with self._write_lock, self._sessions() as session, session.begin():
            yield session

    # ------------------------------------------------------------ secrets

    async def get_or_create_secret(self, name: str, nbytes: int = 32) -> str:
        async with self._write() as s:
            row = await s.get(ServerSecret, name)
            if row is None:
                row = ServerSecret(name=name, value=secrets.token_urlsafe(nbytes))
                s.add(row)
            return row.value

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
        questions: Sequence[NewQuestion],
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
                    question_type=q.question_type,
                    difficulty=q.difficulty,
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

    async def set_status(
        self, interview_id: str, target: InterviewStatus, *, allow_same: bool = False
    ) -> InterviewRow:
        """Move the interview to ``target`` if the status machine allows it."""
        async with self._write() as s:
            row = await _interview_or_404(s, interview_id)
            current = InterviewStatus(row.status)
            if not (allow_same and current == target):
                row.status = transition(current, target).value
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

    async def delete_interview(self, interview_id: str) -> None:
        async with self._write() as s:
            row = await _interview_or_404(s, interview_id)
            answer_ids = select(AnswerRow.id).where(AnswerRow.interview_id == interview_id)
            await s.execute(delete(EvaluationRow).where(EvaluationRow.answer_id.in_(answer_ids)))
            await s.execute(delete(TurnTimingRow).where(TurnTimingRow.interview_id == interview_id))
            await s.execute(delete(AnswerRow).where(AnswerRow.interview_id == interview_id))
            await s.delete(row)

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

        The evaluation row starts as ``pending`` so that a crash before it is
        scored leaves a visible job that the next start redoes.
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
        async with self._write() as s:
            row = await s.get(AnswerRow, answer_id)
            if row is None:
                raise NotFoundError(f"answer {answer_id} not found")
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
            evaluation = (
                await s.execute(select(EvaluationRow).where(EvaluationRow.answer_id == answer_id))
            ).scalar_one_or_none()
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
        return row

    async def answers_awaiting_transcription(self) -> list[AnswerRow]:
        async with self._read() as s:
            rows = (await s.execute(select(AnswerRow).where(AnswerRow.source == "voice"))).scalars()
            return [r for r in rows if r.stt.get("status") == "pending"]

    async def get_question(self, question_id: str) -> QuestionRow:
        async with self._read() as s:
            row = await s.get(QuestionRow, question_id)
        if row is None:
            raise NotFoundError(f"question {question_id} not found")
        return row

    async def save_timing(
        self, answer_id: str, interview_id: str, question_id: str, latency_ms: dict[str, Any]
    ) -> None:
        async with self._write() as s:
            existing = (
                await s.execute(select(TurnTimingRow).where(TurnTimingRow.answer_id == answer_id))
            ).scalar_one_or_none()
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
    ) -> EvaluationRow:
        async with self._write() as s:
            row = (
                await s.execute(select(EvaluationRow).where(EvaluationRow.answer_id == answer_id))
            ).scalar_one_or_none()
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
