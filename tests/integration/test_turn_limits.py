"""Silence, answer-length and connection limits, on a server started with short limits."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import aiohttp
import numpy as np
import pytest

from tests.audio_helpers import load_fixture, manifest
from tests.conftest import ServerProcess, start_server
from tests.integration.client import WsLog, create_interview
from voice_interview.bench.wer import word_error_rate

pytestmark = pytest.mark.models


@pytest.fixture(scope="module")
def strict_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    srv = start_server(
        tmp_path_factory.mktemp("strict"),
        {
            "VI_NO_ANSWER_REPROMPT_S": "1",
            "VI_NO_ANSWER_TIMEOUT_S": "2",
            "VI_MAX_ANSWER_S": "4",
            "VI_MAX_SESSIONS": "2",
            "VI_MAX_WS_MESSAGE_BYTES": "65536",
        },
    )
    yield srv
    srv.stop()


def ws_url(server: ServerProcess, created: dict[str, str]) -> str:
    return f"{server.ws_base}/ws/interviews/{created['id']}?token={created['candidate_token']}"


def frames(pcm: np.ndarray) -> list[bytes]:
    raw = pcm.astype("<i2").tobytes()
    return [raw[i : i + 640] for i in range(0, len(raw), 640)]


async def answer_first_question(
    ws: aiohttp.ClientWebSocketResponse, log: WsLog, speech: np.ndarray
) -> dict[str, Any]:
    """Wait for the first question's audio, then send ``speech`` as 20 ms frames."""
    await log.next("session")
    q = await log.next("question")
    await log.audio_end(q["question_id"])
    for f in frames(speech):
        await ws.send_bytes(f)
    return q


async def final_transcript(log: WsLog) -> dict[str, Any]:
    while True:
        t = await log.next("transcript", timeout=120)
        if t["is_final"]:
            return t


async def test_silent_candidate_is_asked_again_then_the_turn_ends(
    strict_server: ServerProcess,
) -> None:
    async with aiohttp.ClientSession() as http:
        created = await create_interview(http, strict_server, n=2, candidate_id="silent")
        url = ws_url(strict_server, created)
        async with http.ws_connect(url) as ws:
            log = WsLog(ws)
            await log.next("session")
            first = await log.next("question")
            again = await log.next("question", timeout=30)
            assert again["question_id"] == first["question_id"]  # asked again after silence
            final = await log.next("transcript", timeout=30)
            assert final["is_final"] and final["text"] == ""
            nxt = await log.next("question", timeout=30)
            assert nxt["index"] == 1
            metrics = await log.next("turn_metrics")
            assert metrics["latency_ms"]["end_reason"] == "no_answer"
            ev = await log.next("evaluation", timeout=120)
            assert ev["question_id"] == first["question_id"]
            # Silence after the reprompt is a non-answer: it scores at the bottom and counts.
            assert ev["score"] == 0 and ev["status"] == "scored"


async def test_too_long_answer_ends_with_what_was_said(strict_server: ServerProcess) -> None:
    speech = load_fixture("sql_vs_nosql.wav")  # 18 s; the limit is 4 s
    async with aiohttp.ClientSession() as http:
        created = await create_interview(http, strict_server, n=1, candidate_id="long")
        url = ws_url(strict_server, created)
        async with http.ws_connect(url) as ws:
            log = WsLog(ws)
            await answer_first_question(ws, log, speech)
            err = await log.next("error", timeout=60)
            assert err["code"] == "ANSWER_TOO_LONG"
            t = await final_transcript(log)
            assert "relational" in t["text"].lower()
            metrics = await log.next("turn_metrics")
            assert metrics["latency_ms"]["end_reason"] == "max_length"
            # A frame over the limit gets an error; the socket stays usable.
            await ws.send_bytes(b"\0" * 70_000)
            assert (await log.next("error"))["code"] == "INVALID_MESSAGE"
            await log.send(type="ping")
            await log.next("pong")


async def test_sessions_over_the_limit_get_server_busy(strict_server: ServerProcess) -> None:
    async with aiohttp.ClientSession() as http:
        sockets = []
        try:
            for i in range(2):
                created = await create_interview(http, strict_server, n=1, candidate_id=f"busy{i}")
                ws = await http.ws_connect(
                    f"{strict_server.ws_base}/ws/interviews/{created['id']}"
                    f"?token={created['candidate_token']}"
                )
                sockets.append(ws)
                assert (await ws.receive_json())["type"] == "session"
            created = await create_interview(http, strict_server, n=1, candidate_id="busy-extra")
            async with http.ws_connect(
                f"{strict_server.ws_base}/ws/interviews/{created['id']}"
                f"?token={created['candidate_token']}"
            ) as ws:
                assert (await ws.receive_json())["code"] == "SERVER_BUSY"
                await ws.receive()
                assert ws.close_code == 1013
        finally:
            for ws in sockets:
                await ws.close()


async def test_reconnect_supersedes_the_old_socket(strict_server: ServerProcess) -> None:
    async with aiohttp.ClientSession() as http:
        created = await create_interview(http, strict_server, n=1, candidate_id="twice")
        url = ws_url(strict_server, created)
        async with http.ws_connect(url) as old:
            assert (await old.receive_json())["type"] == "session"
            async with http.ws_connect(url) as new:
                assert (await new.receive_json())["type"] == "session"
                while True:
                    msg = await old.receive()
                    if msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED):
                        break
                assert old.close_code == 4409


async def test_a_client_that_stops_sending_frames_still_ends_its_turn(
    server: ServerProcess,
) -> None:
    # Opus DTX, a client-side VAD or a stalled tab: frames stop when the voice stops.
    entry = next(m for m in manifest() if m["file"] == "why_this_company.wav")
    speech = load_fixture(entry["file"])[: int((entry["speech_end_s"] + 0.04) * 16000)]
    async with aiohttp.ClientSession() as http:
        created = await create_interview(http, server, n=2, candidate_id="dtx")
        async with http.ws_connect(ws_url(server, created)) as ws:
            log = WsLog(ws)
            q = await answer_first_question(ws, log, speech)
            # Not one frame more: the server's clock has to end the turn.
            nxt = await log.next("question", timeout=30)
            assert nxt["index"] == 1
            t = await final_transcript(log)
            assert t["question_id"] == q["question_id"]
            assert word_error_rate(entry["text"], t["text"]) < 0.35
            metrics = (await log.next("turn_metrics"))["latency_ms"]
            assert metrics["end_reason"] == "vad"
