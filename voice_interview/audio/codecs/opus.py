"""Opus packets in (libopus through PyAV) and out."""

from __future__ import annotations

import av
import numpy as np
from av.audio.codeccontext import AudioCodecContext
from av.audio.frame import AudioFrame

from voice_interview.audio.codecs.base import (
    OPUS_BITRATE,
    OPUS_FRAME,
    OPUS_RATE,
    TARGET_RATE,
    AudioDecodeError,
    Pcm,
    UnsupportedAudioError,
    _as_int16,
    _concat,
    _empty,
)
from voice_interview.audio.codecs.resample import _Resampler


def _opus_context(extradata: bytes | None = None) -> AudioCodecContext:
    try:
        ctx = av.CodecContext.create("libopus", "r")
    except av.FFmpegError:  # a build without libopus still has FFmpeg's own decoder
        ctx = av.CodecContext.create("opus", "r")
    if extradata is not None:
        # OpusHead carries channel count, mapping and pre-skip (dropped by the decoder).
        ctx.extradata = extradata
    else:
        # libopus downmixes a stereo packet itself; mono output saves the resampler work.
        ctx.layout = "mono"
    ctx.sample_rate = OPUS_RATE
    return ctx


class _OpusCore:
    """libopus decoder + resampler to 16 kHz, shared by the raw and container decoders."""

    def __init__(self, extradata: bytes | None = None) -> None:
        self._extradata = extradata
        self._ctx = _opus_context(extradata)
        self.rs = _Resampler(OPUS_RATE, TARGET_RATE)

    def decode_frames(self, packet: bytes) -> list[AudioFrame]:
        if not packet:
            # An empty packet is FFmpeg's "drain" signal and would end the decoder for good.
            return []
        try:
            return self._ctx.decode(av.Packet(packet))
        except av.FFmpegError as e:
            if not isinstance(e, av.error.InvalidDataError):
                # Unknown state (e.g. draining): start a fresh decoder for the next packet.
                self._ctx = _opus_context(self._extradata)
            raise AudioDecodeError(f"invalid Opus packet ({len(packet)} bytes)") from e

    def decode(self, packet: bytes) -> Pcm:
        return _concat([self.rs.push_frame(f) for f in self.decode_frames(packet)])


class OpusPacketDecoder:
    """One raw Opus packet per frame (WebCodecs ``AudioEncoder`` output)."""

    def __init__(self) -> None:
        self._core = _OpusCore()

    def feed(self, data: bytes) -> Pcm:
        return self._core.decode(bytes(data))

    def flush(self) -> Pcm:
        return self._core.rs.flush()


class OpusEncoder:
    """Raw Opus packets, 20 ms at 48 kHz mono, one per WS frame (for a WebCodecs decoder)."""

    sample_rate = OPUS_RATE

    def __init__(self, in_rate: int) -> None:
        self._rs = _Resampler(in_rate, OPUS_RATE)
        self._ctx = self._open()
        self._pending = _empty()
        self._pts = 0

    @staticmethod
    def _open() -> AudioCodecContext:
        try:
            ctx = av.CodecContext.create("libopus", "w")
        except av.FFmpegError as e:
            raise UnsupportedAudioError("this PyAV build has no libopus encoder") from e
        ctx.sample_rate = OPUS_RATE
        ctx.layout = "mono"
        ctx.format = "s16"
        ctx.bit_rate = OPUS_BITRATE
        ctx.open()
        return ctx

    def _encode_frame(self, chunk: Pcm | None) -> list[bytes]:
        if chunk is None:
            return [bytes(p) for p in self._ctx.encode(None)]
        frame = AudioFrame.from_ndarray(chunk.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = OPUS_RATE
        frame.pts = self._pts
        self._pts += chunk.size
        return [bytes(p) for p in self._ctx.encode(frame)]

    def _packets(self, pcm: Pcm) -> list[bytes]:
        data = np.concatenate([self._pending, pcm]) if self._pending.size else pcm
        whole = data.size // OPUS_FRAME * OPUS_FRAME
        out: list[bytes] = []
        for i in range(0, whole, OPUS_FRAME):
            out += self._encode_frame(data[i : i + OPUS_FRAME])
        self._pending = data[whole:].copy()
        return out

    def encode(self, pcm: Pcm) -> list[bytes]:
        return self._packets(self._rs.push(_as_int16(pcm)))

    def flush(self) -> list[bytes]:
        out = self._packets(self._rs.flush())
        if self._pending.size:
            pad = np.zeros(OPUS_FRAME - self._pending.size, dtype=np.int16)
            out += self._encode_frame(np.concatenate([self._pending, pad]))
            self._pending = _empty()
        out += self._encode_frame(None)  # the encoder's look-ahead
        self._ctx = self._open()  # a drained encoder cannot take more audio
        self._pts = 0
        return out
