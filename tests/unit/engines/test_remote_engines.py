"""The remote inference clients (engines/remote_llm.py, remote_stt.py) against a real
HTTP server on 127.0.0.1 that answers as it is told: retries, backoff, timeouts, the
in-flight bound, error messages; the verbose_json mapping; which engines load.

The tests against real inference servers (llama_cpp.server, faster-whisper-server) are
in tests/integration/test_remote_inference.py."""

from __future__ import annotations

import json
import math
import threading
import time
import urllib.error
import wave
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from io import BytesIO
from typing import Any

import numpy as np
import pytest

from tests.conftest import free_port
from voice_interview.engines.llm import LLMError
from voice_interview.engines.models import ModelNotFoundError
from voice_interview.engines.registry import llm_engine, local_roles, resolve_all
from voice_interview.engines.remote_llm import (
    HttpEndpoint,
    RemoteError,
    RemoteLLM,
    RemoteModel,
    request_fields,
)
from voice_interview.engines.remote_stt import multipart, to_transcript, wav_bytes
from voice_interview.settings import Settings, SettingsError, load_settings

Reply = tuple[int, dict[str, str], bytes]


@dataclass
class Recorder:
    """What the server saw, and how it answers (one function per request)."""

    answer: Callable[[str, str, bytes, int], Reply]
    requests: list[tuple[str, str, dict[str, str], bytes]] = field(default_factory=list)
    times: list[float] = field(default_factory=list)
    open_now: int = 0
    peak: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


@pytest.fixture
def server() -> Iterator[tuple[str, Recorder]]:
    rec = Recorder(lambda method, path, body, n: (200, {}, b"{}"))

    class Handler(BaseHTTPRequestHandler):
        def _handle(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            with rec.lock:
                rec.requests.append((self.command, self.path, dict(self.headers), body))
                rec.times.append(time.monotonic())
                n = len(rec.requests)
                rec.open_now += 1
                rec.peak = max(rec.peak, rec.open_now)
            try:
                status, headers, data = rec.answer(self.command, self.path, body, n)
            finally:
                with rec.lock:
                    rec.open_now -= 1
            if status == 0:  # hang up without an answer
                self.close_connection = True
                self.connection.close()
                return
            self.send_response(status)
            for k, v in {"Content-Type": "application/json", **headers}.items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = _handle

        def log_message(self, format: str, *args: Any) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/v1", rec
    finally:
        httpd.shutdown()
        httpd.server_close()


def endpoint(url: str, **kw: Any) -> HttpEndpoint:
    opts: dict[str, Any] = {
        "what": "test server", "timeout_s": 2.0, "retries": 2, "backoff_s": 0.05,
        "max_in_flight": 4,
    }
    opts.update(kw)
    return HttpEndpoint(url, **opts)


def chat_reply(content: str, finish: str = "stop") -> bytes:
    return json.dumps(
        {"choices": [{"message": {"role": "assistant", "content": content},
                      "finish_reason": finish}]}
    ).encode()


# -- HttpEndpoint -----------------------------------------------------------------------


def test_5xx_is_retried_with_exponential_backoff(server: tuple[str, Recorder]) -> None:
    url, rec = server
    rec.answer = lambda m, p, b, n: (503, {}, b'{"error": {"message": "busy"}}') if n < 3 else (
        200, {}, b'{"ok": true}')
    ep = endpoint(url, backoff_s=0.1)
    assert ep.post_json("x", {}) == {"ok": True}
    assert len(rec.requests) == 3
    gaps = [b - a for a, b in zip(rec.times, rec.times[1:], strict=False)]
    assert 0.09 <= gaps[0] < 0.5 and 0.19 <= gaps[1] < 0.7  # 0.1 s, then 0.2 s


def test_retries_end_in_an_error_quoting_the_server(server: tuple[str, Recorder]) -> None:
    url, rec = server
    rec.answer = lambda m, p, b, n: (500, {}, b'{"error": {"message": "model crashed"}}')
    with pytest.raises(RemoteError) as info:
        endpoint(url).post_json("chat/completions", {})
    assert len(rec.requests) == 3  # 1 + 2 retries
    msg = str(info.value)
    assert "failed after 3 attempts" in msg and "HTTP 500: model crashed" in msg
    assert f"{url}/chat/completions" in msg
    assert isinstance(info.value.__cause__, urllib.error.HTTPError)


def test_4xx_is_not_retried(server: tuple[str, Recorder]) -> None:
    url, rec = server
    rec.answer = lambda m, p, b, n: (400, {}, b'{"detail": "bad field"}')
    with pytest.raises(RemoteError, match="answered HTTP 400: bad field"):
        endpoint(url).post_json("x", {})
    assert len(rec.requests) == 1


def test_429_and_hang_ups_are_retried(server: tuple[str, Recorder]) -> None:
    url, rec = server
    replies: list[Reply] = [(429, {}, b"slow down"), (0, {}, b""), (200, {}, b"[1]")]
    rec.answer = lambda m, p, b, n: replies[n - 1]
    assert endpoint(url).get_json("models") == [1]
    assert len(rec.requests) == 3


def test_connection_refused_is_retried_then_a_clear_error() -> None:
    url = f"http://127.0.0.1:{free_port()}/v1"  # nothing listens there
    ep = endpoint(url, retries=3, backoff_s=0.05)
    started = time.monotonic()
    with pytest.raises(RemoteError) as info:
        ep.post_json("chat/completions", {})
    assert ep.attempts == 4
    assert time.monotonic() - started >= 0.05 + 0.1 + 0.2  # the backoff was waited
    assert "failed after 4 attempts" in str(info.value)
    assert "refused" in str(info.value).lower()
    assert isinstance(info.value.__cause__, urllib.error.URLError)


def test_no_answer_within_the_timeout_is_not_retried(server: tuple[str, Recorder]) -> None:
    url, rec = server

    def slow(m: str, p: str, b: bytes, n: int) -> Reply:
        time.sleep(1.0)
        return 200, {}, b"{}"

    rec.answer = slow
    started = time.monotonic()
    with pytest.raises(RemoteError, match=r"did not answer within 0.3 s") as info:
        endpoint(url, timeout_s=0.3).post_json("x", {})
    assert time.monotonic() - started < 0.9
    assert len(rec.requests) == 1
    assert isinstance(info.value.__cause__, TimeoutError)


def test_an_answer_that_is_not_json(server: tuple[str, Recorder]) -> None:
    url, rec = server
    rec.answer = lambda m, p, b, n: (200, {"Content-Type": "text/html"}, b"<html>")
    with pytest.raises(RemoteError, match="not JSON"):
        endpoint(url).get_json("models")


def test_in_flight_requests_are_bounded(server: tuple[str, Recorder]) -> None:
    url, rec = server

    def slow(m: str, p: str, b: bytes, n: int) -> Reply:
        time.sleep(0.2)
        return 200, {}, b"{}"

    rec.answer = slow
    ep = endpoint(url, max_in_flight=2)
    threads = [threading.Thread(target=ep.post_json, args=("x", {})) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert len(rec.requests) == 6
    assert rec.peak == 2 and ep.peak_in_flight == 2


def test_api_key_is_a_bearer_token(server: tuple[str, Recorder]) -> None:
    url, rec = server
    endpoint(url, api_key="k-123").get_json("models")
    assert rec.requests[0][2]["Authorization"] == "Bearer k-123"


@pytest.mark.parametrize(
    "kw",
    [{"timeout_s": 0}, {"retries": -1}, {"max_in_flight": 0}, {"backoff_s": -1.0}],
)
def test_bad_limits_are_refused(kw: dict[str, Any]) -> None:
    with pytest.raises(SettingsError):
        endpoint("http://127.0.0.1:1/v1", **kw)


def test_a_url_without_a_scheme_is_refused() -> None:
    with pytest.raises(SettingsError, match="http:// or https://"):
        endpoint("127.0.0.1:8000/v1")


# -- RemoteLLM --------------------------------------------------------------------------


def llm_settings(url: str, **kw: Any) -> Settings:
    return Settings(llm_url=url, remote_backoff_s=0.01, llm_timeout_s=5, **kw)


def test_remote_llm_request_and_answer(server: tuple[str, Recorder]) -> None:
    url, rec = server
    rec.answer = lambda m, p, b, n: (
        (200, {}, b'{"object": "list", "data": [{"id": "smol"}]}')
        if p.endswith("/models")
        else (200, {}, chat_reply('{"feedback": "fine"}'))
    )
    llm = RemoteLLM(llm_settings(url, llm_seed=7))
    schema = {"type": "object", "properties": {"feedback": {"type": "string"}}}
    assert llm.complete_json("sys", "usr", schema, max_tokens=33) == {"feedback": "fine"}
    assert llm.complete_json("s", "u", schema, max_tokens=5, temperature=0.5, seed=3)
    paths = [r[1] for r in rec.requests]
    assert paths == ["/v1/models", "/v1/chat/completions", "/v1/chat/completions"]
    body = json.loads(rec.requests[1][3])
    assert body["model"] == "smol"
    assert body["messages"] == [
        {"role": "system", "content": "sys"}, {"role": "user", "content": "usr"}
    ]
    assert body["response_format"] == {"type": "json_object", "schema": schema}
    assert body["repeat_penalty"] == 1.0  # as LocalLLM samples (the server's default: 1.1)
    assert (body["max_tokens"], body["temperature"], body["seed"]) == (33, 0.0, 7)
    again = json.loads(rec.requests[2][3])
    assert (again["temperature"], again["seed"]) == (0.5, 3)
    info = llm.model_info
    assert isinstance(info, RemoteModel) and info.name == "smol"
    assert info.describe()["url"] == url and info.describe()["sha256"] is None
    with pytest.raises(OSError):
        _ = info.sha256


def test_remote_llm_openai_dialect_and_named_model(server: tuple[str, Recorder]) -> None:
    url, rec = server
    rec.answer = lambda m, p, b, n: (200, {}, chat_reply("{}"))
    llm = RemoteLLM(llm_settings(url, llm_remote_model="m1", llm_dialect="openai"))
    llm.complete_json("s", "u", {"type": "object"}, max_tokens=4)
    assert [r[1] for r in rec.requests] == ["/v1/chat/completions"]  # /models not asked
    body = json.loads(rec.requests[0][3])
    assert body["model"] == "m1"
    assert "repeat_penalty" not in body  # OpenAI's fields only
    assert body["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "answer", "schema": {"type": "object"}, "strict": True},
    }


def test_unknown_dialect_is_refused() -> None:
    with pytest.raises(SettingsError, match="VI_LLM_DIALECT"):
        request_fields("grammar", {})
    with pytest.raises(SettingsError, match="VI_LLM_DIALECT"):
        RemoteLLM(Settings(llm_url="http://127.0.0.1:1/v1", llm_dialect="vllm"))


def test_cut_short_json_is_closed(server: tuple[str, Recorder]) -> None:
    url, rec = server
    rec.answer = lambda m, p, b, n: (200, {}, chat_reply('{"feedback": "You expl', "length"))
    llm = RemoteLLM(llm_settings(url, llm_remote_model="m"))
    assert llm.complete_json("s", "u", {}, max_tokens=4) == {"feedback": "You expl"}


@pytest.mark.parametrize(
    ("reply", "match"),
    [
        ((200, {}, chat_reply("not json")), "invalid JSON"),
        ((200, {}, chat_reply("[1, 2]")), "not an object"),
        ((200, {}, b'{"choices": []}'), "without a message"),
        ((500, {}, b'{"error": {"message": "boom"}}'), r"after 3 attempts: HTTP 500: boom"),
    ],
)
def test_remote_llm_failures_are_llm_errors(
    server: tuple[str, Recorder], reply: Reply, match: str
) -> None:
    url, rec = server
    rec.answer = lambda m, p, b, n: reply
    llm = RemoteLLM(llm_settings(url, llm_remote_model="m"))
    with pytest.raises(LLMError, match=match) as info:
        llm.complete_json("s", "u", {}, max_tokens=4)
    if reply[0] == 500:
        assert isinstance(info.value.__cause__, RemoteError)


def test_server_down_at_start_names_the_setting() -> None:
    url = f"http://127.0.0.1:{free_port()}/v1"
    with pytest.raises(ModelNotFoundError, match=r"VI_LLM_URL=.*VI_LLM_REMOTE_MODEL") as info:
        RemoteLLM(llm_settings(url, remote_retries=1))
    assert isinstance(info.value.__cause__, RemoteError)


# -- selection --------------------------------------------------------------------------


def test_settings_from_the_environment() -> None:
    s = load_settings(
        env={
            "VI_LLM_URL": "http://h:8000/v1",
            "VI_LLM_MAX_IN_FLIGHT": "2",
            "VI_STT_URL": "http://h:8001/v1",
            "VI_STT_REMOTE_FALLBACK": "0",
            "VI_REMOTE_RETRIES": "5",
        }
    )
    assert (s.llm_url, s.llm_max_in_flight, s.stt_url) == (
        "http://h:8000/v1", 2, "http://h:8001/v1"
    )
    assert s.stt_remote_fallback is False and s.remote_retries == 5


def test_a_remote_llm_needs_no_local_model_file() -> None:
    s = Settings(llm_url="http://127.0.0.1:1/v1", llm_remote_model="m", llm_model="/no/such.gguf")
    assert "llm" not in local_roles(s)
    assert "llm" not in resolve_all(s)  # the missing file is not an error
    assert isinstance(llm_engine(s), RemoteLLM)  # and nothing is asked of the server yet
    assert "llm" in local_roles(Settings())
    # The STT model stays: quick passes run on it.
    assert "stt" in local_roles(Settings(stt_url="http://127.0.0.1:1/v1"))


# -- the STT request and answer ---------------------------------------------------------


def test_wav_bytes_round_trip() -> None:
    pcm = (np.sin(np.arange(1600) / 5) * 8000).astype(np.int16)
    with wave.open(BytesIO(wav_bytes(pcm))) as w:
        assert (w.getnchannels(), w.getsampwidth(), w.getframerate()) == (1, 2, 16000)
        back = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
    assert np.array_equal(back, pcm)
    with wave.open(BytesIO(wav_bytes(np.array([0.5, -2.0], dtype=np.float32)))) as w:
        assert list(np.frombuffer(w.readframes(2), dtype="<i2")) == [16383, -32767]


def test_multipart_body_parses() -> None:
    from email.parser import BytesParser
    from email.policy import HTTP

    body, ctype = multipart([("model", "m"), ("a[]", "1"), ("a[]", "2")], "file", "x.wav",
                            b"RIFF\x00\r\n--", "audio/wav")
    msg = BytesParser(policy=HTTP).parsebytes(
        f"Content-Type: {ctype}\r\n\r\n".encode() + body
    )
    parts = [(p.get_param("name", header="content-disposition"), p.get_payload(decode=True))
             for p in msg.iter_parts()]
    assert parts == [("model", b"m"), ("a[]", b"1"), ("a[]", b"2"), ("file", b"RIFF\x00\r\n--")]


def test_verbose_json_with_segment_words() -> None:
    body = {
        "text": " Hello there. Thank you.",
        "duration": 9.0,
        "segments": [
            {"id": 0, "start": 0.0, "end": 1.5, "text": " Hello there.", "avg_logprob": -0.2,
             "no_speech_prob": 0.1, "words": [
                 {"word": " Hello", "start": 0.0, "end": 0.6, "probability": 0.9},
                 {"word": " there.", "start": 0.7, "end": 1.4, "probability": 0.8}]},
            {"id": 1, "start": 1.5, "end": 3.0, "text": " Thank you.", "avg_logprob": -0.4,
             "no_speech_prob": 0.3, "words": [
                 {"word": " Thank", "start": 1.6, "end": 2.0, "probability": 0.7},
                 {"word": " you.", "start": 2.0, "end": 2.4}]},
        ],
    }
    t = to_transcript(body, 3.0)
    assert t.text == "Hello there. Thank you."
    assert [(w.word, w.start, w.probability) for w in t.words][:3] == [
        ("Hello", 0.0, 0.9), ("there.", 0.7, 0.8), ("Thank", 1.6, 0.7)
    ]
    assert t.words[3].probability == pytest.approx(math.exp(-0.4))  # none given: segment's
    assert t.no_speech_prob == 0.3 and t.avg_logprob == pytest.approx(-0.3)
    assert t.duration_s == 3.0 and t.dropped_segments == 0


def test_verbose_json_openai_style_top_level_words_and_hallucinations() -> None:
    body = {
        "text": "We cache reads. Thanks for watching!",
        "segments": [
            {"start": 0.0, "end": 1.2, "text": "We cache reads.", "avg_logprob": -0.1,
             "no_speech_prob": 0.05},
            {"start": 1.2, "end": 1.8, "text": "Thanks for watching!", "avg_logprob": -1.5,
             "no_speech_prob": 0.9},
        ],
        "words": [
            {"word": "We", "start": 0.0, "end": 0.2}, {"word": "cache", "start": 0.3, "end": 0.6},
            {"word": "reads.", "start": 0.6, "end": 1.1},
            {"word": "Thanks", "start": 1.3, "end": 1.5},
        ],
    }
    t = to_transcript(body, 1.8)
    assert t.text == "We cache reads." and t.dropped_segments == 1
    assert [w.word for w in t.words] == ["We", "cache", "reads."]  # not the dropped one
    assert t.words[0].probability == pytest.approx(math.exp(-0.1))
    assert t.no_speech_prob == 0.05


def test_faster_whisper_server_style_segments_without_words() -> None:
    # faster-whisper-server 0.0.3 answers segments only (no words, whatever is asked).
    body = {"task": "transcribe", "language": "en", "duration": 2.0, "text": " Yes.",
            "segments": [{"id": 0, "start": 0.0, "end": 2.0, "text": " Yes, it is.",
                          "tokens": [1], "temperature": 0.0, "avg_logprob": -0.3,
                          "compression_ratio": 1.0, "no_speech_prob": 0.2}]}
    t = to_transcript(body, 2.5)
    assert (t.text, t.words, t.no_speech_prob, t.avg_logprob) == ("Yes, it is.", [], 0.2, -0.3)


def test_plain_json_and_nothing_kept() -> None:
    assert to_transcript({"text": " Just text. "}, 1.0).text == "Just text."
    empty = to_transcript({"text": "", "segments": []}, 1.0)
    assert (empty.text, empty.no_speech_prob) == ("", 1.0)
    from voice_interview.engines.remote_stt import STTError

    with pytest.raises(STTError):
        to_transcript(["not", "a", "transcription"], 1.0)
