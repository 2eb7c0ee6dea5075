"""Answer audio at rest: 16 kHz mono speech as Ogg/Opus (about 3 KB per second at 24 kb/s)."""

from __future__ import annotations

import io

import av
import numpy as np
import numpy.typing as npt

from voice_interview.audio import SAMPLE_RATE
from voice_interview.audio.codecs import AudioDecodeError, make_decoder

RATE = SAMPLE_RATE
_FRAME = RATE // 50  # 20 ms
# The stored answer audio's formats (``AnswerRow.audio_format``): 16 kHz int16 little-endian
# PCM as the turn ends, Ogg/Opus once the final transcript is saved.
PCM_FORMAT = "pcm_s16le_16k"
OGG_FORMAT = "ogg_opus"


def encode_ogg_opus(pcm: npt.NDArray[np.int16], bitrate: int = 24000) -> bytes:
    """Encode 16 kHz int16 mono speech; libopus takes 16 kHz input as it is."""
    buf = io.BytesIO()
    with av.open(buf, "w", format="ogg") as container:
        stream = container.add_stream("libopus", rate=RATE)
        stream.layout = "mono"
        stream.bit_rate = bitrate
        for start in range(0, pcm.size, _FRAME):
            chunk = pcm[start : start + _FRAME]
            if chunk.size < _FRAME:
                chunk = np.concatenate([chunk, np.zeros(_FRAME - chunk.size, dtype=np.int16)])
            frame = av.AudioFrame.from_ndarray(chunk.reshape(1, -1), format="s16", layout="mono")
            frame.sample_rate = RATE
            frame.pts = start
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return buf.getvalue()


def decode_ogg_opus(data: bytes) -> npt.NDArray[np.int16]:
    """Back to 16 kHz int16 mono (for re-transcription after a crash, or clips)."""
    decoder = make_decoder("ogg_opus", 48000)
    try:
        pcm = np.concatenate([decoder.feed(data), decoder.flush()])
    except AudioDecodeError:
        raise
    return pcm.astype(np.int16, copy=False)
