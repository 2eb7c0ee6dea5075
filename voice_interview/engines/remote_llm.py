"""The LLM on an OpenAI-compatible server (``VI_LLM_URL``), behind LocalLLM's interface.

Evaluations and CV analyses call ``complete_json`` on the LLM queue's worker thread, so
the client is synchronous (``urllib``; nothing to install). Each request has a timeout;
a connection error, 408, 429 or 5xx is retried with exponential backoff; at most
``llm_max_in_flight`` requests are open at once. What still fails is an ``LLMError``,
which the callers already answer with their rule-based fallback.

``HttpEndpoint`` and ``RemoteModel`` are shared with the STT client (remote_stt.py).
"""

from __future__ import annotations

import http.client
import json
import logging
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

from voice_interview.engines.llm import LLMError, _parse_json
from voice_interview.engines.models import ModelNotFoundError
from voice_interview.settings import Settings, SettingsError

log = logging.getLogger(__name__)

# Statuses that say "try again": the request timed out at a proxy, too many requests,
# or the server failed (a 5xx includes llama-cpp-python's answer to a malformed request,
# which is why the error that ends the retries quotes what the server said).
RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
DIALECTS = ("llama_cpp", "openai")
LOCAL_REPEAT_PENALTY = 1.0  # llama_cpp.Llama.create_chat_completion's default
_DETAIL_CHARS = 300


class RemoteError(Exception):
    """A request to a remote inference server failed; the message names the URL."""


@dataclass(frozen=True)
class RemoteModel:
    """What is recorded about a model served elsewhere: its id, as the server names it,
    and where it is. Nothing is hashed: there is no file here (``sha256`` raises
    ``OSError``, which the evaluator and the transcript record as ``null``)."""

    role: str  # llm | stt
    model_id: str
    url: str
    setting: str  # the env var that points at the server

    @property
    def name(self) -> str:
        return self.model_id

    @property
    def source(self) -> str:
        return f"remote {self.url} ({self.setting})"

    @property
    def sha256(self) -> str:
        raise OSError(f"{self.role} model {self.model_id!r} is served by {self.url}: no file")

    def describe(self) -> dict[str, object]:
        return {
            "role": self.role,
            "name": self.model_id,
            "url": self.url,
            "size_bytes": None,
            "sha256": None,
            "source": self.source,
        }


class HttpEndpoint:
    """A base URL with a timeout, retries with backoff and a bound on open requests.

    Blocking; safe to call from several threads (the bound is a semaphore)."""

    def __init__(
        self,
        base_url: str,
        *,
        what: str,
        timeout_s: float,
        retries: int,
        backoff_s: float,
        max_in_flight: int,
        api_key: str = "",
    ) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise SettingsError(f"{what} URL must start with http:// or https://: {base_url!r}")
        if timeout_s <= 0 or retries < 0 or backoff_s < 0 or max_in_flight < 1:
            raise SettingsError(
                f"{what}: timeout must be > 0, retries and backoff >= 0, in-flight >= 1"
            )
        self.base_url = base_url.rstrip("/")
        self.what = what
        self.timeout_s = timeout_s
        self.retries = retries
        self.backoff_s = backoff_s
        self.max_in_flight = max_in_flight
        self._api_key = api_key
        self._slots = threading.BoundedSemaphore(max_in_flight)
        self._opener = urllib.request.build_opener()
        # Counters for tests and logs (under the GIL; exact enough).
        self.attempts = 0
        self.in_flight = 0
        self.peak_in_flight = 0

    def url(self, path: str) -> str:
        return f"{self.base_url}/{path.lstrip('/')}"

    def get_json(self, path: str, *, retries: int | None = None) -> Any:
        return self.request("GET", path, retries=retries)

    def post_json(self, path: str, body: dict[str, Any]) -> Any:
        return self.request(
            "POST", path, json.dumps(body).encode(), "application/json"
        )

    def request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        content_type: str | None = None,
        *,
        retries: int | None = None,
    ) -> Any:
        """The parsed JSON answer. Raises RemoteError (chained to the last cause) when
        the server cannot be reached after the retries, does not answer within the
        timeout (not retried: it may still be working on it), answers 4xx, or answers
        something that is not JSON."""
        url = self.url(path)
        headers = {"Accept": "application/json"}
        if content_type:
            headers["Content-Type"] = content_type
        if self._api_key:
            headers["Authorization"] = f"Bearer {self._api_key}"
        tries = 1 + (self.retries if retries is None else retries)
        last: Exception | None = None
        reason = ""
        for attempt in range(tries):
            if attempt:
                delay = self.backoff_s * 2 ** (attempt - 1)
                log.warning(
                    "%s: retrying in %.2f s (%d/%d): %s",
                    self.what, delay, attempt, tries - 1, reason,
                )
                time.sleep(delay)
            req = urllib.request.Request(url, data=body, headers=headers, method=method)
            try:
                raw = self._send(req)
            except urllib.error.HTTPError as e:
                detail = _detail(e)
                if e.code not in RETRY_STATUSES:
                    raise RemoteError(
                        f"{self.what} at {url} answered HTTP {e.code}: {detail}"
                    ) from e
                last, reason = e, f"HTTP {e.code}: {detail}"
                continue
            except TimeoutError as e:
                raise RemoteError(
                    f"{self.what} at {url} did not answer within {self.timeout_s:g} s"
                ) from e
            except urllib.error.URLError as e:  # could not connect or send
                last, reason = e, str(e.reason)
                continue
            except (ConnectionError, http.client.HTTPException) as e:  # dropped mid-answer
                last, reason = e, str(e) or type(e).__name__
                continue
            try:
                return json.loads(raw)
            except (json.JSONDecodeError, UnicodeDecodeError) as e:
                raise RemoteError(
                    f"{self.what} at {url} answered something that is not JSON "
                    f"({len(raw)} bytes)"
                ) from e
        raise RemoteError(
            f"{self.what} at {url} failed after {tries} attempt{'s' * (tries > 1)}: {reason}"
        ) from last

    def _send(self, req: urllib.request.Request) -> bytes:
        with self._slots:
            self.attempts += 1
            self.in_flight += 1
            self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
            try:
                with self._opener.open(req, timeout=self.timeout_s) as r:
                    data: bytes = r.read()
                    return data
            finally:
                self.in_flight -= 1


def _detail(e: urllib.error.HTTPError) -> str:
    """What the server said, shortened: OpenAI's {"error": {"message": ...}} or the text."""
    try:
        text = e.read().decode("utf-8", "replace")
    except (OSError, http.client.HTTPException):
        return e.reason if isinstance(e.reason, str) else str(e.reason)
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        value = None
    if isinstance(value, dict):
        err = value.get("error", value.get("detail"))
        if isinstance(err, dict):
            err = err.get("message", err.get("error", err))
        if err is not None:
            text = err if isinstance(err, str) else json.dumps(err)
    text = " ".join(text.split())
    return text[:_DETAIL_CHARS] + ("..." if len(text) > _DETAIL_CHARS else "")


def request_fields(dialect: str, schema: dict[str, Any]) -> dict[str, Any]:
    """What asks the server for JSON under ``schema``, in its dialect, and samples as
    LocalLLM does."""
    if dialect == "llama_cpp":
        # llama-cpp-python's server (and llama.cpp's): the schema becomes a grammar. Their
        # server's repeat_penalty default is 1.1, Llama.create_chat_completion's 1.0: the
        # same answer as the local model needs the latter.
        return {
            "response_format": {"type": "json_object", "schema": schema},
            "repeat_penalty": LOCAL_REPEAT_PENALTY,
        }
    if dialect == "openai":
        return {
            "response_format": {
                "type": "json_schema",
                "json_schema": {"name": "answer", "schema": schema, "strict": True},
            }
        }
    raise SettingsError(
        f"setting llm_dialect (VI_LLM_DIALECT): {dialect!r} is not one of {', '.join(DIALECTS)}"
    )


class RemoteLLM:
    """Chat completions on an OpenAI-compatible server, constrained by a JSON schema.

    The same ``complete_json`` as LocalLLM; temperature and seed are sent as given (the
    settings' by default), so a server that honours them answers as the local model
    would. ``model_info`` records the model id the server answered with."""

    def __init__(self, settings: Settings) -> None:
        request_fields(settings.llm_dialect, {})  # a bad value fails here
        self.dialect = settings.llm_dialect
        self.endpoint = HttpEndpoint(
            settings.llm_url,
            what="LLM server",
            timeout_s=settings.llm_timeout_s,
            retries=settings.remote_retries,
            backoff_s=settings.remote_backoff_s,
            max_in_flight=settings.llm_max_in_flight,
            api_key=settings.llm_api_key,
        )
        self.seed = settings.llm_seed
        self.temperature = settings.llm_temperature
        model_id = settings.llm_remote_model or self._first_model()
        self.model_info = RemoteModel("llm", model_id, self.endpoint.base_url, "VI_LLM_URL")

    def _first_model(self) -> str:
        """The id of the first model the server lists (GET /models)."""
        try:
            listing = self.endpoint.get_json("models")
        except RemoteError as e:
            raise ModelNotFoundError(
                f"llm server unusable: VI_LLM_URL={self.endpoint.base_url} ({e}); "
                "set VI_LLM_REMOTE_MODEL to start without asking it"
            ) from e
        data = listing.get("data") if isinstance(listing, dict) else None
        if not isinstance(data, list) or not data or not isinstance(data[0], dict):
            raise ModelNotFoundError(
                f"llm server unusable: VI_LLM_URL={self.endpoint.base_url} lists no model"
            )
        return str(data[0].get("id", ""))

    def complete_json(
        self,
        system: str,
        user: str,
        schema: dict[str, Any],
        *,
        max_tokens: int,
        temperature: float | None = None,
        seed: int | None = None,
    ) -> dict[str, Any]:
        """Chat completion under ``schema``; the parsed object. Raises LLMError."""
        body = {
            "model": self.model_info.model_id,
            "messages": [
                {"role": "system", "content": system},
                {"role": "user", "content": user},
            ],
            "max_tokens": max_tokens,
            "temperature": self.temperature if temperature is None else temperature,
            "seed": self.seed if seed is None else seed,
            "stream": False,
            **request_fields(self.dialect, schema),
        }
        try:
            out = self.endpoint.post_json("chat/completions", body)
        except RemoteError as e:
            raise LLMError(str(e)) from e
        try:
            choice = out["choices"][0]
            text = choice["message"]["content"] or ""
        except (KeyError, IndexError, TypeError) as e:
            raise LLMError(
                f"LLM server at {self.endpoint.base_url} answered without a message"
            ) from e
        value = _parse_json(str(text), cut_short=choice.get("finish_reason") == "length")
        if not isinstance(value, dict):
            raise LLMError("model returned JSON that is not an object")
        return value
