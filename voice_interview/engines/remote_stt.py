"""Final transcription passes on an OpenAI-compatible server (``VI_STT_URL``).

Only ``transcribe`` (the full pass over a whole answer, off the turn's critical path)
goes to ``<VI_STT_URL>/audio/transcriptions``: a WAV upload asking for
``verbose_json`` with word and segment timestamps. Interims and end-of-turn checks
(``quick_transcribe``, ~0.1 s each, which the candidate waits on) stay on the local
model, loaded with one CTranslate2 worker instead of two. The answer is mapped into the
project's ``Transcript`` the way the local pass makes it: the same hallucination guard
per segment, word probabilities where the server gives them.
"""

from __future__ import annotations

import io
import logging
import math
import uuid
import wave
from typing import Any

import numpy as np

from voice_interview.audio import SAMPLE_RATE
from voice_interview.engines.models import ModelFile
from voice_interview.engines.remote_llm import HttpEndpoint, RemoteError, RemoteModel
from voice_interview.engines.stt import (
    SpeechToText,
    Transcript,
    Word,
    is_hallucination,
)
from voice_interview.settings import Settings

log = logging.getLogger(__name__)


class STTError(Exception):
    """The STT server failed, or answered something that is not a transcription."""


def wav_bytes(audio: np.ndarray) -> bytes:
    """16 kHz mono 16-bit WAV of int16 (or float32 in [-1, 1]) samples."""
    if audio.dtype != np.int16:
        audio = (np.clip(audio.astype(np.float32), -1.0, 1.0) * 32767.0).astype(np.int16)
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(SAMPLE_RATE)
        w.writeframes(audio.astype("<i2").tobytes())
    return buf.getvalue()


def multipart(
    fields: list[tuple[str, str]], file_field: str, filename: str, data: bytes, mime: str
) -> tuple[bytes, str]:
    """A multipart/form-data body and its content type."""
    boundary = f"vi-{uuid.uuid4().hex}"
    parts: list[bytes] = []
    for name, value in fields:
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'
            f"{value}\r\n".encode()
        )
    parts.append(
        f"--{boundary}\r\nContent-Disposition: form-data; name=\"{file_field}\"; "
        f'filename="{filename}"\r\nContent-Type: {mime}\r\n\r\n'.encode()
        + data
        + b"\r\n"
    )
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def _num(value: Any, default: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
        return default
    return float(value)


def to_transcript(body: Any, duration_s: float) -> Transcript:
    """An OpenAI ``verbose_json`` transcription (or a plain ``json`` one) as a Transcript.

    Segments go through the local pass's hallucination guard. Words come from each
    segment's ``words`` (faster-whisper servers give their probability) or the top-level
    ``words`` (OpenAI's, with ``timestamp_granularities[]=word``, without one); a word
    without a probability gets its segment's mean token probability, exp(avg_logprob),
    or none is made up: 1.0 where nothing says (the gate then leans on the log-probability).
    ``duration_s`` is the audio sent, the timeline the word times are on."""
    if not isinstance(body, dict) or not isinstance(body.get("text", ""), str):
        raise STTError("STT server answered something that is not a transcription")
    segments = body.get("segments")
    if not isinstance(segments, list):  # response_format=json: text only
        text = str(body.get("text", "")).strip()
        return Transcript(text, [], 0.0, 0.0, duration_s, 0)
    texts: list[str] = []
    words: list[Word] = []
    no_speech: list[float] = []
    logprobs: list[float] = []
    kept: list[tuple[float, float, float | None]] = []  # start, end, avg_logprob
    dropped = 0
    for seg in segments:
        if not isinstance(seg, dict):
            continue
        text = str(seg.get("text", "")).strip()
        if not text:
            continue
        nsp = _num(seg.get("no_speech_prob"), 0.0)
        raw_lp = seg.get("avg_logprob")
        lp = _num(raw_lp, 0.0)
        if is_hallucination(text, nsp, lp, duration_s):
            dropped += 1
            continue
        texts.append(text)
        no_speech.append(nsp)
        logprobs.append(lp)
        seg_lp = lp if isinstance(raw_lp, int | float) else None
        start, end = _num(seg.get("start"), 0.0), _num(seg.get("end"), duration_s)
        kept.append((start, end, seg_lp))
        for w in seg.get("words") or []:
            word = _word(w, seg_lp)
            if word is not None:
                words.append(word)
    if not words and isinstance(body.get("words"), list):
        for w in body["words"]:
            word = _word(w, None)
            if word is None:
                continue
            mid = (word.start + word.end) / 2
            seg_of = next((s for s in kept if s[0] <= mid <= s[1]), None)
            if seg_of is None:
                continue  # in a dropped segment
            if not isinstance(w.get("probability"), int | float) and seg_of[2] is not None:
                word.probability = math.exp(seg_of[2])
            words.append(word)
    return Transcript(
        " ".join(texts).strip(),
        words,
        max(no_speech) if no_speech else 1.0,
        float(np.mean(logprobs)) if logprobs else 0.0,
        duration_s,
        dropped,
    )


def _word(w: Any, seg_logprob: float | None) -> Word | None:
    if not isinstance(w, dict):
        return None
    text = str(w.get("word", "")).strip()
    if not text:
        return None
    prob = w.get("probability")
    if not isinstance(prob, int | float) or isinstance(prob, bool):
        prob = math.exp(seg_logprob) if seg_logprob is not None else 1.0
    return Word(text, _num(w.get("start"), 0.0), _num(w.get("end"), 0.0), float(prob))


class RemoteSpeechToText(SpeechToText):
    """SpeechToText whose full passes run on a server; quick passes stay local.

    ``model_info`` is the server's model (what final transcripts record);
    ``quick_model_info`` the local one. With ``stt_remote_fallback``, a full pass the
    server still fails after the retries runs on the local model instead."""

    def __init__(self, quick_model: ModelFile, settings: Settings) -> None:
        # One worker: full passes only run here as a fallback.
        super().__init__(quick_model, settings, num_workers=1)
        self.endpoint = HttpEndpoint(
            settings.stt_url,
            what="STT server",
            timeout_s=settings.stt_timeout_s,
            retries=settings.remote_retries,
            backoff_s=settings.remote_backoff_s,
            max_in_flight=settings.stt_max_in_flight,
            api_key=settings.stt_api_key,
        )
        self.remote_model = settings.stt_remote_model
        self.fallback = settings.stt_remote_fallback
        self.quick_model_info = quick_model
        self.model_info = RemoteModel(
            "stt", settings.stt_remote_model, self.endpoint.base_url, "VI_STT_URL"
        )
        self.fallbacks = 0

    def transcribe(self, audio: np.ndarray, *, prompt: str | None = None) -> Transcript:
        """The full pass, on the server (see ``transcribe_remote``)."""
        try:
            return self.transcribe_remote(audio, prompt=prompt)
        except STTError as e:
            if not self.fallback:
                raise
            self.fallbacks += 1
            log.warning("remote transcription failed, transcribing locally: %s", e)
            return super().transcribe(audio, prompt=prompt)

    def transcribe_remote(self, audio: np.ndarray, *, prompt: str | None = None) -> Transcript:
        """One request to ``/audio/transcriptions``; raises STTError."""
        duration = len(audio) / SAMPLE_RATE
        if duration < 0.1:
            return Transcript("", duration_s=duration)
        fields = [
            ("model", self.remote_model),
            ("language", "en"),
            ("response_format", "verbose_json"),
            ("timestamp_granularities[]", "word"),
            ("timestamp_granularities[]", "segment"),
        ]
        # No temperature: a server's default is Whisper's fallback ladder (0, 0.2, ...),
        # as the local pass uses; "0" would switch it off.
        if prompt:
            fields.append(("prompt", prompt))
        body, content_type = multipart(fields, "file", "answer.wav", wav_bytes(audio), "audio/wav")
        try:
            out = self.endpoint.request("POST", "audio/transcriptions", body, content_type)
        except RemoteError as e:
            raise STTError(str(e)) from e
        return to_transcript(out, duration)
