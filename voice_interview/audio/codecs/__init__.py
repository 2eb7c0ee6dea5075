"""Input decoders (to 16 kHz mono int16) and output encoders for the WebSocket audio.

Decoders keep state across binary frames and never lose audio to an error: when a frame
is rejected with :class:`AudioDecodeError`, whatever that same call had already decoded
comes out of the next ``feed``/``flush``.

The Ogg and WebM demuxers are small incremental parsers written here rather than a PyAV
container over a growing buffer: FFmpeg's demuxers read synchronously and take "no bytes
yet" for end of file, so a live MediaRecorder stream would need re-probing on every frame.
Parsing pages / EBML elements as they complete keeps the cost O(new data) and lets a
corrupt stretch be skipped. Opus itself is decoded by libopus through PyAV.
"""

from __future__ import annotations

from voice_interview.audio.codecs.base import (
    INPUT_ENCODINGS,
    OUTPUT_ENCODINGS,
    TARGET_RATE,
    AudioDecodeError,
    InputDecoder,
    OutputEncoder,
    UnsupportedAudioError,
    _check_rate,
)
from voice_interview.audio.codecs.ogg import OggOpusDecoder
from voice_interview.audio.codecs.opus import OpusEncoder, OpusPacketDecoder
from voice_interview.audio.codecs.pcm import PcmDecoder, PcmEncoder
from voice_interview.audio.codecs.resample import resample
from voice_interview.audio.codecs.webm import WebmOpusDecoder

__all__ = [
    "INPUT_ENCODINGS",
    "OUTPUT_ENCODINGS",
    "TARGET_RATE",
    "AudioDecodeError",
    "InputDecoder",
    "OutputEncoder",
    "UnsupportedAudioError",
    "make_decoder",
    "make_encoder",
    "resample",
]


def make_decoder(encoding: str, sample_rate: int) -> InputDecoder:
    """A stateful decoder for one input stream; output is int16 mono at 16 kHz.

    ``sample_rate`` is the announced rate; it matters for ``pcm_s16le`` only (Opus carries
    48 kHz internally) but must still be a plausible rate.
    """
    _check_rate(sample_rate, "input sample rate")
    if encoding == "pcm_s16le":
        return PcmDecoder(sample_rate)
    if encoding == "opus":
        return OpusPacketDecoder()
    if encoding == "ogg_opus":
        return OggOpusDecoder()
    if encoding == "webm_opus":
        return WebmOpusDecoder()
    raise UnsupportedAudioError(f"unsupported input encoding {encoding!r}")


def make_encoder(encoding: str, in_rate: int, out_rate: int | None = None) -> OutputEncoder:
    """A stateful encoder for one output stream of int16 mono PCM at ``in_rate``.

    ``pcm_s16le`` resamples to ``out_rate`` (default: ``in_rate``). ``opus`` always encodes
    at 48 kHz (``.sample_rate``); any ``out_rate`` Opus can be decoded at is accepted.
    """
    _check_rate(in_rate, "output input rate")
    if out_rate is not None:
        _check_rate(out_rate, "output sample rate")
    if encoding == "pcm_s16le":
        return PcmEncoder(in_rate, out_rate or in_rate)
    if encoding == "opus":
        if out_rate not in (None, 8000, 12000, 16000, 24000, 48000):
            raise UnsupportedAudioError(f"Opus cannot be played back at {out_rate} Hz")
        return OpusEncoder(in_rate)
    raise UnsupportedAudioError(f"unsupported output encoding {encoding!r}")
