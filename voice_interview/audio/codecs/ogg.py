"""Ogg Opus streams (RFC 7845), parsed page by page as the bytes arrive."""

from __future__ import annotations

import struct
import zlib

from av.audio.frame import AudioFrame

from voice_interview.audio.codecs.base import (
    OPUS_RATE,
    TARGET_RATE,
)
from voice_interview.audio.codecs.opus import _OpusCore
from voice_interview.audio.codecs.stream import _StreamDecoder

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
