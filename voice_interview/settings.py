"""Settings from environment variables (``VI_*``) and an optional TOML file.

Precedence: environment variable > TOML file > default. Every field maps to
``VI_<FIELD NAME IN UPPER CASE>``; the TOML file uses the field names as keys.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


class SettingsError(Exception):
    """A setting has a value that cannot be used."""


@dataclass
class Settings:
    host: str = "127.0.0.1"
    port: int = 8765
    database_url: str = "sqlite+aiosqlite:///data/voice_interview.db"
    models_dir: str = "models"
    # Model files: empty means the bundled package (or a file dropped in models_dir).
    stt_model: str = ""
    llm_model: str = ""
    tts_voice: str = ""
    embed_model: str = ""
    turn_model: str = ""  # Smart Turn v3.2 ONNX
    # The check model: a GGUF path or an LLM preset name (qwen2.5-coder-1.5b); its doubt
    # about an answer costs points. Empty: no check, the score is the rubric's alone.
    check_model: str = ""
    # Where each engine runs.
    stt_device: str = "cpu"
    stt_compute_type: str = "int8"
    stt_cpu_threads: int = 0  # 0: half the cores
    # The final pass over each whole answer (off the critical path): Whisper's own beam.
    stt_beam_size: int = 5
    llm_n_gpu_layers: int = 0
    llm_n_threads: int = 0  # 0: half the cores, so evaluations leave room for live turns
    llm_n_ctx: int = 2048
    llm_seed: int = 0
    llm_temperature: float = 0.0
    llm_feedback_max_tokens: int = 96
    tts_use_cuda: bool = False
    # Auth.
    admin_keys: list[str] = field(default_factory=list)
    admin_key: str = ""
    token_secret: str = ""
    token_ttl_s: int = 7 * 24 * 3600
    allowed_origins: list[str] = field(default_factory=list)
    # Turn taking.
    vad_aggressiveness: int = 2
    # Silence that ends a turn after a finished sentence, and mid-sentence (or before the
    # words are known): long enough for a candidate who stops to think.
    # The short wait is short because an end taken too early is taken back (continuation).
    end_of_turn_silence_ms: int = 500
    end_of_turn_unfinished_ms: int = 1700
    # After a finished sentence in an answer still short for its question (and touching
    # few of its key points): likely a first sentence, so a middle wait.
    end_of_turn_short_answer_ms: int = 800
    # After a sentence heard with an unsure last word or without closing punctuation, and
    # until a pause's check has decided: a middle wait too, under 900 ms so an answer that
    # really ends is answered promptly.
    end_of_turn_unsure_ms: int = 800
    # After an end of turn, speech within this long (input audio or server clock, the
    # later) that lasts continuation_min_speech_ms takes the end back: the question being
    # asked is stopped and the answer reopened. The same length of speech over a question
    # outside that window is a barge-in.
    continuation_window_ms: int = 2000
    continuation_min_speech_ms: int = 300
    # Take the question's own audio back out of the microphone input (audio/echo.py), so
    # a speaker next to the mic is not heard as the candidate going on or barging in.
    echo_guard: bool = True
    # A finished sentence still gets the long wait when the turn model (Smart Turn, which
    # hears the voice) gives a finished turn less than this probability; 0 ignores it.
    smart_turn_veto_below: float = 0.1
    # With speech heard and no audio arriving for this long by the server's clock (a client
    # that stops sending frames), the silence is filled in and the turn ends as usual.
    end_of_turn_stall_ms: int = 400
    no_answer_reprompt_s: float = 15.0
    no_answer_timeout_s: float = 30.0
    max_answer_s: float = 180.0
    interim_interval_ms: int = 1000
    # Limits.
    max_ws_message_bytes: int = 1 << 20
    max_sessions: int = 32
    rate_limit_per_minute: int = 120
    idle_timeout_s: float = 1800.0
    heartbeat_s: float = 20.0
    max_cv_chars: int = 50_000
    max_answer_chars: int = 10_000
    store_answer_audio: bool = True
    log_format: str = "json"
    log_level: str = "INFO"
    # Loads models at startup; tests of the HTTP layer alone may switch it off.
    load_models: bool = True
    # Remote inference (docs/REMOTE_INFERENCE.md). An OpenAI-compatible server's base URL
    # (http://host:8000/v1): evaluations and CV analyses go there, no local LLM is loaded.
    llm_url: str = ""
    llm_remote_model: str = ""  # the "model" sent; empty: the first one the server lists
    # llama_cpp: response_format {"type": "json_object", "schema": ...} and llama.cpp's
    # sampling fields as LocalLLM uses them (llama-cpp-python's server, llama.cpp's);
    # openai: {"type": "json_schema", ...} and OpenAI's fields only (vLLM, OpenAI).
    llm_dialect: str = "llama_cpp"
    llm_api_key: str = ""  # sent as a Bearer token when set
    llm_timeout_s: float = 60.0  # one request, connect to last byte
    llm_max_in_flight: int = 4  # requests this process has open to the server at once
    # Final transcription passes (whole answers) go to <stt_url>/audio/transcriptions;
    # interims and end-of-turn checks stay on the local model (their latency is the turn's).
    stt_url: str = ""
    stt_remote_model: str = "whisper-1"
    stt_api_key: str = ""
    stt_timeout_s: float = 30.0
    stt_max_in_flight: int = 4
    # When the STT server still fails after the retries: a full pass on the local model.
    stt_remote_fallback: bool = True
    # Both: retries after a connection error, 408, 429 or 5xx, waiting backoff * 2^n.
    remote_retries: int = 2
    remote_backoff_s: float = 0.5
    # Several nodes on one database (docs/SCALING.md). An interview is driven by the node
    # holding its lease, renewed every lease_ttl_s / 3 while its socket is open; a node
    # that stops answering loses it (and its claims on answer jobs) after lease_ttl_s.
    lease_ttl_s: float = 15.0
    # How often a node looks for answer jobs (transcriptions, evaluations) that nobody
    # holds, such as those left by a node that stopped.
    job_poll_s: float = 5.0

    @property
    def all_admin_keys(self) -> list[str]:
        keys = [k for k in self.admin_keys if k]
        if self.admin_key and self.admin_key not in keys:
            keys.append(self.admin_key)
        return keys


def _coerce(name: str, kind: Any, raw: Any) -> Any:
    try:
        if kind in ("bool", bool):
            if isinstance(raw, bool):
                return raw
            text = str(raw).strip().lower()
            if text in ("1", "true", "yes", "on"):
                return True
            if text in ("0", "false", "no", "off", ""):
                return False
            raise ValueError(f"not a boolean: {raw!r}")
        if kind in ("int", int):
            return int(raw)
        if kind in ("float", float):
            return float(raw)
        if kind in ("list[str]",):
            if isinstance(raw, list):
                return [str(x) for x in raw]
            return [p.strip() for p in str(raw).split(",") if p.strip()]
        return str(raw)
    except ValueError as e:
        raise SettingsError(f"setting {name} (VI_{name.upper()}): {e}") from e


def load_settings(
    config_file: str | Path | None = None,
    env: dict[str, str] | None = None,
    **overrides: Any,
) -> Settings:
    """Build settings from defaults, then the TOML file, then ``VI_*`` env vars, then overrides."""
    env = dict(os.environ) if env is None else env
    values: dict[str, Any] = {}
    path = config_file or env.get("VI_CONFIG")
    if path:
        try:
            with open(path, "rb") as fh:
                values.update(tomllib.load(fh))
        except FileNotFoundError as e:
            raise SettingsError(f"config file not found: {path}") from e
        except tomllib.TOMLDecodeError as e:
            raise SettingsError(f"config file {path} is not valid TOML: {e}") from e
    fields = {f.name: f for f in dataclasses.fields(Settings)}
    unknown = set(values) - set(fields)
    if unknown:
        raise SettingsError(f"unknown settings in {path}: {', '.join(sorted(unknown))}")
    for name in fields:
        key = f"VI_{name.upper()}"
        if key in env:
            values[name] = env[key]
    values.update(overrides)
    coerced = {n: _coerce(n, fields[n].type, v) for n, v in values.items()}
    return Settings(**coerced)
