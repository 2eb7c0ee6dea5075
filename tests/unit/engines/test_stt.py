"""engines.stt: the guard against Whisper's decoding loops on final transcripts."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest
import soundfile as sf

from tests.paths import FIXTURES
from voice_interview.engines.models import resolve_model
from voice_interview.engines.stt import LOOP_RETRY, SpeechToText, runaway_repeat
from voice_interview.settings import Settings

LOOP = "but also needed the I.D. in order, like we'll be 30, 40, 40, 40, 20, 40, 40, 40, 40."


def test_a_word_four_times_in_a_row_is_a_loop() -> None:
    assert runaway_repeat(LOOP)
    assert runaway_repeat("no no no no")
    assert not runaway_repeat("40, 40, 40 and then 20")  # three is speech ("no, no, no")
    assert not runaway_repeat("a hash table, a hash table, a hash table, a hash table")
    assert not runaway_repeat("")


@dataclass
class _Seg:
    text: str
    no_speech_prob: float = 0.01
    avg_logprob: float = -0.2
    words: list[Any] = field(default_factory=list)


class _LoopingModel:
    """Loops on the plain decoding; ``clean`` says whether the penalised one does too."""

    def __init__(self, clean: bool) -> None:
        self.clean = clean
        self.calls: list[dict[str, Any]] = []

    def transcribe(self, samples: np.ndarray, **options: Any) -> tuple[list[_Seg], None]:
        self.calls.append(options)
        penalised = options.get("repetition_penalty", 1.0) > 1.0
        text = "If I also needed the ids in order, I would use a sorted tree."
        return [_Seg(text if penalised and self.clean else LOOP)], None


def _stt(model: Any) -> SpeechToText:
    stt = object.__new__(SpeechToText)
    stt._model = model
    stt.beam_size = 5
    return stt


def test_a_looping_final_is_decoded_again_with_repetition_penalised() -> None:
    model = _LoopingModel(clean=True)
    got = _stt(model).transcribe(np.zeros(16000, dtype=np.int16))
    assert got.text.startswith("If I also needed") and not runaway_repeat(got.text)
    assert len(model.calls) == 2
    assert {k: model.calls[1][k] for k in LOOP_RETRY} == LOOP_RETRY
    assert "repetition_penalty" not in model.calls[0]  # the first pass is Whisper's own


def test_when_both_decodings_loop_the_first_is_kept() -> None:
    model = _LoopingModel(clean=False)
    assert _stt(model).transcribe(np.zeros(16000, dtype=np.int16)).text == LOOP
    assert len(model.calls) == 2


@pytest.mark.models
def test_the_real_model_takes_the_retry_options() -> None:
    settings = Settings()
    stt = SpeechToText(resolve_model("stt", settings), settings, num_workers=1)
    pcm, rate = sf.read(FIXTURES / "pauses" / "short_first_hash_table.wav", dtype="int16")
    assert rate == 16000
    text = stt._decode(pcm.astype(np.float32) / 32768.0, pcm.size / rate, None, **LOOP_RETRY).text
    assert "table" in text.lower() and "bucket" in text.lower() and not runaway_repeat(text)
