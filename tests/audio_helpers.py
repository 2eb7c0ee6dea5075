"""Shared helpers for the audio tests: fixtures, reference encoders built straight on
PyAV (independent of voice_interview.audio), and signal comparisons."""

from __future__ import annotations

import io
import json
import random
from pathlib import Path
from typing import Any

import av
import numpy as np
import numpy.typing as npt
import soundfile as sf
from av.audio.frame import AudioFrame
from av.audio.resampler import AudioResampler

FIXTURES = Path(__file__).resolve().parent.parent / "audio_fixtures"
Pcm = npt.NDArray[np.int16]


def manifest() -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = json.loads((FIXTURES / "manifest.json").read_text())
    return entries


def load_fixture(name: str) -> Pcm:
    data, rate = sf.read(FIXTURES / name, dtype="int16")
    assert rate == 16000
    return np.asarray(data, dtype=np.int16)


def tone(rate: int, seconds: float, freqs: tuple[float, ...] = (440.0, 1733.0)) -> Pcm:
    t = np.arange(int(rate * seconds)) / rate
    x = sum(np.sin(2 * np.pi * f * t) * (9000 / (i + 1)) for i, f in enumerate(freqs))
    return np.asarray(x).astype(np.int16)


def ref_resample(pcm: Pcm, in_rate: int, out_rate: int) -> Pcm:
    """Plain PyAV (libswresample) resampling, as an independent reference."""
    rs = AudioResampler(format="s16", layout="mono", rate=out_rate)
    frame = AudioFrame.from_ndarray(pcm.reshape(1, -1), format="s16", layout="mono")
    frame.sample_rate = in_rate
    out = [f.to_ndarray().reshape(-1) for f in rs.resample(frame) + rs.resample(None)]
    return np.concatenate(out).astype(np.int16)


def _opus_frames(pcm16k: Pcm) -> list[AudioFrame]:
    pcm48 = ref_resample(pcm16k, 16000, 48000)
    frames = []
    for i in range(0, pcm48.size, 960):
        chunk = pcm48[i : i + 960]
        if chunk.size < 960:
            chunk = np.concatenate([chunk, np.zeros(960 - chunk.size, dtype=np.int16)])
        frame = AudioFrame.from_ndarray(chunk.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = 48000
        frame.pts = i
        frames.append(frame)
    return frames


def raw_opus_packets(pcm16k: Pcm, bitrate: int = 32000) -> list[bytes]:
    """20 ms raw Opus packets (what a WebCodecs AudioEncoder sends), made with PyAV."""
    enc = av.CodecContext.create("libopus", "w")
    enc.sample_rate = 48000
    enc.layout = "mono"
    enc.format = "s16"
    enc.bit_rate = bitrate
    enc.open()
    packets: list[bytes] = []
    for frame in _opus_frames(pcm16k):
        packets += [bytes(p) for p in enc.encode(frame)]
    packets += [bytes(p) for p in enc.encode(None)]
    return packets


def mux_opus(fmt: str, pcm16k: Pcm, options: dict[str, str] | None = None) -> bytes:
    """An Ogg ("ogg") or WebM ("webm") Opus byte stream, as MediaRecorder would send."""
    buf = io.BytesIO()
    with av.open(buf, "w", format=fmt, options=options or {}) as container:
        stream = container.add_stream("libopus", rate=48000)
        stream.layout = "mono"
        for frame in _opus_frames(pcm16k):
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return buf.getvalue()


def decode_with_pyav(data: bytes) -> Pcm:
    """Reference decode of a container stream to 16 kHz mono."""
    with av.open(io.BytesIO(data), "r") as container:
        stream = container.streams.audio[0]
        frames = list(container.decode(stream))
    rs = AudioResampler(format="s16", layout="mono", rate=16000)
    out = [f.to_ndarray().reshape(-1) for fr in frames for f in rs.resample(fr)]
    out += [f.to_ndarray().reshape(-1) for f in rs.resample(None)]
    return np.concatenate(out).astype(np.int16)


def feed_chunks(decoder: Any, data: bytes, seed: int = 0, lo: int = 1, hi: int = 4096) -> Pcm:
    rng = random.Random(seed)
    out: list[Pcm] = []
    pos = 0
    while pos < len(data):
        n = rng.randint(lo, hi)
        out.append(decoder.feed(data[pos : pos + n]))
        pos += n
    out.append(decoder.flush())
    return np.concatenate(out)


def best_correlation(a: Pcm, b: Pcm, max_lag: int = 400) -> tuple[float, int]:
    """Highest normalised cross-correlation of ``a`` against ``b`` for lags in ±max_lag
    (positive lag: ``a`` is late). FFT based, over the common length."""
    n = min(a.size, b.size)
    x = a[:n].astype(np.float64) - a[:n].mean()
    y = b[:n].astype(np.float64) - b[:n].mean()
    size = 1 << (2 * n - 1).bit_length()
    corr = np.fft.irfft(np.fft.rfft(x, size) * np.conj(np.fft.rfft(y, size)), size)
    lags = np.r_[0 : max_lag + 1, -max_lag:0]
    values = corr[lags] / (np.linalg.norm(x) * np.linalg.norm(y) + 1e-12)
    k = int(np.argmax(values))
    return float(values[k]), int(lags[k])


def band_energy(pcm: Pcm, rate: int = 16000) -> npt.NDArray[np.float64]:
    """Energy in 8 bands up to 8 kHz, normalised: a coarse spectral fingerprint."""
    spec = np.abs(np.fft.rfft(pcm.astype(np.float64))) ** 2
    bands = np.array_split(spec, 8)
    energy = np.array([b.sum() for b in bands])
    return np.asarray(energy / energy.sum(), dtype=np.float64)
