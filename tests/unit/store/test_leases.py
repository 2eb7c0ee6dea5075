"""Several nodes on one database, on SQLite and PostgreSQL: interview leases, answer jobs
and their claims, the evaluation service taking up a stopped node's job and telling the
session's node about it, and migration 0002 turning a 0001 database's pending work
into jobs. Each node is a Repository of its own (its own engine and node id)."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import text

from voice_interview.domain.evaluation import Evaluation
from voice_interview.domain.question import Question
from voice_interview.domain.scoring import OverallScore
from voice_interview.interview.evaluation import jobs as evaluations
from voice_interview.interview.evaluation.jobs import EvaluationEvent, EvaluationService
from voice_interview.store import schema
from voice_interview.store.nodes import Node
from voice_interview.store.repository import (
    JOB_EVALUATE,
    JOB_TRANSCRIBE,
    ClaimLostError,
    Repository,
)
from voice_interview.store.tables import InterviewRow

pytestmark = pytest.mark.asyncio(loop_scope="session")

TTL = 0.6  # seconds: short, so that leases and claims lapse within a test


def _node(name: str, host_key: str = "", pid: int | None = None) -> Node:
    return Node(f"node-{name}-{os.urandom(4).hex()}", name, pid or os.getpid(), host_key)


@pytest.fixture
async def nodes(database_url: str) -> AsyncIterator[Callable[..., Repository]]:
    """make(name): a node (Repository) on the test's database; the first creates it."""
    made: list[Repository] = []

    def make(name: str, ttl: float = TTL, node: Node | None = None) -> Repository:
        repo = Repository(database_url, node=node or _node(name), lease_ttl_s=ttl)
        made.append(repo)
        return repo

    await make("setup").init()
    yield make
    for repo in made:
        await repo.close()


async def _interview(repo: Repository, n: int = 2) -> InterviewRow:
    questions = [
        Question.of(f"Question {i}?", "technical", "easy", ["a point"], ["sql"], bank_id=f"b{i}")
        for i in range(n)
    ]
    row = await repo.create_interview("cand", None, None, questions)
    return await repo.get_interview(row.id)


async def _lapse() -> None:
    await asyncio.sleep(TTL + 0.3)


PAYLOAD: dict[str, Any] = {
    "status": "scored",
    "score": 70.0,
    "feedback": "ok",
    "strengths": [],
    "weaknesses": [],
    "details": {},
}


# ---------------------------------------------------------------- starting together


async def test_nodes_starting_together_on_an_empty_database(database_url: str) -> None:
    """The schema is made once and the generated secrets are the same for every node."""
    if database_url.startswith("sqlite"):
        pytest.skip("SQLite is one node")
    repos = [Repository(database_url) for _ in range(4)]
    try:
        await asyncio.gather(*(r.init() for r in repos))
        assert {await r.schema_revision() for r in repos} == {schema.head_revision()}
        made = await asyncio.gather(*(r.get_or_create_secret("token_secret") for r in repos))
        assert len(set(made)) == 1
    finally:
        for r in repos:
            await r.close()


# ---------------------------------------------------------------- leases


async def test_a_lease_is_one_nodes_until_released_or_expired(
    nodes: Callable[..., Repository],
) -> None:
    a, b = nodes("a"), nodes("b")
    iid = (await _interview(a)).id
    first = await a.acquire_lease(iid)
    assert first.held and first.node_id == a.node.id
    refused = await b.acquire_lease(iid)
    assert not refused.held
    assert (refused.node_id, refused.holder) == (a.node.id, a.node.holder)
    assert 0 < refused.seconds_left() <= TTL
    again = await a.acquire_lease(iid)  # the same node: renewed, still its own
    assert again.held and again.expires_at >= first.expires_at
    await a.release_lease(iid)
    assert (await b.acquire_lease(iid)).held  # released: free at once
    assert not (await a.acquire_lease(iid)).held
    await _lapse()
    # b stopped renewing: a takes over, and b learns at its next renewal that it lost it.
    taken = await a.acquire_lease(iid)
    assert taken.held
    assert await b.heartbeat({iid}, ()) == set()
    assert await a.heartbeat({iid}, ()) == {iid}
    row = await a.lease_of(iid)
    assert row is not None and row.node_id == a.node.id


async def test_renewed_leases_do_not_expire(nodes: Callable[..., Repository]) -> None:
    a, b = nodes("a"), nodes("b")
    iid = (await _interview(a)).id
    assert (await a.acquire_lease(iid)).held
    for _ in range(4):
        await asyncio.sleep(TTL / 3)
        assert await a.heartbeat({iid}, ()) == {iid}
        assert not (await b.acquire_lease(iid)).held


async def test_nodes_racing_for_one_lease_get_it_once(nodes: Callable[..., Repository]) -> None:
    racers = [nodes(f"r{i}") for i in range(6)]
    iid = (await _interview(racers[0])).id
    leases = await asyncio.gather(*(r.acquire_lease(iid) for r in racers))
    winners = [lease.node_id for lease in leases if lease.held]
    assert len(winners) == 1
    assert {lease.node_id for lease in leases} == set(winners)


# ---------------------------------------------------------------- jobs


async def test_an_answer_job_is_its_nodes_until_its_claim_lapses(
    nodes: Callable[..., Repository],
) -> None:
    a, b = nodes("a"), nodes("b")
    interview = await _interview(a)
    q0 = interview.questions[0]
    answer, _ = await a.record_answer(
        interview.id, q0.id, source="text", transcript="an answer", end_reason="text_answer"
    )
    job = await a.job_of(answer.id)
    assert job is not None and (job.kind, job.claimed_by) == (JOB_EVALUATE, a.node.id)
    # a (the node that made the answer) holds it: b can take it neither way.
    assert await b.claim_jobs(JOB_EVALUATE, 10) == []
    assert await b.claim_job(answer.id) is None
    assert await a.claim_job(answer.id) is not None
    await _lapse()  # a stopped
    [taken] = await b.claim_jobs(JOB_EVALUATE, 10)
    assert (taken.answer_id, taken.interview_id, taken.pickups) == (answer.id, interview.id, 1)
    # a comes back to life: its result is refused, nothing is stored twice.
    with pytest.raises(ClaimLostError):
        await a.save_evaluation(answer.id, **PAYLOAD, claimed=True)
    assert (await a.evaluation_of(answer.id)).status == "pending"  # type: ignore[union-attr]
    await b.save_evaluation(answer.id, **PAYLOAD, claimed=True)
    assert await a.job_of(answer.id) is None  # done with the evaluation, in one transaction
    stored = await a.evaluation_of(answer.id)
    assert stored is not None and stored.status == "scored" and stored.attempts == 1


async def test_a_voice_answer_is_transcribed_then_evaluated_under_one_claim(
    nodes: Callable[..., Repository],
) -> None:
    a, b = nodes("a"), nodes("b")
    interview = await _interview(a)
    answer, _ = await a.record_answer(
        interview.id, interview.questions[0].id, source="voice", transcript="",
        end_reason="vad", stt={"status": "pending"}, audio=b"\x00\x01" * 100,
        audio_format="pcm_s16le_16k",
    )  # fmt: skip
    assert (await a.job_of(answer.id)).kind == JOB_TRANSCRIBE  # type: ignore[union-attr]
    await _lapse()
    [taken] = await b.claim_jobs(JOB_TRANSCRIBE, 10)
    assert taken.answer_id == answer.id
    with pytest.raises(ClaimLostError):
        await a.save_transcript(answer.id, "late", {"status": "done"}, None, "")
    await b.save_transcript(answer.id, "recovered", {"status": "done"}, None, "")
    job = await b.job_of(answer.id)
    assert job is not None and (job.kind, job.claimed_by) == (JOB_EVALUATE, b.node.id)
    assert await a.claim_jobs(JOB_EVALUATE, 10) == []  # still b's: it evaluates it next
    # Taken back by the candidate on a: the answer is reopened, the job a's again.
    await a.reopen_answer(
        answer.id, transcript="", end_reason="vad", speech_ms=10, stt={"status": "pending"},
        audio=b"\x00" * 10, audio_format="pcm_s16le_16k",
    )  # fmt: skip
    job = await a.job_of(answer.id)
    assert job is not None and (job.kind, job.claimed_by) == (JOB_TRANSCRIBE, a.node.id)


async def test_the_heartbeat_keeps_the_claims_of_what_a_node_works_on(
    nodes: Callable[..., Repository],
) -> None:
    a, b = nodes("a"), nodes("b")
    one, two = await _interview(a), await _interview(a)
    await a.record_answer(
        one.id, one.questions[0].id, source="text", transcript="x", end_reason="text_answer"
    )
    working, _ = await a.record_answer(
        two.id, two.questions[0].id, source="text", transcript="y", end_reason="text_answer"
    )
    left, _ = await a.record_answer(
        two.id, two.questions[1].id, source="text", transcript="z", end_reason="text_answer"
    )
    assert (await a.acquire_lease(one.id)).held
    for _ in range(4):
        await asyncio.sleep(TTL / 3)
        await a.heartbeat({one.id}, {working.id})
    # The session's interview and the evaluation in flight are still a's; the other lapsed.
    assert [j.answer_id for j in await b.claim_jobs(JOB_EVALUATE, 10)] == [left.id]


async def test_nodes_polling_at_once_take_different_jobs(
    nodes: Callable[..., Repository],
) -> None:
    a = nodes("a")
    interview = await _interview(a, n=12)
    for q in interview.questions:
        await a.record_answer(interview.id, q.id, source="text", transcript="t", end_reason="x")
    await a.release_lease(interview.id)
    await _lapse()
    pollers = [nodes(f"p{i}") for i in range(4)]
    owners: dict[str, str] = {}
    for _ in range(4):
        batches = await asyncio.gather(*(p.claim_jobs(JOB_EVALUATE, 5) for p in pollers))
        for poller, batch in zip(pollers, batches, strict=True):
            for job in batch:
                assert job.answer_id not in owners  # never one job to two nodes
                owners[job.answer_id] = poller.node.id
        if not a.is_sqlite:
            # SKIP LOCKED: pollers at once pass over each other's rows, and take the rest.
            assert len(owners) == 12
        if len(owners) == 12:
            break
    assert len(owners) == 12
    for job in await a.jobs():
        assert job.claimed_by == owners[job.answer_id]


async def test_a_restarted_node_frees_what_its_dead_predecessor_held(
    nodes: Callable[..., Repository],
) -> None:
    """Same machine (host key), its pid gone: no need to wait for the leases to expire."""
    gone = await asyncio.create_subprocess_exec(sys.executable, "-c", "pass")
    await gone.wait()
    dead_pid = gone.pid
    host = "test-host/boot/pid:[1]"
    dead = nodes("dead", ttl=60, node=_node("dead", host, dead_pid))
    alive = nodes("alive", ttl=60, node=_node("alive", host, os.getppid()))
    elsewhere = nodes("other", ttl=60, node=_node("other", "another-host/boot/pid:[1]", dead_pid))
    for n in (alive, elsewhere, dead):  # (dead last: the others would free it already)
        await n.register_node()
    held = {}
    for n in (dead, alive, elsewhere):
        interview = await _interview(n, n=1)
        answer, _ = await n.record_answer(
            interview.id, interview.questions[0].id, source="text", transcript="t", end_reason="x"
        )
        assert (await n.acquire_lease(interview.id)).held
        held[n.node.id] = (interview.id, answer.id)
    restarted = Repository(
        dead.url.render_as_string(hide_password=False),
        node=Node("node-restarted", "restarted", os.getpid(), host),
        lease_ttl_s=60,
    )
    try:
        assert await restarted.register_node() == [f"dead pid {dead_pid}"]
        free_interview, free_answer = held[dead.node.id]
        assert (await restarted.acquire_lease(free_interview)).held
        assert [j.answer_id for j in await restarted.claim_jobs(JOB_EVALUATE, 10)] == [free_answer]
        # A live node of the same machine, and a node of another machine, keep theirs.
        for n in (alive, elsewhere):
            assert not (await restarted.acquire_lease(held[n.node.id][0])).held
        await restarted.unregister_node()  # a clean stop frees everything at once
        assert (await alive.acquire_lease(free_interview)).held
    finally:
        await restarted.close()


async def test_deleting_an_interview_takes_its_lease_and_jobs(
    nodes: Callable[..., Repository],
) -> None:
    a = nodes("a")
    interview = await _interview(a)
    await a.record_answer(
        interview.id, interview.questions[0].id, source="text", transcript="t", end_reason="x"
    )
    assert (await a.acquire_lease(interview.id)).held
    await a.delete_interview(interview.id)
    assert await a.jobs() == [] and await a.lease_of(interview.id) is None


# ---------------------------------------------------------------- the evaluation service


class _Evaluator:
    def __init__(self) -> None:
        self.calls: list[str] = []

    def evaluate(self, spec: Any, text: str, meta: Any = None) -> Evaluation:
        self.calls.append(text)
        return Evaluation("scored", 64.0, "fine", ["s"], [], [], {})


class _Queue:
    depth = 0

    async def run(self, fn: Callable[[], Any], priority: int = 0) -> Any:
        return fn()


def _service(repo: Repository) -> tuple[EvaluationService, list[str]]:
    """The service of one node, with an evaluator that notes what it evaluated."""
    evaluator = _Evaluator()
    return EvaluationService(repo, evaluator, _Queue()), evaluator.calls  # type: ignore[arg-type]


async def test_a_stopped_nodes_evaluation_is_done_once_elsewhere_and_told_to_the_session(
    nodes: Callable[..., Repository], monkeypatch: pytest.MonkeyPatch
) -> None:
    """a made two answers and stopped before evaluating the second; the candidate is on c
    now; b takes the job up. c's session hears of it at c's next poll, then of the end."""
    monkeypatch.setattr(evaluations, "REMOTE_SLACK", timedelta(0))
    a, b, c = nodes("a"), nodes("b"), nodes("c")
    interview = await _interview(a, n=2)
    q0, q1 = interview.questions
    first, _ = await a.record_answer(
        interview.id, q0.id, source="text", transcript="first", end_reason="text_answer"
    )
    on_a, a_calls = _service(a)
    on_a.schedule(interview.id, first.id, q0, "first")
    await on_a.drain()
    second, _ = await a.record_answer(
        interview.id, q1.id, source="text", transcript="second", end_reason="text_answer"
    )
    on_c, c_calls = _service(c)
    heard: list[EvaluationEvent] = []
    completed: list[OverallScore] = []

    async def listener(event: EvaluationEvent) -> None:
        heard.append(event)

    async def on_complete(_: str, overall: OverallScore) -> None:
        completed.append(overall)

    on_c.subscribe(interview.id, listener, on_complete)
    # c's own fast path cannot take it while a's claim holds (a might be alive).
    on_c.schedule(interview.id, second.id, q1, "second")
    await on_c.drain()
    assert c_calls == []
    await _lapse()
    on_b, b_calls = _service(b)
    assert await on_b.resume_pending() == 1
    await on_b.drain()
    assert a_calls == ["first"] and b_calls == ["second"]
    assert await a.jobs() == []
    assert (await a.get_interview(interview.id)).status == "completed"
    assert heard == [] and completed == []
    assert await on_c.poll_remote() == 1  # evaluations stored before it subscribed: none
    assert [(e.answer_id, e.row.status if e.row else None) for e in heard] == [
        (second.id, "scored")
    ]
    assert len(completed) == 1 and completed[0].score is not None
    assert await on_c.poll_remote() == 0  # told once
    assert await on_b.resume_pending() == 0  # nothing left, nothing done twice
    assert b_calls == ["second"]


async def test_an_evaluation_that_fails_every_attempt_is_stored_as_failed_once(
    nodes: Callable[..., Repository],
) -> None:
    """No fabricated score: the answer's evaluation is ``failed`` with the error, its job
    is gone, and the interview still completes (the answer not assessed)."""
    a = nodes("a")
    interview = await _interview(a, n=1)
    (q0,) = interview.questions
    answer, _ = await a.record_answer(
        interview.id, q0.id, source="text", transcript="an answer", end_reason="text_answer"
    )
    calls: list[str] = []

    class _Broken:
        def evaluate(self, spec: Any, text: str, meta: Any = None) -> Evaluation:
            calls.append(text)
            raise RuntimeError("model fell over")

    service = EvaluationService(a, _Broken(), _Queue())  # type: ignore[arg-type]
    heard: list[EvaluationEvent] = []

    async def listener(event: EvaluationEvent) -> None:
        heard.append(event)

    async def on_complete(_: str, overall: OverallScore) -> None:
        pass

    service.subscribe(interview.id, listener, on_complete)
    service.schedule(interview.id, answer.id, q0, "an answer")
    await service.drain()
    assert calls == ["an answer"] * evaluations.MAX_ATTEMPTS
    row = await a.evaluation_of(answer.id)
    assert row is not None and row.status == "failed" and row.score is None
    assert row.error == "RuntimeError: model fell over"
    assert [e.final_failure for e in heard] == [False] * (evaluations.MAX_ATTEMPTS - 1) + [True]
    assert await a.jobs() == []
    assert (await a.get_interview(interview.id)).status == "completed"


# ---------------------------------------------------------------- migration 0002


async def test_migration_0002_makes_jobs_of_a_0001_databases_pending_work(
    database_url: str,
) -> None:
    repo = Repository(database_url)
    try:
        async with repo.engine.begin() as conn:
            await conn.run_sync(lambda c: schema.command.upgrade(schema._config(c), "0001"))
        ids = {"i": "11111111-1111-4111-8111-111111111111"}
        rows = [
            "INSERT INTO candidates (id, created_at) VALUES ('c', :t)",
            "INSERT INTO interviews (id, candidate_id, status, current_question_index, total,"
            " created_at) VALUES (:i, 'c', 'in_progress', 3, 3, :t)",
        ]
        answers = [
            ("q0", "a0", "text", "{}", "pending"),
            ("q1", "a1", "voice", '{"status": "pending"}', "pending"),
            ("q2", "a2", "voice", '{"status": "done"}', "scored"),
        ]
        async with repo.engine.begin() as conn:
            t = datetime.now(UTC)
            for sql in rows:
                await conn.execute(text(sql), {**ids, "t": t})
            for pos, (q, a, source, stt, status) in enumerate(answers):
                await conn.execute(
                    text(
                        "INSERT INTO questions (id, interview_id, position, bank_id, text,"
                        " question_type, difficulty, skills, key_points) VALUES"
                        " (:q, :i, :p, 'b', 'Q?', 'technical', 'easy', '[]', '[]')"
                    ),
                    {**ids, "q": q, "p": pos},
                )
                await conn.execute(
                    text(
                        "INSERT INTO answers (id, interview_id, question_id, source, transcript,"
                        " end_reason, speech_ms, stt, audio_format, created_at) VALUES"
                        " (:a, :i, :q, :s, '', 'x', 0, :stt, '', :t)"
                    ),
                    {**ids, "a": a, "q": q, "s": source, "stt": stt, "t": t},
                )
                await conn.execute(
                    text(
                        "INSERT INTO evaluations (id, answer_id, status, feedback, strengths,"
                        " weaknesses, details, attempts, error, updated_at) VALUES"
                        " (:e, :a, :st, '', '[]', '[]', '{}', 0, '', :t)"
                    ),
                    {"e": f"e{pos}", "a": a, "st": status, "t": t},
                )
        result = await repo.upgrade_schema()
        assert (result.before, result.after) == ("0001", "0002")
        jobs = {j.answer_id: (j.kind, j.claimed_by, j.pickups) for j in await repo.jobs()}
        assert jobs == {"a0": (JOB_EVALUATE, None, 0), "a1": (JOB_TRANSCRIBE, None, 0)}
        assert [j.answer_id for j in await repo.claim_jobs(JOB_TRANSCRIBE, 5)] == ["a1"]
    finally:
        await repo.close()
