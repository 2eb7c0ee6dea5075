"""The candidate page in a real browser against a scripted server (no models, no turn loop).

A small aiohttp app serves the real page and its real ES modules from
``voice_interview/server/static`` and a WebSocket that says exactly what each test tells
it to, so client behaviour the real server only shows in rare moments is checked here:

* the microphone streams while a question plays, with echo cancellation, noise
  suppression and auto gain asked for;
* ``question_audio_cancel`` flushes the player at once (queued and late frames never
  play); ``turn_resumed`` goes back to that question, listening, and says so
  ("Go on" / "Go ahead"); the transcript keeps the last final for the question (a later
  final replaces it, never appended twice); a question sent again is shown once;
* a close with 4409 (taken over by another connection) stops the page without
  reconnecting until the candidate presses "Continue here"; other closes reconnect;
* a stalled network (``bufferedAmount`` held high) queues microphone audio, says so,
  drops only beyond the bound and counts it, then sends the queue coalesced.

Chromium and Playwright as in ``test_browser_interview.py``; skipped without them.
"""

from __future__ import annotations

import asyncio
import json
import math
import re
import threading
import time
import wave
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiohttp import WSMsgType, web

from tests.conftest import free_port
from voice_interview import protocol as p

pytestmark = [pytest.mark.browser]

CHROMIUM = Path("/usr/bin/chromium")
if not CHROMIUM.is_file():
    pytest.skip("/usr/bin/chromium is not installed", allow_module_level=True)
sync_api = pytest.importorskip(
    "playwright.sync_api", reason="the playwright package is not installed"
)

STATIC = Path(p.__file__).parent / "server" / "static"
IID = "5d1c0f0e-0000-4000-8000-000000000001"
OUT_RATE = 16000
BROWSER_FLAGS = [
    "--use-fake-ui-for-media-stream",
    "--use-fake-device-for-media-stream",
    "--autoplay-policy=no-user-gesture-required",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Records getUserMedia's constraints; lets a test hold bufferedAmount high (a stalled network).
INIT_SCRIPT = """
(() => {
  const gum = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
  navigator.mediaDevices.getUserMedia = (c) => { window.__gum = c; return gum(c); };
  const real = Object.getOwnPropertyDescriptor(WebSocket.prototype, 'bufferedAmount');
  Object.defineProperty(WebSocket.prototype, 'bufferedAmount', {
    configurable: true,
    get() { return (window.__fakeBuffered || 0) + real.get.call(this); },
  });
})();
"""
Q1 = {
    "type": "question",
    "question_id": "q-1",
    "text": "How would you process a million jobs a day?",
    "question_type": "technical",
    "difficulty": "medium",
    "index": 0,
    "total": 2,
}
Q2 = {
    "type": "question",
    "question_id": "q-2",
    "text": "Tell me about a time a plan changed late.",
    "question_type": "behavioral",
    "difficulty": "easy",
    "index": 1,
    "total": 2,
}
SESSION = {
    "type": "session",
    "interview_id": IID,
    "status": "in_progress",
    "input_audio": {"encoding": "pcm_s16le", "sample_rate": 16000},
    "output_audio": {"encoding": "pcm_s16le", "sample_rate": OUT_RATE},
}


# ---------------------------------------------------------------- the scripted server


@dataclass
class Conn:
    ws: web.WebSocketResponse
    texts: list[dict[str, Any]] = field(default_factory=list)
    binary_sizes: list[int] = field(default_factory=list)
    closed: bool = False

    @property
    def binary_bytes(self) -> int:
        return sum(self.binary_sizes)


class ScriptedServer:
    """The real static page and a WebSocket driven from the test thread."""

    def __init__(self) -> None:
        self.port = free_port()
        self.conns: list[Conn] = []
        self.loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_until_complete(self._serve())

    async def _serve(self) -> None:
        app = web.Application()
        app.router.add_get("/interview/{id}", self._page)
        app.router.add_get("/api/interviews/{id}", self._interview)
        app.router.add_get("/ws/interviews/{id}", self._ws)
        app.router.add_static("/static/", STATIC)
        runner = web.AppRunner(app)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", self.port).start()
        self._stop = asyncio.Event()
        self._ready.set()
        await self._stop.wait()
        await runner.cleanup()

    async def _page(self, _request: web.Request) -> web.StreamResponse:
        return web.FileResponse(STATIC / "interview.html")

    async def _interview(self, _request: web.Request) -> web.Response:
        return web.json_response(
            {"id": IID, "status": "ready", "total": 2, "current_question_index": 0}
        )

    async def _ws(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        conn = Conn(ws)
        self.conns.append(conn)
        async for msg in ws:
            if msg.type == WSMsgType.TEXT:
                conn.texts.append(json.loads(msg.data))
            elif msg.type == WSMsgType.BINARY:
                conn.binary_sizes.append(len(msg.data))
        conn.closed = True
        return ws

    def start(self) -> None:
        self._thread.start()
        assert self._ready.wait(10), "scripted server did not start"

    def stop(self) -> None:
        if self._stop is not None:
            self.loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)

    def call(self, make: Callable[[], Coroutine[Any, Any, Any]]) -> Any:
        return asyncio.run_coroutine_threadsafe(make(), self.loop).result(10)

    def send(self, i: int, *msgs: dict[str, Any]) -> None:
        ws = self.conns[i].ws

        async def go() -> None:
            for m in msgs:
                await ws.send_str(json.dumps(m))

        self.call(go)

    def send_audio(self, i: int, seconds: float, chunk_ms: int = 100) -> None:
        """Question audio: a quiet 220 Hz tone, PCM s16le at OUT_RATE, in chunks."""
        ws = self.conns[i].ws
        n = int(OUT_RATE * chunk_ms / 1000)
        chunk = b"".join(
            int(2000 * math.sin(2 * math.pi * 220 * k / OUT_RATE)).to_bytes(
                2, "little", signed=True
            )
            for k in range(n)
        )

        async def go() -> None:
            for _ in range(round(seconds * 1000 / chunk_ms)):
                await ws.send_bytes(chunk)

        self.call(go)

    def close(self, i: int, code: int, reason: str) -> None:
        ws = self.conns[i].ws

        async def go() -> None:
            await ws.close(code=code, message=reason.encode())

        self.call(go)

    def wait_conns(self, n: int, timeout_s: float = 15) -> None:
        until_ = time.monotonic() + timeout_s
        while len(self.conns) < n:
            assert time.monotonic() < until_, f"expected {n} connections, have {len(self.conns)}"
            time.sleep(0.05)

    def wait_text(self, i: int, kind: str, timeout_s: float = 15) -> dict[str, Any]:
        until_ = time.monotonic() + timeout_s
        while True:
            for m in self.conns[i].texts:
                if m.get("type") == kind:
                    return m
            assert time.monotonic() < until_, f"no {kind} from the page: {self.conns[i].texts}"
            time.sleep(0.05)


# ---------------------------------------------------------------- fixtures and helpers


@pytest.fixture
def scripted() -> Iterator[ScriptedServer]:
    server = ScriptedServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def silence(tmp_path: Path) -> Path:
    path = tmp_path / "silence.wav"
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes(b"\0\0" * 16000 * 30)
    return path


@pytest.fixture
def browser(silence: Path) -> Iterator[Any]:
    with sync_api.sync_playwright() as pw:
        b = pw.chromium.launch(
            executable_path=str(CHROMIUM),
            args=[*BROWSER_FLAGS, f"--use-file-for-fake-audio-capture={silence.resolve()}"],
        )
        yield b
        b.close()


def open_page(browser: Any, server: ScriptedServer, errors: list[str]) -> Any:
    page = browser.new_page()
    page.add_init_script(INIT_SCRIPT)
    page.on("pageerror", lambda e: errors.append(f"pageerror: {e}"))
    page.on("console", lambda m: errors.append(f"console: {m.text}") if m.type == "error" else None)
    page.goto(f"{server.base}/interview/{IID}?token=t0ken")
    page.wait_for_function("!document.getElementById('start').disabled")
    page.click("#start")
    server.wait_conns(1)
    server.wait_text(0, "session.update")
    return page


def js(page: Any, expr: str) -> Any:
    return page.evaluate(f"() => {expr}")


def wait(page: Any, expr: str, what: str, timeout_s: float = 15) -> None:
    try:
        page.wait_for_function(expr, timeout=timeout_s * 1000)
    except sync_api.TimeoutError as e:
        state = js(
            page,
            "JSON.stringify({state: __vi.state, phase: document.getElementById('phase')"
            ".textContent, errors: __vi.errors, closes: __vi.closes, audio: __vi.audio,"
            " player: __vi.playerState()})",
        )
        raise AssertionError(f"timed out waiting for {what}; page: {state}") from e


def text(page: Any, selector: str) -> str:
    return str(page.inner_text(selector)).strip()


def until(cond: Callable[[], bool], what: str, timeout_s: float = 10) -> None:
    end = time.monotonic() + timeout_s
    while not cond():
        assert time.monotonic() < end, f"timed out waiting for {what}"
        time.sleep(0.05)


def ask(server: ScriptedServer, q: dict[str, Any], audio_s: float, *, end: bool = True) -> None:
    i = len(server.conns) - 1  # the page's current socket
    server.send(i, q)
    server.send_audio(i, audio_s)
    if end:
        server.send(
            i,
            {
                "type": "question_audio_end",
                "question_id": q["question_id"],
                "duration_ms": int(audio_s * 1000),
            },
        )


def transcript_is(value: str) -> str:
    return f"document.getElementById('transcript').textContent === {json.dumps(value)}"


GO_ON = re.compile(r"Go on, I[’']m listening")
GO_AHEAD = re.compile(r"Go ahead, I[’']m listening")


# ---------------------------------------------------------------- tests


def test_resumed_turn_flushes_audio_and_keeps_the_last_transcript(
    scripted: ScriptedServer, browser: Any
) -> None:
    errors: list[str] = []
    page = open_page(browser, scripted, errors)
    gum = js(page, "window.__gum")
    assert gum["audio"]["echoCancellation"] is True
    assert gum["audio"]["noiseSuppression"] is True
    assert gum["audio"]["autoGainControl"] is True

    scripted.send(0, SESSION)
    ask(scripted, Q1, 2.0, end=False)
    wait(page, "__vi.state === 'question'", "question 1")
    assert text(page, "#question-text") == Q1["text"]
    # The microphone streams while the question is still being asked.
    until(lambda: len(scripted.conns[0].binary_sizes) >= 10, "microphone audio during a question")
    assert js(page, "__vi.state") == "question"
    assert text(page, "#mic-state") == "on"
    scripted.send(0, {"type": "question_audio_end", "question_id": "q-1", "duration_ms": 2000})
    wait(page, "__vi.state === 'listening'", "the end of question 1's audio")

    scripted.send(
        0,
        {"type": "transcript", "question_id": "q-1", "text": "I would use", "is_final": False},
    )
    wait(page, transcript_is("I would use"), "interim")
    first = "I would use a queue."
    scripted.send(0, {"type": "transcript", "question_id": "q-1", "text": first, "is_final": True})
    wait(page, "__vi.state === 'answered'", "the end of answer 1")

    # Question 2 starts playing; the candidate goes on with answer 1.
    received = js(page, "__vi.audio.binaryReceived")
    ask(scripted, Q2, 6.0, end=False)
    wait(
        page,
        f"__vi.state === 'question' && __vi.audio.binaryReceived >= {received + 60}"
        " && __vi.playerState().scheduled >= 5",
        "question 2 audio",
    )
    assert text(page, "#question-text") == Q2["text"]
    chunks_before = js(page, "__vi.player.chunks")
    scripted.send(0, {"type": "question_audio_cancel", "question_id": "q-2"})
    scripted.send_audio(0, 0.5)  # frames already on their way when the server cancelled
    scripted.send(0, {"type": "turn_resumed", "question_id": "q-1", "reason": "continued"})
    wait(page, "__vi.resumes.length === 1", "turn_resumed")
    player = js(page, "__vi.playerState()")
    assert player["scheduled"] == 0 and not player["busy"] and player["tag"] is None, player
    assert js(page, "__vi.player.cancelled") == 1
    assert js(page, "__vi.player.cancelledChunks") > 0
    assert js(page, "__vi.cancels") == [{"question_id": "q-2", "wasPlaying": True}]
    assert js(page, "__vi.player.chunks") == chunks_before, "late frames of a cancelled question"
    assert js(page, "__vi.state") == "listening"
    assert GO_ON.fullmatch(text(page, "#phase").rstrip(".")), text(page, "#phase")
    assert text(page, "#question-text") == Q1["text"]
    assert text(page, "#progress-label") == "Question 1 of 2"
    assert text(page, "#transcript") == first
    assert not page.is_disabled("#done")

    # Interim text of the resumed answer: after what was heard, never twice.
    scripted.send(
        0, {"type": "transcript", "question_id": "q-1", "text": "and a worker", "is_final": False}
    )
    wait(page, transcript_is(first + " and a worker"), "interim after the earlier text")
    whole = "I would use a queue and a worker"
    scripted.send(0, {"type": "transcript", "question_id": "q-1", "text": whole, "is_final": False})
    wait(page, transcript_is(whole), "a whole-answer interim shown once")
    second = "I would use a queue and a worker pool."
    scripted.send(0, {"type": "transcript", "question_id": "q-1", "text": second, "is_final": True})
    wait(page, "__vi.state === 'answered'", "the end of the resumed answer")
    assert text(page, "#transcript") == second

    # Question 2 again (not a second copy), and this time the candidate talks over it.
    ask(scripted, Q2, 6.0, end=False)
    wait(page, "__vi.state === 'question' && __vi.playerState().scheduled >= 5", "question 2 again")
    assert text(page, "#question-text") == Q2["text"]
    assert text(page, "#progress-label") == "Question 2 of 2"
    scripted.send(
        0,
        {"type": "question_audio_cancel", "question_id": "q-2"},
        {"type": "turn_resumed", "question_id": "q-1", "reason": "barge_in"},
    )
    wait(page, "__vi.resumes.length === 2", "the second turn_resumed")
    assert js(page, "__vi.playerState().scheduled") == 0
    assert GO_AHEAD.fullmatch(text(page, "#phase").rstrip(".")), text(page, "#phase")
    assert text(page, "#transcript") == second  # the last final, not the first
    third = "I would use a queue, a worker pool and retries."
    scripted.send(0, {"type": "transcript", "question_id": "q-1", "text": third, "is_final": True})
    wait(page, "__vi.state === 'answered'", "the end of the second resumed answer")

    # Asked a third time, it plays to the end and opens the turn as usual.
    ask(scripted, Q2, 0.4)
    wait(page, "__vi.state === 'listening'", "question 2's turn")
    assert text(page, "#question-text") == Q2["text"]
    scripted.send(
        0,
        {
            "type": "transcript",
            "question_id": "q-2",
            "text": "We moved a launch.",
            "is_final": True,
        },
        {
            "type": "evaluation",
            "answer_id": "a-1",
            "question_id": "q-1",
            "score": 71.0,
            "feedback": "Good.",
            "strengths": [],
            "weaknesses": [],
            "status": "scored",
        },
        {"type": "interview_complete", "overall_score": 71.0, "feedback_url": "/x"},
    )
    page.wait_for_selector("#final:not([hidden])")
    results = text(page, "#results")
    assert results.count(Q1["text"]) == 1 and results.count(Q2["text"]) == 1, results
    assert js(page, "document.querySelectorAll('#results > li').length") == 2
    page.click("#results > li:first-child summary")
    answer1 = text(page, "#results > li:first-child details .transcript")
    assert answer1 == third
    assert js(page, "__vi.questionsShown.length") == 4  # the log keeps every question message
    assert not errors, "\n".join(errors)


def test_taken_over_stops_and_waits_for_the_candidate(
    scripted: ScriptedServer, browser: Any
) -> None:
    errors: list[str] = []
    page = open_page(browser, scripted, errors)
    scripted.send(0, SESSION)
    ask(scripted, Q1, 0.3)
    wait(page, "__vi.state === 'listening'", "question 1's turn")

    scripted.close(0, p.CLOSE_SUPERSEDED, "taken over by another connection")
    wait(page, "__vi.state === 'superseded'", "the taken-over notice")
    assert "taken over" in text(page, "#phase")
    assert "taken over" in text(page, "#alert")
    assert page.is_visible("#reconnect-now") and text(page, "#reconnect-now") == "Continue here"
    assert js(page, "__vi.superseded") is True
    time.sleep(3)  # several backoff periods: nothing may reconnect on its own
    assert len(scripted.conns) == 1
    assert js(page, "__vi.connects") == 1
    assert js(page, "__vi.state") == "superseded"

    # The candidate takes it back here.
    page.click("#reconnect-now")
    scripted.wait_conns(2)
    scripted.wait_text(1, "session.update")
    scripted.send(1, SESSION)
    ask(scripted, Q1, 0.3)
    wait(page, "__vi.state === 'listening'", "question 1 again after taking it back")
    assert page.is_hidden("#alert")

    # Any other drop still reconnects on its own.
    scripted.close(1, 1011, "INTERNAL_ERROR")
    scripted.wait_conns(3, timeout_s=10)
    assert js(page, "__vi.superseded") is False
    assert not errors, "\n".join(errors)


def test_slow_network_queues_audio_reports_and_catches_up(
    scripted: ScriptedServer, browser: Any
) -> None:
    errors: list[str] = []
    page = open_page(browser, scripted, errors)
    scripted.send(0, SESSION)
    ask(scripted, Q1, 0.3)
    wait(page, "__vi.state === 'listening'", "question 1's turn")
    until(lambda: len(scripted.conns[0].binary_sizes) > 20, "microphone audio")
    assert page.is_hidden("#net")

    js(page, "window.__fakeBuffered = 1e9")  # the socket's buffer looks full
    wait(page, "__vi.audio.backpressure === true", "back-pressure")
    wait(page, "!document.getElementById('net').hidden", "the slow-network notice")
    assert "network is slow" in text(page, "#net") and "queued" in text(page, "#net")
    held = len(scripted.conns[0].binary_sizes)
    time.sleep(1)
    assert len(scripted.conns[0].binary_sizes) == held, "audio went out past a full buffer"
    # Past the 8 s bound the oldest audio is dropped, counted and reported.
    wait(page, "__vi.audio.framesDropped > 0", "a drop past the bound", timeout_s=20)
    assert "could not be sent" in text(page, "#net")
    assert js(page, "__vi.audio.framesQueued") <= 400 + 2

    js(page, "window.__fakeBuffered = 0")  # the network is back
    wait(page, "__vi.audio.framesQueued === 0 && !__vi.audio.backpressure", "the queue to drain")
    sent = js(page, "[__vi.audio.framesSent, __vi.audio.bytesSent]")
    assert sent[1] == 640 * sent[0]
    until(lambda: scripted.conns[0].binary_bytes >= sent[1], "the queued audio at the server")
    assert max(scripted.conns[0].binary_sizes) > 640, "queued PCM was not coalesced"
    assert max(scripted.conns[0].binary_sizes) <= 64 * 1024
    assert "could not be sent" in text(page, "#net")  # the loss stays reported
    assert not errors, "\n".join(errors)
