"""Stored answer audio for the report: the whole answer as Ogg/Opus, and clips of it.

The recruiter's web page shows the report in a sandboxed iframe (no scripts, opaque
origin), which cannot send the recruiter's Bearer key, so a link to the audio route would
not authenticate. The page therefore carries its audio inline as ``data:`` URLs
(``report_html``): the whole answer once (about 3 KB per second of speech), and each quote
as its own short clip, cut here from the stored Ogg/Opus by copying its packets (no
re-encoding; about a millisecond a clip) with ``CLIP_PAD_S`` of context on each side.
A clip plays from its start to its end in any browser with native controls, which a
media fragment (``#t=``) on the whole answer would not guarantee, and which would embed
the whole answer once per quote. The same clips come from
``GET /api/interviews/{id}/answers/{answer_id}/audio?start=&end=`` for API clients.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from fractions import Fraction

import av
import numpy as np

from voice_interview.audio.storage import PCM_FORMAT, encode_ogg_opus
from voice_interview.store.tables import AnswerRow

AUDIO_MIME = "audio/ogg"
CLIP_PAD_S = 0.25  # context kept before and after a quote's words
CLIP_MAX_S = 30.0  # longest clip cut (a quote is a clause or two)
OPUS_WARMUP_S = 0.08  # packets kept before a clip's start so the decoder settles


class AudioUnavailableError(Exception):
    """No audio is stored for the answer (storage off, or nothing was said)."""


def audio_url(interview_id: str, answer_id: str) -> str:
    return f"/api/interviews/{interview_id}/answers/{answer_id}/audio"


def clip_bounds(start_s: float, end_s: float, duration_s: float | None) -> tuple[float, float]:
    """A quote's clip: its words with ``CLIP_PAD_S`` either side, inside the audio."""
    a = max(0.0, start_s - CLIP_PAD_S)
    b = end_s + CLIP_PAD_S
    if duration_s:
        b = min(b, duration_s)
    b = min(b, a + CLIP_MAX_S)
    return round(a, 2), round(max(a, b), 2)


@dataclass
class _Packet:
    pts: int
    duration: int
    data: bytes


class OggOpusAudio:
    """One stored answer's Ogg/Opus audio, demuxed once; cuts clips by packet copy."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        try:
            with av.open(io.BytesIO(data), "r") as container:
                stream = container.streams.audio[0]
                self.rate = int(stream.codec_context.sample_rate or 48000)
                self.packets = [
                    _Packet(int(p.pts), int(p.duration or 0), bytes(p))
                    for p in container.demux(stream)
                    if p.size and p.pts is not None
                ]
        except (av.FFmpegError, IndexError) as e:
            raise AudioUnavailableError(f"stored audio is unreadable: {e}") from e
        end = max((p.pts + p.duration for p in self.packets), default=0)
        self.duration_s = max(0.0, end / self.rate)

    def clip(self, start_s: float, end_s: float) -> bytes:
        """Ogg/Opus of [start_s, end_s] (to the 20 ms packet), no re-encoding."""
        out = io.BytesIO()
        with (
            av.open(io.BytesIO(self.data), "r") as source,
            av.open(out, "w", format="ogg") as container,
        ):
            stream = container.add_stream_from_template(source.streams.audio[0])
            first: int | None = None
            for p in self.packets:
                t0 = p.pts / self.rate
                t1 = (p.pts + p.duration) / self.rate
                if t1 <= start_s - OPUS_WARMUP_S or t0 >= end_s:
                    continue
                if first is None:
                    first = p.pts
                packet = av.Packet(p.data)
                packet.pts = packet.dts = p.pts - first
                packet.duration = p.duration
                packet.time_base = Fraction(1, self.rate)
                packet.stream = stream
                container.mux(packet)
        return out.getvalue()


def answer_ogg(fmt: str, data: bytes) -> bytes:
    """An answer's stored audio as Ogg/Opus (raw PCM, before transcription, is encoded)."""
    if not data:
        raise AudioUnavailableError("no audio is stored for this answer")
    if fmt == PCM_FORMAT:
        return encode_ogg_opus(np.frombuffer(data, dtype="<i2").astype(np.int16))
    return data


def answer_audio(
    answer: AnswerRow, start_s: float | None = None, end_s: float | None = None
) -> bytes:
    """The answer's audio as Ogg/Opus, or the clip [start_s, end_s] of it (seconds of the
    stored audio, which is what word timestamps and evidence times refer to)."""
    data = answer_ogg(answer.audio_format, bytes(answer.audio or b""))
    if start_s is None and end_s is None:
        return data
    audio = OggOpusAudio(data)
    a = 0.0 if start_s is None else start_s
    b = audio.duration_s if end_s is None else end_s
    if not 0 <= a < b:
        raise ValueError("need 0 <= start < end")
    if a >= audio.duration_s:
        raise ValueError(f"start is past the end of the audio ({audio.duration_s:.2f} s)")
    return audio.clip(a, min(b, audio.duration_s))
