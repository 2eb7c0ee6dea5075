"""faster-whisper speech to text, with a guard against hallucinations on silence and noise."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from voice_interview.engines.models import ModelFile, ModelNotFoundError
from voice_interview.settings import Settings

SAMPLE_RATE = 16000
FINAL_TEMPERATURES = (0.0, 0.2, 0.4, 0.6)

# Whisper's well-known inventions on near-silence; only dropped when little speech was heard.
_HALLUCINATIONS = re.compile(
    r"^\s*(thank you|thanks for watching|thank you for watching|you|bye|"
    r"please subscribe|subtitles by.*|\.+|\[.*\]|\(.*\))[.!]*\s*$",
    re.IGNORECASE,
)


@dataclass
class Word:
    word: str
    start: float
    end: float
    probability: float


@dataclass
class Transcript:
    text: str
    words: list[Word] = field(default_factory=list)
    no_speech_prob: float = 0.0
    avg_logprob: float = 0.0
    duration_s: float = 0.0
    dropped_segments: int = 0

    def to_dict(self) -> dict[str, object]:
        return {
            "no_speech_prob": round(self.no_speech_prob, 4),
            "avg_logprob": round(self.avg_logprob, 4),
            "duration_s": round(self.duration_s, 3),
            "dropped_segments": self.dropped_segments,
            "words": [
                [w.word, round(w.start, 2), round(w.end, 2), round(w.probability, 3)]
                for w in self.words
            ],
        }


def is_hallucination(text: str, no_speech_prob: float, avg_logprob: float, audio_s: float) -> bool:
    """Whether a segment is more likely invented than heard."""
    if no_speech_prob > 0.6 and avg_logprob < -1.0:
        return True
    if no_speech_prob > 0.8:
        return True
    return audio_s < 2.0 and bool(_HALLUCINATIONS.match(text))


class SpeechToText:
    """One faster-whisper model per process. Blocking; run through an EngineQueue."""

    def __init__(self, model: ModelFile, settings: Settings) -> None:
        from faster_whisper import WhisperModel

        self.model_info = model
        try:
            self._model = WhisperModel(
                str(model.path),
                device=settings.stt_device,
                compute_type=settings.stt_compute_type,
                cpu_threads=settings.stt_cpu_threads,
            )
        except (RuntimeError, ValueError, OSError) as e:
            raise ModelNotFoundError(
                f"stt model unusable: {model.setting}={model.path} ({e})"
            ) from e
        self.beam_size = settings.stt_beam_size

    def transcribe(
        self, audio: np.ndarray, *, final: bool, prompt: str | None = None
    ) -> Transcript:
        """Transcribe 16 kHz int16 (or float32) mono audio.

        Interim passes use greedy decoding without word timestamps; the final pass
        adds word timestamps (for evidence and speech metrics).
        """
        samples = audio.astype(np.float32) / 32768.0 if audio.dtype == np.int16 else audio
        duration = len(samples) / SAMPLE_RATE
        if duration < 0.1:
            return Transcript("", duration_s=duration)
        segments, _info = self._model.transcribe(
            samples,
            language="en",
            beam_size=self.beam_size if final else 1,
            # Greedy decoding sometimes stops after a few words (tiny.en on fast speech);
            # Whisper's quality checks then retry warmer. Interims stay greedy and cheap.
            temperature=FINAL_TEMPERATURES if final else 0.0,
            condition_on_previous_text=False,
            vad_filter=False,
            word_timestamps=final,
            without_timestamps=not final,
            initial_prompt=prompt,
        )
        texts: list[str] = []
        words: list[Word] = []
        no_speech: list[float] = []
        logprobs: list[float] = []
        dropped = 0
        for seg in segments:
            text = seg.text.strip()
            if not text:
                continue
            if is_hallucination(text, seg.no_speech_prob, seg.avg_logprob, duration):
                dropped += 1
                continue
            texts.append(text)
            no_speech.append(seg.no_speech_prob)
            logprobs.append(seg.avg_logprob)
            for w in seg.words or []:
                words.append(Word(w.word.strip(), w.start, w.end, w.probability))
        return Transcript(
            " ".join(texts).strip(),
            words,
            max(no_speech) if no_speech else 1.0,
            float(np.mean(logprobs)) if logprobs else 0.0,
            duration,
            dropped,
        )
