"""Audio I/O: codecs (decode / resample / encode) and voice activity / turn detection."""
