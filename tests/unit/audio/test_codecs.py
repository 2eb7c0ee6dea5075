"""audio.codecs: decoders to 16 kHz mono, encoders, resampling, error behaviour."""

from __future__ import annotations

import contextlib
import random

import av
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.audio_helpers import (
    band_energy,
    best_correlation,
    decode_with_pyav,
    feed_chunks,
    load_fixture,
    mux_opus,
    raw_opus_packets,
    ref_resample,
    tone,
)
from voice_interview.audio.codecs import (
    INPUT_ENCODINGS,
    OUTPUT_ENCODINGS,
    AudioDecodeError,
    UnsupportedAudioError,
    make_decoder,
    make_encoder,
    resample,
)

FRAME_16K = 320  # one 20 ms frame at 16 kHz
SPEECH = "python_concurrency.wav"  # has a thinking pause: silence inside the stream


@pytest.fixture(scope="module")
def speech() -> np.ndarray:
    return load_fixture(SPEECH)[: 16000 * 8]  # 8 s with speech is plenty


# --------------------------------------------------------------------------- factories


def test_constants() -> None:
    assert INPUT_ENCODINGS == ("pcm_s16le", "opus", "ogg_opus", "webm_opus")
    assert OUTPUT_ENCODINGS == ("pcm_s16le", "opus")


@pytest.mark.parametrize("encoding", ["mp3", "PCM_S16LE", "", "flac"])
def test_unknown_encoding(encoding: str) -> None:
    with pytest.raises(UnsupportedAudioError):
        make_decoder(encoding, 16000)
    with pytest.raises(UnsupportedAudioError):
        make_encoder(encoding, 16000)


@pytest.mark.parametrize("rate", [0, -16000, 7999, 192001, 10**9])
def test_bad_sample_rate(rate: int) -> None:
    for encoding in INPUT_ENCODINGS:
        with pytest.raises(UnsupportedAudioError):
            make_decoder(encoding, rate)
    with pytest.raises(UnsupportedAudioError):
        make_encoder("pcm_s16le", rate)
    with pytest.raises(UnsupportedAudioError):
        make_encoder("pcm_s16le", 16000, rate)
    with pytest.raises(UnsupportedAudioError):
        resample(np.zeros(10, np.int16), rate, 16000)


def test_opus_output_rate_must_be_an_opus_rate() -> None:
    with pytest.raises(UnsupportedAudioError):
        make_encoder("opus", 22050, 44100)
    assert make_encoder("opus", 22050, 24000).sample_rate == 48000


# --------------------------------------------------------------------------- resample


@pytest.mark.parametrize("rate", [8000, 22050, 44100, 48000])
def test_resample_matches_the_analytic_signal(rate: int) -> None:
    x = tone(rate, 1.0)
    y = resample(x, rate, 16000)
    assert y.dtype == np.int16
    assert abs(y.size - 16000) <= 1
    expected = tone(16000, y.size / 16000)
    inner = slice(200, -200)  # the filter's edges
    assert np.abs(y[inner].astype(int) - expected[inner].astype(int)).max() < 60


def test_resample_edge_cases() -> None:
    assert resample(np.zeros(0, np.int16), 44100, 16000).size == 0
    same = np.arange(100, dtype=np.int16)
    out = resample(same, 16000, 16000)
    assert np.array_equal(out, same) and out is not same
    with pytest.raises(TypeError):
        resample(np.zeros(10, np.float32), 16000, 8000)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- PCM input


@pytest.mark.parametrize("rate", [8000, 16000, 22050, 44100, 48000])
def test_pcm_any_rate_odd_frames(rate: int, speech: np.ndarray) -> None:
    src = ref_resample(speech[: 16000 * 3], 16000, rate)
    data = src.astype("<i2").tobytes()
    decoder = make_decoder("pcm_s16le", rate)
    rng = random.Random(rate)
    out: list[np.ndarray] = []
    pos = 0
    while pos < len(data):
        n = rng.choice([1, 3, 7, 319, 641, 1921, 2 * rng.randint(1, 2000) + 1])
        piece = decoder.feed(data[pos : pos + n])
        assert piece.dtype == np.int16 and piece.ndim == 1
        out.append(piece)
        pos += n
    out.append(decoder.flush())
    got = np.concatenate(out)
    expected_len = round(src.size * 16000 / rate)
    assert abs(got.size - expected_len) <= 2
    direct = resample(src, rate, 16000)
    corr, lag = best_correlation(got, direct, max_lag=20)
    assert lag == 0 and corr > 0.999
    # Streaming adds no clicks at chunk boundaries: sample for sample as the one-shot.
    n = min(got.size, direct.size)
    assert np.abs(got[:n].astype(int) - direct[:n].astype(int)).max() <= 2


def test_pcm_16k_is_bit_exact_and_keeps_odd_bytes() -> None:
    decoder = make_decoder("pcm_s16le", 16000)
    assert decoder.feed(b"\x01").size == 0  # half a sample waits
    assert decoder.feed(b"\x02\x03").tolist() == [0x0201]  # ... and completes here
    assert decoder.feed(b"").size == 0
    assert decoder.feed(b"\x04\xff").tolist() == [0x0403]  # the 0xff waits
    assert decoder.feed(b"\x7f").tolist() == [0x7FFF]
    assert decoder.feed(b"\x00\x80\x05").tolist() == [-32768]
    assert decoder.flush().size == 0  # the lone trailing byte is not a sample


def test_pcm_decoder_accepts_bytearray_and_memoryview() -> None:
    decoder = make_decoder("pcm_s16le", 16000)
    assert decoder.feed(bytearray(b"\x01\x00")).tolist() == [1]
    assert decoder.feed(memoryview(b"\x02\x00\x03")).tolist() == [2]  # type: ignore[arg-type]
    assert decoder.feed(b"\x00").tolist() == [3]


# --------------------------------------------------------------------------- Opus packets


def _similar(got: np.ndarray, src: np.ndarray, min_corr: float = 0.85) -> None:
    corr, lag = best_correlation(got, src, max_lag=800)
    assert corr > min_corr, (corr, lag)
    assert abs(lag) <= 400  # at most the codec's 20 ms + look-ahead of delay
    # Coarse spectrum agrees too (a codec that garbles audio fails this).
    assert np.abs(band_energy(got) - band_energy(src)).sum() < 0.15


def test_opus_packets_decode(speech: np.ndarray) -> None:
    packets = raw_opus_packets(speech)
    decoder = make_decoder("opus", 48000)
    out = [decoder.feed(p) for p in packets]
    assert all(o.dtype == np.int16 for o in out)
    # Audio comes out as packets arrive, not at the end.
    assert sum(o.size for o in out[:50]) >= 49 * FRAME_16K
    got = np.concatenate([*out, decoder.flush()])
    assert abs(got.size - len(packets) * FRAME_16K) <= FRAME_16K
    assert abs(got.size - speech.size) <= 2 * FRAME_16K
    _similar(got, speech)


def test_opus_garbage_packet_then_good_packets(speech: np.ndarray) -> None:
    packets = raw_opus_packets(speech[:16000])
    decoder = make_decoder("opus", 48000)
    before = sum(decoder.feed(p).size for p in packets[:10])
    with pytest.raises(AudioDecodeError):
        decoder.feed(b"\x03")  # TOC says "arbitrary frames" with no count byte
    assert decoder.feed(b"").size == 0  # an empty frame is ignored, not a drain
    after = sum(decoder.feed(p).size for p in packets[10:20])
    assert after >= 9 * FRAME_16K  # the decoder still works
    assert before + after >= 19 * FRAME_16K


def test_opus_garbage_only_raises_decode_error() -> None:
    decoder = make_decoder("opus", 16000)
    rng = random.Random(3)
    errors = 0
    for _ in range(200):
        try:
            decoder.feed(bytes(rng.randrange(256) for _ in range(rng.randint(1, 60))))
        except AudioDecodeError:
            errors += 1
    assert errors > 0
    packets = raw_opus_packets(tone(16000, 0.2))
    assert sum(decoder.feed(p).size for p in packets) >= 9 * FRAME_16K


# --------------------------------------------------------------------------- containers


CONTAINERS = [
    ("ogg_opus", "ogg", None),
    ("webm_opus", "webm", None),
    ("webm_opus", "webm", {"live": "1"}),  # unknown sizes, as MediaRecorder writes
]


@pytest.mark.parametrize(("encoding", "fmt", "options"), CONTAINERS)
@pytest.mark.parametrize("seed", [1, 2])
def test_container_streams_in_random_chunks(
    encoding: str, fmt: str, options: dict[str, str] | None, seed: int, speech: np.ndarray
) -> None:
    data = mux_opus(fmt, speech, options)
    reference = decode_with_pyav(data)
    decoder = make_decoder(encoding, 48000)
    got = feed_chunks(decoder, data, seed=seed)
    assert got.dtype == np.int16
    # Same duration as the source (pre-skip and end padding trimmed) and as FFmpeg's own.
    assert abs(got.size - speech.size) <= FRAME_16K
    assert abs(got.size - reference.size) <= FRAME_16K
    _similar(got, speech)
    corr, _ = best_correlation(got, reference, max_lag=50)
    assert corr > 0.99


@pytest.mark.parametrize(("encoding", "fmt", "options"), CONTAINERS)
def test_container_decodes_incrementally(
    encoding: str, fmt: str, options: dict[str, str] | None, speech: np.ndarray
) -> None:
    data = mux_opus(fmt, speech, options)
    decoder = make_decoder(encoding, 48000)
    half = decoder.feed(data[: len(data) // 2])
    # Audio of the first half comes out now (minus at most a page / cluster in flight).
    assert half.size >= 0.3 * speech.size
    rest = decoder.feed(data[len(data) // 2 :])
    total = half.size + rest.size + decoder.flush().size
    assert abs(total - speech.size) <= FRAME_16K


@pytest.mark.parametrize(("encoding", "fmt"), [("ogg_opus", "ogg"), ("webm_opus", "webm")])
def test_container_garbage_then_fresh_stream(encoding: str, fmt: str) -> None:
    decoder = make_decoder(encoding, 48000)
    with pytest.raises(AudioDecodeError):
        decoder.feed(b"this is not an audio container, just text" * 20)
    with pytest.raises(AudioDecodeError):
        decoder.flush()
    fresh = make_decoder(encoding, 48000)
    pcm = tone(16000, 1.0)
    got = feed_chunks(fresh, mux_opus(fmt, pcm), seed=5)
    assert abs(got.size - pcm.size) <= FRAME_16K


@pytest.mark.parametrize(("encoding", "fmt"), [("ogg_opus", "ogg"), ("webm_opus", "webm")])
def test_container_garbage_before_stream_same_decoder(encoding: str, fmt: str) -> None:
    pcm = tone(16000, 1.0)
    decoder = make_decoder(encoding, 48000)
    with pytest.raises(AudioDecodeError):
        decoder.feed(b"\x00\x01garbage" * 10)
    got = feed_chunks(decoder, mux_opus(fmt, pcm), seed=6)
    assert abs(got.size - pcm.size) <= FRAME_16K


@pytest.mark.parametrize(("encoding", "fmt"), [("ogg_opus", "ogg"), ("webm_opus", "webm")])
def test_container_decoder_takes_a_new_stream_after_flush(encoding: str, fmt: str) -> None:
    # A client that restarts its MediaRecorder for every answer.
    decoder = make_decoder(encoding, 48000)
    for seconds in (1.0, 0.6):
        pcm = tone(16000, seconds)
        got = feed_chunks(decoder, mux_opus(fmt, pcm), seed=int(seconds * 10))
        assert abs(got.size - pcm.size) <= FRAME_16K


def test_chained_ogg_streams_without_flush() -> None:
    first, second = tone(16000, 1.0), tone(16000, 0.7, (300.0,))
    data = mux_opus("ogg", first) + mux_opus("ogg", second)
    got = feed_chunks(make_decoder("ogg_opus", 48000), data, seed=9)
    assert abs(got.size - (first.size + second.size)) <= 2 * FRAME_16K


def test_ogg_corrupt_page_mid_stream_is_skipped(speech: np.ndarray) -> None:
    data = bytearray(mux_opus("ogg", speech))
    pages = [i for i in range(len(data)) if data[i : i + 4] == b"OggS"]
    assert len(pages) > 4
    target = pages[len(pages) // 2]
    data[target + 40 : target + 60] = bytes(20)  # break one page's CRC
    decoder = make_decoder("ogg_opus", 48000)
    out: list[np.ndarray] = []
    errors = 0
    for i in range(0, len(data), 500):
        try:
            out.append(decoder.feed(bytes(data[i : i + 500])))
        except AudioDecodeError:
            errors += 1
    out.append(decoder.flush())
    got = np.concatenate(out)
    assert errors == 1  # reported once, not per frame
    page_audio = 16000 * 1.1  # an Ogg page holds about 1 s
    assert speech.size - page_audio <= got.size < speech.size


def test_webm_corrupt_bytes_mid_stream_resync(speech: np.ndarray) -> None:
    pcm = np.tile(speech, 2)  # 16 s: several clusters
    data = bytearray(mux_opus("webm", pcm, {"live": "1"}))
    clusters = [i for i in range(len(data)) if data[i : i + 4] == b"\x1f\x43\xb6\x75"]
    assert len(clusters) >= 3
    # Nonsense where the second cluster's first child should be (live clusters have an
    # 8-byte unknown size after the 4-byte id).
    start = clusters[1] + 12
    data[start : start + 40] = b"\xff" * 40
    decoder = make_decoder("webm_opus", 48000)
    out: list[np.ndarray] = []
    errors = 0
    for i in range(0, len(data), 700):
        try:
            out.append(decoder.feed(bytes(data[i : i + 700])))
        except AudioDecodeError:
            errors += 1
    out.append(decoder.flush())
    got = np.concatenate(out)
    assert errors >= 1
    # Decoding resumed at the next cluster: the last cluster's audio is there.
    assert got.size > pcm.size * 0.5
    assert got.size < pcm.size
    corr, _ = best_correlation(got[-16000 * 2 :], pcm[-16000 * 2 :], max_lag=800)
    assert corr > 0.85


@pytest.mark.parametrize(("encoding", "fmt"), [("ogg_opus", "ogg"), ("webm_opus", "webm")])
def test_container_truncated(encoding: str, fmt: str, speech: np.ndarray) -> None:
    data = mux_opus(fmt, speech[: 16000 * 4])
    # Cut mid-stream: flush returns the audio decoded up to the cut, without an error.
    cut = int(len(data) * 0.6)
    decoder = make_decoder(encoding, 48000)
    got = feed_chunks(decoder, data[:cut], seed=7)
    assert 16000 * 4 * 0.45 < got.size < 16000 * 4 * 0.75
    # Cut inside the headers: nothing to give, so flush reports it.
    decoder = make_decoder(encoding, 48000)
    decoder.feed(data[:20])
    with pytest.raises(AudioDecodeError):
        decoder.flush()


# --------------------------------------------------------------------------- encoders


def test_pcm_encoder_frames_and_resampling() -> None:
    pcm = tone(22050, 1.0)
    enc = make_encoder("pcm_s16le", 22050, 16000)
    assert enc.sample_rate == 16000
    frames: list[bytes] = []
    for i in range(0, pcm.size, 1234):
        frames += enc.encode(pcm[i : i + 1234])
    frames += enc.flush()
    assert all(len(f) == 1280 for f in frames[:-1])  # 40 ms at 16 kHz
    assert 0 < len(frames[-1]) <= 1280 and len(frames[-1]) % 2 == 0
    out = np.frombuffer(b"".join(frames), dtype="<i2")
    assert abs(out.size - 16000) <= 1
    corr, lag = best_correlation(out, tone(16000, 1.0), max_lag=10)
    assert corr > 0.999 and lag == 0


def test_pcm_encoder_same_rate_passthrough() -> None:
    pcm = np.arange(-500, 500, dtype=np.int16)
    enc = make_encoder("pcm_s16le", 24000)
    assert enc.sample_rate == 24000
    data = b"".join(enc.encode(pcm) + enc.flush())
    assert np.array_equal(np.frombuffer(data, "<i2"), pcm)


@pytest.mark.parametrize("in_rate", [16000, 22050])
def test_opus_encoder_packets_decode_back(in_rate: int, speech: np.ndarray) -> None:
    src16 = speech[: 16000 * 4]
    src = src16 if in_rate == 16000 else ref_resample(src16, 16000, in_rate)
    enc = make_encoder("opus", in_rate)
    assert enc.sample_rate == 48000
    packets: list[bytes] = []
    for i in range(0, src.size, 777):
        packets += enc.encode(src[i : i + 777])
    packets += enc.flush()
    # One 20 ms packet per frame, decodable by a plain libopus decoder (as WebCodecs is).
    dec = av.CodecContext.create("libopus", "r")
    dec.sample_rate = 48000
    dec.layout = "mono"
    sizes = [sum(f.samples for f in dec.decode(av.Packet(p))) for p in packets]
    assert set(sizes) == {960}
    assert abs(sum(sizes) - src16.size * 3) <= 2 * 960
    # And with our own decoder: right length, same sound.
    ours = make_decoder("opus", 48000)
    got = np.concatenate([*(ours.feed(p) for p in packets), ours.flush()])
    assert abs(got.size - src16.size) <= 2 * FRAME_16K
    _similar(got, src16)


def test_encoders_reusable_after_flush() -> None:
    for encoding in OUTPUT_ENCODINGS:
        enc = make_encoder(encoding, 16000)
        first = enc.encode(tone(16000, 0.5)) + enc.flush()
        second = enc.encode(tone(16000, 0.5)) + enc.flush()
        assert len(first) == len(second) > 0


# --------------------------------------------------------------------------- fuzz


@pytest.mark.parametrize("encoding", INPUT_ENCODINGS)
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(chunks=st.lists(st.binary(min_size=0, max_size=600), min_size=1, max_size=8))
def test_random_bytes_only_raise_decode_error(encoding: str, chunks: list[bytes]) -> None:
    decoder = make_decoder(encoding, 48000)
    for chunk in chunks:
        try:
            out = decoder.feed(chunk)
            assert out.dtype == np.int16 and out.ndim == 1
        except AudioDecodeError:
            pass
    with contextlib.suppress(AudioDecodeError):
        decoder.flush()


@pytest.mark.parametrize(("encoding", "fmt"), [("ogg_opus", "ogg"), ("webm_opus", "webm")])
@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_mutated_streams_only_raise_decode_error(
    encoding: str, fmt: str, data: st.DataObject
) -> None:
    stream = bytearray(_small_stream(fmt))
    for _ in range(data.draw(st.integers(1, 6))):
        pos = data.draw(st.integers(0, len(stream) - 1))
        stream[pos] = data.draw(st.integers(0, 255))
    decoder = make_decoder(encoding, 48000)
    for i in range(0, len(stream), 256):
        with contextlib.suppress(AudioDecodeError):
            decoder.feed(bytes(stream[i : i + 256]))
    with contextlib.suppress(AudioDecodeError):
        decoder.flush()


_STREAMS: dict[str, bytes] = {}


def _small_stream(fmt: str) -> bytes:
    if fmt not in _STREAMS:
        _STREAMS[fmt] = mux_opus(fmt, tone(16000, 0.5))
    return _STREAMS[fmt]


def test_the_codecs_implement_exactly_the_wire_encodings() -> None:
    from voice_interview import protocol

    assert INPUT_ENCODINGS == protocol.INPUT_ENCODINGS
    assert OUTPUT_ENCODINGS == protocol.OUTPUT_ENCODINGS
