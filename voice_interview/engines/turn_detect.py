"""Has the candidate finished speaking? Smart Turn v3.2 answers from the audio itself.

Smart Turn v3.2 (pipecat-ai's ``smart-turn-v3.2-cpu.onnx``, a Whisper-tiny-sized encoder
with a classifier head) takes the last 8 s of speech at 16 kHz as Whisper log-mel
features and returns the probability that the speaker's turn is complete. It hears
intonation and rhythm as well as words, so it tells a thinking pause after "because the"
from the end of an answer without waiting for a transcript, in tens of milliseconds.

The features are Whisper's: a 400-point periodic Hann STFT with hop 160 (reflect-padded,
centred), power spectrum, 80 Slaney mel bands, log10, floored at max - 8, then
``(x + 4) / 4``; the waveform is first normalised to zero mean and unit variance, and the
clip is left-padded with zeros to exactly 8 s (the model was trained that way).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from voice_interview.audio import SAMPLE_RATE
from voice_interview.engines.models import ModelFile, ModelNotFoundError

WINDOW_S = 8
_N_FFT = 400
_HOP = 160
_N_MELS = 80
_FRAMES = WINDOW_S * SAMPLE_RATE // _HOP  # 800


def _mel_filters() -> NDArray[np.float64]:
    """Slaney-scale, area-normalised triangular filters, shape (n_mels, n_fft // 2 + 1)."""
    from faster_whisper.feature_extractor import FeatureExtractor

    # faster-whisper ships the same filterbank Whisper (and so Smart Turn) was trained on.
    filters = FeatureExtractor.get_mel_filters(SAMPLE_RATE, _N_FFT, n_mels=_N_MELS)
    return np.asarray(filters, dtype=np.float64)


_WINDOW = np.hanning(_N_FFT + 1)[:-1]  # periodic Hann, as torch.hann_window


def log_mel_features(audio: NDArray[np.float32], mel: NDArray[np.float64]) -> NDArray[np.float32]:
    """Whisper log-mel features of the last 8 s of ``audio`` (16 kHz float), (80, 800)."""
    n = WINDOW_S * SAMPLE_RATE
    x = audio[-n:].astype(np.float32)
    if x.size < n:
        x = np.concatenate([np.zeros(n - x.size, dtype=np.float32), x])
    x = (x - x.mean()) / np.sqrt(x.var() + 1e-7)
    padded = np.pad(x.astype(np.float64), _N_FFT // 2, mode="reflect")
    frames = np.lib.stride_tricks.sliding_window_view(padded, _N_FFT)[::_HOP][:_FRAMES]
    power = np.abs(np.fft.rfft(frames * _WINDOW, axis=-1)) ** 2  # (800, 201)
    logmel = np.log10(np.maximum(mel @ power.T, 1e-10))
    logmel = np.maximum(logmel, logmel.max() - 8.0)
    features: NDArray[np.float32] = ((logmel + 4.0) / 4.0).astype(np.float32)
    return features


class TurnDetector:
    """Smart Turn v3.2 on onnxruntime, one thread (it runs beside STT on a small box)."""

    def __init__(self, model: ModelFile, threads: int = 1) -> None:
        import onnxruntime as ort

        self.model_info = model
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        try:
            self._session = ort.InferenceSession(
                str(model.path), sess_options=options, providers=["CPUExecutionProvider"]
            )
        except Exception as e:  # onnxruntime raises its own untyped errors for bad files
            raise ModelNotFoundError(
                f"turn model unusable: {model.setting}={model.path} ({e})"
            ) from e
        self._input = self._session.get_inputs()[0].name
        self._mel = _mel_filters()

    def probability_complete(self, pcm16: NDArray[np.int16]) -> float:
        """Probability that the speech in ``pcm16`` (16 kHz, ending now) is a finished turn."""
        if pcm16.size == 0:
            return 0.0
        features = log_mel_features(pcm16.astype(np.float32) / 32768.0, self._mel)
        (out,) = self._session.run(None, {self._input: features[np.newaxis]})[:1]
        return float(np.asarray(out).reshape(-1)[0])
