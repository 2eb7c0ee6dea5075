"""A session's audio formats (what the client sends, what it wants back) and the
outbound block that speaks one question."""

from __future__ import annotations

import asyncio

from voice_interview import protocol as p
from voice_interview.audio.codecs import (
    InputDecoder,
    UnsupportedAudioError,
    make_decoder,
    make_encoder,
)
from voice_interview.engines.tts import Speech
from voice_interview.interview.session.outbound import Outbound
from voice_interview.store.tables import QuestionRow


class SessionFormats:
    def __init__(self, voice_rate: int) -> None:
        self.voice_rate = voice_rate
        self.input = p.DEFAULT_INPUT_AUDIO
        self.output = p.AudioFormat("pcm_s16le", voice_rate)

    def update(self, msg: p.SessionUpdate) -> InputDecoder | None:
        """Apply a ``session.update``; returns the new input decoder (None: unchanged).
        Raises ValueError, with the reason, if a format is refused."""
        decoder: InputDecoder | None = None
        try:
            if msg.input_audio is not None:
                decoder = make_decoder(msg.input_audio.encoding, msg.input_audio.sample_rate)
            if msg.output_audio is not None:
                out = msg.output_audio
                rate = 48000 if out.encoding == "opus" else (out.sample_rate or self.voice_rate)
                make_encoder(out.encoding, self.voice_rate, rate)
                self.output = p.AudioFormat(out.encoding, rate)
        except UnsupportedAudioError as e:
            raise ValueError(str(e)) from e
        if msg.input_audio is not None:
            self.input = msg.input_audio
        return decoder


def question_block(
    question: QuestionRow, total: int, speech: Speech, output: p.AudioFormat
) -> Outbound:
    """The question's text, its audio frames and ``question_audio_end``, sent as one."""
    msg = p.QuestionMsg(
        question.id,
        question.text,
        question.question_type,
        question.difficulty,
        question.position,
        total,
    )
    encoder = make_encoder(output.encoding, speech.sample_rate, output.sample_rate or None)
    frames = encoder.encode(speech.pcm) + encoder.flush()
    end = p.QuestionAudioEndMsg(question.id, speech.duration_ms)
    first: asyncio.Future[float] = asyncio.get_running_loop().create_future()
    return Outbound([msg.to_json(), *frames, end.to_json()], first)
