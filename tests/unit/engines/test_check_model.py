"""The check model's engine side: LocalLLM.yes_probability on a real GGUF, and where
VI_CHECK_MODEL is resolved from (its setting only; the LLM's file is shared, not reloaded)."""

from __future__ import annotations

from pathlib import Path

import pytest

from voice_interview.engines.llm import LLMError, LocalLLM
from voice_interview.engines.models import ModelNotFoundError, resolve_model
from voice_interview.engines.registry import check_engine, local_roles
from voice_interview.interview.evaluation.llm_check import CHECK_SYSTEM, check_prompt
from voice_interview.settings import Settings, load_settings


@pytest.fixture(scope="module")
def bundled_llm() -> LocalLLM:
    settings = load_settings(env={})
    try:
        return LocalLLM(resolve_model("llm", settings), settings)
    except ModelNotFoundError as e:
        pytest.skip(f"bundled LLM unavailable: {e}")


@pytest.mark.models
def test_yes_probability_is_a_reproducible_probability(bundled_llm: LocalLLM) -> None:
    prompt = check_prompt("What is a mutex?", "A lock that only one thread can hold at a time.")
    p = bundled_llm.yes_probability(CHECK_SYSTEM, prompt)
    assert 0.0 < p < 1.0
    other = bundled_llm.yes_probability(CHECK_SYSTEM, "Is this sentence in English?")
    assert other != p  # the logits are read for this prompt, not left from the last one
    assert bundled_llm.yes_probability(CHECK_SYSTEM, prompt) == p
    # The model's own chat template, with the assistant's turn opened for the reply.
    rendered = bundled_llm._chat_prompt("S", "U")
    assert rendered.index("S") < rendered.index("U") and rendered.rstrip().endswith("assistant")
    # The context is left usable for the JSON completions that share the model.
    reply = bundled_llm.complete_json(
        "Reply in JSON.", "Give an object with a key ok set to true.",
        {"type": "object", "properties": {"ok": {"type": "boolean"}}, "required": ["ok"]},
        max_tokens=16,
    )
    assert set(reply) == {"ok"}


@pytest.mark.models
def test_a_prompt_longer_than_the_context_is_an_llm_error(bundled_llm: LocalLLM) -> None:
    with pytest.raises(LLMError, match="exceeds n_ctx"):
        bundled_llm.yes_probability(CHECK_SYSTEM, "word " * 5000)


def test_no_check_model_unless_the_setting_names_one(tmp_path: Path) -> None:
    (tmp_path / "some.gguf").write_bytes(b"GGUF" + b"\0" * 16)
    settings = Settings(models_dir=str(tmp_path))
    assert check_engine(settings) is None
    assert "check" not in local_roles(settings)
    # A GGUF in models/ is the LLM's, never taken as the check model.
    with pytest.raises(ModelNotFoundError, match="VI_CHECK_MODEL is unset"):
        resolve_model("check", settings)


def test_check_model_setting_is_checked_like_an_llm_file(tmp_path: Path) -> None:
    good = tmp_path / "judge.gguf"
    good.write_bytes(b"GGUF" + b"\0" * 16)
    bad = tmp_path / "judge.bin"
    bad.write_bytes(b"nope")
    model = resolve_model("check", Settings(check_model=str(good)))
    assert (model.role, model.path, model.setting) == ("check", good, "VI_CHECK_MODEL")
    assert "check" in local_roles(Settings(check_model=str(good)))
    with pytest.raises(ModelNotFoundError, match="not a GGUF file"):
        resolve_model("check", Settings(check_model=str(bad)))
    with pytest.raises(ModelNotFoundError, match="no such file"):
        resolve_model("check", Settings(check_model=str(tmp_path / "missing.gguf")))


def test_env_names_the_check_model() -> None:
    assert load_settings(env={"VI_CHECK_MODEL": "qwen2.5-coder-1.5b"}).check_model == (
        "qwen2.5-coder-1.5b"
    )


@pytest.mark.models
def test_the_llm_file_named_again_is_shared_not_loaded_twice(bundled_llm: LocalLLM) -> None:
    settings = Settings(check_model=str(bundled_llm.model_info.path))
    assert check_engine(settings, bundled_llm) is bundled_llm


@pytest.mark.models
def test_the_1_5b_preset_doubts_a_confident_misconception() -> None:
    """The measured reason for the check (docs/EVALUATION.md), on answers of our own: the
    preset gives a correct but incomplete answer a higher P(correct) than a fluent wrong
    one that uses the same words. Skips where the preset's chunk packages are missing."""
    settings = load_settings(env={"VI_CHECK_MODEL": "qwen2.5-coder-1.5b"})
    try:
        model = resolve_model("check", settings)
    except ModelNotFoundError as e:
        pytest.skip(f"check preset not installed: {e}")
    llm = LocalLLM(model, settings)
    question = "What does an index do in a relational database, and what does it cost?"
    right = ("It lets the database find rows without scanning the whole table, a bit like "
             "the index at the back of a book, so lookups on that column get much faster.")
    wrong = ("An index is a backup copy of the table that the database keeps in case the "
             "main table gets corrupted, and it costs nothing, so you index every column.")
    p_right = llm.yes_probability(CHECK_SYSTEM, check_prompt(question, right))
    p_wrong = llm.yes_probability(CHECK_SYSTEM, check_prompt(question, wrong))
    assert p_right > p_wrong


@pytest.mark.parametrize("command", [["eval-bench", "set.jsonl"], ["rescore", "some-id"]])
def test_cli_check_model_flag_wins_over_the_environment(
    command: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from voice_interview.cli import _settings, build_parser

    monkeypatch.setenv("VI_CHECK_MODEL", "from-env.gguf")
    args = build_parser().parse_args([*command, "--check-model", "qwen2.5-coder-1.5b"])
    assert _settings(args).check_model == "qwen2.5-coder-1.5b"
    assert _settings(build_parser().parse_args(command)).check_model == "from-env.gguf"
