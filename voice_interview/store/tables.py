"""SQLAlchemy 2 tables: candidates, CV analyses, interviews, questions, answers,
evaluations and per-turn timings; and for several nodes on one database, the nodes,
the interview leases and the answer jobs (revision 0002)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import DateTime, TypeDecorator


def new_id() -> str:
    return str(uuid.uuid4())


def utcnow() -> datetime:
    return datetime.now(UTC)


class _NoNul(TypeDecorator[str]):
    """Text without NUL characters. PostgreSQL cannot store U+0000 in text (the whole
    insert fails: a pasted CV or a typed answer would be lost), so it is dropped on the
    way in, on every backend alike, in values and in lookups."""

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        return value.replace("\x00", "") if value is not None and "\x00" in value else value


class CleanText(_NoNul):
    impl = Text
    cache_ok = True


class CleanString(_NoNul):
    impl = String
    cache_ok = True


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        dict[str, Any]: JSON,
        list[Any]: JSON,
        datetime: DateTime(timezone=True),
    }


class Candidate(Base):
    __tablename__ = "candidates"
    id: Mapped[str] = mapped_column(CleanString(64), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class CvAnalysisRow(Base):
    __tablename__ = "cv_analyses"
    id: Mapped[str] = mapped_column(CleanString(36), primary_key=True, default=new_id)
    candidate_id: Mapped[str] = mapped_column(ForeignKey("candidates.id", ondelete="CASCADE"))
    cv_text: Mapped[str] = mapped_column(CleanText)
    skills: Mapped[list[Any]] = mapped_column(default=list)
    experience_years: Mapped[float | None] = mapped_column(Float, nullable=True)
    summary: Mapped[str] = mapped_column(CleanText, default="")
    roles: Mapped[list[Any]] = mapped_column(default=list)
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class InterviewRow(Base):
    __tablename__ = "interviews"
    id: Mapped[str] = mapped_column(CleanString(36), primary_key=True, default=new_id)
    candidate_id: Mapped[str] = mapped_column(ForeignKey("candidates.id", ondelete="CASCADE"))
    cv_analysis_id: Mapped[str | None] = mapped_column(
        ForeignKey("cv_analyses.id", ondelete="SET NULL"), nullable=True
    )
    role: Mapped[str | None] = mapped_column(CleanString(200), nullable=True)
    status: Mapped[str] = mapped_column(CleanString(16), default="ready")
    current_question_index: Mapped[int] = mapped_column(Integer, default=0)
    total: Mapped[int] = mapped_column(Integer)
    overall_score: Mapped[float | None] = mapped_column(Float, nullable=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(nullable=True)
    completed_at: Mapped[datetime | None] = mapped_column(nullable=True)
    questions: Mapped[list[QuestionRow]] = relationship(
        order_by="QuestionRow.position", cascade="all, delete-orphan", lazy="selectin"
    )


class QuestionRow(Base):
    __tablename__ = "questions"
    __table_args__ = (UniqueConstraint("interview_id", "position"),)
    id: Mapped[str] = mapped_column(CleanString(36), primary_key=True, default=new_id)
    interview_id: Mapped[str] = mapped_column(ForeignKey("interviews.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    bank_id: Mapped[str] = mapped_column(CleanString(120))
    text: Mapped[str] = mapped_column(CleanText)
    question_type: Mapped[str] = mapped_column(CleanString(16))
    difficulty: Mapped[str] = mapped_column(CleanString(8))
    skills: Mapped[list[Any]] = mapped_column(default=list)
    key_points: Mapped[list[Any]] = mapped_column(default=list)


class AnswerRow(Base):
    __tablename__ = "answers"
    # One answer per question: a turn that ends twice (a race, a replay) cannot store two.
    __table_args__ = (UniqueConstraint("question_id"),)
    id: Mapped[str] = mapped_column(CleanString(36), primary_key=True, default=new_id)
    interview_id: Mapped[str] = mapped_column(ForeignKey("interviews.id", ondelete="CASCADE"))
    question_id: Mapped[str] = mapped_column(ForeignKey("questions.id", ondelete="CASCADE"))
    source: Mapped[str] = mapped_column(CleanString(8))  # text | voice | none
    transcript: Mapped[str] = mapped_column(CleanText, default="")
    end_reason: Mapped[str] = mapped_column(CleanString(32), default="")
    speech_ms: Mapped[int] = mapped_column(Integer, default=0)
    # Transcription state and quality: status pending|done, no_speech_prob, avg_logprob, words.
    stt: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # The answer's speech. Raw 16 kHz PCM when the turn ends (cheap to write, so a crash
    # before transcription loses nothing); Ogg/Opus once transcribed, or dropped if audio
    # storage is off.
    audio: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    # pcm_s16le_16k | ogg_opus
    audio_format: Mapped[str] = mapped_column(CleanString(24), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class EvaluationRow(Base):
    __tablename__ = "evaluations"
    id: Mapped[str] = mapped_column(CleanString(36), primary_key=True, default=new_id)
    answer_id: Mapped[str] = mapped_column(
        ForeignKey("answers.id", ondelete="CASCADE"), unique=True
    )
    # pending | scored | insufficient_data | failed
    status: Mapped[str] = mapped_column(CleanString(20), default="pending")
    score: Mapped[float | None] = mapped_column(Float, nullable=True)
    feedback: Mapped[str] = mapped_column(CleanText, default="")
    strengths: Mapped[list[Any]] = mapped_column(default=list)
    weaknesses: Mapped[list[Any]] = mapped_column(default=list)
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str] = mapped_column(CleanText, default="")
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class TurnTimingRow(Base):
    __tablename__ = "turn_timings"
    id: Mapped[str] = mapped_column(CleanString(36), primary_key=True, default=new_id)
    answer_id: Mapped[str] = mapped_column(ForeignKey("answers.id", ondelete="CASCADE"))
    interview_id: Mapped[str] = mapped_column(ForeignKey("interviews.id", ondelete="CASCADE"))
    question_id: Mapped[str] = mapped_column(CleanString(36))
    latency_ms: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ServerSecret(Base):
    """Secrets generated on first start (token signing key, default admin key), kept across
    restarts so candidate links survive a crash."""

    __tablename__ = "server_secrets"
    name: Mapped[str] = mapped_column(CleanString(64), primary_key=True)
    value: Mapped[str] = mapped_column(CleanText)


class NodeRow(Base):
    """A server process on this database (``store.nodes.Node``), while it runs and a while
    after: seen_at is renewed with its leases."""

    __tablename__ = "nodes"
    id: Mapped[str] = mapped_column(CleanString(64), primary_key=True)
    hostname: Mapped[str] = mapped_column(CleanString(200))
    pid: Mapped[int] = mapped_column(Integer)
    host_key: Mapped[str] = mapped_column(CleanString(200), default="")
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    seen_at: Mapped[datetime] = mapped_column(default=utcnow)


class InterviewLeaseRow(Base):
    """Which node drives an interview: the one whose socket for it is open. Renewed every
    ``lease_ttl_s / 3``; past ``expires_at`` any node may take it."""

    __tablename__ = "interview_leases"
    interview_id: Mapped[str] = mapped_column(
        ForeignKey("interviews.id", ondelete="CASCADE"), primary_key=True
    )
    node_id: Mapped[str] = mapped_column(CleanString(64))
    holder: Mapped[str] = mapped_column(CleanString(200))  # "hostname pid 1234", for people
    acquired_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()


class AnswerJobRow(Base):
    """Work an answer still needs, one row per answer until its evaluation is stored:
    ``transcribe`` (its final transcript, from the stored audio, then its evaluation) or
    ``evaluate``. A node works on it only under its claim (claimed_by, claimed_until),
    renewed while it works or while it holds the interview's lease; an expired claim is
    anyone's."""

    __tablename__ = "answer_jobs"
    __table_args__ = (Index("ix_answer_jobs_claimed_until", "claimed_until"),)
    answer_id: Mapped[str] = mapped_column(
        ForeignKey("answers.id", ondelete="CASCADE"), primary_key=True
    )
    interview_id: Mapped[str] = mapped_column(
        ForeignKey("interviews.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(CleanString(16))  # transcribe | evaluate
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    claimed_by: Mapped[str | None] = mapped_column(CleanString(64), nullable=True)
    claimed_until: Mapped[datetime | None] = mapped_column(nullable=True)
    # Times a node took it up after a claim on it lapsed (the node holding it stopped).
    pickups: Mapped[int] = mapped_column(Integer, default=0)
