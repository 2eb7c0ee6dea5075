"""llama.cpp (llama-cpp-python) behind a small interface: chat completion under a JSON
schema, and the probability of a Yes reply (read off the logits of one forward pass)."""

from __future__ import annotations

import json
import logging
import math
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
        self._yes_no: tuple[set[int], set[int]] | None = None

    def yes_probability(self, system: str, user: str) -> float:
        """P(Yes) / (P(Yes) + P(No)) for the first token of the assistant's reply: one
        forward pass over the chat prompt, no sampling, so the same prompt gives the same
        number whatever the seed and temperature."""
        import numpy as np

        prompt = self._chat_prompt(system, user)
        with self._lock:
            try:
                ids = self._llm.tokenize(prompt.encode("utf-8"), add_bos=False, special=True)
                if len(ids) >= self._llm.n_ctx():
                    raise LLMError(f"prompt of {len(ids)} tokens exceeds n_ctx {self._llm.n_ctx()}")
                yes, no = self._yes_no_tokens()
                self._llm.reset()  # type: ignore[no-untyped-call]
                self._llm.eval(ids)
                logits = np.ctypeslib.as_array(
                    self._llm._ctx.get_logits_ith(-1), shape=(self._llm.n_vocab(),)
                )
            except (ValueError, RuntimeError) as e:
                raise LLMError(f"llama.cpp failed: {e}") from e
            top = float(logits.max())
            p_yes = sum(math.exp(float(logits[t]) - top) for t in yes)
            p_no = sum(math.exp(float(logits[t]) - top) for t in no)
        if p_yes + p_no == 0.0:
            raise LLMError("the model gives neither Yes nor No any probability")
        return p_yes / (p_yes + p_no)

    def _yes_no_tokens(self) -> tuple[set[int], set[int]]:
        # The first token of each spelling: "Yes", " Yes", "yes" (tokenizers differ).
        if self._yes_no is None:
            def first(words: tuple[str, ...]) -> set[int]:
                return {self._llm.tokenize(w.encode(), add_bos=False, special=False)[0]
                        for w in words}

            self._yes_no = (first(("Yes", " Yes", "yes", " yes")),
                            first(("No", " No", "no", " no")))
        return self._yes_no

    def _chat_prompt(self, system: str, user: str) -> str:
        """The model's own chat template (from the GGUF) applied to the two messages, with
        the assistant's turn opened; ChatML when the file has no template."""
        from llama_cpp.llama_chat_format import Jinja2ChatFormatter

        messages = [{"role": "system", "content": system}, {"role": "user", "content": user}]
        template = self._llm.metadata.get("tokenizer.chat_template")
        if not template:
            body = "".join(f"<|im_start|>{m['role']}\n{m['content']}<|im_end|>\n" for m in messages)
            return body + "<|im_start|>assistant\n"
        model = self._llm._model
        eos, bos = model.token_eos(), model.token_bos()
        formatter = Jinja2ChatFormatter(
            template=template,
            eos_token=model.token_get_text(eos) if eos != -1 else "",
            bos_token=model.token_get_text(bos) if bos != -1 else "",
        )
        return formatter(messages=messages).prompt  # type: ignore[arg-type]

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
