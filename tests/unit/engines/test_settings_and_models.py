from __future__ import annotations

from pathlib import Path

import pytest

from voice_interview.engines.models import ModelNotFoundError, resolve_model
from voice_interview.settings import Settings, SettingsError, load_settings


def test_env_wins_over_toml(tmp_path: Path) -> None:
    cfg = tmp_path / "vi.toml"
    cfg.write_text('port = 9000\nhost = "0.0.0.0"\nadmin_keys = ["a", "b"]\n')
    s = load_settings(cfg, env={"VI_PORT": "9100", "VI_ADMIN_KEY": "c"})
    assert s.port == 9100 and s.host == "0.0.0.0"
    assert s.all_admin_keys == ["a", "b", "c"]


def test_list_and_bool_from_env() -> None:
    s = load_settings(env={"VI_ALLOWED_ORIGINS": "http://a, http://b", "VI_LOAD_MODELS": "false"})
    assert s.allowed_origins == ["http://a", "http://b"]
    assert s.load_models is False


@pytest.mark.parametrize(
    ("env", "needle"),
    [({"VI_PORT": "eighty"}, "VI_PORT"), ({"VI_LOAD_MODELS": "maybe"}, "VI_LOAD_MODELS")],
)
def test_bad_values_name_the_setting(env: dict[str, str], needle: str) -> None:
    with pytest.raises(SettingsError) as info:
        load_settings(env=env)
    assert needle in str(info.value)


def test_bad_config_files(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="not found"):
        load_settings(tmp_path / "missing.toml", env={})
    bad = tmp_path / "bad.toml"
    bad.write_text("port = = 3")
    with pytest.raises(SettingsError, match="not valid TOML"):
        load_settings(bad, env={})
    unknown = tmp_path / "unknown.toml"
    unknown.write_text("colour = 3")
    with pytest.raises(SettingsError, match="colour"):
        load_settings(unknown, env={})


@pytest.mark.parametrize("role", ["stt", "llm", "tts", "embed", "turn"])
def test_bundled_models_resolve(role: str, tmp_path: Path) -> None:
    model = resolve_model(role, Settings(models_dir=str(tmp_path)))
    assert model.source.startswith("bundled package")
    assert model.path.exists() and model.size_bytes > 1_000_000


@pytest.mark.parametrize(
    ("role", "field"),
    [
        ("stt", "stt_model"),
        ("llm", "llm_model"),
        ("tts", "tts_voice"),
        ("embed", "embed_model"),
        ("turn", "turn_model"),
    ],
)
def test_missing_configured_model_is_one_clear_line(role: str, field: str, tmp_path: Path) -> None:
    settings = Settings(models_dir=str(tmp_path), **{field: str(tmp_path / "nope.bin")})
    with pytest.raises(ModelNotFoundError) as info:
        resolve_model(role, settings)
    message = str(info.value)
    assert f"VI_{field.upper()}" in message and "nope.bin" in message and "\n" not in message


def test_broken_files_are_refused(tmp_path: Path) -> None:
    fake_gguf = tmp_path / "broken.gguf"
    fake_gguf.write_bytes(b"NOPE" + b"\0" * 100)
    with pytest.raises(ModelNotFoundError, match="not a GGUF"):
        resolve_model("llm", Settings(llm_model=str(fake_gguf)))
    (tmp_path / "whisper").mkdir()
    with pytest.raises(ModelNotFoundError, match="CTranslate2"):
        resolve_model("stt", Settings(stt_model=str(tmp_path / "whisper")))
    voice = tmp_path / "v.onnx"
    voice.write_bytes(b"x")
    with pytest.raises(ModelNotFoundError, match=r"v\.onnx\.json"):
        resolve_model("tts", Settings(tts_voice=str(voice)))


def test_models_folder_is_used_before_the_bundled_package(tmp_path: Path) -> None:
    bundled = resolve_model("llm", Settings(models_dir=str(tmp_path)))
    dropped = tmp_path / "bigger.gguf"
    dropped.symlink_to(bundled.path)
    found = resolve_model("llm", Settings(models_dir=str(tmp_path)))
    assert found.path == dropped.resolve() or found.path.name == bundled.path.name
    assert found.source.endswith("folder")
    assert len(found.sha256) == 64 and found.sha256 == bundled.sha256


def test_a_turn_model_in_the_models_folder_is_not_taken_for_a_voice(tmp_path: Path) -> None:
    bundled = resolve_model("turn", Settings(models_dir=str(tmp_path)))
    dropped = tmp_path / "smart-turn-v3.3.onnx"
    dropped.symlink_to(bundled.path)
    found = resolve_model("turn", Settings(models_dir=str(tmp_path)))
    assert found.source.endswith("folder") and found.sha256 == bundled.sha256
    # A Piper voice is an .onnx too, but it needs its .onnx.json: the turn model is skipped.
    assert resolve_model("tts", Settings(models_dir=str(tmp_path))).source.startswith("bundled")
