"""The schema as it was when migrations began (what ``create_all`` made until then).

Databases from those releases have these tables and no alembic_version table;
``voice-interview db upgrade`` checks that their tables match and stamps them with this
revision instead of creating anything.

Revision ID: 0001
Revises:
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TIMESTAMP = sa.DateTime(timezone=True)


def _id() -> sa.Column[str]:
    return sa.Column("id", sa.String(36), primary_key=True)


def _fk(
    name: str, target: str, length: int = 36, *, ondelete: str = "CASCADE", nullable: bool = False
) -> sa.Column[str]:
    return sa.Column(
        name, sa.String(length), sa.ForeignKey(target, ondelete=ondelete), nullable=nullable
    )


def upgrade() -> None:
    op.create_table(
        "candidates",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("created_at", TIMESTAMP, nullable=False),
    )
    op.create_table(
        "cv_analyses",
        _id(),
        _fk("candidate_id", "candidates.id", 64),
        sa.Column("cv_text", sa.Text(), nullable=False),
        sa.Column("skills", sa.JSON(), nullable=False),
        sa.Column("experience_years", sa.Float(), nullable=True),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("roles", sa.JSON(), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
    )
    op.create_table(
        "interviews",
        _id(),
        _fk("candidate_id", "candidates.id", 64),
        _fk("cv_analysis_id", "cv_analyses.id", ondelete="SET NULL", nullable=True),
        sa.Column("role", sa.String(200), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("current_question_index", sa.Integer(), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("overall_score", sa.Float(), nullable=True),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("started_at", TIMESTAMP, nullable=True),
        sa.Column("completed_at", TIMESTAMP, nullable=True),
    )
    op.create_table(
        "questions",
        _id(),
        _fk("interview_id", "interviews.id"),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("bank_id", sa.String(120), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("question_type", sa.String(16), nullable=False),
        sa.Column("difficulty", sa.String(8), nullable=False),
        sa.Column("skills", sa.JSON(), nullable=False),
        sa.Column("key_points", sa.JSON(), nullable=False),
        sa.UniqueConstraint("interview_id", "position"),
    )
    op.create_table(
        "answers",
        _id(),
        _fk("interview_id", "interviews.id"),
        _fk("question_id", "questions.id"),
        sa.Column("source", sa.String(8), nullable=False),
        sa.Column("transcript", sa.Text(), nullable=False),
        sa.Column("end_reason", sa.String(32), nullable=False),
        sa.Column("speech_ms", sa.Integer(), nullable=False),
        sa.Column("stt", sa.JSON(), nullable=False),
        sa.Column("audio", sa.LargeBinary(), nullable=True),
        sa.Column("audio_format", sa.String(24), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.UniqueConstraint("question_id"),
    )
    op.create_table(
        "evaluations",
        _id(),
        _fk("answer_id", "answers.id"),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("feedback", sa.Text(), nullable=False),
        sa.Column("strengths", sa.JSON(), nullable=False),
        sa.Column("weaknesses", sa.JSON(), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.UniqueConstraint("answer_id"),
    )
    op.create_table(
        "turn_timings",
        _id(),
        _fk("answer_id", "answers.id"),
        _fk("interview_id", "interviews.id"),
        sa.Column("question_id", sa.String(36), nullable=False),
        sa.Column("latency_ms", sa.JSON(), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
    )
    op.create_table(
        "server_secrets",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("value", sa.Text(), nullable=False),
    )


def downgrade() -> None:
    for table in (
        "server_secrets",
        "turn_timings",
        "evaluations",
        "answers",
        "questions",
        "interviews",
        "cv_analyses",
        "candidates",
    ):
        op.drop_table(table)
