"""Data rights: the export holds everything stored about an interview; DELETE removes it.

One interview runs on its own server: a CV analysis, a spoken answer (so audio and word
timings are stored) and a typed answer carrying a unique marker. Then the export is
checked field by field, the interview is deleted with a candidate still connected, and
the database is read directly (SQLite and PostgreSQL; the SQLite file byte by byte too).
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import numpy as np
import pytest

from tests.audio_helpers import load_fixture
from tests.conftest import ServerProcess, start_server
from tests.integration.client import ADMIN, WsLog
from tests.pg import fetch_all, table_names
from voice_interview.store import connection

pytestmark = pytest.mark.models

MARKER = "zebra-quartz-7731 is my favourite deployment codename"
CV_TEXT = "Backend engineer, 5 years of Python, PostgreSQL and Kubernetes at quartz-zebra-cv."


@dataclass
class Deleted:
    db_path: Path
    log: str
    audio: bytes
    interview_id: str


def frames(pcm: np.ndarray) -> list[bytes]:
    raw = pcm.astype("<i2").tobytes()
    return [raw[i : i + 640] for i in range(0, len(raw), 640)]


async def _run_interview(http: aiohttp.ClientSession, server: ServerProcess) -> dict[str, Any]:
    async with http.post(
        f"{server.base}/api/cv-analyses",
        json={"candidate_id": "rights-cand", "cv_text": CV_TEXT},
        headers=ADMIN,
    ) as r:
        assert r.status == 201, await r.text()
        analysis = await r.json()
    async with http.post(
        f"{server.base}/api/interviews",
        json={"candidate_id": "rights-cand", "cv_analysis_id": analysis["id"], "num_questions": 2},
        headers=ADMIN,
    ) as r:
        assert r.status == 201, await r.text()
        created = dict(await r.json())
    url = f"{server.ws_base}/ws/interviews/{created['id']}?token={created['candidate_token']}"
    async with http.ws_connect(url) as ws:
        log = WsLog(ws)
        q1 = await log.next("question")
        await log.audio_end(q1["question_id"])
        for f in frames(load_fixture("why_this_company.wav")):
            await ws.send_bytes(f)
        await log.send(type="end_of_answer")
        q2 = await log.next("question", timeout=120)
        await log.send(type="text_answer", question_id=q2["question_id"], answer_text=MARKER)
        await log.next("interview_complete", timeout=300)
    created["analysis"] = analysis
    return created


async def _export(
    http: aiohttp.ClientSession, server: ServerProcess, iid: str, query: str = ""
) -> tuple[int, Any, aiohttp.ClientResponse]:
    async with http.get(f"{server.base}/api/interviews/{iid}/export{query}", headers=ADMIN) as r:
        return r.status, await r.json(), r


async def test_export_is_complete_and_delete_removes_everything(
    tmp_path: Path, database_url: str
) -> None:
    server = start_server(tmp_path, database_url=database_url)
    try:
        async with aiohttp.ClientSession() as http:
            created = await _run_interview(http, server)
            iid = created["id"]
            status, doc, response = await _export(http, server, iid)
            assert status == 200
            assert response.headers["Content-Disposition"] == (
                f'attachment; filename="interview-{iid}.json"'
            )
            audio = _check_export(doc, created)
            # Without the audio bytes: the same, but no base64.
            status, lean, _ = await _export(http, server, iid, "?audio=false")
            assert status == 200 and lean["export"]["audio_included"] is False
            lean_audio = lean["answers"][0]["audio"]
            assert lean_audio["data_base64"] is None
            assert lean_audio["size_bytes"] == len(audio)
            status, body, _ = await _export(http, server, iid, "?audio=maybe")
            assert status == 400 and body["error"]["code"] == "INVALID_REQUEST"

            # A candidate is connected when the recruiter deletes the interview.
            token = created["candidate_token"]
            ws_url = f"{server.ws_base}/ws/interviews/{iid}?token={token}"
            async with http.ws_connect(ws_url) as ws:
                log = WsLog(ws)
                await log.next("interview_complete")  # completed: replayed, socket stays open
                async with http.delete(f"{server.base}/api/interviews/{iid}", headers=ADMIN) as r:
                    assert r.status == 204
                while True:
                    msg = await ws.receive(timeout=30)
                    if msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED):
                        break
                assert ws.close_code == 4409

            for path in ("", "/export", "/feedback", "/questions/current"):
                async with http.get(
                    f"{server.base}/api/interviews/{iid}{path}", headers=ADMIN
                ) as r:
                    assert r.status == 404, path
                    assert (await r.json())["error"]["code"] == "INTERVIEW_NOT_FOUND"
            async with http.get(
                f"{server.base}/api/interviews/{iid}", headers={"Authorization": f"Bearer {token}"}
            ) as r:
                assert r.status == 404
            async with http.delete(f"{server.base}/api/interviews/{iid}", headers=ADMIN) as r:
                assert r.status == 404
            async with http.ws_connect(ws_url) as ws:
                assert (await ws.receive_json())["code"] == "INTERVIEW_NOT_FOUND"
                await ws.receive()
                assert ws.close_code == 4404
        await _check_rows_gone(database_url, iid, audio)
    finally:
        server.stop()
    # Stopped: the WAL is checkpointed into the main file. Rows are checked again there.
    await _check_rows_gone(database_url, iid, audio)
    assert MARKER not in server.log()  # answers never go to the log
    if database_url.startswith("sqlite"):
        _check_file_bytes(Deleted(server.db_path, server.log(), audio, iid))


def _check_export(doc: dict[str, Any], created: dict[str, Any]) -> bytes:
    analysis = created["analysis"]
    assert doc["id"] == created["id"] and doc["candidate_id"] == "rights-cand"
    assert doc["status"] == "completed"
    assert doc["export"]["format"] == "voice_interview.export"
    assert doc["export"]["version"] == 1 and doc["export"]["audio_included"] is True
    assert doc["cv_analysis_id"] == analysis["id"]
    cv = doc["cv_analysis"]
    assert cv["cv_text"] == CV_TEXT
    assert cv["skills"] == analysis["skills"] and cv["summary"] == analysis["summary"]
    assert isinstance(cv["details"], dict) and cv["created_at"]
    spoken, typed = doc["answers"]
    for item in (spoken, typed):
        q = item["question"]
        assert q["text"] and q["key_points"] and q["bank_id"]
        assert item["answer_id"] and item["answered_at"]
        ev = item["evaluation"]
        assert ev["status"] in ("scored", "insufficient_data")
        assert isinstance(ev["details"], dict)
        assert ev["attempts"] >= 1 and ev["updated_at"] and ev["id"]
        assert item["metrics"]["end_reason"] == item["end_reason"]
        assert item["metrics_recorded_at"]
    # The spoken answer: transcript, STT details with word timings, the stored audio.
    assert spoken["source"] == "voice" and spoken["end_reason"] == "end_of_answer"
    assert "work" in spoken["transcript"].lower()
    assert spoken["speech_ms"] > 1000
    stt = spoken["stt"]
    assert stt["status"] == "done"
    words = stt["words"]
    # Stored as [word, start_s, end_s, probability].
    assert words and all(w[2] >= w[1] >= 0 for w in words)
    assert "work" in " ".join(w[0] for w in words).lower()
    meta = spoken["audio"]
    assert meta["format"] == "ogg_opus"
    audio = base64.b64decode(meta["data_base64"])
    assert audio.startswith(b"OggS") and len(audio) == meta["size_bytes"] > 1000
    assert hashlib.sha256(audio).hexdigest() == meta["sha256"]
    # The typed answer: its text, no audio.
    assert typed["source"] == "text" and typed["transcript"] == MARKER
    assert typed["audio"] is None and typed["speech_ms"] == 0
    return audio


async def _check_rows_gone(database_url: str, iid: str, audio: bytes) -> None:
    # fetch_all closes its connection: an open one would keep the server's shutdown from
    # checkpointing SQLite's WAL.
    for table in ("interviews", "questions", "answers", "turn_timings"):
        column = "id" if table == "interviews" else "interview_id"
        count = await fetch_all(
            database_url, f"SELECT count(*) FROM {table} WHERE {column} = :iid", iid=iid
        )
        assert count[0][0] == 0, table
    assert (await fetch_all(database_url, "SELECT count(*) FROM evaluations"))[0][0] == 0
    assert (await fetch_all(database_url, "SELECT count(*) FROM answers"))[0][0] == 0
    # No row anywhere still holds the typed text or the audio bytes.
    piece = audio[100:400]
    for table in await table_names(database_url):
        for row in await fetch_all(database_url, f"SELECT * FROM {table}"):
            for value in row:
                if isinstance(value, str):
                    assert MARKER not in value and iid not in value, table
                elif isinstance(value, bytes):
                    assert piece not in value, table


def _secure_delete_is_on() -> bool:
    """Whether the repository turns on SQLite's secure_delete for its connections."""
    executed: list[str] = []

    class Cursor:
        def execute(self, sql: str) -> None:
            executed.append(sql.replace(" ", "").lower())

        def close(self) -> None:
            pass

    class Conn:
        def cursor(self) -> Cursor:
            return Cursor()

    connection._sqlite_pragmas(Conn(), None)
    return any(
        s.startswith("pragmasecure_delete=") and s.endswith(("on", "1", "fast")) for s in executed
    )


def _check_file_bytes(deleted: Deleted) -> None:
    """On SQLite, the deleted text and audio are not left in the database file either."""
    # Without PRAGMA secure_delete SQLite keeps deleted content in free pages.
    assert _secure_delete_is_on()
    # After a clean stop the WAL is checkpointed into the main file and removed (until
    # then it may still hold the pages as they were before the deletion).
    wal = deleted.db_path.with_name(deleted.db_path.name + "-wal")
    assert not wal.exists() or wal.stat().st_size == 0
    data = deleted.db_path.read_bytes()
    assert MARKER.encode() not in data
    assert deleted.audio[100:400] not in data
