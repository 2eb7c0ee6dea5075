"""Several nodes on one database: nodes, interview leases and answer jobs.

Work left pending by 0001 databases (evaluations not stored yet, voice answers not
transcribed yet) becomes unclaimed answer jobs, so the first node to start picks it up.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-10
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TIMESTAMP = sa.DateTime(timezone=True)


def _stt(value: Any) -> dict[str, Any]:
    if isinstance(value, str):  # a JSON column read back as text by some drivers
        value = json.loads(value or "{}")
    return value if isinstance(value, dict) else {}


def upgrade() -> None:
    op.create_table(
        "nodes",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("hostname", sa.String(200), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("host_key", sa.String(200), nullable=False),
        sa.Column("started_at", TIMESTAMP, nullable=False),
        sa.Column("seen_at", TIMESTAMP, nullable=False),
    )
    op.create_table(
        "interview_leases",
        sa.Column(
            "interview_id",
            sa.String(36),
            sa.ForeignKey("interviews.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("node_id", sa.String(64), nullable=False),
        sa.Column("holder", sa.String(200), nullable=False),
        sa.Column("acquired_at", TIMESTAMP, nullable=False),
        sa.Column("expires_at", TIMESTAMP, nullable=False),
    )
    jobs = op.create_table(
        "answer_jobs",
        sa.Column(
            "answer_id",
            sa.String(36),
            sa.ForeignKey("answers.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column(
            "interview_id",
            sa.String(36),
            sa.ForeignKey("interviews.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("claimed_by", sa.String(64), nullable=True),
        sa.Column("claimed_until", TIMESTAMP, nullable=True),
        sa.Column("pickups", sa.Integer(), nullable=False),
    )
    op.create_index("ix_answer_jobs_interview_id", "answer_jobs", ["interview_id"])
    op.create_index("ix_answer_jobs_claimed_until", "answer_jobs", ["claimed_until"])

    # The pending work of a 0001 database, as unclaimed jobs.
    answers = sa.table(
        "answers",
        sa.column("id", sa.String()),
        sa.column("interview_id", sa.String()),
        sa.column("source", sa.String()),
        sa.column("stt", sa.JSON()),
    )
    evaluations = sa.table("evaluations", sa.column("answer_id"), sa.column("status"))
    pending = op.get_bind().execute(
        sa.select(answers.c.id, answers.c.interview_id, answers.c.source, answers.c.stt)
        .join(evaluations, evaluations.c.answer_id == answers.c.id)
        .where(evaluations.c.status == "pending")
    )
    now = datetime.now(UTC)
    rows = [
        {
            "answer_id": answer_id,
            "interview_id": interview_id,
            "kind": "transcribe"
            if source == "voice" and _stt(stt).get("status") == "pending"
            else "evaluate",
            "created_at": now,
            "claimed_by": None,
            "claimed_until": None,
            "pickups": 0,
        }
        for answer_id, interview_id, source, stt in pending
    ]
    if rows:
        op.bulk_insert(jobs, rows)


def downgrade() -> None:
    op.drop_index("ix_answer_jobs_claimed_until", "answer_jobs")
    op.drop_index("ix_answer_jobs_interview_id", "answer_jobs")
    for table in ("answer_jobs", "interview_leases", "nodes"):
        op.drop_table(table)
