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

import asyncio
import json
import math
import secrets
from collections.abc import AsyncIterator, Collection, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import case, delete, event, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from voice_interview.domain.interview import InterviewStatus, start_transition, transition
from voice_interview.store.nodes import Node
from voice_interview.store.schema import (
    UpgradeResult,
    current_revision,
    ensure_schema,
    upgrade_schema,
)
from voice_interview.store.tables import (
    AnswerJobRow,
    AnswerRow,
    Candidate,
    CvAnalysisRow,
    EvaluationRow,
    InterviewLeaseRow,
    InterviewRow,
    NodeRow,
    QuestionRow,
    ServerSecret,
    TurnTimingRow,
    utcnow,
)

# Bulk UPDATE/DELETE statements: the rows are not loaded in the session to be kept in step.
_BULK = {"synchronize_session": False}

JOB_TRANSCRIBE = "transcribe"
JOB_EVALUATE = "evaluate"


class NotFoundError(Exception):
    """No record with that id."""


class AlreadyAnsweredError(Exception):
    """The question already has a stored answer."""


class ClaimLostError(Exception):
    """Another node holds the claim on this answer's job now: its result is theirs."""


@dataclass(frozen=True)
class Lease:
    """An interview's lease as one acquire found it: ``held`` by this node, or not (then
    ``holder`` and ``expires_at`` say whose, until when)."""

    interview_id: str
    held: bool
    node_id: str
    holder: str
    expires_at: datetime

    def seconds_left(self, now: datetime | None = None) -> float:
        return max(0.0, (_aware(self.expires_at) - (now or utcnow())).total_seconds())


@dataclass(frozen=True)
class ClaimedJob:
    answer_id: str
    interview_id: str
    kind: str  # transcribe | evaluate
    pickups: int  # times taken up after a lapsed claim (its node stopped), this one included


@dataclass(frozen=True)
class FinishedEvaluation:
    interview_id: str
    question_id: str
    row: EvaluationRow


def _aware(value: datetime) -> datetime:
    """SQLite gives naive datetimes back (stored as UTC)."""
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _job_kind(source: str, stt: dict[str, Any] | None) -> str:
    pending = source == "voice" and (stt or {}).get("status") == "pending"
    return JOB_TRANSCRIBE if pending else JOB_EVALUATE


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
    def __init__(
        self, database_url: str, *, node: Node | None = None, lease_ttl_s: float = 15.0
    ) -> None:
        """``node``: who this process is to the other nodes (a new random id if not given);
        ``lease_ttl_s``: how long its leases and job claims last unless renewed."""
        self.node = node or Node.this_process()
        self.lease_ttl_s = lease_ttl_s
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
            await s.execute(delete(AnswerJobRow).where(AnswerJobRow.interview_id == interview_id))
            await s.execute(
                delete(InterviewLeaseRow).where(InterviewLeaseRow.interview_id == interview_id)
            )
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

    # ------------------------------------------------------------ nodes, leases and jobs

    def _until(self, now: datetime) -> datetime:
        return now + timedelta(seconds=self.lease_ttl_s)

    def _upsert(self, table: Any) -> Any:
        """``INSERT`` with ``ON CONFLICT`` of the backend (SQLite and PostgreSQL spell it
        alike; SQLAlchemy has one construct per dialect)."""
        return sqlite.insert(table) if self.is_sqlite else postgresql.insert(table)

    async def _own_job(self, s: AsyncSession, answer_id: str) -> AnswerJobRow | None:
        """The answer's job, claimed (again) by this node in the caller's transaction; None
        if it has none. ``ClaimLostError`` if another node holds an unexpired claim."""
        now = utcnow()
        job = await s.get(AnswerJobRow, answer_id, with_for_update=True)
        if job is None:
            return None
        if (
            job.claimed_by not in (None, self.node.id)
            and job.claimed_until is not None
            and _aware(job.claimed_until) >= now
        ):
            raise ClaimLostError(f"answer {answer_id} is claimed by node {job.claimed_by}")
        job.claimed_by = self.node.id
        job.claimed_until = self._until(now)
        return job

    async def register_node(self) -> list[str]:
        """Say this node exists; free at once what dead nodes of this same machine held
        (a node restarted in place: its predecessor's pid is gone); forget nodes not seen
        for an hour. Returns the freed nodes' holders (``hostname pid N``)."""
        me = self.node
        now = utcnow()
        freed: list[str] = []
        async with self._write() as s:
            s.add(
                NodeRow(
                    id=me.id,
                    hostname=me.hostname,
                    pid=me.pid,
                    host_key=me.host_key,
                    started_at=now,
                    seen_at=now,
                )
            )
            dead = []
            if me.host_key:
                others = (
                    await s.execute(
                        select(NodeRow).where(NodeRow.host_key == me.host_key, NodeRow.id != me.id)
                    )
                ).scalars()
                dead = [n for n in others if me.sees_dead(n.host_key, n.pid)]
            ids = [n.id for n in dead]
            freed = [f"{n.hostname} pid {n.pid}" for n in dead]
            if ids:
                await s.execute(
                    delete(InterviewLeaseRow).where(InterviewLeaseRow.node_id.in_(ids)),
                    execution_options=_BULK,
                )
                await s.execute(
                    update(AnswerJobRow)
                    .where(AnswerJobRow.claimed_by.in_(ids))
                    .values(claimed_by=None, claimed_until=None),
                    execution_options=_BULK,
                )
            stale = now - timedelta(seconds=max(3600.0, 10 * self.lease_ttl_s))
            await s.execute(
                delete(NodeRow).where(or_(NodeRow.id.in_(ids), NodeRow.seen_at < stale)),
                execution_options=_BULK,
            )
        return freed

    async def unregister_node(self) -> None:
        """A clean stop: this node's leases go and its claims are freed now, for any other
        node to take without waiting for them to expire."""
        me = self.node.id
        async with self._write() as s:
            await s.execute(
                delete(InterviewLeaseRow).where(InterviewLeaseRow.node_id == me),
                execution_options=_BULK,
            )
            await s.execute(
                update(AnswerJobRow)
                .where(AnswerJobRow.claimed_by == me)
                .values(claimed_by=None, claimed_until=None),
                execution_options=_BULK,
            )
            await s.execute(delete(NodeRow).where(NodeRow.id == me), execution_options=_BULK)

    async def acquire_lease(self, interview_id: str) -> Lease:
        """Take (or renew) the interview's lease for this node, in one statement: free,
        expired or already ours, it is ours now; held by another node, it is not
        (``held`` False, and whose it is)."""
        me = self.node
        now = utcnow()
        until = self._until(now)
        table = InterviewLeaseRow.__table__
        insert = self._upsert(table).values(
            interview_id=interview_id,
            node_id=me.id,
            holder=me.holder,
            acquired_at=now,
            expires_at=until,
        )
        statement = insert.on_conflict_do_update(
            index_elements=[table.c.interview_id],
            set_={
                "node_id": insert.excluded.node_id,
                "holder": insert.excluded.holder,
                "acquired_at": case(
                    (table.c.node_id == me.id, table.c.acquired_at),
                    else_=insert.excluded.acquired_at,
                ),
                "expires_at": insert.excluded.expires_at,
            },
            where=or_(table.c.expires_at < now, table.c.node_id == me.id),
        ).returning(table.c.node_id)
        async with self._write() as s:
            try:
                taken = (await s.execute(statement)).first()
            except IntegrityError as e:  # no such interview (deleted meanwhile)
                raise NotFoundError(f"interview {interview_id} not found") from e
            if taken is not None:
                return Lease(interview_id, True, me.id, me.holder, until)
            other = await s.get(InterviewLeaseRow, interview_id)
            assert other is not None
            return Lease(interview_id, False, other.node_id, other.holder, other.expires_at)

    async def release_lease(self, interview_id: str) -> None:
        async with self._write() as s:
            await s.execute(
                delete(InterviewLeaseRow).where(
                    InterviewLeaseRow.interview_id == interview_id,
                    InterviewLeaseRow.node_id == self.node.id,
                ),
                execution_options=_BULK,
            )

    async def lease_of(self, interview_id: str) -> InterviewLeaseRow | None:
        async with self._read() as s:
            return await s.get(InterviewLeaseRow, interview_id)

    async def heartbeat(self, leased: Collection[str], working: Collection[str]) -> set[str]:
        """This node's renewal, one transaction every ``lease_ttl_s / 3``: the node's
        seen_at; the leases of ``leased`` (returns those still this node's: one missing was
        taken by another node after it expired here); the claims on the jobs of those
        interviews and of the answers in ``working``."""
        me = self.node.id
        now = utcnow()
        until = self._until(now)
        held: set[str] = set()
        async with self._write() as s:
            await s.execute(
                update(NodeRow).where(NodeRow.id == me).values(seen_at=now), execution_options=_BULK
            )
            if leased:
                renewed = await s.execute(
                    update(InterviewLeaseRow)
                    .where(
                        InterviewLeaseRow.node_id == me,
                        InterviewLeaseRow.interview_id.in_(list(leased)),
                    )
                    .values(expires_at=until)
                    .returning(InterviewLeaseRow.interview_id),
                    execution_options=_BULK,
                )
                held = {str(i) for i in renewed.scalars()}
            mine = []
            if held:
                mine.append(AnswerJobRow.interview_id.in_(list(held)))
            if working:
                mine.append(AnswerJobRow.answer_id.in_(list(working)))
            if mine:
                await s.execute(
                    update(AnswerJobRow)
                    .where(AnswerJobRow.claimed_by == me, or_(*mine))
                    .values(claimed_until=until),
                    execution_options=_BULK,
                )
        return held

    async def claim_job(self, answer_id: str) -> ClaimedJob | None:
        """Claim one answer's job for this node now (the fast path: the node that made the
        answer works on it at once). None if it has no job (done) or another node holds an
        unexpired claim on it."""
        me = self.node.id
        now = utcnow()
        async with self._write() as s:
            result = await s.execute(
                update(AnswerJobRow)
                .where(
                    AnswerJobRow.answer_id == answer_id,
                    or_(
                        AnswerJobRow.claimed_by == me,
                        AnswerJobRow.claimed_until.is_(None),
                        AnswerJobRow.claimed_until < now,
                    ),
                )
                .values(claimed_by=me, claimed_until=self._until(now))
                .returning(AnswerJobRow.interview_id, AnswerJobRow.kind, AnswerJobRow.pickups),
                execution_options=_BULK,
            )
            got = result.first()
        if got is None:
            return None
        return ClaimedJob(answer_id, str(got[0]), str(got[1]), int(got[2]))

    async def claim_jobs(
        self, kind: str, limit: int, exclude: Collection[str] = ()
    ) -> list[ClaimedJob]:
        """Claim up to ``limit`` jobs of ``kind`` that nobody holds (never claimed, or the
        claim lapsed), oldest first. On PostgreSQL the rows are picked ``FOR UPDATE SKIP
        LOCKED``, so nodes polling at once take different jobs; the guarded ``UPDATE``
        (the same on SQLite, which has no row locks) is what makes a claim one node's."""
        if limit <= 0:
            return []
        me = self.node.id
        now = utcnow()
        lapsed = or_(AnswerJobRow.claimed_until.is_(None), AnswerJobRow.claimed_until < now)
        query = (
            select(AnswerJobRow.answer_id)
            .where(AnswerJobRow.kind == kind, lapsed)
            .order_by(AnswerJobRow.created_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        if exclude:
            query = query.where(AnswerJobRow.answer_id.not_in(list(exclude)))
        async with self._write() as s:
            ids = list((await s.execute(query)).scalars())
            if not ids:
                return []
            result = await s.execute(
                update(AnswerJobRow)
                .where(AnswerJobRow.answer_id.in_(ids), AnswerJobRow.kind == kind, lapsed)
                .values(
                    claimed_by=me,
                    claimed_until=self._until(now),
                    # A lapsed claim (not a free job): the node that held it stopped.
                    pickups=AnswerJobRow.pickups
                    + case((AnswerJobRow.claimed_until.is_not(None), 1), else_=0),
                )
                .returning(AnswerJobRow.answer_id, AnswerJobRow.interview_id, AnswerJobRow.pickups),
                execution_options=_BULK,
            )
            claimed = [ClaimedJob(str(a), str(i), kind, int(n)) for a, i, n in result.all()]
        order = {a: k for k, a in enumerate(ids)}
        return sorted(claimed, key=lambda j: order[j.answer_id])

    async def release_job(self, answer_id: str) -> None:
        """Give this node's claim back now (anyone may take the job at once)."""
        async with self._write() as s:
            await s.execute(
                update(AnswerJobRow)
                .where(AnswerJobRow.answer_id == answer_id, AnswerJobRow.claimed_by == self.node.id)
                .values(claimed_by=None, claimed_until=None),
                execution_options=_BULK,
            )

    async def drop_job(self, answer_id: str) -> None:
        """The job has nothing left to do (its evaluation is stored already)."""
        async with self._write() as s:
            await s.execute(
                delete(AnswerJobRow).where(AnswerJobRow.answer_id == answer_id),
                execution_options=_BULK,
            )

    async def job_of(self, answer_id: str) -> AnswerJobRow | None:
        async with self._read() as s:
            return await s.get(AnswerJobRow, answer_id)

    async def jobs(self) -> list[AnswerJobRow]:
        async with self._read() as s:
            rows = await s.execute(select(AnswerJobRow).order_by(AnswerJobRow.created_at))
            return list(rows.scalars())

    async def get_answer(self, answer_id: str) -> AnswerRow:
        async with self._read() as s:
            row = await s.get(AnswerRow, answer_id)
        if row is None:
            raise NotFoundError(f"answer {answer_id} not found")
        return row

    async def evaluation_of(self, answer_id: str) -> EvaluationRow | None:
        async with self._read() as s:
            return (
                await s.execute(select(EvaluationRow).where(EvaluationRow.answer_id == answer_id))
            ).scalar_one_or_none()

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
