"""Text -> Piper speech -> VAD -> faster-whisper: what an answer looks like after the voice path.

Used by ``voice-interview eval-bench --speech`` to score a labelled set as the server
would see it spoken, with the same engines and the same turn segmentation.
"""

from __future__ import annotations

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
