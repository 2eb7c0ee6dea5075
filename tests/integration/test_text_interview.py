"""Whole interviews by text against the real server process with the real bundled models."""

from __future__ import annotations

import html
import uuid

import aiohttp
import pytest

from tests.conftest import BACKENDS, ServerProcess
from tests.integration.client import ADMIN, WsLog, create_interview

pytestmark = [
    pytest.mark.models,
    # The shared server, once on SQLite and once on PostgreSQL.
    pytest.mark.parametrize("database_backend", BACKENDS, indirect=True, scope="session"),
]


async def test_health_names_the_models(server: ServerProcess) -> None:
    async with aiohttp.ClientSession() as http, http.get(f"{server.base}/health") as r:
        body = await r.json()
    assert r.status == 200
    assert body["status"] == "ok"
    assert body["models"]["stt"] and body["models"]["llm"].endswith(".gguf")
    assert body["models"]["tts"].endswith(".onnx")
    assert body["models"]["turn"].startswith("smart-turn")
    assert "check" not in body["models"]  # no check model unless VI_CHECK_MODEL names one


async def test_cv_analysis_then_interview_over_rest(server: ServerProcess) -> None:
    cv = (
        "Jane Doe - Backend Engineer. 6 years of experience building Python services with "
        "PostgreSQL, Docker and Kubernetes. Designed REST APIs and led the migration to AWS."
    )
    async with aiohttp.ClientSession() as http:
        async with http.post(
            f"{server.base}/api/cv-analyses",
            json={"candidate_id": "jane", "cv_text": cv},
            headers=ADMIN,
        ) as r:
            assert r.status == 201, await r.text()
            analysis = await r.json()
        assert {"python", "postgresql", "docker"} <= set(analysis["skills"])
        assert analysis["experience_years"] == pytest.approx(6, abs=0.5)
        assert analysis["summary"]
        created = await create_interview(
            http,
            server,
            n=5,
            candidate_id="jane",
            cv_analysis_id=analysis["id"],
            role="backend engineer",
        )
        assert created["status"] == "ready" and created["total"] == 5
        assert created["ws_url"].endswith(f"/ws/interviews/{created['id']}")
        iid, token = created["id"], created["candidate_token"]
        cand = {"Authorization": f"Bearer {token}"}
        async with http.get(f"{server.base}/api/interviews/{iid}", headers=cand) as r:
            assert r.status == 200
            assert (await r.json())["status"] == "ready"
        async with http.get(
            f"{server.base}/api/interviews/{iid}/questions/current", headers=cand
        ) as r:
            q = await r.json()
        assert q["index"] == 0 and q["total"] == 5
        assert q["question_type"] in ("technical", "behavioral", "situational")
        assert q["difficulty"] in ("easy", "medium", "hard")
        async with http.put(f"{server.base}/api/interviews/{iid}/start", headers=cand) as r:
            assert r.status == 200
            assert (await r.json())["status"] == "in_progress"
        async with http.put(f"{server.base}/api/interviews/{iid}/start", headers=cand) as r:
            assert r.status == 409
            assert (await r.json())["error"]["code"] == "INTERVIEW_NOT_ACTIVE"
        # A candidate token reads no report and lists nothing.
        async with http.get(f"{server.base}/api/interviews/{iid}/feedback", headers=cand) as r:
            assert r.status == 403
        async with http.get(f"{server.base}/api/interviews", headers=cand) as r:
            assert r.status == 403


async def test_missing_records_and_bad_input_get_clear_errors(server: ServerProcess) -> None:
    unknown = str(uuid.uuid4())
    async with aiohttp.ClientSession() as http:
        for path in ("", "/questions/current", "/feedback"):
            async with http.get(
                f"{server.base}/api/interviews/{unknown}{path}", headers=ADMIN
            ) as r:
                assert r.status == 404
                assert (await r.json())["error"]["code"] == "INTERVIEW_NOT_FOUND"
        async with http.get(f"{server.base}/api/interviews/not-a-uuid", headers=ADMIN) as r:
            assert r.status == 404
        async with http.post(f"{server.base}/api/interviews", data=b"{nope", headers=ADMIN) as r:
            assert r.status == 400
            assert (await r.json())["error"]["code"] == "INVALID_REQUEST"
        for n in (0, 21, "3", True):
            async with http.post(
                f"{server.base}/api/interviews",
                json={"candidate_id": "x", "num_questions": n},
                headers=ADMIN,
            ) as r:
                assert r.status == 400, n
        async with http.post(
            f"{server.base}/api/interviews",
            json={"candidate_id": "x", "cv_analysis_id": unknown},
            headers=ADMIN,
        ) as r:
            assert r.status == 404
        async with http.post(f"{server.base}/api/interviews", json={"candidate_id": "x"}) as r:
            assert r.status == 401
        async with http.post(
            f"{server.base}/api/interviews",
            json={"candidate_id": "x"},
            headers={"Authorization": "Bearer wrong"},
        ) as r:
            assert r.status == 401
        # WebSocket: unknown interview closes 4404, a wrong token closes 4401.
        async with http.ws_connect(
            f"{server.ws_base}/ws/interviews/{unknown}?token=test-admin-key"
        ) as ws:
            msg = await ws.receive_json()
            assert msg["code"] == "INTERVIEW_NOT_FOUND"
            await ws.receive()
            assert ws.close_code == 4404
        created = await create_interview(http, server, n=1)
        async with http.ws_connect(
            f"{server.ws_base}/ws/interviews/{created['id']}?token=bad"
        ) as ws:
            msg = await ws.receive_json()
            assert msg["code"] == "UNAUTHORIZED"
            await ws.receive()
            assert ws.close_code == 4401
        other = await create_interview(http, server, n=1)
        url = f"{server.ws_base}/ws/interviews/{other['id']}?token={created['candidate_token']}"
        async with http.ws_connect(url) as ws:
            assert (await ws.receive_json())["code"] == "UNAUTHORIZED"


async def test_whole_interview_by_text_with_reconnect(server: ServerProcess) -> None:
    async with aiohttp.ClientSession() as http:
        created = await create_interview(http, server, n=3, role="backend engineer")
        iid, token = created["id"], created["candidate_token"]
        async with http.get(f"{server.base}/api/interviews/{iid}/feedback", headers=ADMIN) as r:
            planned = await r.json()
        # An answer that states the rubric's key points in the candidate's words.
        strong = " ".join(planned["answers"][0]["question"]["key_points"])
        url = f"{server.ws_base}/ws/interviews/{iid}?token={token}"
        async with http.ws_connect(url) as ws:
            log = WsLog(ws)
            session = await log.next("session")
            assert session["interview_id"] == iid and session["status"] == "in_progress"
            q1 = await log.next("question")
            assert q1["index"] == 0 and q1["total"] == 3
            await log.next("question_audio_end")
            assert len(log.audio[q1["question_id"]]) > 22050  # at least half a second of PCM16
            # Bad messages get errors; the socket stays usable.
            await ws.send_str("{not json")
            assert (await log.next("error"))["code"] == "INVALID_MESSAGE"
            await log.send(type="warp_drive")
            assert (await log.next("error"))["code"] == "INVALID_MESSAGE"
            await log.send(type="text_answer", question_id="nope", answer_text="x")
            assert (await log.next("error"))["code"] == "INVALID_MESSAGE"
            await log.send(type="ping")
            await log.next("pong")
            await log.send(type="text_answer", question_id=q1["question_id"], answer_text=strong)
            q2 = await log.next("question")
            assert q2["index"] == 1
            metrics = await log.next("turn_metrics")
            assert metrics["question_id"] == q1["question_id"]
            ev = await log.next("evaluation", timeout=120)
            assert ev["question_id"] == q1["question_id"]
            assert 0 <= ev["score"] <= 100 and ev["feedback"]
            assert isinstance(ev["strengths"], list) and isinstance(ev["weaknesses"], list)
        # Reconnect: the server resumes at the first unanswered question.
        async with http.ws_connect(url) as ws:
            log = WsLog(ws)
            await log.next("session")
            again = await log.next("question")
            assert again["question_id"] == q2["question_id"]
            await log.send(type="pause")
            paused = await log.next("session")
            assert paused["status"] == "paused"
            await log.send(type="text_answer", question_id=q2["question_id"], answer_text="hm")
            assert (await log.next("error"))["code"] == "INTERVIEW_NOT_ACTIVE"
            await log.send(type="resume")
            assert (await log.next("session"))["status"] == "in_progress"
            resumed = await log.next("question")
            assert resumed["question_id"] == q2["question_id"]
            await log.send(
                type="text_answer",
                question_id=q2["question_id"],
                answer_text=(
                    "I would talk to the team, listen to their concerns, and agree on a plan "
                    "with clear owners and a deadline, then follow up on progress every week."
                ),
            )
            q3 = await log.next("question")
            assert q3["index"] == 2
            await log.send(
                type="text_answer",
                question_id=q3["question_id"],
                answer_text="Honestly I have never thought about that and would look it up.",
            )
            done = await log.next("interview_complete", timeout=180)
            assert done["overall_score"] is not None
            assert done["feedback_url"].endswith(f"/api/interviews/{iid}/feedback")
            evaluations = log.of_type("evaluation")
        assert {e["question_id"] for e in evaluations} >= {q3["question_id"]}
        async with http.get(f"{server.base}/api/interviews/{iid}/feedback", headers=ADMIN) as r:
            report = await r.json()
        assert report["status"] == "completed"
        assert report["overall_score"] == pytest.approx(done["overall_score"], abs=0.05)
        assert [a["question"]["index"] for a in report["answers"]] == [0, 1, 2]
        for answer in report["answers"]:
            assert answer["transcript"]
            assert answer["evaluation"]["status"] == "scored"
            assert answer["metrics"] is not None
        scores = [a["evaluation"]["score"] for a in report["answers"]]
        assert scores[0] > scores[2]  # the strong answer beats "I'd look it up"
        async with http.get(
            f"{server.base}/api/interviews/{iid}/feedback",
            headers={**ADMIN, "Accept": "text/html"},
        ) as r:
            page = await r.text()
        assert r.content_type == "text/html"
        assert "Overall score" in page
        assert html.escape(planned["answers"][0]["question"]["text"][:30]) in page
        async with http.get(f"{server.base}/api/interviews/{iid}", headers=ADMIN) as r:
            assert (await r.json())["status"] == "completed"
        async with http.get(f"{server.base}/api/interviews", headers=ADMIN) as r:
            listed = await r.json()
        assert any(i["id"] == iid and i["overall_score"] is not None for i in listed["interviews"])
