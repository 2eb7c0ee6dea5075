"""Text -> Piper speech -> VAD -> faster-whisper: what an answer looks like after the voice path.

Used by ``voice-interview eval-bench --speech`` to score a labelled set as the server
would see it spoken, with the same engines and the same turn segmentation;
``--transcripts FILE`` keeps the transcripts (``TranscriptFile``) to score them again.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np

from voice_interview.audio import SAMPLE_RATE
from voice_interview.audio.codecs import resample
from voice_interview.audio.vad import TurnSegmenter
from voice_interview.engines.models import resolve_model
from voice_interview.engines.stt import SpeechToText
from voice_interview.engines.tts import PiperTTS
from voice_interview.settings import Settings

STT_RATE = SAMPLE_RATE


class SpeechRoundTrip:
    def __init__(self, settings: Settings) -> None:
        self.tts = PiperTTS(resolve_model("tts", settings), settings, cache_size=0)
        self.stt = SpeechToText(resolve_model("stt", settings), settings)
        self.settings = settings

    def transform(self, text: str) -> str:
        speech = self.tts.synthesize(text)
        pcm = resample(speech.pcm, speech.sample_rate, STT_RATE)
        pad = np.zeros(STT_RATE // 2, dtype=np.int16)
        # A long end-of-turn silence: the bench measures transcription, not turn taking.
        seg = TurnSegmenter(
            sample_rate=STT_RATE,
            aggressiveness=self.settings.vad_aggressiveness,
            end_silence_ms=5000,
        )
        seg.feed(np.concatenate([pad, pcm, pad]))
        if not seg.heard_speech:
            return ""
        return self.stt.transcribe(seg.voiced_audio()).text


class TranscriptFile:
    """Transcripts kept in a JSON file, keyed by the answer's text: the first ``--speech``
    run fills it, later runs score the same transcripts (the round trip varies a little
    from run to run, so two scoring versions are compared on identical input)."""

    def __init__(self, path: Path, make: Callable[[], Callable[[str], str]] | None) -> None:
        """``make`` builds the round trip on the first answer missing from the file (the
        engines load only then); None: every answer must be in the file."""
        self.path = path
        self.make = make
        self.transform: Callable[[str], str] | None = None
        self.transcripts: dict[str, str] = {}
        if path.exists():
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, json.JSONDecodeError) as e:
                raise ValueError(f"{path}: not a transcript file ({e})") from e
            found = data.get("transcripts") if isinstance(data, dict) else None
            if not isinstance(found, dict):
                raise ValueError(f"{path}: no 'transcripts' object")
            self.transcripts = {str(k): str(v) for k, v in found.items()}

    def __call__(self, text: str) -> str:
        if text in self.transcripts:
            return self.transcripts[text]
        if self.transform is None:
            if self.make is None:
                raise KeyError(f"no transcript for {text[:40]!r} in {self.path}")
            self.transform = self.make()
        heard = self.transform(text)
        self.transcripts[text] = heard
        self.path.write_text(
            json.dumps({"transcripts": self.transcripts}, indent=1) + "\n", encoding="utf-8"
        )
        return heard


def speech_transform(settings: Settings, transcripts: str | None) -> Callable[[str], str]:
    """The ``--speech`` transform: the round trip, through ``transcripts`` when named."""
    if transcripts is None:
        return SpeechRoundTrip(settings).transform
    return TranscriptFile(Path(transcripts), lambda: SpeechRoundTrip(settings).transform)
