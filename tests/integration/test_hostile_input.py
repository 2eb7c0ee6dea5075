"""Hostile clients beside a normal interview, all against one real server process.

While a candidate answers two questions by text, other clients send broken and hostile
input: random and truncated JSON, wrong types, huge numbers, invalid base64, odd-length
PCM, garbage and truncated Opus / Ogg / WebM, frames of several MB, rapid reconnects,
unknown interview ids and wrong tokens, garbage REST bodies. Each hostile frame must get
the documented ``error`` code (or close code), the hostile socket must stay usable where
the protocol says so, the normal interview must complete, and /health must answer.

Every loop is bounded by a count; every wait by a timeout. Loopback only.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import random
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import aiohttp
import numpy as np
import pytest

from tests.audio_helpers import mux_opus, tone
from tests.conftest import ServerProcess, start_server
from tests.integration.client import ADMIN, WsLog, create_interview

pytestmark = pytest.mark.models

MIB = 1 << 20
MAX_WS = MIB  # the default VI_MAX_WS_MESSAGE_BYTES; the framework closes above 4x that
REPLY_TIMEOUT = 60.0


@pytest.fixture(scope="module")
def hostile_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    srv = start_server(
        tmp_path_factory.mktemp("hostile"),
        {"VI_RATE_LIMIT_PER_MINUTE": "100000", "VI_MAX_WS_MESSAGE_BYTES": str(MAX_WS)},
    )
    yield srv
    srv.stop()


def ws_url(server: ServerProcess, iid: str, token: str) -> str:
    return f"{server.ws_base}/ws/interviews/{iid}?token={token}"


class Hostile:
    """One hostile client: its own interview and socket, paused so that noise it sends
    is decoded (and its errors reported) but never taken as an answer."""

    def __init__(self, log: WsLog, created: dict[str, Any]) -> None:
        self.log = log
        self.created = created
        self.frames = 0

    @classmethod
    async def open(cls, http: aiohttp.ClientSession, server: ServerProcess, name: str) -> Hostile:
        created = await create_interview(http, server, n=1, candidate_id=f"hostile-{name}")
        ws = await http.ws_connect(ws_url(server, created["id"], created["candidate_token"]))
        log = WsLog(ws)
        await log.next("session", timeout=REPLY_TIMEOUT)
        await log.next("question", timeout=REPLY_TIMEOUT)
        await log.send(type="pause")
        paused = await log.next("session", timeout=REPLY_TIMEOUT)
        assert paused["status"] == "paused"
        return cls(log, created)

    async def probe(
        self,
        send: Callable[[], Awaitable[None]],
        *,
        expect: str | None = None,
        allowed: frozenset[str] = frozenset(),
        what: object = "",
    ) -> list[str]:
        """Send one frame, then a ping; the errors before the pong are this frame's.

        ``expect``: exactly one error with that code. Otherwise: errors only from
        ``allowed`` (none if it is empty). The socket must still answer the ping.
        """
        before = len(self.log.of_type("error"))
        await send()
        self.frames += 1
        await self.log.send(type="ping")
        await self.log.next("pong", timeout=REPLY_TIMEOUT)
        codes = [e["code"] for e in self.log.of_type("error")[before:]]
        if expect is not None:
            assert codes == [expect], (what, codes)
        else:
            assert set(codes) <= allowed, (what, codes)
        return codes

    async def text(self, data: str, expect: str | None = None, **kw: Any) -> list[str]:
        return await self.probe(
            lambda: self.log.ws.send_str(data), expect=expect, what=data[:120], **kw
        )

    async def binary(self, data: bytes, expect: str | None = None, **kw: Any) -> list[str]:
        return await self.probe(
            lambda: self.log.ws.send_bytes(data), expect=expect, what=data[:40], **kw
        )

    async def message(self, msg: dict[str, Any], expect: str | None = None) -> list[str]:
        return await self.text(json.dumps(msg), expect)

    async def close(self) -> None:
        await self.log.ws.close()


# ---------------------------------------------------------------- the hostile clients


async def random_and_truncated_json(http: aiohttp.ClientSession, server: ServerProcess) -> int:
    h = await Hostile.open(http, server, "json")
    rng = random.Random(1)
    valid = [
        {"type": "ping"},
        {"type": "text_answer", "question_id": str(uuid.uuid4()), "answer_text": "hello"},
        {"type": "session.update", "input_audio": {"encoding": "opus", "sample_rate": 48000}},
        {"type": "audio_chunk", "chunk_data": "AAAA", "is_final": False},
    ]
    frames: list[str] = []
    for msg in valid:  # every strict prefix of a JSON object is invalid JSON
        text = json.dumps(msg)
        frames += [text[:k] for k in sorted(rng.sample(range(1, len(text)), 6))]
    alphabet = '{}[]":,.-0123456789eE truefalsnul\\"abc\n\t'
    for _ in range(25):
        frames.append("".join(rng.choice(alphabet) for _ in range(rng.randint(1, 80))))
    frames += ["".join(chr(rng.randint(1, 0xD7FF)) for _ in range(40)) for _ in range(5)]
    frames += [
        "",
        " ",
        "null",
        "[]",
        '"ping"',
        "123",
        "{}",
        '{"type": null}',
        '{"TYPE": "ping"}',
        '{"type": "ping"',
        "[" * 50_000 + "]" * 50_000,  # nesting deep enough to blow the recursion limit
        '{"a":' * 20_000 + "1" + "}" * 20_000,
    ]
    for frame in frames:
        await h.text(frame, "INVALID_MESSAGE")
    await h.close()
    return h.frames


async def wrong_types(http: aiohttp.ClientSession, server: ServerProcess) -> int:
    h = await Hostile.open(http, server, "types")
    qid = str(uuid.uuid4())
    cases: list[tuple[dict[str, Any], str]] = [
        ({"type": 5}, "INVALID_MESSAGE"),
        ({"type": ["ping"]}, "INVALID_MESSAGE"),
        ({"type": {"ping": 1}}, "INVALID_MESSAGE"),
        ({"type": "warp_drive"}, "INVALID_MESSAGE"),
        ({"type": "x" * 100_000}, "INVALID_MESSAGE"),
        ({"type": "audio_chunk", "chunk_data": 123}, "INVALID_MESSAGE"),
        ({"type": "audio_chunk", "chunk_data": ["AAAA"]}, "INVALID_MESSAGE"),
        ({"type": "audio_chunk", "chunk_data": "AAAA", "is_final": "yes"}, "INVALID_MESSAGE"),
        ({"type": "audio_chunk", "chunk_data": "AAAA", "is_final": 1}, "INVALID_MESSAGE"),
        ({"type": "text_answer", "question_id": 7, "answer_text": "x"}, "INVALID_MESSAGE"),
        ({"type": "text_answer", "question_id": "", "answer_text": "x"}, "INVALID_MESSAGE"),
        ({"type": "text_answer", "question_id": qid, "answer_text": ["x"]}, "INVALID_MESSAGE"),
        ({"type": "text_answer", "question_id": qid, "answer_text": None}, "INVALID_MESSAGE"),
        ({"type": "text_answer", "question_id": qid, "answer_text": "  \n "}, "INVALID_MESSAGE"),
        (
            {"type": "text_answer", "question_id": qid, "answer_text": "a" * 10_001},
            "ANSWER_TOO_LONG",
        ),
        # A well-formed answer, but the interview is paused.
        ({"type": "text_answer", "question_id": qid, "answer_text": "hi"}, "INTERVIEW_NOT_ACTIVE"),
        ({"type": "session.update", "input_audio": "pcm_s16le"}, "INVALID_MESSAGE"),
        ({"type": "session.update", "input_audio": {"encoding": 5}}, "INVALID_MESSAGE"),
        ({"type": "session.update", "input_audio": {"encoding": "mp3"}}, "UNSUPPORTED_AUDIO"),
        ({"type": "session.update", "output_audio": {"encoding": "ogg_opus"}}, "UNSUPPORTED_AUDIO"),
        (
            {"type": "session.update", "input_audio": {"encoding": "opus", "sample_rate": "48k"}},
            "INVALID_MESSAGE",
        ),
        (
            {
                "type": "session.update",
                "output_audio": {"encoding": "pcm_s16le", "sample_rate": True},
            },
            "INVALID_MESSAGE",
        ),
        ({"type": "session.update", "output_audio": []}, "INVALID_MESSAGE"),
    ]
    for msg, code in cases:
        await h.message(msg, code)
    await h.close()
    return h.frames


async def huge_numbers(http: aiohttp.ClientSession, server: ServerProcess) -> int:
    h = await Hostile.open(http, server, "numbers")

    def update(rate: str) -> str:
        return (
            '{"type":"session.update","input_audio":{"encoding":"pcm_s16le","sample_rate":'
            + rate
            + "}}"
        )

    cases = [
        (update(str(10**30)), "UNSUPPORTED_AUDIO"),
        (update(str(2**63)), "UNSUPPORTED_AUDIO"),
        (update("-16000"), "UNSUPPORTED_AUDIO"),
        (update("0"), "UNSUPPORTED_AUDIO"),
        (update("7999"), "UNSUPPORTED_AUDIO"),
        (update("192001"), "UNSUPPORTED_AUDIO"),
        (update("16000.5"), "INVALID_MESSAGE"),
        (update("1e308"), "INVALID_MESSAGE"),
        (update("1e999"), "INVALID_MESSAGE"),  # parsed as infinity
        (update("-1e999"), "INVALID_MESSAGE"),
        (update("NaN"), "INVALID_MESSAGE"),
        (update("Infinity"), "INVALID_MESSAGE"),
        ('{"type":"audio_chunk","chunk_data":"","is_final":1e999}', "INVALID_MESSAGE"),
        ('{"type":"ping","n":' + "9" * 4000 + "}", None),  # big, but under the digit limit
    ]
    for frame, code in cases:
        if code is None:
            await h.text(frame)  # no error: a valid ping with an unknown field
        else:
            await h.text(frame, code)
    await h.close()
    return h.frames


async def invalid_base64(http: aiohttp.ClientSession, server: ServerProcess) -> int:
    h = await Hostile.open(http, server, "base64")
    for data in [
        "!!!!",
        "AAA",
        "A",
        "AAAAA",
        "YWJj\n",
        "====",
        "A=AA",
        "AA==AA==",
        "é" * 8,
        "-_-_",
    ]:
        await h.message({"type": "audio_chunk", "chunk_data": data}, "INVALID_MESSAGE")
    # Valid base64 of odd-length PCM is fine: the odd byte waits for the next chunk.
    for n in (1, 3, 641, 999):
        raw = base64.b64encode(bytes(range(256)) * 4)[: 4 * ((n + 2) // 3)]
        await h.message({"type": "audio_chunk", "chunk_data": raw.decode()})
    await h.close()
    return h.frames


async def odd_length_pcm(http: aiohttp.ClientSession, server: ServerProcess) -> int:
    h = await Hostile.open(http, server, "pcm")
    rng = random.Random(2)
    for n in [0, 1, 3, 5, 639, 641, 4001, 32_001]:
        await h.binary(rng.randbytes(n))
    # Rates at the edges of what is allowed, then odd bytes again.
    for rate in (8000, 192000, 44100):
        update = {
            "type": "session.update",
            "input_audio": {"encoding": "pcm_s16le", "sample_rate": rate},
        }
        await h.message(update)
        await h.log.next("session", timeout=REPLY_TIMEOUT)
        for n in (1, 7, 1023):
            await h.binary(rng.randbytes(n))
    await h.close()
    return h.frames


async def bad_compressed_audio(http: aiohttp.ClientSession, server: ServerProcess) -> int:
    h = await Hostile.open(http, server, "codecs")
    rng = random.Random(3)
    decode_error = frozenset({"AUDIO_DECODE_ERROR"})

    async def use(encoding: str) -> None:
        update = {
            "type": "session.update",
            "input_audio": {"encoding": encoding, "sample_rate": 48000},
        }
        await h.message(update)
        await h.log.next("session", timeout=REPLY_TIMEOUT)

    # Raw Opus packets: a TOC byte with no frame count is always refused; random packets
    # are either refused or decoded (Opus takes most byte strings as some packet).
    await use("opus")
    await h.binary(b"\x03", "AUDIO_DECODE_ERROR")
    for _ in range(25):
        await h.binary(rng.randbytes(rng.randint(1, 400)), allowed=decode_error)
    for packet in _opus_packets()[:5]:
        await h.binary(packet)  # good packets still decode after the garbage

    for encoding, fmt in (("ogg_opus", "ogg"), ("webm_opus", "webm")):
        # Garbage instead of a container.
        await use(encoding)
        await h.binary(b"this is not an audio container, just text" * 20, "AUDIO_DECODE_ERROR")
        # A fresh stream cut short: no error, the rest simply never comes.
        stream = mux_opus(fmt, tone(16000, 1.0))
        await use(encoding)
        await h.binary(stream[: len(stream) // 2])
        await h.binary(stream[len(stream) // 2 : len(stream) // 2 + 7])
        # Random bytes and a corrupted stream: refused or skipped, never anything else.
        await use(encoding)
        for _ in range(10):
            await h.binary(rng.randbytes(rng.randint(1, 3000)), allowed=decode_error)
        corrupted = bytearray(stream)
        for _ in range(20):
            corrupted[rng.randrange(len(corrupted))] = rng.randrange(256)
        await use(encoding)
        for i in range(0, len(corrupted), 700):
            await h.binary(bytes(corrupted[i : i + 700]), allowed=decode_error)
    await h.close()
    return h.frames


_PACKETS: list[bytes] = []


def _opus_packets() -> list[bytes]:
    if not _PACKETS:
        from tests.audio_helpers import raw_opus_packets

        _PACKETS.extend(raw_opus_packets(tone(16000, 0.2)))
    return _PACKETS


async def oversized_frames(http: aiohttp.ClientSession, server: ServerProcess) -> int:
    h = await Hostile.open(http, server, "big")
    # Over VI_MAX_WS_MESSAGE_BYTES: an error, the frame is dropped, the socket stays.
    await h.binary(b"\x00" * (2 * MIB), "INVALID_MESSAGE")
    await h.binary(np.random.default_rng(4).bytes(3 * MIB), "INVALID_MESSAGE")
    pad = "x" * (2 * MIB)
    await h.text(json.dumps({"type": "ping", "pad": pad}), "INVALID_MESSAGE")
    b64 = base64.b64encode(b"\x00" * (MIB + 3)).decode()
    await h.message({"type": "audio_chunk", "chunk_data": b64}, "INVALID_MESSAGE")
    # Just under the limit is accepted (decoded and dropped: paused).
    await h.binary(b"\x00" * (MAX_WS - 2))
    # Over 4x the limit: the framework closes the socket with 1009 (message too big).
    with contextlib.suppress(ConnectionError):  # the server may close while we still send
        await h.log.ws.send_bytes(b"\x00" * (5 * MIB))
    h.frames += 1
    closing = await _until_closed(h.log.ws)
    # The server closes with 1009; when that lands while the client is still writing the
    # frame, the client sees the connection reset instead (1006).
    assert closing in (1009, 1006), closing
    return h.frames


async def _until_closed(ws: aiohttp.ClientWebSocketResponse, timeout: float = 30) -> int | None:
    """Read (and drop) what is left until the socket closes; its close code."""
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        assert left > 0, "the socket was not closed"
        msg = await ws.receive(timeout=left)
        if msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.ERROR):
            return ws.close_code


async def rapid_reconnects(http: aiohttp.ClientSession, server: ServerProcess) -> int:
    created = await create_interview(http, server, n=1, candidate_id="hostile-reconnect")
    url = ws_url(server, created["id"], created["candidate_token"])
    count = 0
    for i in range(15):
        ws = await http.ws_connect(url)
        count += 1
        if i % 3:
            first = await ws.receive_json(timeout=REPLY_TIMEOUT)
            assert first["type"] == "session", first
        await ws.close()  # at once, often before the first question went out
    # Five at once: each one that takes over closes the one before it (4409), so exactly
    # one socket is left, and it works.
    sockets = list(await asyncio.gather(*(http.ws_connect(url) for _ in range(5))))
    count += len(sockets)
    waits = [asyncio.create_task(_until_closed(ws, timeout=REPLY_TIMEOUT)) for ws in sockets]
    pending: set[asyncio.Task[int | None]] = set(waits)
    codes: list[int | None] = []
    while len(pending) > 1:
        done, pending = await asyncio.wait(
            pending, timeout=REPLY_TIMEOUT, return_when=asyncio.FIRST_COMPLETED
        )
        assert done, "superseded sockets were not closed"
        codes += [t.result() for t in done]
    assert codes == [4409] * 4, codes
    left = pending.pop()
    left.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await left
    survivor = WsLog(sockets[waits.index(left)])
    await survivor.send(type="ping")
    await survivor.next("pong", timeout=REPLY_TIMEOUT)
    await survivor.ws.close()
    return count


async def unknown_ids_and_wrong_tokens(http: aiohttp.ClientSession, server: ServerProcess) -> int:
    created = await create_interview(http, server, n=1, candidate_id="hostile-ids")
    other = await create_interview(http, server, n=1, candidate_id="hostile-ids-2")
    iid, token = created["id"], created["candidate_token"]
    cases = [
        (ws_url(server, str(uuid.uuid4()), "test-admin-key"), "INTERVIEW_NOT_FOUND", 4404),
        (ws_url(server, "not-a-uuid", "test-admin-key"), "INTERVIEW_NOT_FOUND", 4404),
        (ws_url(server, "0" * 2000, "test-admin-key"), "INTERVIEW_NOT_FOUND", 4404),
        (ws_url(server, "%2e%2e%2f%2e%2e%2fetc", "test-admin-key"), "INTERVIEW_NOT_FOUND", 4404),
        (ws_url(server, str(uuid.uuid4()), token), "UNAUTHORIZED", 4401),
        (ws_url(server, other["id"], token), "UNAUTHORIZED", 4401),
        (ws_url(server, iid, ""), "UNAUTHORIZED", 4401),
        (ws_url(server, iid, "wrong"), "UNAUTHORIZED", 4401),
        (ws_url(server, iid, token[:-3]), "UNAUTHORIZED", 4401),
        (ws_url(server, iid, token + "x"), "UNAUTHORIZED", 4401),
        (ws_url(server, iid, other["candidate_token"]), "UNAUTHORIZED", 4401),
        (f"{server.ws_base}/ws/interviews/{iid}", "UNAUTHORIZED", 4401),
        (ws_url(server, iid, "A" * 4000), "UNAUTHORIZED", 4401),
    ]
    for url, code, close_code in cases:
        async with http.ws_connect(url) as ws:
            msg = await ws.receive_json(timeout=REPLY_TIMEOUT)
            assert (msg["type"], msg["code"]) == ("error", code), (url[:120], msg)
            assert await _until_closed(ws) == close_code, url[:120]
    # A request line over the HTTP parser's limit is refused before any upgrade.
    with pytest.raises(aiohttp.ClientResponseError):
        await http.ws_connect(ws_url(server, iid, "A" * 20_000))
    # The right token still works after all that.
    async with http.ws_connect(ws_url(server, iid, token)) as ws:
        assert (await ws.receive_json(timeout=REPLY_TIMEOUT))["type"] == "session"
    return len(cases) + 2


async def garbage_rest_bodies(http: aiohttp.ClientSession, server: ServerProcess) -> int:
    url = f"{server.base}/api/interviews"
    bodies: list[tuple[bytes, int]] = [
        (b"{nope", 400),
        (b"\xff\xfe\x00garbage", 400),
        (b'{"candidate_id": "x", "num_questions": ' + b"9" * 5000 + b"}", 400),
        (b"[" * 5000 + b"]" * 5000, 400),
        (b'{"a":' * 1500 + b"1" + b"}" * 1500, 400),  # under 16 KiB, over the recursion limit
        (b'"just a string"', 400),
        (b'{"candidate_id": "x", "num_questions": 1e999}', 400),
        (b'{"candidate_id": "x", "num_questions": NaN}', 400),
        (b" " * (17 * 1024), 413),
        (b"{" + b" " * (4 * MIB) + b"}", 413),
    ]
    for body, status in bodies:
        async with http.post(url, data=body, headers=ADMIN) as r:
            assert r.status == status, (body[:60], r.status, await r.text())
            assert r.content_type == "application/json"
            assert (await r.json())["error"]["code"] in ("INVALID_REQUEST", "PAYLOAD_TOO_LARGE")
    return len(bodies)


HOSTILE = [
    random_and_truncated_json,
    wrong_types,
    huge_numbers,
    invalid_base64,
    odd_length_pcm,
    bad_compressed_audio,
    oversized_frames,
    rapid_reconnects,
    unknown_ids_and_wrong_tokens,
    garbage_rest_bodies,
]


# ---------------------------------------------------------------- the normal candidate


async def normal_interview(http: aiohttp.ClientSession, server: ServerProcess) -> dict[str, Any]:
    created = await create_interview(http, server, n=2, candidate_id="normal-candidate")
    async with http.ws_connect(ws_url(server, created["id"], created["candidate_token"])) as ws:
        log = WsLog(ws)
        assert (await log.next("session", timeout=REPLY_TIMEOUT))["status"] == "in_progress"
        answers = [
            "I would measure first, find the slowest query with a profiler, add an index and "
            "a regression test, then watch the latency dashboards after the release.",
            "I would listen to my teammate, write both options down with their costs, agree "
            "on a small experiment, and follow up with the team after a week.",
        ]
        for i, answer in enumerate(answers):
            q = await log.next("question", timeout=REPLY_TIMEOUT)
            assert q["index"] == i
            await log.send(type="text_answer", question_id=q["question_id"], answer_text=answer)
        done = await log.next("interview_complete", timeout=300)
        assert not log.of_type("error"), log.of_type("error")
        assert len(log.of_type("evaluation")) == 2
        return done


async def test_normal_interview_completes_beside_hostile_clients(
    hostile_server: ServerProcess,
) -> None:
    started = time.monotonic()
    async with aiohttp.ClientSession() as http:
        # A TaskGroup: if one client fails, the others are cancelled and the error shows.
        async with asyncio.timeout(420), asyncio.TaskGroup() as group:
            normal = group.create_task(normal_interview(http, hostile_server))
            hostile = [group.create_task(client(http, hostile_server)) for client in HOSTILE]
        counts = [t.result() for t in hostile]
        done = normal.result()
        assert done["type"] == "interview_complete"
        async with http.get(f"{hostile_server.base}/health") as r:
            assert r.status == 200 and (await r.json())["status"] == "ok"
        async with http.get(
            f"{hostile_server.base}/api/interviews/{_normal_id(done)}/feedback", headers=ADMIN
        ) as r:
            report = await r.json()
        assert report["status"] == "completed"
        assert all(a["evaluation"]["status"] != "pending" for a in report["answers"])
    assert sum(counts) > 200, counts
    # No fault of the server's own code was logged. (aiohttp itself logs the over-long
    # request line at error level, with a traceback: that one is expected.)
    for record in _log_records(hostile_server):
        if record.get("level") in ("error", "critical"):
            expected = record.get("logger") == "aiohttp.server" and "LineTooLong" in str(
                record.get("exc")
            )
            assert expected, record
    print(
        f"hostile frames: {dict(zip((c.__name__ for c in HOSTILE), counts, strict=True))}; "
        f"{time.monotonic() - started:.1f} s"
    )


def _log_records(server: ServerProcess) -> list[dict[str, Any]]:
    records = []
    for line in server.log().splitlines():
        if line.startswith("{"):
            records.append(json.loads(line))
    return records


def _normal_id(done: dict[str, Any]) -> str:
    url = str(done["feedback_url"])
    return url.split("/")[3]


# ---------------------------------------------------------------- edge cases found by fuzzing


async def test_integer_over_the_digit_limit_is_an_invalid_message(
    hostile_server: ServerProcess,
) -> None:
    async with aiohttp.ClientSession() as http:
        h = await Hostile.open(http, hostile_server, "digits")
        await h.text('{"type":"ping","n":' + "9" * 5000 + "}", "INVALID_MESSAGE")
        await h.close()


async def test_oversized_first_frame_gets_an_error(hostile_server: ServerProcess) -> None:
    async with aiohttp.ClientSession() as http:
        created = await create_interview(http, hostile_server, n=1, candidate_id="hostile-first")
        url = ws_url(hostile_server, created["id"], created["candidate_token"])
        async with http.ws_connect(url) as ws:
            await ws.send_bytes(b"\x00" * (2 * MIB))  # before the server reads anything
            log = WsLog(ws)
            await log.send(type="ping")
            await log.next("pong", timeout=REPLY_TIMEOUT)
            assert [e["code"] for e in log.of_type("error")] == ["INVALID_MESSAGE"]
