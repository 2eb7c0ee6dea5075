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

import struct
import zlib
from typing import Protocol

import av
import numpy as np
import numpy.typing as npt
from av.audio.codeccontext import AudioCodecContext
from av.audio.frame import AudioFrame
from av.audio.resampler import AudioResampler

# The wire contract owns the list of encodings; the codecs implement each of them.
from voice_interview.protocol import INPUT_ENCODINGS, OUTPUT_ENCODINGS

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

Pcm = npt.NDArray[np.int16]


class AudioDecodeError(Exception):
    """Input audio could not be decoded (-> ``AUDIO_DECODE_ERROR``); the decoder stays usable."""


class UnsupportedAudioError(Exception):
    """Unknown encoding or sample rate (-> ``UNSUPPORTED_AUDIO``)."""


TARGET_RATE = 16000
OPUS_RATE = 48000
MIN_RATE, MAX_RATE = 8000, 192000
OPUS_FRAME = 960  # 20 ms at 48 kHz
OPUS_BITRATE = 32000  # transparent enough for speech, small on the wire
PCM_OUT_FRAME_MS = 40  # one WS frame per 40 ms: few frames, and playback can start at once
# Elements / pages we must hold whole before parsing; anything bigger is not a sane stream.
MAX_BUFFERED_ELEMENT = 4 << 20


class InputDecoder(Protocol):
    def feed(self, data: bytes) -> Pcm: ...
    def flush(self) -> Pcm: ...


class OutputEncoder(Protocol):
    sample_rate: int

    def encode(self, pcm: Pcm) -> list[bytes]: ...
    def flush(self) -> list[bytes]: ...


def _empty() -> Pcm:
    return np.zeros(0, dtype=np.int16)


def _concat(parts: list[Pcm]) -> Pcm:
    if not parts:
        return _empty()
    if len(parts) == 1:
        return parts[0]
    return np.concatenate(parts)


def _check_rate(rate: int, what: str) -> None:
    if not isinstance(rate, int) or isinstance(rate, bool) or not MIN_RATE <= rate <= MAX_RATE:
        raise UnsupportedAudioError(f"{what} {rate!r} is outside {MIN_RATE}..{MAX_RATE} Hz")


def _as_int16(pcm: npt.ArrayLike) -> Pcm:
    arr = np.asarray(pcm)
    if arr.dtype != np.int16:
        raise TypeError(f"expected int16 PCM, got {arr.dtype}")
    return np.ascontiguousarray(arr.reshape(-1))


# --------------------------------------------------------------------------- resampling


class _Resampler:
    """Streaming resampler to ``out_rate`` mono s16 (libswresample keeps the filter state,
    so chunk boundaries are seamless). Same-rate mono s16 input passes straight through."""

    def __init__(self, in_rate: int, out_rate: int) -> None:
        self.in_rate = in_rate
        self.out_rate = out_rate
        self._swr: AudioResampler | None = None
        self._pts = 0

    def _get(self) -> AudioResampler:
        if self._swr is None:
            self._swr = AudioResampler(format="s16", layout="mono", rate=self.out_rate)
        return self._swr

    @staticmethod
    def _collect(frames: list[AudioFrame]) -> Pcm:
        parts: list[Pcm] = [f.to_ndarray().reshape(-1).astype(np.int16, copy=False) for f in frames]
        return _concat(parts)

    def push(self, pcm: Pcm) -> Pcm:
        if pcm.size == 0:
            return _empty()
        if self.in_rate == self.out_rate:
            return pcm
        frame = AudioFrame.from_ndarray(pcm.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = self.in_rate
        return self.push_frame(frame)

    def push_frame(self, frame: AudioFrame) -> Pcm:
        """A decoded frame (any format / layout at ``in_rate``): downmix, convert, resample."""
        if frame.samples == 0:
            return _empty()
        if (
            self.in_rate == self.out_rate
            and frame.format.name == "s16"
            and frame.layout.nb_channels == 1
        ):
            return frame.to_ndarray().reshape(-1).astype(np.int16, copy=False)
        # swresample wants monotonic timestamps; we own the timeline.
        frame.pts = self._pts
        self._pts += frame.samples
        return self._collect(self._get().resample(frame))

    def flush(self) -> Pcm:
        """Drain the filter tail; the resampler is fresh afterwards."""
        if self._swr is None:
            return _empty()
        out = self._collect(self._swr.resample(None))
        self._swr = None
        self._pts = 0
        return out


def resample(pcm: npt.NDArray[np.int16], in_rate: int, out_rate: int) -> Pcm:
    """One-shot resample of int16 mono PCM; output length is ``round(n * out / in)`` (±1)."""
    _check_rate(in_rate, "input sample rate")
    _check_rate(out_rate, "output sample rate")
    data = _as_int16(pcm)
    if in_rate == out_rate:
        return data.copy()
    rs = _Resampler(in_rate, out_rate)
    return _concat([rs.push(data), rs.flush()])


# --------------------------------------------------------------------------- PCM input


class PcmDecoder:
    """PCM s16le mono at any rate, any number of bytes per frame (an odd byte waits)."""

    def __init__(self, sample_rate: int) -> None:
        self._rs = _Resampler(sample_rate, TARGET_RATE)
        self._odd = b""

    def feed(self, data: bytes) -> Pcm:
        if self._odd:
            data = self._odd + bytes(data)
        usable = len(data) & ~1
        self._odd = bytes(data[usable:])
        if usable == 0:
            return _empty()
        # A copy (astype): the caller may reuse a bytearray, and at 16 kHz we hand it on.
        pcm = np.frombuffer(data, dtype="<i2", count=usable // 2).astype(np.int16)
        return self._rs.push(pcm)

    def flush(self) -> Pcm:
        self._odd = b""  # half a sample is not audio
        return self._rs.flush()


# --------------------------------------------------------------------------- Opus packets


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


# --------------------------------------------------------------------------- containers


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


# Ogg CRC-32 (poly 0x04C11DB7, not reflected, init 0, no final xor) via zlib's reflected
# crc32 over bit-reversed bytes: C speed without a per-byte loop in Python.
_REV8 = bytes(int(f"{i:08b}"[::-1], 2) for i in range(256))


def _ogg_crc(page: bytes | bytearray) -> int:
    reflected = zlib.crc32(bytes(page).translate(_REV8), 0xFFFFFFFF) ^ 0xFFFFFFFF
    return int(f"{reflected:032b}"[::-1], 2)


class OggOpusDecoder(_StreamDecoder):
    """Ogg/Opus byte stream (MediaRecorder ``audio/ogg;codecs=opus``) in arbitrary chunks."""

    def _start(self) -> None:
        super()._start()
        self._serial: int | None = None
        self._packet = bytearray()  # a packet continued across pages
        self._packet_ok = True  # False after a lost page: the continuation is unusable
        self._headers_seen = 0
        self._pre_skip = 0
        self._decoded48 = 0  # 48 kHz samples out of the decoder (after pre-skip)
        self._end48: int | None = None  # from the last page's granule: trims final padding
        self._eos = False

    def _chain(self, serial: int) -> None:
        """A new Opus stream after the end of ours (chained Ogg, a restarted recorder)."""
        if self._core is not None:
            self._out.append(self._core.rs.flush())
        self._core = None
        self._serial = serial
        self._packet.clear()
        self._packet_ok = True
        self._headers_seen = 0
        self._pre_skip = 0
        self._decoded48 = 0
        self._end48 = None
        self._eos = False

    def _parse(self, final: bool) -> None:
        buf = self._buf
        pos = 0
        while len(buf) - pos >= 27:
            if buf[pos : pos + 4] != b"OggS" or buf[pos + 4] != 0:
                pos = self._resync(pos)
                continue
            nseg = buf[pos + 26]
            head_len = 27 + nseg
            if len(buf) - pos < head_len:
                break
            lacing = bytes(buf[pos + 27 : pos + head_len])
            page_len = head_len + sum(lacing)
            if len(buf) - pos < page_len:
                break
            page = buf[pos : pos + page_len]  # a copy: the CRC field is zeroed below
            (crc,) = struct.unpack_from("<I", page, 22)
            page[22:26] = b"\0\0\0\0"
            if _ogg_crc(page) != crc:
                pos = self._resync(pos)
                continue
            self._in_sync = True
            self._page(page, lacing, head_len)
            pos += page_len
        rest = bytes(buf[pos : pos + 4])
        if final and len(buf) - pos >= 27 and rest == b"OggS":
            pos += self._salvage(buf[pos:])
        elif len(buf) - pos < 27 and not b"OggS".startswith(rest):
            pos = self._resync(pos)  # e.g. a short garbage stream: say so at once
        del buf[:pos]

    def _resync(self, pos: int) -> int:
        nxt = self._buf.find(b"OggS", pos + 1)
        if nxt < 0:
            nxt = max(pos + 1, len(self._buf) - 3)  # keep a possibly split "Ogg"
        self._lose_sync("corrupt data in the Ogg stream (or not an Ogg stream); skipped")
        self.discarded_bytes += nxt - pos
        self._packet.clear()
        self._packet_ok = False
        return nxt

    def _salvage(self, partial: bytearray) -> int:
        """A truncated last page: its lacing table says which packets are complete."""
        nseg = partial[26]
        serial = struct.unpack_from("<I", partial, 14)[0]
        if len(partial) < 27 + nseg or serial != self._serial or not self._ready:
            return 0
        pos = 27 + nseg
        packet = self._packet if partial[5] & 1 and self._packet_ok else bytearray()
        for lace in partial[27 : 27 + nseg]:
            if pos + lace > len(partial):
                break
            packet += partial[pos : pos + lace]
            pos += lace
            if lace < 255:
                self._decode_packet(bytes(packet))
                packet = bytearray()
        self._packet = bytearray()
        self.discarded_bytes += len(partial) - pos
        return len(partial)

    def _page(self, page: bytearray, lacing: bytes, head_len: int) -> None:
        flags = page[5]
        granule, serial = struct.unpack_from("<qI", page, 6)
        body = memoryview(page)[head_len:]
        opus_start = bool(flags & 2) and bytes(body[:8]) == b"OpusHead"
        if opus_start and self._eos:
            self._chain(serial)  # whatever its serial: ours has ended
        if self._serial is None:
            if opus_start:
                self._serial = serial
            elif flags & 2:
                return  # another logical stream's start (e.g. video): not ours
            else:
                self._error("Ogg stream does not start with an Opus header")
                return
        elif serial != self._serial:
            return  # multiplexed stream that is not ours
        if not flags & 1:
            if self._packet:
                self._error("Ogg packet cut short by the next page")
            self._packet.clear()
            self._packet_ok = True
        if flags & 4:
            self._eos = True
            if granule >= 0:
                self._end48 = granule - self._pre_skip
        off = 0
        for lace in lacing:
            if self._packet_ok:
                self._packet += body[off : off + lace]
            off += lace
            if lace < 255:
                if self._packet_ok:
                    self._packet_done(bytes(self._packet))
                self._packet.clear()
                self._packet_ok = True

    def _packet_done(self, packet: bytes) -> None:
        if self._headers_seen == 0:
            if len(packet) < 19 or packet[:8] != b"OpusHead":
                self._error("bad OpusHead")
                return
            self._pre_skip = struct.unpack_from("<H", packet, 10)[0]
            self._core = _OpusCore(extradata=packet)
            self._headers_seen = 1
            return
        if self._headers_seen == 1:
            self._headers_seen = 2
            self._ready = True
            if packet[:8] == b"OpusTags":
                return
        self._decode_packet(packet)

    def _emit(self, frame: AudioFrame) -> None:
        assert self._core is not None
        n = frame.samples
        start = self._decoded48
        self._decoded48 += n
        out = self._core.rs.push_frame(frame)
        if self._end48 is not None and start + n > self._end48:
            # Past the end granule of the last page: the encoder's padding. Trim it at
            # 16 kHz (off by the resampler's few-sample delay at most).
            excess = min(n, start + n - self._end48) * TARGET_RATE // OPUS_RATE
            out = out[: max(0, out.size - excess)]
        self._out.append(out)


# EBML / Matroska element ids (with their length-marker bits, as written in the file).
_EBML = 0x1A45DFA3
_SEGMENT = 0x18538067
_CLUSTER = 0x1F43B675
_TRACKS = 0x1654AE6B
_TRACK_ENTRY = 0xAE
_TRACK_NUMBER = 0xD7
_CODEC_ID = 0x86
_CODEC_PRIVATE = 0x63A2
_BLOCK_GROUP = 0xA0
_BLOCK = 0xA1
_SIMPLE_BLOCK = 0xA3
_DISCARD_PADDING = 0x75A2
# Masters we step into instead of skipping: their children are parsed flat, which also
# covers the unknown sizes that live (MediaRecorder) streams use for Segment and Cluster.
_ENTER = {_SEGMENT, _CLUSTER}
# Elements held whole and then parsed (a BlockGroup because its DiscardPadding, the
# encoder padding to trim at the end of the stream, may follow its Block).
_BUFFERED = {_TRACKS, _SIMPLE_BLOCK, _BLOCK_GROUP}
# Level-1 elements skipped whatever their size.
_SKIP_ANY_SIZE = {
    _EBML,
    0x114D9B74,  # SeekHead
    0x1549A966,  # Info
    0x1C53BB6B,  # Cues
    0x1254C367,  # Tags
    0x1043A770,  # Chapters
    0x1941A469,  # Attachments
    0xEC,  # Void
}
_MAX_OTHER_ELEMENT = 1 << 16  # any other element this big means we are reading garbage


def _vint(buf: bytes | bytearray, pos: int, keep_marker: bool) -> tuple[int, int] | None:
    """EBML variable-length integer at ``pos``: (value, length), or None if incomplete.

    Raises ValueError on a zero first byte. An all-ones size ("unknown") gives -1.
    """
    if pos >= len(buf):
        return None
    first = buf[pos]
    if first == 0:
        raise ValueError("invalid EBML variable-length integer")
    length = 9 - first.bit_length()
    if pos + length > len(buf):
        return None
    value = first if keep_marker else first & (0xFF >> length)
    for i in range(1, length):
        value = (value << 8) | buf[pos + i]
    if not keep_marker and value == (1 << (7 * length)) - 1:
        return -1, length
    return value, length


def _element(buf: bytes | bytearray, pos: int) -> tuple[int, int, int] | None:
    """(id, size, header length) of the element at ``pos``; None if incomplete."""
    head = _vint(buf, pos, keep_marker=True)
    if head is None:
        return None
    if head[1] > 4:
        raise ValueError("EBML id longer than 4 bytes")
    size = _vint(buf, pos + head[1], keep_marker=False)
    if size is None:
        return None
    return head[0], size[0], head[1] + size[1]


def _children(data: bytes) -> list[tuple[int, bytes]]:
    """The elements inside a (complete, known-size) master element's body."""
    out: list[tuple[int, bytes]] = []
    pos = 0
    while pos < len(data):
        try:
            el = _element(data, pos)
        except ValueError:
            break
        if el is None or el[1] < 0 or pos + el[2] + el[1] > len(data):
            break
        start = pos + el[2]
        out.append((el[0], data[start : start + el[1]]))
        pos = start + el[1]
    return out


def _unlace(payload: bytes, lacing: int) -> list[bytes]:
    """Split a Matroska block's payload into frames (no, Xiph, fixed or EBML lacing)."""
    if lacing == 0:
        return [payload]
    if not payload:
        raise ValueError("empty laced block")
    count = payload[0] + 1
    pos = 1
    sizes: list[int] = []
    if lacing == 1:  # Xiph: each size as a run of 255s plus a final byte
        for _ in range(count - 1):
            size = 0
            while True:
                if pos >= len(payload):
                    raise ValueError("truncated Xiph lacing")
                byte = payload[pos]
                pos += 1
                size += byte
                if byte != 255:
                    break
            sizes.append(size)
    elif lacing == 3:  # EBML: first size, then signed differences
        for i in range(count - 1):
            field = _vint(payload, pos, keep_marker=False)
            if field is None or field[0] < 0:
                raise ValueError("truncated EBML lacing")
            if i == 0:
                sizes.append(field[0])
            else:
                bias = (1 << (7 * field[1] - 1)) - 1
                sizes.append(sizes[-1] + field[0] - bias)
            pos += field[1]
    else:  # fixed: equal sizes
        total = len(payload) - pos
        if total % count:
            raise ValueError("fixed lacing does not divide the block")
        sizes = [total // count] * (count - 1)
    last = len(payload) - pos - sum(sizes)
    if last < 0 or any(s < 0 for s in sizes):
        raise ValueError("lace sizes exceed the block")
    frames = []
    for size in [*sizes, last]:
        frames.append(payload[pos : pos + size])
        pos += size
    return frames


class WebmOpusDecoder(_StreamDecoder):
    """WebM/Opus byte stream (MediaRecorder ``audio/webm;codecs=opus``) in arbitrary chunks."""

    _EBML_MAGIC = b"\x1a\x45\xdf\xa3"
    _CLUSTER_MAGIC = b"\x1f\x43\xb6\x75"

    def _start(self) -> None:
        super()._start()
        self._skip = 0  # bytes of a skipped element still to come
        self._started = False  # EBML header seen
        self._track: int | None = None

    def _parse(self, final: bool) -> None:
        buf = self._buf
        pos = 0
        while True:
            if self._skip:
                n = min(self._skip, len(buf) - pos)
                self._skip -= n
                pos += n
                if self._skip:
                    break
            if not self._in_sync:
                # Resume at the next EBML header (new stream) or, mid-stream, the next Cluster.
                magic = self._CLUSTER_MAGIC if self._started else self._EBML_MAGIC
                nxt = buf.find(magic, pos)
                if nxt < 0:
                    keep = max(pos, len(buf) - 3)
                    self.discarded_bytes += keep - pos
                    pos = keep
                    break
                self.discarded_bytes += nxt - pos
                pos = nxt
                self._in_sync = True
            if not self._started:
                have = bytes(buf[pos : pos + 4])
                if not self._EBML_MAGIC.startswith(have):
                    pos = self._fail(pos, "not a WebM stream (no EBML header)")
                    continue
                if len(have) < 4:
                    break
            try:
                el = _element(buf, pos)
            except ValueError as e:
                pos = self._fail(pos, f"corrupt WebM data: {e}")
                continue
            if el is None:
                break
            eid, size, head_len = el
            body = pos + head_len
            if eid == _EBML:
                self._started = True
            if eid in _ENTER:
                pos = body  # children follow and are parsed flat
                continue
            if size < 0:
                pos = self._fail(pos, f"WebM element 0x{eid:X} of unknown size")
                continue
            if eid in _BUFFERED:
                if size > MAX_BUFFERED_ELEMENT:
                    pos = self._fail(pos, f"WebM element 0x{eid:X} of {size} bytes")
                    continue
                if len(buf) - body < size:
                    break  # wait for the whole element
                data = bytes(buf[body : body + size])
                pos = body + size
                if eid == _TRACKS:
                    self._tracks(data)
                elif eid == _SIMPLE_BLOCK:
                    self._block(data)
                else:
                    self._block_group(data)
                continue
            if eid not in _SKIP_ANY_SIZE and size > _MAX_OTHER_ELEMENT:
                pos = self._fail(pos, f"unexpected WebM element 0x{eid:X} of {size} bytes")
                continue
            pos = body
            self._skip = size
        if final:
            self._skip = 0
        del buf[:pos]

    def _fail(self, pos: int, message: str) -> int:
        """Corrupt data at ``pos``: report it once and resynchronise after it."""
        self._lose_sync(message)
        self.discarded_bytes += 1
        return pos + 1

    def _tracks(self, data: bytes) -> None:
        for eid, entry in _children(data):
            if eid != _TRACK_ENTRY:
                continue
            fields = dict(_children(entry))
            if fields.get(_CODEC_ID, b"").rstrip(b"\0") != b"A_OPUS":
                continue
            number = int.from_bytes(fields.get(_TRACK_NUMBER, b""), "big")
            if number == 0:
                continue
            head = fields.get(_CODEC_PRIVATE)
            valid_head = head is not None and len(head) >= 19 and head[:8] == b"OpusHead"
            self._track = number
            self._core = _OpusCore(extradata=head if valid_head else None)
            self._ready = True
            return
        self._error("WebM stream has no Opus audio track")

    def _block_group(self, data: bytes) -> None:
        fields = dict(_children(data))
        block = fields.get(_BLOCK)
        if block is None:
            return
        first = len(self._out)
        self._block(block)
        padding_ns = int.from_bytes(fields.get(_DISCARD_PADDING, b""), "big", signed=True)
        excess = padding_ns * TARGET_RATE // 1_000_000_000
        if excess > 0 and len(self._out) > first:
            out = _concat(self._out[first:])
            self._out[first:] = [out[: max(0, out.size - excess)]]

    def _block(self, data: bytes) -> None:
        try:
            field = _vint(data, 0, keep_marker=False)
        except ValueError:
            field = None
        if field is None or len(data) < field[1] + 3:
            self._error("corrupt WebM block")
            return
        track, tlen = field
        if self._track is None:
            self._error("WebM audio block before the track list")
            return
        if track != self._track:
            return
        try:
            frames = _unlace(data[tlen + 3 :], (data[tlen + 2] >> 1) & 3)
        except ValueError as e:
            self._error(f"corrupt WebM block lacing: {e}")
            return
        for frame in frames:
            self._decode_packet(frame)


# --------------------------------------------------------------------------- factories


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


class PcmEncoder:
    """PCM s16le at ``sample_rate``, in frames of ``PCM_OUT_FRAME_MS`` (last one shorter)."""

    def __init__(self, in_rate: int, out_rate: int) -> None:
        self.sample_rate = out_rate
        self._rs = _Resampler(in_rate, out_rate)
        self._frame_bytes = out_rate * PCM_OUT_FRAME_MS // 1000 * 2
        self._pending = bytearray()

    def _frames(self, pcm: Pcm, final: bool) -> list[bytes]:
        self._pending += pcm.astype("<i2", copy=False).tobytes()
        n = self._frame_bytes
        whole = len(self._pending) // n * n
        out = [bytes(self._pending[i : i + n]) for i in range(0, whole, n)]
        del self._pending[:whole]
        if final and self._pending:
            out.append(bytes(self._pending))
            self._pending.clear()
        return out

    def encode(self, pcm: Pcm) -> list[bytes]:
        return self._frames(self._rs.push(_as_int16(pcm)), final=False)

    def flush(self) -> list[bytes]:
        return self._frames(self._rs.flush(), final=True)


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
