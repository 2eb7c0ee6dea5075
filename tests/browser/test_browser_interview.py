"""A whole interview in a real browser: recruiter page, candidate page, microphone, resume.

Debian's Chromium runs headless under Playwright with a fake microphone that plays a WAV
file (``--use-file-for-fake-audio-capture=<wav>%noloop``; exact zeros once it ends). The
real server runs with the real models (the ``server`` fixture).

How the answers are timed, and why this way:

* One browser launch plays one file, from the moment the page opens the microphone
  (``getUserMedia``, on the Start button). The page streams the microphone while a
  question plays too (the server hears a candidate who talks over a question), so a
  file that starts talking too early would interrupt the question instead of answering
  it. Each file is therefore ``[lead silence] + answer + [tail]``, with the lead set to
  the question's *measured* audio length plus a margin.
* Rather than one long file for the whole interview (whose timing would depend on how
  fast speech-to-text and synthesis happen to run on this machine), each question gets
  its own browser launch with its own file. Question 1's audio length is read first by a
  short protocol probe (a WebSocket that reads the question and closes; the page then
  resumes at the same question). Question 2's length comes from the page itself.
* Question 2 is answered in a fresh browser: the candidate page opens, connects, and the
  server resumes at the first unanswered question. That exercises resume for real. This
  browser also uses the page's ``?codec=opus&out=opus`` (WebCodecs Opus both ways, where
  the browser has it), so both the PCM and the Opus paths are covered; question 1 is PCM.
* Taken over, then back: while question 2 is on screen in the first browser, a second
  socket with the candidate token connects (the server closes the page's socket with
  4409, superseded). The page must say it was taken over and must not reconnect on its
  own (two tabs would keep taking the interview from each other); "Continue here" takes
  it back, and the page shows question 2 again. (Other closes reconnect on their own:
  ``test_browser_client.py``.)

Screenshots of every stage (also at 360 px wide) go to ``test-artifacts/browser/``.
"""

from __future__ import annotations

import asyncio
import json
import math
import re
import shutil
import threading
import urllib.parse
import urllib.request
import uuid
from collections.abc import Coroutine
from concurrent.futures import Future
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import pytest
import soundfile as sf

from tests.audio_helpers import load_fixture, manifest
from tests.conftest import ADMIN_KEY, REPO, ServerProcess

pytestmark = [pytest.mark.browser, pytest.mark.models]

CHROMIUM = Path("/usr/bin/chromium")
if not CHROMIUM.is_file():
    pytest.skip("/usr/bin/chromium is not installed", allow_module_level=True)
sync_api = pytest.importorskip(
    "playwright.sync_api", reason="the playwright package is not installed"
)

ARTIFACTS = REPO / "test-artifacts" / "browser"
DESKTOP = {"width": 1100, "height": 900}
PHONE = {"width": 360, "height": 780}
# Two ~12-19 s answers in one voice, with no internal pause long enough to end a turn.
ANSWERS = ("sql_vs_nosql.wav", "changing_requirements.wav")
LEAD_MARGIN_S = 2.5  # page start-up + connect + playback lead, beyond the question audio
TAIL_S = 3.0
WER_BOUND = 0.4  # loose: AGC, noise suppression and the page's resampler are in the path

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

T = TypeVar("T")


def run_async(coro: Coroutine[Any, Any, T]) -> Future[T]:
    """Run a coroutine on its own loop in a thread (Playwright's sync API owns this one)."""
    fut: Future[T] = Future()

    def target() -> None:
        try:
            fut.set_result(asyncio.run(coro))
        except BaseException as e:
            fut.set_exception(e)

    threading.Thread(target=target, daemon=True).start()
    return fut


def fixture_entry(name: str) -> dict[str, Any]:
    return next(m for m in manifest() if m["file"] == name)


def mic_file(path: Path, answer: str, lead_s: float, tail_s: float = TAIL_S) -> Path:
    pcm = load_fixture(answer)
    silence = lambda s: np.zeros(int(s * 16000), dtype=np.int16)  # noqa: E731
    sf.write(path, np.concatenate([silence(lead_s), pcm, silence(tail_s)]), 16000, subtype="PCM_16")
    return path


def launch(pw: Any, wav: Path | None) -> Any:
    args = list(BROWSER_FLAGS)
    if wav is not None:
        args.append(f"--use-file-for-fake-audio-capture={wav.resolve()}%noloop")
    return pw.chromium.launch(executable_path=str(CHROMIUM), args=args)


def new_page(browser: Any, errors: list[str]) -> Any:
    page = browser.new_page(viewport=DESKTOP)
    page.on("pageerror", lambda e: errors.append(f"pageerror: {e}"))
    page.on(
        "console",
        lambda m: (
            errors.append(f"console: {m.text}")
            if m.type == "error" and "401" not in m.text
            else None
        ),
    )
    return page


def shot(page: Any, name: str, *, phone: bool = False) -> None:
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
    if phone:
        page.set_viewport_size(PHONE)
        page.screenshot(path=str(ARTIFACTS / f"{name}-360.png"), full_page=True)
        # A 360 px page must not scroll sideways.
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"{name}: page is {overflow}px wider than a 360 px screen"
        page.set_viewport_size(DESKTOP)


def vi(page: Any, expr: str) -> Any:
    return page.evaluate(f"() => {expr}")


def wait(page: Any, expr: str, timeout_s: float, what: str) -> None:
    try:
        page.wait_for_function(expr, timeout=timeout_s * 1000)
    except sync_api.TimeoutError as e:
        state = vi(
            page,
            "JSON.stringify({state: __vi.state, errors: __vi.errors, closes: __vi.closes,"
            " shown: __vi.questionsShown.length, transcripts: __vi.transcripts.slice(-3),"
            " audio: __vi.audio})",
        )
        raise AssertionError(f"timed out waiting for {what}; page: {state}") from e


async def probe_question(server: ServerProcess, interview_id: str, token: str) -> dict[str, Any]:
    """Connect as the candidate, read the current question and its audio length, leave."""
    import aiohttp

    url = f"{server.ws_base}/ws/interviews/{interview_id}?token={urllib.parse.quote(token)}"
    async with aiohttp.ClientSession() as http, http.ws_connect(url) as ws:
        question: dict[str, Any] | None = None
        while True:
            msg = await ws.receive(timeout=60)
            if msg.type != aiohttp.WSMsgType.TEXT:
                if msg.type == aiohttp.WSMsgType.BINARY:
                    continue
                raise AssertionError(f"probe socket closed: {msg.type} {msg.data!r}")
            data = json.loads(msg.data)
            if data["type"] == "question":
                question = data
            elif data["type"] == "question_audio_end" and question is not None:
                return {**question, "duration_ms": data["duration_ms"]}


async def supersede(server: ServerProcess, interview_id: str, token: str) -> dict[str, Any]:
    """Open a second candidate socket (the server closes the page's), then wait until the
    page's reconnect closes this one in turn."""
    import aiohttp

    url = f"{server.ws_base}/ws/interviews/{interview_id}?token={urllib.parse.quote(token)}"
    types: list[str] = []
    async with aiohttp.ClientSession() as http, http.ws_connect(url) as ws:
        while True:
            try:
                msg = await ws.receive(timeout=30)
            except TimeoutError:
                return {"types": types, "closed": False}
            if msg.type == aiohttp.WSMsgType.TEXT:
                types.append(json.loads(msg.data)["type"])
            elif msg.type != aiohttp.WSMsgType.BINARY:
                return {"types": types, "closed": True, "code": ws.close_code}


def rest(server: ServerProcess, path: str, *, token: str = ADMIN_KEY) -> dict[str, Any]:
    req = urllib.request.Request(
        f"{server.base}{path}",
        headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
    )
    with urllib.request.urlopen(req, timeout=30) as r:
        return dict(json.load(r))


def count_shown(page: Any, question_id: str) -> int:
    return int(
        vi(
            page,
            f"__vi.questionsShown.filter(q => q.question_id === {json.dumps(question_id)}).length",
        )
    )


def test_interview_in_the_browser(server: ServerProcess, tmp_path: Path) -> None:
    from voice_interview.bench.wer import word_error_rate

    if ARTIFACTS.exists():
        shutil.rmtree(ARTIFACTS)
    ARTIFACTS.mkdir(parents=True)
    errors: list[str] = []
    candidate_id = f"browser-{uuid.uuid4().hex[:8]}"

    with sync_api.sync_playwright() as pw:
        # ------------------------------------------------ recruiter: sign in, create, link
        recruiter_browser = launch(pw, None)
        rec = new_page(recruiter_browser, errors)
        rec.goto(f"{server.base}/")
        rec.wait_for_selector("#login:not([hidden])")
        rec.fill("#key", "not-the-key")
        rec.click("#login-submit")
        rec.wait_for_function(
            "document.getElementById('key-error').textContent.includes('not accepted')"
        )
        shot(rec, "01-recruiter-wrong-key")
        rec.fill("#key", ADMIN_KEY)
        rec.click("#login-submit")
        rec.wait_for_selector("#app:not([hidden])")
        rec.fill("#candidate", candidate_id)
        rec.fill("#role", "backend engineer")
        rec.fill("#num", "2")
        rec.click("#create")
        rec.wait_for_selector("#created:not([hidden])", timeout=60_000)
        link = rec.input_value("#link")
        m = re.fullmatch(re.escape(server.base) + r"/interview/([0-9a-f-]{36})\?token=(.+)", link)
        assert m, f"unexpected candidate link {link!r}"
        interview_id, token = m.group(1), urllib.parse.unquote(m.group(2))
        rec.wait_for_selector(f'#rows tr[data-id="{interview_id}"]')
        assert "Ready" in rec.inner_text(f'#rows tr[data-id="{interview_id}"]')
        shot(rec, "02-recruiter-created", phone=True)

        # The first question's audio length sets the first answer's lead silence.
        q1 = run_async(probe_question(server, interview_id, token)).result(timeout=120)
        mic1 = mic_file(
            tmp_path / "answer1.wav", ANSWERS[0], q1["duration_ms"] / 1000 + LEAD_MARGIN_S
        )

        # ------------------------------------------------ candidate, browser 1: question 1
        browser1 = launch(pw, mic1)
        page = new_page(browser1, errors)
        page.goto(link)
        page.wait_for_function("!document.getElementById('start').disabled")
        assert "2 questions" in page.inner_text("#intro-summary")
        shot(page, "03-candidate-intro", phone=True)
        page.click("#start")
        wait(page, "__vi.questionsShown.length >= 1", 60, "question 1")
        assert page.inner_text("#progress-label") == "Question 1 of 2"
        assert page.inner_text("#question-text") == q1["text"]
        assert vi(page, "__vi.codec") == "pcm_s16le"
        shot(page, "04-candidate-question1")
        wait(page, "__vi.state === 'listening'", 60, "the microphone to open after question 1")
        # Interim transcripts come while the candidate speaks (a loaded machine may skip
        # them, so any transcript on screen will do here).
        wait(page, "__vi.transcripts.length > 0", 120, "a transcript")
        shown = page.inner_text("#transcript")
        assert shown.strip() and "appear here" not in shown
        shot(page, "05-candidate-interim-transcript", phone=True)
        wait(page, "__vi.transcripts.some(t => t.is_final)", 90, "the final transcript of answer 1")
        final1 = vi(page, "__vi.transcripts.find(t => t.is_final)")
        assert final1["question_id"] == q1["question_id"] and final1["text"].strip()
        wait(page, "__vi.questionsShown.some(q => q.index === 1)", 60, "question 2")
        q2 = vi(page, "__vi.questionsShown.find(q => q.index === 1)")
        assert page.inner_text("#progress-label") == "Question 2 of 2"
        assert page.inner_text("#question-text") == q2["text"]
        wait(page, "__vi.state === 'listening'", 60, "question 2's audio to finish")
        q2_audio_ms = page.evaluate(
            "(id) => __vi.messages.find(m => m.type === 'question_audio_end'"
            " && m.question_id === id).duration_ms",
            q2["question_id"],
        )
        shot(page, "06-candidate-question2", phone=True)
        # Mic frames are exactly 20 ms of 16 kHz PCM16.
        frames, sent_bytes = vi(page, "[__vi.audio.framesSent, __vi.audio.bytesSent]")
        assert frames > 100 and sent_bytes == 640 * frames

        # ------------------------------------------------ taken over by another socket, then back
        opens_before = vi(page, "__vi.opens")
        shown_before = count_shown(page, q2["question_id"])
        other = run_async(supersede(server, interview_id, token))
        wait(page, "__vi.state === 'superseded'", 30, "the page to say it was taken over")
        assert "taken over" in page.inner_text("#phase")
        assert vi(page, "__vi.closes.at(-1).code") == 4409
        shot(page, "07-candidate-taken-over")
        page.wait_for_timeout(2500)  # past the first backoff periods: no reconnect of its own
        assert vi(page, "__vi.opens") == opens_before
        assert vi(page, "__vi.state") == "superseded"
        page.click("#reconnect-now")  # "Continue here"
        wait(
            page,
            f"__vi.opens > {opens_before} && __vi.questionsShown.filter(q => q.question_id === "
            f"{json.dumps(q2['question_id'])}).length > {shown_before}",
            30,
            "the page to reconnect and show question 2 again",
        )
        other_result = other.result(timeout=60)
        assert other_result["closed"], f"the page's reconnect did not take over: {other_result}"
        assert other_result["code"] == 4409, other_result
        assert page.inner_text("#question-text") == q2["text"]
        assert page.inner_text("#progress-label") == "Question 2 of 2"
        wait(
            page, "__vi.state === 'question' || __vi.state === 'listening'", 30, "the resumed turn"
        )
        shot(page, "07-candidate-continued-here")
        browser1.close()

        # ------------------------------------------------ candidate, browser 2: question 2
        mic2 = mic_file(tmp_path / "answer2.wav", ANSWERS[1], q2_audio_ms / 1000 + LEAD_MARGIN_S)
        browser2 = launch(pw, mic2)
        page = new_page(browser2, errors)
        page.goto(f"{link}&codec=opus&out=opus")
        page.wait_for_function("!document.getElementById('start').disabled")
        assert page.inner_text("#start") == "Continue interview"
        assert "answered 1 of 2" in page.inner_text("#intro-summary")
        page.click("#start")
        wait(page, "__vi.questionsShown.length >= 1", 60, "the resumed question")
        assert vi(page, "__vi.questionsShown[0].question_id") == q2["question_id"], (
            "did not resume at question 2"
        )
        assert page.inner_text("#progress-label") == "Question 2 of 2"
        if vi(page, "typeof AudioEncoder !== 'undefined' && typeof AudioDecoder !== 'undefined'"):
            assert vi(page, "__vi.codec") == "opus"
            wait(page, "__vi.outputCodec === 'opus'", 30, "Opus question audio")
        wait(page, "__vi.state === 'listening'", 60, "question 2's audio to play")
        assert vi(page, "__vi.player.ended") > 0, "no question audio was played"
        wait(
            page, "__vi.transcripts.some(t => t.is_final)", 120, "the final transcript of answer 2"
        )
        final2 = vi(page, "__vi.transcripts.find(t => t.is_final)")
        assert final2["question_id"] == q2["question_id"] and final2["text"].strip()
        wait(page, "__vi.complete !== null", 300, "interview_complete")
        page.wait_for_selector("#final:not([hidden])")
        overall = page.inner_text("#overall-score")
        assert re.fullmatch(r"\d+ / 100", overall), (
            f"no overall score on the final screen: {overall!r}"
        )
        results = page.inner_text("#results")
        assert "Question 2" in results and "Score:" in results
        shot(page, "08-candidate-final", phone=True)
        browser2.close()

        # ------------------------------------------------ stored answers, via REST
        report = rest(server, f"/api/interviews/{interview_id}/feedback")
        assert report["status"] == "completed"
        assert len(report["answers"]) == 2
        for answer, name in zip(report["answers"], ANSWERS, strict=True):
            assert answer["source"] == "voice", answer
            assert answer["transcript"] and answer["transcript"].strip(), answer
            assert answer["evaluation"] is not None, answer
            assert answer["evaluation"]["status"] in ("scored", "insufficient_data"), answer[
                "evaluation"
            ]
            wer = word_error_rate(fixture_entry(name)["text"], answer["transcript"])
            print(f"{name}: WER {wer:.2f}: {answer['transcript']!r}")
            assert wer <= WER_BOUND, f"{name}: WER {wer:.2f} for {answer['transcript']!r}"
        assert report["answers"][0]["question"]["id"] == q1["question_id"]
        assert report["answers"][1]["question"]["id"] == q2["question_id"]
        assert overall == f"{math.floor(report['overall_score'] + 0.5)} / 100"

        # ------------------------------------------------ recruiter: table and report
        rec.click("#refresh")
        row = f'#rows tr[data-id="{interview_id}"]'
        rec.wait_for_function(
            "(row) => document.querySelector(row)?.dataset.status === 'completed'", arg=row
        )
        assert overall.split(" ")[0] in rec.inner_text(row)
        shot(rec, "09-recruiter-list", phone=True)
        rec.click(f"{row} button:has-text('Report')")
        rec.wait_for_selector("#report[open]")
        frame = rec.frame_locator("#report-frame")
        frame.locator("text=Interview report").first.wait_for()
        assert q1["text"] in frame.locator("body").inner_text()
        shot(rec, "10-recruiter-report")
        recruiter_browser.close()

    assert not errors, "\n".join(errors)


def create_interview(server: ServerProcess, num_questions: int) -> dict[str, Any]:
    body = json.dumps(
        {"candidate_id": f"keys-{uuid.uuid4().hex[:8]}", "num_questions": num_questions}
    )
    req = urllib.request.Request(
        f"{server.base}/api/interviews",
        data=body.encode(),
        method="POST",
        headers={"Authorization": f"Bearer {ADMIN_KEY}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(req, timeout=30) as r:
        return dict(json.load(r))


def press(page: Any, selector: str, key: str = "Enter") -> None:
    """Operate a control from the keyboard, as a candidate without a mouse would."""
    page.focus(selector)
    page.keyboard.press(key)


def test_candidate_controls_from_the_keyboard(server: ServerProcess, tmp_path: Path) -> None:
    """The other candidate paths, keyboard only, on a silent microphone: a bad link,
    pause and resume, repeat the question, "I'm done" with nothing said (it asks for a
    second press), and a typed answer that completes the interview."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    errors: list[str] = []
    created = create_interview(server, 2)
    interview_id = created["id"]
    token = urllib.parse.quote(created["candidate_token"])
    link = f"{server.base}/interview/{interview_id}?token={token}"
    silent = tmp_path / "silence.wav"
    sf.write(silent, np.zeros(16000 * 120, dtype=np.int16), 16000, subtype="PCM_16")

    with sync_api.sync_playwright() as pw:
        browser = launch(pw, silent)
        bad = new_page(browser, errors)
        bad.goto(f"{server.base}/interview/{interview_id}?token=not-a-token")
        wait(bad, "__vi.state === 'fatal'", 30, "the bad-link message")
        assert "not valid" in bad.inner_text("#alert")
        assert bad.is_disabled("#start")
        shot(bad, "11-candidate-bad-link", phone=True)
        bad.close()

        page = new_page(browser, errors)
        page.goto(link)
        page.wait_for_function("!document.getElementById('start').disabled")
        press(page, "#start")
        wait(page, "__vi.state === 'listening'", 60, "question 1")
        q1 = vi(page, "__vi.questionsShown[0]")

        press(page, "#pause")
        wait(page, "__vi.state === 'paused'", 30, "the pause")
        assert page.is_visible("#resume") and not page.is_visible("#pause")
        assert rest(server, f"/api/interviews/{interview_id}")["status"] == "paused"
        shot(page, "12-candidate-paused")
        press(page, "#resume", " ")
        wait(page, "__vi.questionsShown.length >= 2", 30, "the question again after resume")
        wait(page, "__vi.state === 'listening'", 60, "the mic after resume")
        assert rest(server, f"/api/interviews/{interview_id}")["status"] == "in_progress"

        press(page, "#repeat")
        wait(page, "__vi.questionsShown.length >= 3", 30, "the repeated question")
        assert vi(page, "__vi.questionsShown[2].question_id") == q1["question_id"]
        wait(page, "__vi.state === 'listening'", 60, "the mic after the repeat")

        press(page, "#done")
        assert "press again" in page.inner_text("#done")
        press(page, "#done")
        wait(page, "__vi.questionsShown.some(q => q.index === 1)", 60, "question 2 after skipping")
        q2 = vi(page, "__vi.questionsShown.find(q => q.index === 1)")

        press(page, "#typed summary")
        page.focus("#typed-text")
        typed = "I would cache hot reads in Redis with a time to live and delete keys on write."
        page.keyboard.type(typed)
        wait(page, "!document.getElementById('typed-send').disabled", 30, "the send button")
        press(page, "#typed-send")
        wait(page, "__vi.complete !== null", 300, "interview_complete")
        page.wait_for_selector("#final:not([hidden])")
        assert page.evaluate("document.activeElement.id") == "final-title"
        shot(page, "13-candidate-typed-final", phone=True)
        browser.close()

    report = rest(server, f"/api/interviews/{interview_id}/feedback")
    first, second = report["answers"]
    assert first["question"]["id"] == q1["question_id"] and first["source"] == "none"
    assert second["question"]["id"] == q2["question_id"] and second["source"] == "text"
    assert second["transcript"] == typed
    assert not errors, "\n".join(errors)
