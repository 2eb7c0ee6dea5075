"""Audio I/O: codecs (decode / resample / encode) and voice activity / turn detection."""

# The one rate everything after the input decoders runs at: VAD, echo guard, STT, the
# turn model and the stored answer audio.
SAMPLE_RATE = 16000
