"""The candidate page's ES modules, without a browser.

* Every relative ``import`` in ``server/static/*.js`` names a file that is there, and
  the page loads its entry as a module.
* With Node.js (skipped without it): every file parses, and the pure modules
  (``uplink.js``: the send queue under back-pressure; ``protocol.js``: the named close
  and error codes) behave as the page relies on. Their values match ``protocol.py``.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from voice_interview import protocol as p

STATIC = Path(p.__file__).parent / "server" / "static"
NODE = shutil.which("node")
IMPORT = re.compile(r"""^\s*import\s[^'"]*?from\s+['"](\./[^'"]+)['"]""", re.M)

needs_node = pytest.mark.skipif(NODE is None, reason="node is not installed")


def js_files() -> list[Path]:
    return sorted(STATIC.glob("*.js"))


def test_relative_imports_resolve() -> None:
    seen = 0
    for f in js_files():
        for target in IMPORT.findall(f.read_text()):
            seen += 1
            assert (STATIC / target).is_file(), f"{f.name} imports missing {target}"
    assert seen >= 10


def test_candidate_page_loads_a_module() -> None:
    html = (STATIC / "interview.html").read_text()
    assert '<script type="module" src="/static/candidate.js"></script>' in html


def run_node(script: str) -> object:
    assert NODE is not None
    out = subprocess.run(
        [NODE, "--input-type=module", "-e", script],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


@needs_node
@pytest.mark.parametrize("path", js_files(), ids=lambda f: f.name)
def test_parses(path: Path) -> None:
    assert NODE is not None
    out = subprocess.run(
        [NODE, "--check", str(path)], capture_output=True, text=True, timeout=60, check=False
    )
    assert out.returncode == 0, out.stderr


@needs_node
def test_protocol_constants_match_the_server() -> None:
    got = run_node(
        f"const m = await import({json.dumps((STATIC / 'protocol.js').as_uri())});"
        "console.log(JSON.stringify({close: m.CLOSE, err: m.ERR, resumed: m.RESUMED,"
        " reason: m.REASON,"
        " actions: [4401, 4404, 4409, 1013, 1000, 1006, 4000].map(m.closeAction),"
        " cancelled: [m.isCancelled({code: 'INTERVIEW_NOT_ACTIVE', reason: 'cancelled'}),"
        "  m.isCancelled({code: 'INTERVIEW_NOT_ACTIVE', message: 'this interview was cancelled'}),"
        "  m.isCancelled({code: 'INTERVIEW_NOT_ACTIVE', message: 'every question is answered'})],"
        " idle: [m.isIdleTimeout({code: 'INVALID_MESSAGE', reason: 'idle_timeout'}),"
        "  m.isIdleTimeout({code: 'INVALID_MESSAGE', message: 'closed after being idle too long'}),"
        "  m.isIdleTimeout({code: 'INVALID_MESSAGE', message: 'not JSON'})]}))"
    )
    assert isinstance(got, dict)
    close = got["close"]
    assert got["reason"] == {
        "IDLE_TIMEOUT": p.REASON_IDLE_TIMEOUT,
        "CANCELLED": p.REASON_CANCELLED,
    }
    assert close["UNAUTHORIZED"] == p.CLOSE_UNAUTHORIZED
    assert close["NOT_FOUND"] == p.CLOSE_NOT_FOUND
    assert close["OVERLOADED"] == p.CLOSE_OVERLOADED
    assert close["SUPERSEDED"] == p.CLOSE_SUPERSEDED
    for name in (
        "INTERVIEW_NOT_FOUND",
        "UNAUTHORIZED",
        "INVALID_MESSAGE",
        "UNSUPPORTED_AUDIO",
        "AUDIO_DECODE_ERROR",
        "INTERVIEW_NOT_ACTIVE",
        "ANSWER_TOO_LONG",
        "EVALUATION_FAILED",
        "SERVER_BUSY",
        "INTERNAL_ERROR",
    ):
        assert got["err"][name] == getattr(p, name)
    assert got["resumed"] == {"CONTINUED": p.RESUMED_CONTINUED, "BARGE_IN": p.RESUMED_BARGE_IN}
    assert got["actions"] == [
        "unauthorized",
        "not_found",
        "superseded",
        "busy",
        "retry",
        "retry",
        "retry",
    ]
    assert got["cancelled"] == [True, True, False]
    assert got["idle"] == [True, True, False]


UPLINK_SCRIPT = """
const { Uplink } = await import(%s);
const sent = [];
const ws = { readyState: 1, bufferedAmount: 0, send: (d) => sent.push(d) };
const changes = [];
const up = new Uplink({ highWaterBytes: 1000, maxQueuedMs: 200, maxMessageBytes: 640 * 4,
                        onChange: (s) => changes.push({ ...s }) });
const frame = (v) => new Uint8Array(640).fill(v).buffer;
const out = {};
up.sendAudio(ws, frame(1), { ms: 20 });              // room: straight out
out.direct = [sent.length, up.queue.length];
ws.bufferedAmount = 5000;                            // the network stalls
for (let i = 2; i <= 8; i++) up.sendAudio(ws, frame(i), { ms: 20 });
up.sendText(ws, '{"type":"end_of_answer"}');         // waits behind the audio
out.stalled = [sent.length, up.stats.framesQueued, up.stats.queuedMs, up.stats.backpressure];
for (let i = 9; i <= 20; i++) up.sendAudio(ws, frame(i), { ms: 20 });   // over the bound
out.bounded = [up.stats.queuedMs, up.stats.framesDropped, up.stats.droppedMs];
ws.bufferedAmount = 0;                               // the network is back
up.pump(ws);
out.after = [up.queue.length, up.stats.backpressure, up.stats.framesSent, up.stats.bytesSent];
out.messages = sent.map((d) => typeof d === 'string' ? d : Array.from(new Set(new Uint8Array(d))));
out.sizes = sent.map((d) => typeof d === 'string' ? -1 : d.byteLength);
// Opus packets are never merged; a closed socket drops what waits.
const sent2 = [];
const ws2 = { readyState: 1, bufferedAmount: 5000, send: (d) => sent2.push(d) };
const up2 = new Uplink({ highWaterBytes: 1000 });
const packet = () => new Uint8Array(80).buffer;
for (let i = 0; i < 3; i++) up2.sendAudio(ws2, packet(), { ms: 20, coalesce: false });
ws2.bufferedAmount = 0;
up2.pump(ws2);
out.opus = sent2.map((d) => d.byteLength);
ws2.bufferedAmount = 5000;
up2.sendAudio(ws2, packet(), { ms: 20, coalesce: false });
up2.clear();
out.cleared = [up2.queue.length, up2.stats.framesDropped, up2.timer];
out.closed = up2.sendAudio({ readyState: 3 }, packet());
out.changes = changes.length;
console.log(JSON.stringify(out));
"""


@needs_node
def test_uplink_queues_coalesces_and_bounds() -> None:
    got = run_node(UPLINK_SCRIPT % json.dumps((STATIC / "uplink.js").as_uri()))
    assert isinstance(got, dict)
    assert got["direct"] == [1, 0]
    # Stalled: nothing more goes out; 7 frames (140 ms) wait, under the 200 ms report mark.
    assert got["stalled"] == [1, 7, 140, False]
    # 19 frames offered while stalled, 200 ms kept: the 9 oldest are dropped and counted.
    assert got["bounded"] == [200, 9, 180]
    assert got["after"][:2] == [0, False]
    assert got["after"][2] == 1 + 10 and got["after"][3] == 640 * 11
    # Frames 2-10 were dropped (the end_of_answer sat behind them and keeps its place:
    # first out after the drop, then the kept frames 11-20, coalesced four to a message).
    messages = got["messages"]
    assert messages[0] == [1]
    assert messages[1] == '{"type":"end_of_answer"}'
    assert got["sizes"][2:] == [640 * 4, 640 * 4, 640 * 2]
    assert sorted(v for m in messages[2:] for v in m) == list(range(11, 21))
    assert got["opus"] == [80, 80, 80]
    assert got["cleared"] == [0, 1, None]
    assert got["closed"] is False
    assert got["changes"] >= 2
