"""Remote inference against real servers run here as child processes, on the bundled
models loaded from disk: llama-cpp-python's own server (``python -m llama_cpp.server``)
for the LLM, faster-whisper-server for final transcription passes.

Skipped when a server's package cannot be imported. To install them (pure Python; the
llama-cpp-python already built stays as it is):

    .venv/bin/pip install -e ".[remote-test]"
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
import wave
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import numpy as np
import pytest

from tests.conftest import ADMIN_KEY, FIXTURES, free_port, start_server
from voice_interview.bench.machine import stop_process
from voice_interview.bench.wer import word_error_rate
from voice_interview.domain.question import Question
from voice_interview.engines.embed import Embedder
from voice_interview.engines.llm import LLMError, LocalLLM
from voice_interview.engines.models import resolve_model
from voice_interview.engines.remote_llm import RemoteError, RemoteLLM
from voice_interview.engines.remote_stt import RemoteSpeechToText, STTError
from voice_interview.engines.stt import SpeechToText
from voice_interview.interview.cv import analysis as cv_analysis
from voice_interview.interview.evaluation.evaluator import (
    FEEDBACK_SCHEMA,
    FEEDBACK_SYSTEM,
    Evaluator,
)
from voice_interview.settings import Settings

pytestmark = pytest.mark.models

# schemathesis's (the dev extra) JSON Schema validator.
jsonschema_rs = pytest.importorskip("jsonschema_rs")


def _importable(module: str) -> bool:
    """Whether ``module`` imports in a fresh interpreter (its server's dependencies too)."""
    if importlib.util.find_spec(module.split(".")[0]) is None:
        return False
    done = subprocess.run(
        [sys.executable, "-c", f"import {module}"], capture_output=True, timeout=120
    )
    return done.returncode == 0


@dataclass
class ChildServer:
    proc: subprocess.Popen[bytes]
    url: str  # the OpenAI base URL, .../v1
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        stop_process(self.proc)


def _spawn(args: list[str], log_path: Path, probe: str, url: str, env: dict[str, str],
           timeout: float = 120.0) -> ChildServer:
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, env=env)
    server = ChildServer(proc, url, log_path)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{args[2]} exited early:\n{server.log()}")
        try:
            with urllib.request.urlopen(probe, timeout=2) as r:
                if r.status == 200:
                    return server
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.3)
    server.stop()
    raise RuntimeError(f"{args[2]} did not come up:\n{server.log()}")


def _offline_env() -> dict[str, str]:
    # Models come from the installed packages' files: never from a hub.
    return {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}


@pytest.fixture(scope="module")
def llm_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChildServer]:
    if not _importable("llama_cpp.server.app"):
        pytest.skip("llama_cpp.server cannot import (pip install -e '.[remote-test]')")
    model = resolve_model("llm", Settings())
    port = free_port()
    server = _spawn(
        [sys.executable, "-m", "llama_cpp.server", "--model", str(model.path),
         "--host", "127.0.0.1", "--port", str(port), "--n_threads", "1", "--n_ctx", "2048",
         "--seed", "0"],
        tmp_path_factory.mktemp("llm") / "llama_cpp_server.log",
        f"http://127.0.0.1:{port}/v1/models",
        f"http://127.0.0.1:{port}/v1",
        _offline_env(),
    )
    yield server
    server.stop()


@pytest.fixture(scope="module")
def stt_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChildServer]:
    if not _importable("faster_whisper_server.api"):
        pytest.skip("faster_whisper_server cannot import (pip install -e '.[remote-test]')")
    model = resolve_model("stt", Settings())
    tmp = tmp_path_factory.mktemp("stt")
    # faster-whisper-server 0.0.3 takes the model from its form field "model_name"
    # (default whisper-1), not OpenAI's "model": the entry is named so. Options as the
    # local final pass: int8, beam 5, no conditioning on earlier text.
    config = tmp / "fws.yaml"
    config.write_text(json.dumps({
        "models": [{
            "name": "whisper-1",
            "path": str(model.path),
            "model_options": {"device": "cpu", "compute_type": "int8", "cpu_threads": 1},
            "transcribe_options": {"beam_size": 5, "condition_on_previous_text": False},
        }]
    }))  # JSON is YAML
    port = free_port()
    server = _spawn(
        [sys.executable, "-m", "faster_whisper_server", "--config", str(config),
         "--host", "127.0.0.1", "--port", str(port)],
        tmp / "faster_whisper_server.log",
        f"http://127.0.0.1:{port}/health",
        f"http://127.0.0.1:{port}/v1",
        _offline_env(),
    )
    yield server
    server.stop()


def _settings(**kw: Any) -> Settings:
    base: dict[str, Any] = {"remote_backoff_s": 0.05, "llm_n_threads": 1, "stt_cpu_threads": 1}
    base.update(kw)
    return Settings(**base)


def _down_url() -> str:
    return f"http://127.0.0.1:{free_port()}/v1"  # nothing listens there


QUESTION = Question.of(
    "What is an index in a database, and what does it cost?",
    "technical",
    "medium",
    ["speeds up lookups on the indexed columns", "slows down writes", "uses extra storage"],
)
ANSWER = (
    "An index is a separate sorted structure, usually a B-tree, that lets the database find "
    "rows by the indexed columns without scanning the whole table. The cost is that every "
    "insert and update has to maintain it, so writes get slower, and it takes disk space."
)
CV = (
    "Jane Doe - Backend Engineer. 6 years of experience building Python services with "
    "PostgreSQL, Docker and Kubernetes. Designed REST APIs and led the migration to AWS."
)


# -- the LLM ------------------------------------------------------------------------------


def test_feedback_json_from_the_server_validates_and_matches_the_local_model(
    llm_server: ChildServer,
) -> None:
    settings = _settings(llm_url=llm_server.url)
    remote = RemoteLLM(settings)
    model = resolve_model("llm", Settings())
    assert remote.model_info.name == str(model.path)  # the id llama_cpp.server gives it
    prompt = "Draft: You explained what an index is. You did not mention write costs."
    out = remote.complete_json(FEEDBACK_SYSTEM, prompt, FEEDBACK_SCHEMA, max_tokens=96)
    jsonschema_rs.validate(FEEDBACK_SCHEMA, out)
    # Temperature 0 and the seed go through: the same model here answers the same.
    local = LocalLLM(model, settings).complete_json(
        FEEDBACK_SYSTEM, prompt, FEEDBACK_SCHEMA, max_tokens=96
    )
    assert out == local


def test_an_evaluation_over_the_server(llm_server: ChildServer) -> None:
    settings = _settings(llm_url=llm_server.url)
    embedder = Embedder(resolve_model("embed", Settings()))
    evaluator = Evaluator.configured(RemoteLLM(settings), embedder, settings)
    result = evaluator.evaluate(QUESTION, ANSWER)
    assert result.status == "scored" and result.score is not None
    assert result.details["models"]["llm"] == {
        "name": str(resolve_model("llm", Settings()).path), "sha256": None
    }
    # The model's feedback, or the rules' when the 135M model's text is not usable; not
    # an error from the server either way.
    assert "llm_error" not in result.details or "server" not in result.details["llm_error"]
    assert result.feedback


def test_cv_analysis_over_the_server(llm_server: ChildServer) -> None:
    remote = RemoteLLM(_settings(llm_url=llm_server.url))
    analysis = cv_analysis.analyse_cv(CV, remote)
    assert analysis.source["llm"] in ("ok", "summary rejected"), analysis.source
    assert "postgresql" in analysis.skills and analysis.experience_years == 6
    raw = remote.complete_json(
        cv_analysis._SYSTEM, cv_analysis._user_prompt(CV, analysis.roles, 6.0, {}),
        cv_analysis._SCHEMA, max_tokens=120,
    )
    jsonschema_rs.validate(cv_analysis._SCHEMA, raw)


def test_server_down_retries_then_a_clear_error() -> None:
    url = _down_url()
    llm = RemoteLLM(_settings(llm_url=url, llm_remote_model="m", remote_retries=2))
    started = time.monotonic()
    with pytest.raises(LLMError) as info:
        llm.complete_json("s", "u", {"type": "object"}, max_tokens=4)
    assert time.monotonic() - started >= 0.05 + 0.1  # two backoffs were waited
    assert llm.endpoint.attempts == 3
    msg = str(info.value)
    assert f"LLM server at {url}/chat/completions failed after 3 attempts" in msg, msg
    assert isinstance(info.value.__cause__, RemoteError)
    assert isinstance(info.value.__cause__.__cause__, urllib.error.URLError)
    # The callers fall back as for a local model's failure.
    analysis = cv_analysis.analyse_cv(CV, llm)
    assert analysis.source["llm"] == "error" and "failed after 3" in analysis.source["llm_error"]


def test_server_stopping_midway(llm_server: ChildServer, tmp_path: Path) -> None:
    """A second real server, stopped between two requests: the next one fails cleanly."""
    model = resolve_model("llm", Settings())
    port = free_port()
    own = _spawn(
        [sys.executable, "-m", "llama_cpp.server", "--model", str(model.path),
         "--host", "127.0.0.1", "--port", str(port), "--n_threads", "1"],
        tmp_path / "own.log", f"http://127.0.0.1:{port}/v1/models",
        f"http://127.0.0.1:{port}/v1", _offline_env(),
    )
    try:
        llm = RemoteLLM(_settings(llm_url=own.url, remote_retries=1))
        assert llm.complete_json(FEEDBACK_SYSTEM, "Draft: fine.", FEEDBACK_SCHEMA, max_tokens=40)
    finally:
        own.stop()
    with pytest.raises(LLMError, match="failed after 2 attempts"):
        llm.complete_json(FEEDBACK_SYSTEM, "Draft: fine.", FEEDBACK_SCHEMA, max_tokens=40)


def test_openai_dialect_is_refused_by_llama_cpp_python(llm_server: ChildServer) -> None:
    """llama-cpp-python's server takes json_object + schema only; OpenAI's json_schema is
    a 500 there (why VI_LLM_DIALECT defaults to llama_cpp), and the error says so after
    the retries."""
    llm = RemoteLLM(_settings(llm_url=llm_server.url, llm_dialect="openai", remote_retries=1))
    with pytest.raises(LLMError, match=r"HTTP 500: .*json_object"):
        llm.complete_json("s", "u", {"type": "object"}, max_tokens=4)


# -- STT ---------------------------------------------------------------------------------


def _fixture_pcm(name: str) -> np.ndarray:
    with wave.open(str(FIXTURES / name)) as w:
        assert w.getframerate() == 16000 and w.getnchannels() == 1
        return np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").copy()


def _reference(name: str) -> str:
    items = json.loads((FIXTURES / "manifest.json").read_text())
    return str(next(i["text"] for i in items if i["file"] == name))


@pytest.fixture(scope="module")
def local_stt() -> SpeechToText:
    return SpeechToText(resolve_model("stt", Settings()), _settings())


def test_final_pass_over_the_server(stt_server: ChildServer, local_stt: SpeechToText) -> None:
    stt = RemoteSpeechToText(resolve_model("stt", Settings()), _settings(stt_url=stt_server.url))
    name = "idempotency.wav"
    pcm = _fixture_pcm(name)
    t = stt.transcribe(pcm)
    assert stt.fallbacks == 0 and stt.endpoint.attempts == 1
    local = local_stt.transcribe(pcm)
    assert word_error_rate(local.text, t.text) <= 0.1, (local.text, t.text)
    assert word_error_rate(_reference(name), t.text) <= 0.35, t.text
    assert t.duration_s == pytest.approx(len(pcm) / 16000)
    assert -1.0 < t.avg_logprob < 0 and 0 <= t.no_speech_prob < 0.6
    assert t.words == []  # faster-whisper-server 0.0.3 gives segments only
    assert stt.model_info.name == "whisper-1"
    # Quick passes stay on the local model: no request for them.
    quick = stt.quick_transcribe(pcm[-3 * 16000 :])
    assert quick.text and stt.endpoint.attempts == 1


def test_stt_server_down_falls_back_to_the_local_model(local_stt: SpeechToText) -> None:
    model = resolve_model("stt", Settings())
    pcm = _fixture_pcm("idempotency.wav")
    stt = RemoteSpeechToText(model, _settings(stt_url=_down_url(), remote_retries=1))
    t = stt.transcribe(pcm)
    assert stt.fallbacks == 1 and stt.endpoint.attempts == 2
    assert t.text == local_stt.transcribe(pcm).text and t.words  # the local full pass
    strict = RemoteSpeechToText(
        model, _settings(stt_url=_down_url(), remote_retries=1, stt_remote_fallback=False)
    )
    with pytest.raises(STTError, match=r"STT server at .* failed after 2 attempts") as info:
        strict.transcribe(pcm)
    assert isinstance(info.value.__cause__, RemoteError)


# -- the whole server, without a local LLM ------------------------------------------------


async def test_serve_with_both_servers_and_no_local_llm(
    llm_server: ChildServer, stt_server: ChildServer, tmp_path: Path
) -> None:
    server = start_server(
        tmp_path,
        {
            "VI_LLM_URL": llm_server.url,
            "VI_STT_URL": stt_server.url,
            # No local LLM file is needed: this one does not exist.
            "VI_LLM_MODEL": str(tmp_path / "no-such-model.gguf"),
            "VI_LLM_N_THREADS": "1",
            "VI_STT_CPU_THREADS": "1",
        },
    )
    try:
        async with aiohttp.ClientSession() as http:
            async with http.get(f"{server.base}/health") as r:
                body = await r.json()
            assert body["status"] == "ok"
            assert body["models"]["llm"] == str(resolve_model("llm", Settings()).path)
            assert body["models"]["stt"] == "whisper-1"
            before = llm_server.log().count("POST /v1/chat/completions")
            async with http.post(
                f"{server.base}/api/cv-analyses",
                json={"candidate_id": "jane", "cv_text": CV},
                headers={"Authorization": f"Bearer {ADMIN_KEY}"},
            ) as r:
                assert r.status == 201, await r.text()
                analysis = await r.json()
        assert "postgresql" in analysis["skills"]
        assert llm_server.log().count("POST /v1/chat/completions") == before + 1
    finally:
        server.stop()
    assert "models loaded" in server.log()
