"""Spoken answers for the bench: WAV files with their transcripts, and their 20 ms frames.

A fixture folder is read in the first of these forms that is present:

1. ``manifest.json``: a list of objects with ``file`` (a WAV next to the manifest) and
   ``text`` (what is said); ``speech_end_s`` / ``speech_start_s`` are used when given
   (``audio_fixtures/manifest.json`` is this form). A plain object ``{"a.wav": "text"}``
   is accepted too.
2. ``transcripts.txt`` (or ``transcripts.tsv``, or any ``*.trans.txt``): one answer per
   line, ``<file> <TAB or | or space> <text>``; the file name may leave out ``.wav``;
   blank lines and lines starting with ``#`` are skipped.
3. one ``<name>.txt`` beside each ``<name>.wav`` holding that answer's text.

Audio is read with soundfile (WAV, also FLAC), mixed down to mono and resampled to
16 kHz. Where the speech boundaries are not given, they are found from the signal
energy (see :func:`detect_speech_bounds`).
"""

from __future__ import annotations

import json
import math
import random
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from voice_interview.audio import SAMPLE_RATE

RATE = SAMPLE_RATE
FRAME_MS = 20
FRAME_SAMPLES = RATE * FRAME_MS // 1000  # 320
AUDIO_SUFFIXES = (".wav", ".flac")

Pcm = npt.NDArray[np.int16]


@dataclass(frozen=True)
class Pause:
    """A silence inside an answer, from a manifest's ``pauses`` (seconds into the file)."""

    start_s: float
    end_s: float
    kind: str  # after_sentence | mid_sentence (audio_fixtures/pauses/manifest.json)

    @property
    def length_s(self) -> float:
        return self.end_s - self.start_s


class FixtureError(Exception):
    """A fixture folder that cannot be used (no audio, unreadable file, missing text)."""


@dataclass(frozen=True)
class Fixture:
    name: str
    text: str
    pcm: Pcm  # int16 mono at 16 kHz
    speech_start_s: float
    speech_end_s: float
    bounds_source: str  # "manifest" or "energy"
    kind: str = ""  # the manifest's ``kind`` (pause fixtures: pauses, short_first, ...)
    pauses: tuple[Pause, ...] = ()

    @property
    def duration_s(self) -> float:
        return len(self.pcm) / RATE

    @property
    def n_frames(self) -> int:
        return math.ceil(len(self.pcm) / FRAME_SAMPLES)

    @property
    def last_voiced_frame(self) -> int:
        """Index of the 20 ms frame that carries the last voiced sample."""
        return last_voiced_frame(self.speech_end_s, self.n_frames)


def last_voiced_frame(speech_end_s: float, n_frames: int) -> int:
    """Index of the frame holding the sample just before ``speech_end_s``."""
    end_sample = round(speech_end_s * RATE)
    idx = max(0, (end_sample - 1) // FRAME_SAMPLES)
    return min(idx, max(0, n_frames - 1))


def frame_levels_db(pcm: Pcm, frame: int = FRAME_SAMPLES) -> npt.NDArray[np.float64]:
    """RMS level of each whole-or-partial frame in dBFS (full scale = 32768)."""
    n = math.ceil(len(pcm) / frame)
    if n == 0:
        return np.zeros(0)
    padded = np.zeros(n * frame, dtype=np.float64)
    padded[: len(pcm)] = pcm
    power = np.mean(padded.reshape(n, frame) ** 2, axis=1)
    return np.asarray(10.0 * np.log10(power / (32768.0**2) + 1e-12), dtype=np.float64)


def detect_speech_bounds(pcm: Pcm) -> tuple[float, float]:
    """Start and end of speech (seconds) from frame energy.

    The noise floor is the 10th percentile of the frame levels; a frame counts as
    speech when it is both 15 dB over the floor and no more than 50 dB under the
    loudest frame. Frames of 10 ms give the end to within 10 ms. A signal with no such
    frame is all "speech" (0 .. its length).
    """
    step = RATE // 100
    levels = frame_levels_db(pcm, step)
    if levels.size == 0:
        return 0.0, 0.0
    floor = float(np.percentile(levels, 10))
    peak = float(levels.max())
    threshold = max(floor + 15.0, peak - 50.0)
    loud = np.flatnonzero(levels >= threshold)
    if loud.size == 0 or peak - floor < 15.0:
        return 0.0, len(pcm) / RATE
    start = int(loud[0]) * step
    end = min(len(pcm), (int(loud[-1]) + 1) * step)
    return start / RATE, end / RATE


def read_audio(path: Path) -> Pcm:
    """Read a WAV/FLAC file as int16 mono at 16 kHz."""
    import soundfile as sf

    try:
        data, rate = sf.read(str(path), dtype="int16", always_2d=True)
    except (RuntimeError, OSError) as e:  # soundfile raises LibsndfileError(RuntimeError)
        raise FixtureError(f"cannot read {path}: {e}") from e
    arr = np.asarray(data, dtype=np.int16)
    mono: Pcm
    if arr.shape[1] == 1:
        mono = np.ascontiguousarray(arr[:, 0])
    else:
        mono = np.asarray(arr.astype(np.int32).mean(axis=1), dtype=np.int16)
    if rate != RATE:
        from voice_interview.audio.codecs import resample

        mono = resample(mono, int(rate), RATE)
    return mono


def _audio_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in AUDIO_SUFFIXES)


def _resolve(folder: Path, name: str) -> Path | None:
    direct = folder / name
    if direct.suffix.lower() in AUDIO_SUFFIXES and direct.is_file():
        return direct
    for suffix in AUDIO_SUFFIXES:
        candidate = folder / f"{name}{suffix}"
        if candidate.is_file():
            return candidate
    return None


def _make(path: Path, text: str, entry: dict[str, Any] | None = None) -> Fixture:
    pcm = read_audio(path)
    if pcm.size == 0:
        raise FixtureError(f"{path} has no audio")
    entry = entry or {}
    kind = str(entry.get("kind") or "")
    pauses = _pauses(entry.get("pauses"))
    start, end = entry.get("speech_start_s"), entry.get("speech_end_s")
    if isinstance(end, int | float) and 0 < end <= len(pcm) / RATE + 0.05:
        s = float(start) if isinstance(start, int | float) else 0.0
        return Fixture(path.name, text, pcm, s, float(end), "manifest", kind, pauses)
    s, e = detect_speech_bounds(pcm)
    return Fixture(path.name, text, pcm, s, e, "energy", kind, pauses)


def _pauses(raw: Any) -> tuple[Pause, ...]:
    """A manifest's ``pauses`` list; entries without numeric times are skipped."""
    if not isinstance(raw, list):
        return ()
    out = []
    for item in raw:
        if not isinstance(item, dict):
            continue
        start, end = item.get("start_s"), item.get("end_s")
        if isinstance(start, int | float) and isinstance(end, int | float) and end > start:
            out.append(Pause(float(start), float(end), str(item.get("kind") or "")))
    return tuple(sorted(out, key=lambda x: x.start_s))


def parse_transcript_lines(lines: Iterable[str]) -> list[tuple[str, str]]:
    """``<file> <sep> <text>`` lines (sep: TAB, ``|`` or whitespace) -> (file, text)."""
    out: list[tuple[str, str]] = []
    for raw in lines:
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        for sep in ("\t", "|"):
            if sep in line:
                name, _, text = line.partition(sep)
                break
        else:
            parts = line.split(None, 1)
            name, text = parts[0], parts[1] if len(parts) > 1 else ""
        name, text = name.strip(), text.strip()
        if not text:
            raise FixtureError(f"transcript line without text: {line[:80]!r}")
        out.append((name, text))
    return out


def _from_manifest(
    folder: Path, manifest: Path, kinds: Collection[str] | None = None
) -> list[Fixture]:
    try:
        data = json.loads(manifest.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as e:
        raise FixtureError(f"cannot read {manifest}: {e}") from e
    entries: list[dict[str, Any]]
    if isinstance(data, dict):
        entries = [{"file": k, "text": v} for k, v in data.items()]
    elif isinstance(data, list):
        entries = [e for e in data if isinstance(e, dict)]
    else:
        raise FixtureError(f"{manifest} must hold a list of objects or a file -> text object")
    if kinds is not None:
        entries = [e for e in entries if e.get("kind") in kinds]
    out = []
    for entry in entries:
        name = entry.get("file", entry.get("audio"))
        text = entry.get("text", entry.get("transcript"))
        if not isinstance(name, str) or not isinstance(text, str) or not text.strip():
            raise FixtureError(f"{manifest}: every entry needs 'file' and 'text': {entry}")
        path = _resolve(folder, name)
        if path is None:
            raise FixtureError(f"{manifest} names {name}, which is not in {folder}")
        out.append(_make(path, text.strip(), entry))
    return out


def _transcript_list(folder: Path) -> Path | None:
    for name in ("transcripts.txt", "transcripts.tsv"):
        if (folder / name).is_file():
            return folder / name
    trans = sorted(folder.glob("*.trans.txt"))
    return trans[0] if trans else None


def load_fixtures(folder: str | Path, kinds: Collection[str] | None = None) -> list[Fixture]:
    """Every answer in ``folder`` (see the module doc for the accepted forms).

    ``kinds`` keeps only the manifest entries whose ``kind`` is one of them (the pause
    fixtures' ``pauses``, ``short_first``, ...); it needs a ``manifest.json``.
    """
    root = Path(folder)
    if not root.is_dir():
        raise FixtureError(f"fixture folder {root} does not exist")
    manifest = root / "manifest.json"
    if kinds is not None and not manifest.is_file():
        raise FixtureError(f"{root} has no manifest.json: answers of a kind need one")
    if manifest.is_file():
        fixtures = _from_manifest(root, manifest, kinds)
        if kinds is not None and not fixtures:
            raise FixtureError(f"{manifest} has no answers of kind {', '.join(sorted(kinds))}")
    elif (listing := _transcript_list(root)) is not None:
        fixtures = []
        for name, text in parse_transcript_lines(listing.read_text(encoding="utf-8").splitlines()):
            path = _resolve(root, name)
            if path is None:
                raise FixtureError(f"{listing.name} names {name}, which is not in {root}")
            fixtures.append(_make(path, text))
    else:
        fixtures = []
        missing = []
        for path in _audio_files(root):
            txt = path.with_suffix(".txt")
            if not txt.is_file():
                missing.append(path.name)
                continue
            text = txt.read_text(encoding="utf-8").strip()
            if text:
                fixtures.append(_make(path, text))
        if missing and not fixtures:
            raise FixtureError(
                f"no transcripts in {root}: add manifest.json, transcripts.txt or a .txt "
                f"beside each audio file (missing for {', '.join(missing[:5])})"
            )
    if not fixtures:
        raise FixtureError(f"no audio fixtures with text in {root}")
    return fixtures


# ------------------------------------------------------------------------- frames


def pcm_frames(pcm: Pcm, samples: int = FRAME_SAMPLES) -> list[bytes]:
    """PCM s16le frames of ``samples`` each; the last one is padded with zeros."""
    n = math.ceil(len(pcm) / samples)
    padded = np.zeros(n * samples, dtype="<i2")
    padded[: len(pcm)] = pcm
    raw = padded.tobytes()
    step = samples * 2
    return [raw[i : i + step] for i in range(0, len(raw), step)]


def noise_floor(seconds: float, rng: random.Random, sigma: float = 10.0) -> Pcm:
    """A faint microphone noise floor (about -70 dBFS), seeded."""
    gen = np.random.default_rng(rng.randrange(1 << 32))
    n = round(seconds * RATE)
    return np.asarray(np.clip(gen.normal(0.0, sigma, n), -32768, 32767), dtype=np.int16)


@dataclass(frozen=True)
class TurnAudio:
    """What one turn streams: the answer, then silence, one binary frame per 20 ms."""

    fixture: Fixture
    frames: list[bytes]  # answer frames, then the silence tail
    answer_frames: int  # how many of ``frames`` are the answer itself
    last_voiced: int  # index of the frame with the last voiced sample
    encoding: str  # "pcm_s16le" or "opus"


def turn_audio(fixture: Fixture, *, encoding: str, tail_s: float, rng: random.Random) -> TurnAudio:
    """Frames for one answer plus ``tail_s`` of noise-floor silence, in ``encoding``.

    ``opus`` gives one raw Opus packet per 20 ms (48 kHz, as WebCodecs sends); its
    packet index matches the PCM frame index to within one frame (encoder look-ahead).
    """
    tail = noise_floor(tail_s, rng)
    if encoding == "pcm_s16le":
        speech = pcm_frames(fixture.pcm)
        frames = speech + pcm_frames(tail)
        return TurnAudio(fixture, frames, len(speech), fixture.last_voiced_frame, encoding)
    if encoding == "opus":
        from voice_interview.audio.codecs import make_encoder

        n_answer = fixture.n_frames
        padded = np.zeros(n_answer * FRAME_SAMPLES, dtype=np.int16)
        padded[: len(fixture.pcm)] = fixture.pcm
        enc = make_encoder("opus", RATE)
        packets = enc.encode(np.concatenate([padded, tail])) + enc.flush()
        return TurnAudio(fixture, packets, n_answer, fixture.last_voiced_frame, encoding)
    raise ValueError(f"unsupported bench input encoding {encoding!r}")
