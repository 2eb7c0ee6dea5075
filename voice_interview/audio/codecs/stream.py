"""The common part of the container decoders (Ogg, WebM): a buffer parsed as it grows."""

from __future__ import annotations

from av.audio.frame import AudioFrame

from voice_interview.audio.codecs.base import (
    AudioDecodeError,
    Pcm,
    _concat,
)
from voice_interview.audio.codecs.opus import _OpusCore


class _StreamDecoder:
    """Common part of the container decoders: a byte buffer parsed as it grows, the audio
    decoded so far, and errors that are raised only once the good audio is kept aside."""

    def __init__(self) -> None:
        self.discarded_bytes = 0  # bytes skipped as corrupt or truncated, over all streams
        self._start()

    def _start(self) -> None:
        """State of one stream; called again after ``flush`` so a new stream can follow."""
        self._buf = bytearray()
        self._out: list[Pcm] = []
        self._errors: list[str] = []
        self._core: _OpusCore | None = None
        self._ready = False  # codec headers parsed: audio packets can follow
        self._in_sync = True  # False while skipping a corrupt stretch (reported once)
        self._bytes_in = 0

    def _parse(self, final: bool) -> None:
        raise NotImplementedError

    def _error(self, message: str) -> None:
        self._errors.append(message)

    def _lose_sync(self, message: str) -> None:
        if self._in_sync:
            self._error(message)
        self._in_sync = False

    def _decode_packet(self, packet: bytes) -> None:
        if self._core is None:
            return
        try:
            frames = self._core.decode_frames(packet)
        except AudioDecodeError as e:
            self._error(str(e))
            return
        for frame in frames:
            self._emit(frame)

    def _emit(self, frame: AudioFrame) -> None:
        assert self._core is not None
        self._out.append(self._core.rs.push_frame(frame))

    def _take(self) -> Pcm:
        out = _concat(self._out)
        self._out = []
        return out

    def feed(self, data: bytes) -> Pcm:
        if data:
            self._bytes_in += len(data)
            self._buf += data
            self._parse(final=False)
        if self._errors:
            msg = "; ".join(dict.fromkeys(self._errors))
            self._errors = []
            raise AudioDecodeError(msg)  # audio decoded in this call comes out next call
        return self._take()

    def flush(self) -> Pcm:
        """End of the stream: decode what is complete, drop a truncated tail, drain the
        resampler. The decoder is then ready for a new stream (a restarted MediaRecorder);
        a recording that goes on across turns should not be flushed at each turn.

        Raises AudioDecodeError only when the stream produced no audio at all and was
        broken or cut off (before its headers, say); a stream cut short after some audio
        loses its last incomplete packet quietly (``discarded_bytes`` counts it), because
        the answer up to there is still worth transcribing.
        """
        self._parse(final=True)
        if self._bytes_in and not self._ready:
            self._error(f"stream ended after {self._bytes_in} bytes, before its headers")
        self.discarded_bytes += len(self._buf)
        self._buf.clear()
        if self._core is not None:
            self._out.append(self._core.rs.flush())
        errors = self._errors
        out = self._take()
        self._start()
        if errors and out.size == 0:
            raise AudioDecodeError("; ".join(dict.fromkeys(errors)))
        return out
