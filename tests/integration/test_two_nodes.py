"""Two real server processes (node A, node B) on one PostgreSQL database.

An interview runs on A; a socket to B meanwhile is refused (A holds the lease). A is
killed (SIGKILL) while the candidate speaks, with a spoken answer's transcription and
evaluation still to do. The candidate reconnects to B: refused until A's lease expires,
then B resumes at the first unanswered question, takes up A's unfinished answer job
(transcribes it from its stored audio and evaluates it), and the interview completes.
Nothing committed is lost and nothing is stored twice.

PostgreSQL only (SQLite is one node); skipped without it unless VI_REQUIRE_POSTGRES=1.
"""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import numpy as np
import pytest

from tests.audio_helpers import load_fixture
from tests.conftest import ServerProcess, start_server
from tests.integration.client import ADMIN, WsLog, create_interview
from tests.pg import PgCluster, database_name, fetch_all

pytestmark = pytest.mark.models

TTL_S = 3.0  # VI_LEASE_TTL_S of both nodes: A's lease and claims lapse 3 s after it dies
NODE_ENV = {"VI_LEASE_TTL_S": str(TTL_S), "VI_JOB_POLL_S": "0.5"}


def frames(pcm: np.ndarray) -> list[bytes]:
    raw = pcm.astype("<i2").tobytes()
    return [raw[i : i + 640] for i in range(0, len(raw), 640)]


@pytest.fixture
def database(postgres: PgCluster) -> Iterator[str]:
    url = postgres.create_database()
    yield url
    postgres.drop_database(database_name(url))


async def _refusal(http: aiohttp.ClientSession, url: str) -> tuple[dict[str, Any], int | None]:
    """Connect, expecting to be refused: the error message and the close code."""
    async with http.ws_connect(url) as ws:
        first = await ws.receive_json(timeout=30)
        closing = await ws.receive(timeout=30)
        assert closing.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED), closing
        return first, ws.close_code


async def _connect_when_free(
    http: aiohttp.ClientSession, url: str, deadline_s: float
) -> tuple[aiohttp.ClientWebSocketResponse, WsLog, dict[str, Any], list[dict[str, Any]]]:
    """Reconnect as the candidate page does after a 1013: again and again until accepted.
    The accepted socket, its log, its session message and the refusals before it."""
    refusals: list[dict[str, Any]] = []
    deadline = time.monotonic() + deadline_s
    while True:
        ws = await http.ws_connect(url)
        log = WsLog(ws)
        first = await log.next("session", "error", timeout=30)
        if first["type"] == "session":
            return ws, log, first, refusals
        refusals.append(first)
        await ws.close()
        assert ws.close_code == 1013 and first["code"] == "SERVER_BUSY", (ws.close_code, first)
        assert time.monotonic() < deadline, f"still refused after {deadline_s} s: {refusals}"
        await asyncio.sleep(0.25)


async def test_a_killed_nodes_interview_goes_on_on_the_other_node(
    tmp_path: Path, database: str
) -> None:
    folders = [tmp_path / "a", tmp_path / "b"]
    for folder in folders:
        folder.mkdir()
    started = await asyncio.gather(
        *(asyncio.to_thread(start_server, f, NODE_ENV, database_url=database) for f in folders),
        return_exceptions=True,
    )
    nodes = [n for n in started if isinstance(n, ServerProcess)]
    try:
        for failed in started:
            if isinstance(failed, BaseException):
                raise failed
        await _interview_across_a_kill(nodes[0], nodes[1], database)
    finally:
        for node in nodes:
            node.stop()


async def _interview_across_a_kill(a: ServerProcess, b: ServerProcess, database: str) -> None:
    async with aiohttp.ClientSession() as http:
        created = await create_interview(http, a, n=4, candidate_id="two-nodes")
        iid, token = created["id"], created["candidate_token"]
        path = f"/ws/interviews/{iid}?token={token}"
        started = time.monotonic()
        async with http.ws_connect(a.ws_base + path) as ws:
            log = WsLog(ws)
            await log.next("session")
            q1 = await log.next("question")

            # B while A holds a live lease: a clear refusal; A's session goes on.
            refused, code = await _refusal(http, b.ws_base + path)
            assert code == 1013 and refused["code"] == "SERVER_BUSY", refused
            assert "open on another server" in refused["message"], refused

            await log.send(
                type="text_answer",
                question_id=q1["question_id"],
                answer_text="I would first measure, then fix the slowest part and add a test.",
            )
            q2 = await log.next("question")
            await log.audio_end(q2["question_id"])
            speech = np.concatenate([load_fixture("idempotency.wav"), np.zeros(16000, np.int16)])
            for f in frames(speech):
                await ws.send_bytes(f)
            await log.send(type="end_of_answer")
            q3 = await log.next("question", timeout=120)
            # Mid-answer: the candidate starts on q3 (over its audio: a barge-in, the
            # speech is q3's answer) and A dies, with q2 neither transcribed nor evaluated
            # (its final pass started when q3 went out, a moment ago).
            for f in frames(load_fixture("database_index.wav"))[:50]:
                await ws.send_bytes(f)
            a.stop(signal.SIGKILL)
            killed = time.monotonic()
        stored = await fetch_all(
            database,
            "SELECT a.question_id, a.source, e.status FROM answers a"
            " JOIN evaluations e ON e.answer_id = a.id",
        )
        assert {q for q, _, _ in stored} == {q1["question_id"], q2["question_id"]}
        by_question = {q: (source, status) for q, source, status in stored}
        assert by_question[q2["question_id"]] == ("voice", "pending")  # left for B
        jobs = await fetch_all(database, "SELECT answer_id, claimed_by FROM answer_jobs")
        assert jobs, "the killed node left its unfinished answer as a job"

        # The candidate's page reconnects, now to B: refused while A's lease lives on.
        ws_b, log_b, session, refusals = await _connect_when_free(
            http, b.ws_base + path, deadline_s=TTL_S + 10
        )
        waited = time.monotonic() - killed
        assert refusals, "A's lease was still live right after the kill"
        assert waited < TTL_S + 5, waited
        async with ws_b:
            assert session["status"] == "in_progress" and session["answered"] == 2
            resumed = await log_b.next("question")
            assert resumed["question_id"] == q3["question_id"]  # the first unanswered one
            await log_b.send(
                type="text_answer",
                question_id=q3["question_id"],
                answer_text="An index trades write cost for faster reads on the columns I filter.",
            )
            q4 = await log_b.next("question")
            await log_b.send(
                type="text_answer",
                question_id=q4["question_id"],
                answer_text="I would ask the team what they need and agree on one plan.",
            )
            done = await log_b.next("interview_complete", timeout=300)
            assert done["overall_score"] is not None
            # Every answer's evaluation reached the candidate on B (replayed or live),
            # q2's included: B made it from A's stored audio.
            evaluated = {m["question_id"] for m in log_b.of_type("evaluation")}
            assert evaluated == {q["question_id"] for q in (q1, q2, q3, q4)}
        async with http.get(f"{b.base}/api/interviews/{iid}/feedback", headers=ADMIN) as r:
            assert r.status == 200
            report = await r.json()
    print(f"two nodes: killed after {killed - started:.1f} s, B took over after {waited:.1f} s")

    answers = report["answers"]
    assert answers[0]["transcript"].startswith("I would first measure")  # committed on A
    assert "endpoint" in answers[1]["transcript"].lower().replace(" ", "")  # recovered on B
    for item in answers:
        assert item["evaluation"]["status"] == "scored", item
    rows = await fetch_all(
        database,
        "SELECT a.question_id, count(*), min(e.attempts), max(e.attempts) FROM answers a"
        " JOIN evaluations e ON e.answer_id = a.id GROUP BY a.question_id",
    )
    # One answer per question, each evaluated (stored) once.
    assert sorted(n for _, n, _, _ in rows) == [1, 1, 1, 1]
    assert {(lo, hi) for _, _, lo, hi in rows} == {(1, 1)}
    assert await fetch_all(database, "SELECT * FROM answer_jobs") == []
    for _ in range(50):  # B gives the lease back once the closed socket's session ends
        if not await fetch_all(database, "SELECT interview_id FROM interview_leases"):
            break
        await asyncio.sleep(0.1)
    else:
        pytest.fail("B kept the lease after the socket closed")
    assert "lease taken by another node" not in b.log()
