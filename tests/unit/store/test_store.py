from __future__ import annotations

import asyncio
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from voice_interview.domain.interview import InterviewStatus, InvalidTransitionError
from voice_interview.domain.question import Question
from voice_interview.store.repository import (
    AlreadyAnsweredError,
    NotFoundError,
    Repository,
)

# The repository is made in the fixture's (session) loop; asyncpg's connections belong to
# the loop that opened them, so the tests run in that loop too.
pytestmark = pytest.mark.asyncio(loop_scope="session")


def questions(n: int) -> list[Question]:
    return [
        Question.of(
            f"Question {i}?",
            "technical",
            "easy",
            ["point a", "point b"],
            ["sql"],
            bank_id=f"bank-{i}",
        )
        for i in range(n)
    ]


@pytest.fixture
async def repo(database_url: str) -> Repository:
    """A repository on a fresh database, once on SQLite and once on PostgreSQL."""
    r = Repository(database_url)
    await r.init()
    yield r  # type: ignore[misc]
    await r.close()


async def test_sqlite_file_is_in_wal_mode(tmp_path: Path) -> None:
    db = tmp_path / "sub" / "vi.db"
    repo = Repository(f"sqlite+aiosqlite:///{db}")
    await repo.init()
    await repo.get_or_create_secret("x")
    await repo.close()
    assert db.is_file()
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


async def test_secrets_are_created_once(repo: Repository) -> None:
    first = await repo.get_or_create_secret("token_secret")
    assert len(first) >= 32
    assert await repo.get_or_create_secret("token_secret") == first


async def test_interview_round_trip_and_answers(repo: Repository) -> None:
    row = await repo.create_interview("cand", None, "backend engineer", questions(3))
    loaded = await repo.get_interview(row.id)
    assert [q.position for q in loaded.questions] == [0, 1, 2]
    assert loaded.status == "ready" and loaded.total == 3
    q0 = loaded.questions[0]
    answer, evaluation = await repo.record_answer(
        row.id,
        q0.id,
        source="text",
        transcript="hello",
        end_reason="text_answer",
        latency_ms={"voice_to_voice": 12.5},
    )
    assert evaluation.status == "pending"
    assert (await repo.get_interview(row.id)).current_question_index == 1
    with pytest.raises(AlreadyAnsweredError):
        await repo.record_answer(row.id, q0.id, source="text", transcript="again", end_reason="x")
    assert await repo.pending_evaluations() == [(row.id, answer.id)]
    await repo.save_evaluation(
        answer.id,
        status="scored",
        score=70.0,
        feedback="ok",
        strengths=["s"],
        weaknesses=[],
        details={"v": 1},
    )
    assert await repo.pending_evaluations() == []
    records = await repo.answer_records(row.id)
    assert records[0].answer is not None and records[0].answer.transcript == "hello"
    assert records[0].evaluation is not None and records[0].evaluation.score == 70.0
    assert records[0].timing is not None and records[0].timing.latency_ms["voice_to_voice"] == 12.5
    assert records[1].answer is None


async def test_status_machine_is_enforced_in_the_store(repo: Repository) -> None:
    row = await repo.create_interview("cand", None, None, questions(1))
    with pytest.raises(InvalidTransitionError):
        await repo.set_status(row.id, InterviewStatus.PAUSED)
    started = await repo.set_status(row.id, InterviewStatus.IN_PROGRESS)
    assert started.started_at is not None
    done = await repo.complete_interview(row.id, 55.0)
    assert done.status == "completed" and done.overall_score == 55.0 and done.completed_at


async def test_start_is_checked_and_written_under_one_lock(repo: Repository) -> None:
    row = await repo.create_interview("cand", None, None, questions(1))
    started = await repo.start(row.id)
    assert started.status == "in_progress" and started.started_at is not None
    await repo.set_status(row.id, InterviewStatus.PAUSED)
    with pytest.raises(InvalidTransitionError, match="only a ready interview"):
        await repo.start(row.id)
    assert (await repo.get_interview(row.id)).status == "paused"  # left as it was
    with pytest.raises(NotFoundError):
        await repo.start("00000000-0000-0000-0000-000000000000")


async def test_sockets_connecting_at_once_all_find_the_interview_started(repo: Repository) -> None:
    # The CI failure this guards: a socket that read "ready" before an earlier socket
    # started the interview got a 409 instead of its session.
    row = await repo.create_interview("cand", None, None, questions(1))
    rows = await asyncio.gather(*(repo.begin_if_ready(row.id) for _ in range(6)))
    assert {r.status for r in rows} == {"in_progress"}
    first_start = (await repo.get_interview(row.id)).started_at
    assert first_start is not None
    await repo.set_status(row.id, InterviewStatus.PAUSED)
    assert (await repo.begin_if_ready(row.id)).status == "paused"  # a resume is not a start
    assert (await repo.get_interview(row.id)).started_at == first_start
    with pytest.raises(NotFoundError):
        await repo.begin_if_ready("00000000-0000-0000-0000-000000000000")


async def test_unknown_ids_raise_not_found(repo: Repository) -> None:
    with pytest.raises(NotFoundError):
        await repo.get_interview("00000000-0000-0000-0000-000000000000")
    with pytest.raises(NotFoundError):
        await repo.get_cv_analysis("nope")
    with pytest.raises(NotFoundError):
        await repo.record_answer("nope", "nope", source="text", transcript="", end_reason="")
    with pytest.raises(NotFoundError):
        await repo.delete_interview("nope")


async def test_delete_removes_answers_and_evaluations(repo: Repository) -> None:
    row = await repo.create_interview("cand", None, None, questions(2))
    loaded = await repo.get_interview(row.id)
    await repo.record_answer(
        row.id, loaded.questions[0].id, source="text", transcript="t", end_reason="x", latency_ms={}
    )
    await repo.delete_interview(row.id)
    with pytest.raises(NotFoundError):
        await repo.get_interview(row.id)
    assert await repo.pending_evaluations() == []


async def test_list_and_count(repo: Repository) -> None:
    for _ in range(3):
        await repo.create_interview("cand", None, None, questions(1))
    assert await repo.count_interviews() == 3
    assert len(await repo.list_interviews(limit=2)) == 2


async def test_values_round_trip_on_every_backend(repo: Repository) -> None:
    """What PostgreSQL is strict about and SQLite is not: column lengths at their limit,
    time zones, bytes, NUL characters in text and non-finite numbers in JSON."""
    candidate = "c" * 64
    analysis = await repo.add_cv_analysis(
        candidate, "CV with a NUL\x00 from a PDF", ["sql"], 5.0, "summary", ["backend"],
        {"nested": {"list": [1, 2.5, "é"]}, "nan": float("nan")},
    )  # fmt: skip
    stored = await repo.get_cv_analysis(analysis.id)
    assert stored.cv_text == "CV with a NUL from a PDF"
    assert stored.details == {"nested": {"list": [1, 2.5, "é"]}, "nan": None}
    row = await repo.create_interview(candidate, analysis.id, "r" * 200, questions(1))
    loaded = await repo.get_interview(row.id)
    assert loaded.role == "r" * 200
    created = loaded.created_at  # PostgreSQL: aware; SQLite: naive, in UTC
    aware = created if created.tzinfo else created.replace(tzinfo=UTC)
    assert abs(aware - datetime.now(UTC)) < timedelta(minutes=5)
    audio = bytes(range(256)) * 4
    answer, _ = await repo.record_answer(
        row.id, loaded.questions[0].id, source="voice", transcript="", end_reason="e" * 32,
        stt={"status": "pending", "avg_logprob": float("-inf")}, audio=audio,
        audio_format="pcm_s16le_16k", latency_ms={"x": float("inf")},
    )  # fmt: skip
    waiting = await repo.answers_awaiting_transcription()
    assert [a.id for a in waiting] == [answer.id]
    assert waiting[0].audio == audio and waiting[0].stt["avg_logprob"] is None
    records = await repo.answer_records(row.id)
    assert records[0].timing is not None and records[0].timing.latency_ms == {"x": None}


async def test_one_answer_per_question_under_concurrent_turns(repo: Repository) -> None:
    row = await repo.create_interview("cand", None, None, questions(1))
    qid = (await repo.get_interview(row.id)).questions[0].id

    async def answer(text: str) -> str:
        try:
            await repo.record_answer(row.id, qid, source="text", transcript=text, end_reason="x")
        except AlreadyAnsweredError:
            return "refused"
        return "stored"

    results = await asyncio.gather(*(answer(f"take {i}") for i in range(4)))
    assert sorted(results) == ["refused"] * 3 + ["stored"]
    assert len(await repo.pending_evaluations()) == 1
