"""faster-whisper speech to text, with a guard against hallucinations on silence and noise."""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from voice_interview.audio import SAMPLE_RATE

if TYPE_CHECKING:
    from faster_whisper.tokenizer import Tokenizer

    from voice_interview.engines.remote_llm import RemoteModel

from voice_interview.engines.models import ModelFile, ModelNotFoundError
from voice_interview.settings import Settings

FINAL_TEMPERATURES = (0.0, 0.2, 0.4, 0.6)
# Whisper's encoder is trained on 30 s windows, but CTranslate2 accepts fewer frames and
# its cost is then proportional: tiny.en encodes 10 s in ~30 ms instead of ~220 ms for 30.
# Quick passes pad the audio with this much silence (what Whisper sees after speech in
# training), which kept their text on the fixtures the same as the full-window pass's.
QUICK_PAD_S = 2.0
WINDOW_S = 30
_HOP = 160  # feature frames are 10 ms
WHISPER_MAX_TOKENS = 448  # the decoder's context: prompt and output together
MAX_PROMPT_TOKENS = WHISPER_MAX_TOKENS // 2 - 1  # as much prompt as faster-whisper keeps

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


@dataclass
class QuickTranscript:
    """A greedy pass over a short encoder window: for interims and end-of-turn checks."""

    text: str
    avg_logprob: float
    last_word_probability: float  # 1.0 when there is no word
    duration_s: float


# The same word this many times in a row is a decoding loop ("40, 40, 40, 40, ..."), not
# speech: Whisper falls into one now and then, mostly on robotic voices. The final is then
# decoded again with repetition penalised; a loop never reaches the stored answer unless
# both decodings loop.
RUNAWAY_REPEATS = 4
LOOP_RETRY = {"repetition_penalty": 1.3, "no_repeat_ngram_size": 3}
_WORD = re.compile(r"[a-z0-9']+")


def runaway_repeat(text: str) -> bool:
    """Whether one word comes RUNAWAY_REPEATS times in a row (punctuation ignored)."""
    run, last = 0, None
    for w in _WORD.findall(text.lower()):
        run = run + 1 if w == last else 1
        last = w
        if run >= RUNAWAY_REPEATS:
            return True
    return False


def is_hallucination(text: str, no_speech_prob: float, avg_logprob: float, audio_s: float) -> bool:
    """Whether a segment is more likely invented than heard."""
    if no_speech_prob > 0.6 and avg_logprob < -1.0:
        return True
    if no_speech_prob > 0.8:
        return True
    return audio_s < 2.0 and bool(_HALLUCINATIONS.match(text))


class SpeechToText:
    """One faster-whisper model per process (two CTranslate2 workers, so a full pass and a
    quick pass can run at once). Blocking; run through an EngineQueue."""

    def __init__(self, model: ModelFile, settings: Settings, *, num_workers: int = 2) -> None:
        from faster_whisper import WhisperModel
        from faster_whisper.tokenizer import Tokenizer

        # The model behind final transcripts (remote_stt.py's is on a server).
        self.model_info: ModelFile | RemoteModel = model
        try:
            self._model = WhisperModel(
                str(model.path),
                device=settings.stt_device,
                compute_type=settings.stt_compute_type,
                # faster-whisper's default is 4 threads: on a small box that oversubscribes
                # the cores the LLM and the turn model share (tiny.en's quick pass took 211 ms
                # on 4 threads, 89 ms on 1, on 2 cores). Half the cores, as for the LLM.
                cpu_threads=settings.stt_cpu_threads or max(1, (os.cpu_count() or 2) // 2),
                # Two workers: full passes and quick passes run on their own threads at once
                # (one where full passes go to a server: remote_stt.py).
                num_workers=num_workers,
            )
        except (RuntimeError, ValueError, OSError) as e:
            raise ModelNotFoundError(
                f"stt model unusable: {model.setting}={model.path} ({e})"
            ) from e
        self.beam_size = settings.stt_beam_size
        self._tokenizer = Tokenizer(
            self._model.hf_tokenizer,
            self._model.model.is_multilingual,
            task="transcribe",
            language="en",
        )

    def transcribe(self, audio: np.ndarray, *, prompt: str | None = None) -> Transcript:
        """Transcribe 16 kHz int16 (or float32) mono audio in full: the 30 s window, the
        temperature fallback and word timestamps (for evidence and speech metrics). What
        answers' transcripts are made of; interims use ``quick_transcribe``."""
        samples = audio.astype(np.float32) / 32768.0 if audio.dtype == np.int16 else audio
        duration = len(samples) / SAMPLE_RATE
        if duration < 0.1:
            return Transcript("", duration_s=duration)
        first = self._decode(samples, duration, prompt)
        if not runaway_repeat(first.text):
            return first
        again = self._decode(samples, duration, prompt, **LOOP_RETRY)
        return first if runaway_repeat(again.text) else again

    def _decode(
        self, samples: np.ndarray, duration: float, prompt: str | None, **options: float
    ) -> Transcript:
        segments, _info = self._model.transcribe(
            samples,
            language="en",
            beam_size=self.beam_size,
            # Greedy decoding sometimes stops after a few words (tiny.en on fast speech);
            # Whisper's quality checks then retry warmer.
            temperature=FINAL_TEMPERATURES,
            condition_on_previous_text=False,
            vad_filter=False,
            word_timestamps=True,
            without_timestamps=False,
            initial_prompt=prompt,
            **options,
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

    def quick_transcribe(self, audio: np.ndarray, *, prompt: str | None = None) -> QuickTranscript:
        """Greedy text of 16 kHz int16 audio, fast: the encoder sees only the audio plus
        ``QUICK_PAD_S`` of silence, not a 30 s window; no timestamps. Also the probability
        of the last word (its least certain token), which the end-of-turn check needs.
        Audio over the window keeps its last 28 s."""
        samples = audio.astype(np.float32) / 32768.0 if audio.dtype == np.int16 else audio
        samples = samples[-int((WINDOW_S - QUICK_PAD_S) * SAMPLE_RATE) :]
        duration = len(samples) / SAMPLE_RATE
        if duration < 0.1:
            return QuickTranscript("", 0.0, 1.0, duration)
        model = self._model
        window_s = min(WINDOW_S, math.ceil(duration + QUICK_PAD_S))
        pad = window_s * SAMPLE_RATE - len(samples)
        features = model.feature_extractor(samples, padding=pad)[
            :, : window_s * SAMPLE_RATE // _HOP
        ]
        tokenizer = self._tokenizer
        tokens: list[int] = []
        if prompt:
            context = tokenizer.encode(" " + prompt.strip())[-MAX_PROMPT_TOKENS:]
            tokens = [tokenizer.sot_prev, *context]
        tokens += [*tokenizer.sot_sequence, tokenizer.no_timestamps]
        result = model.model.generate(
            model.encode(features),
            [tokens],
            beam_size=1,
            max_length=min(WHISPER_MAX_TOKENS, len(tokens) + 200),
            return_scores=True,
            return_no_speech_prob=True,
            return_logits_vocab=True,
        )[0]
        ids = [t for t in result.sequences_ids[0] if t < tokenizer.eot]
        text = tokenizer.decode(ids).strip()
        avg_logprob = float(result.scores[0]) if result.scores else 0.0
        if not text or is_hallucination(text, result.no_speech_prob, avg_logprob, duration):
            return QuickTranscript("", avg_logprob, 1.0, duration)
        probs = _token_probabilities(result.logits[0], ids)
        return QuickTranscript(
            text, avg_logprob, _last_word_probability(tokenizer, ids, probs), duration
        )


def _token_probabilities(logits: object, ids: list[int]) -> list[float]:
    """Softmax probability of each chosen token, from the per-step vocabulary logits."""
    probs: list[float] = []
    for step, token in enumerate(ids):
        row = np.asarray(logits[step], dtype=np.float64).reshape(-1)  # type: ignore[index]
        row = row - row.max()
        exp = np.exp(row)
        probs.append(float(exp[token] / exp.sum()))
    return probs


def _last_word_probability(tokenizer: Tokenizer, ids: list[int], probs: list[float]) -> float:
    """The least certain token of the last word that has a letter or digit in it; a word
    starts at a token that begins with a space (Whisper's BPE marks word starts so)."""
    words: list[list[tuple[str, float]]] = []
    for token, prob in zip(ids, probs, strict=True):
        piece = tokenizer.decode([token])
        if piece.startswith(" ") or not words:
            words.append([])
        words[-1].append((piece, prob))
    for word in reversed(words):
        spelled = [prob for piece, prob in word if any(c.isalnum() for c in piece)]
        if spelled:
            return min(spelled)
    return 1.0
