"""llama.cpp (llama-cpp-python) behind a small interface: chat completion under a JSON schema."""

from __future__ import annotations

import json
import logging
import os
import threading
from typing import Any

from voice_interview.engines.models import ModelFile, ModelNotFoundError
from voice_interview.settings import Settings

log = logging.getLogger(__name__)


class LLMError(Exception):
    """The model failed or returned something that is not the JSON asked for."""


class LocalLLM:
    """One llama.cpp model per process. Calls are blocking; run them through an EngineQueue."""

    def __init__(self, model: ModelFile, settings: Settings) -> None:
        try:
            from llama_cpp import Llama
        except ImportError as e:
            raise ModelNotFoundError(
                "llama-cpp-python is not installed (make install builds it portably)"
            ) from e
        self.model_info = model
        self.seed = settings.llm_seed
        self.temperature = settings.llm_temperature
        threads = settings.llm_n_threads or max(1, (os.cpu_count() or 2) // 2)
        try:
            self._llm = Llama(
                model_path=str(model.path),
                n_ctx=settings.llm_n_ctx,
                n_threads=threads,
                n_gpu_layers=settings.llm_n_gpu_layers,
                seed=settings.llm_seed,
                verbose=False,
            )
        except (ValueError, RuntimeError) as e:
            raise ModelNotFoundError(
                f"llm model unusable: {model.setting}={model.path} ({e})"
            ) from e
        # llama.cpp contexts are not thread-safe; the queue serialises, this guards direct use.
        self._lock = threading.Lock()

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
        """Chat completion constrained by a JSON schema grammar; returns the parsed object."""
        messages = [{"role": "system", "content": system}, {"role": "user", "content": user}]
        with self._lock:
            try:
                out = self._llm.create_chat_completion(
                    messages=messages,  # type: ignore[arg-type]
                    response_format={"type": "json_object", "schema": schema},
                    max_tokens=max_tokens,
                    temperature=self.temperature if temperature is None else temperature,
                    seed=self.seed if seed is None else seed,
                )
            except (ValueError, RuntimeError) as e:
                raise LLMError(f"llama.cpp failed: {e}") from e
        choice = out["choices"][0]  # type: ignore[index]
        text = choice["message"]["content"] or ""
        value = _parse_json(text, cut_short=choice.get("finish_reason") == "length")
        if not isinstance(value, dict):
            raise LLMError("model returned JSON that is not an object")
        return value


def _parse_json(text: str, *, cut_short: bool) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        if cut_short:
            # The token cap stopped the grammar mid-string: close what is open.
            for closer in ('"}', '"]}', "}", "]}"):
                try:
                    return json.loads(text + closer)
                except json.JSONDecodeError:
                    continue
        raise LLMError(f"model returned invalid JSON ({len(text)} chars)") from e
