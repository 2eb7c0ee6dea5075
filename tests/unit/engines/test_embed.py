"""The numpy all-MiniLM-L6-v2 embedder: known values, properties, a slow reference, the cache."""

from __future__ import annotations

import json
import math
import struct
from pathlib import Path

import numpy as np
import pytest

from voice_interview.engines.embed import (
    EMBED_DIM,
    Embedder,
    limit_blas_threads,
    read_safetensors,
)
from voice_interview.engines.models import ModelFile, ModelNotFoundError


def test_shape_dtype_and_unit_norm(embedder: Embedder) -> None:
    v = embedder.embed(["a short sentence", "another, longer sentence about databases", ""])
    assert v.shape == (3, EMBED_DIM)
    assert v.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-5)


def test_empty_batch(embedder: Embedder) -> None:
    assert embedder.embed([]).shape == (0, EMBED_DIM)


def test_matches_sentence_transformers_published_values(embedder: Embedder) -> None:
    # The cosine similarities sentence-transformers documents for all-MiniLM-L6-v2
    # (sbert.net, "Semantic Textual Similarity" usage page), computed by PyTorch.
    left = ["The new movie is awesome", "The cat sits outside", "A man is playing guitar"]
    right = ["The dog plays in the garden", "The new movie is so great", "A woman watches TV"]
    expected = np.array(
        [
            [0.0543, 0.8939, -0.0502],
            [0.2838, -0.0029, 0.1310],
            [0.2277, -0.0136, -0.0327],
        ]
    )
    sims = embedder.embed(left) @ embedder.embed(right).T
    np.testing.assert_allclose(sims, expected, atol=2e-3)


def test_paraphrase_beats_unrelated(embedder: Embedder) -> None:
    a, b, c = embedder.embed(
        [
            "Each process has its own memory, while threads share their process's memory.",
            "Threads inside one process see the same memory; processes are kept separate.",
            "My favourite holiday was a week of hiking in the mountains.",
        ]
    )
    assert float(a @ b) > 0.7
    assert float(a @ c) < 0.2
    assert float(a @ a) == pytest.approx(1.0, abs=1e-5)


def test_batching_and_padding_do_not_change_results(embedder: Embedder) -> None:
    texts = ["short one", "a much longer sentence that needs a lot more padding for its batch"]
    fresh = Embedder(embedder.model_info, cache_size=0, batch_size=8)
    together = fresh.embed(texts)
    alone = np.vstack([fresh.embed([t]) for t in texts])
    np.testing.assert_allclose(together, alone, atol=1e-5)


def _reference_embedding(e: Embedder, text: str) -> np.ndarray:
    """A deliberately naive second implementation: float64, one token and one head at a
    time, math.erf GELU, no batching, no masks."""
    ids = e._tokenizer.encode(text).ids
    n, heads = len(ids), e.n_heads
    d = e.dim // heads
    x = np.array([e._word[t] + e._pos[i] + e._type[0] for i, t in enumerate(ids)], np.float64)

    def norm(h: np.ndarray, w: np.ndarray, b: np.ndarray) -> np.ndarray:
        out = np.empty_like(h)
        for i, row in enumerate(h):
            mean = sum(row) / len(row)
            var = sum((row - mean) ** 2) / len(row)
            out[i] = (row - mean) / math.sqrt(var + e.eps) * w + b
        return out

    x = norm(x, e._emb_ln_w, e._emb_ln_b)
    for layer in e._layers:
        w = layer.qkv_w.astype(np.float64)
        q = x @ w[:, : e.dim] + layer.qkv_b[: e.dim]
        k = x @ w[:, e.dim : 2 * e.dim] + layer.qkv_b[e.dim : 2 * e.dim]
        v = x @ w[:, 2 * e.dim :] + layer.qkv_b[2 * e.dim :]
        ctx = np.zeros_like(x)
        for h in range(heads):
            sl = slice(h * d, (h + 1) * d)
            for i in range(n):
                scores = [float(q[i, sl] @ k[j, sl]) / math.sqrt(d) for j in range(n)]
                top = max(scores)
                weights = [math.exp(s - top) for s in scores]
                total = sum(weights)
                ctx[i, sl] = sum(wt / total * v[j, sl] for j, wt in enumerate(weights))
        x = norm(ctx @ layer.o_w + layer.o_b + x, layer.ln1_w, layer.ln1_b)
        up = x @ layer.up_w + layer.up_b
        up = np.vectorize(lambda z: 0.5 * z * (1.0 + math.erf(z / math.sqrt(2.0))))(up)
        x = norm(up @ layer.down_w + layer.down_b + x, layer.ln2_w, layer.ln2_b)
    pooled = x.mean(axis=0)
    return np.asarray(pooled / np.linalg.norm(pooled), dtype=np.float64)


def test_agrees_with_slow_reference_implementation(embedder: Embedder) -> None:
    text = "Indexes speed up reads but slow down writes."
    fast = Embedder(embedder.model_info, cache_size=0).embed([text, "padding partner text"])[0]
    ref = _reference_embedding(embedder, text)
    np.testing.assert_allclose(fast, ref, atol=1e-5)


def test_long_text_is_truncated_to_256_tokens(embedder: Embedder) -> None:
    long_text = "token " * 600
    assert len(embedder._tokenizer.encode(long_text).ids) == 256
    v = embedder.embed([long_text])
    assert v.shape == (1, EMBED_DIM)
    assert np.isfinite(v).all()


def test_lru_cache_hits_and_evicts(embedder: Embedder) -> None:
    e = Embedder(embedder.model_info, cache_size=2)
    first = e.embed(["alpha", "beta"])
    assert (e.cache_hits, e.cache_misses) == (0, 2)
    again = e.embed(["beta", "alpha", "alpha"])
    assert e.cache_hits == 3
    np.testing.assert_array_equal(again[1], first[0])
    e.embed(["gamma"])  # evicts the least recently used ("beta")
    e.embed(["beta"])
    assert e.cache_misses == 4
    assert len(e._cache) == 2


def test_read_safetensors_roundtrip() -> None:
    a = np.arange(6, dtype="<f4").reshape(2, 3)
    b = np.array([7, 8], dtype="<i8")
    header = {
        "__metadata__": {"format": "pt"},
        "a": {"dtype": "F32", "shape": [2, 3], "data_offsets": [0, 24]},
        "b": {"dtype": "I64", "shape": [2], "data_offsets": [24, 40]},
    }
    raw = json.dumps(header).encode()
    blob = struct.pack("<Q", len(raw)) + raw + a.tobytes() + b.tobytes()
    out = read_safetensors(blob)
    np.testing.assert_array_equal(out["a"], a)
    np.testing.assert_array_equal(out["b"], b)


def test_read_safetensors_rejects_garbage() -> None:
    with pytest.raises(ValueError):
        read_safetensors(b"\x01\x02")
    with pytest.raises(ValueError):
        read_safetensors(struct.pack("<Q", 1000) + b"{}")
    with pytest.raises(ValueError):
        read_safetensors(struct.pack("<Q", 4) + b"nope")


def test_unusable_model_file_raises_model_not_found(tmp_path: Path) -> None:
    bogus = tmp_path / "all-minilm.zip"
    bogus.write_bytes(b"not a zip")
    with pytest.raises(ModelNotFoundError):
        Embedder(ModelFile("embed", bogus, "test", "VI_EMBED_MODEL"))


def test_limit_blas_threads_says_whether_it_found_openblas() -> None:
    with open("/proc/self/maps", encoding="utf-8") as fh:
        loaded = any("openblas" in line.lower() for line in fh)
    # True exactly where numpy's OpenBLAS is mapped into this process (numpy's wheels
    # bundle it), and then it takes effect; False where there is none to limit.
    assert limit_blas_threads(1) is loaded
