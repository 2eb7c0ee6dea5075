"""WebM (Matroska) Opus streams as MediaRecorder writes them, parsed element by element."""

from __future__ import annotations

from voice_interview.audio.codecs.base import (
    MAX_BUFFERED_ELEMENT,
    TARGET_RATE,
    _concat,
)
from voice_interview.audio.codecs.opus import _OpusCore
from voice_interview.audio.codecs.stream import _StreamDecoder

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
