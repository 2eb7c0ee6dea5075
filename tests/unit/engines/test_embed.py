"""The numpy embedder: known values, properties, a slow reference, the cache; MiniLM (BERT)
and a tiny random MPNet against the slow reference, the real all-mpnet-base-v2 where its
preset is installed."""

from __future__ import annotations

import hashlib
import json
import math
import struct
import zipfile
from pathlib import Path

import numpy as np
import pytest

from voice_interview.engines.embed import (
    EMBED_DIM,
    Embedder,
    limit_blas_threads,
    read_safetensors,
    relative_position_buckets,
)
from voice_interview.engines.models import ModelFile, ModelNotFoundError, resolve_model
from voice_interview.settings import Settings


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


def _naive_bucket(rel: int, buckets: int = 32, max_distance: int = 128) -> int:
    """MPNet's relative-position bucket of one offset (key minus query), as its paper's code
    writes it: scalar arithmetic, no arrays."""
    half = buckets // 2
    base = half if rel > 0 else 0
    dist = abs(rel)
    exact = half // 2
    if dist < exact:
        return base + dist
    grown = exact + int(math.log(dist / exact) / math.log(max_distance / exact) * (half - exact))
    return base + min(grown, half - 1)


def _reference_embedding(e: Embedder, text: str) -> np.ndarray:
    """A deliberately naive second implementation: float64, one token and one head at a
    time, math.erf GELU, no batching, no masks."""
    ids = e._tokenizer.encode(text).ids
    n, heads = len(ids), e.n_heads
    d = e.dim // heads
    off = e._pos_offset
    x = np.array([e._word[t] + e._pos[i + off] + e._type for i, t in enumerate(ids)], np.float64)

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
                if e._rel_bias is not None:
                    scores = [sc + float(e._rel_bias[_naive_bucket(j - i), h])
                              for j, sc in enumerate(scores)]
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


def _tiny_mpnet(tmp_path: Path, tokenizer_json: bytes) -> Path:
    """A 2-layer MPNet with random weights in a sentence-transformers zip (a
    1_Pooling/config.json ahead of the top-level one, as real zips have)."""
    rng = np.random.default_rng(3)
    hidden, inter, vocab = 8, 16, 30527
    shapes: dict[str, tuple[int, ...]] = {
        "embeddings.word_embeddings.weight": (vocab, hidden),
        "embeddings.position_embeddings.weight": (514, hidden),
        "embeddings.LayerNorm.weight": (hidden,),
        "embeddings.LayerNorm.bias": (hidden,),
        "encoder.relative_attention_bias.weight": (32, 2),
    }
    for i in range(2):
        p = f"encoder.layer.{i}."
        for name in ("q", "k", "v", "o"):
            shapes[f"{p}attention.attn.{name}.weight"] = (hidden, hidden)
            shapes[f"{p}attention.attn.{name}.bias"] = (hidden,)
        shapes[f"{p}attention.LayerNorm.weight"] = (hidden,)
        shapes[f"{p}attention.LayerNorm.bias"] = (hidden,)
        shapes[f"{p}intermediate.dense.weight"] = (inter, hidden)
        shapes[f"{p}intermediate.dense.bias"] = (inter,)
        shapes[f"{p}output.dense.weight"] = (hidden, inter)
        shapes[f"{p}output.dense.bias"] = (hidden,)
        shapes[f"{p}output.LayerNorm.weight"] = (hidden,)
        shapes[f"{p}output.LayerNorm.bias"] = (hidden,)
    header: dict[str, object] = {}
    blobs: list[bytes] = []
    offset = 0
    for name, shape in shapes.items():
        # A strong bias table, so that a wrong bucket or a missing bias shows.
        scale = 2.0 if "relative" in name else 0.5
        raw = (rng.standard_normal(shape) * scale).astype("<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(shape),
                        "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    head = json.dumps(header).encode()
    config = {"model_type": "mpnet", "num_attention_heads": 2, "num_hidden_layers": 2,
              "layer_norm_eps": 1e-5, "pad_token_id": 1, "relative_attention_num_buckets": 32}
    path = tmp_path / "tiny-mpnet.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("tiny/1_Pooling/config.json", json.dumps({"word_embedding_dimension": 8}))
        zf.writestr("tiny/config.json", json.dumps(config))
        zf.writestr("tiny/sentence_bert_config.json", json.dumps({"max_seq_length": 40}))
        zf.writestr("tiny/tokenizer.json", tokenizer_json)
        zf.writestr("tiny/model.safetensors", struct.pack("<Q", len(head)) + head + b"".join(blobs))
    return path


def test_relative_position_buckets_match_mpnet_values() -> None:
    # Rows 0 and 150 of the buckets HuggingFace's MPNetEncoder.relative_position_bucket
    # gives for 200 positions (computed once with transformers 5.25 / torch 2.14).
    b = relative_position_buckets(200, 32)
    assert b[0, :40].tolist() == [0, 17, 18, 19, 20, 21, 22, 23, 24, 24, 24, 24, 25, 25, 25, 25,
                                  26, 26, 26, 26, 26, 26, 26, 27, 27, 27, 27, 27, 27, 27, 27,
                                  27, 28, 28, 28, 28, 28, 28, 28, 28]
    assert b[150, :20].tolist() == [15] * 20
    naive = [[_naive_bucket(j - i) for j in range(200)] for i in range(200)]
    assert b.tolist() == naive


def test_tiny_mpnet_agrees_with_slow_reference(embedder: Embedder, tmp_path: Path) -> None:
    tokenizer_json = embedder._tokenizer.to_str().encode()
    model = ModelFile("embed", _tiny_mpnet(tmp_path, tokenizer_json), "test", "VI_EMBED_MODEL")
    e = Embedder(model, cache_size=0)
    assert (e.arch, e.dim, e.max_tokens, e._pos_offset) == ("mpnet", 8, 40, 2)
    text = "A load balancer spreads requests across several servers so that none of them overloads."
    assert len(e._tokenizer.encode(text).ids) > 16  # past the exact buckets, into the log ones
    fast = e.embed([text, "short"])[0]
    np.testing.assert_allclose(fast, _reference_embedding(e, text), atol=1e-5)
    # The relative-position bias takes part: without it the embedding moves by far more
    # than the tolerance above.
    e._rel_bias = np.zeros_like(e._rel_bias)
    assert float(np.abs(e.embed([text])[0] - fast).max()) > 1e-3


def test_real_mpnet_matches_transformers_where_installed() -> None:
    try:
        model = resolve_model("embed", Settings(embed_model="all-mpnet-base-v2"))
    except ModelNotFoundError as e:
        pytest.skip(f"all-mpnet-base-v2 preset not installed: {e}")
    e = Embedder(model)
    v = e.embed(["A man is playing a guitar.", "Someone plays an instrument.",
                 "The stock market fell sharply today."])
    # transformers' MPNetModel (5.25, torch 2.14), mean-pooled and normalised.
    np.testing.assert_allclose(v[0, :6], [-0.02120, -0.07626, 0.01043, -0.00913, -0.04653,
                                          -0.02313], atol=2e-5)
    np.testing.assert_allclose([v[0] @ v[1], v[0] @ v[2], v[1] @ v[2]],
                               [0.654, -0.019, -0.044], atol=2e-3)


def test_an_unzipped_model_folder_works_like_the_zip(embedder: Embedder, tmp_path: Path) -> None:
    with zipfile.ZipFile(embedder.model_info.path) as zf:
        zf.extractall(tmp_path / "minilm")
    model = resolve_model("embed", Settings(embed_model=str(tmp_path / "minilm")))
    safetensors = (tmp_path / "minilm" / "model.safetensors").read_bytes()
    assert model.sha256 == hashlib.sha256(safetensors).hexdigest()
    text = ["Indexes speed up reads but slow down writes."]
    np.testing.assert_array_equal(Embedder(model).embed(text), embedder.embed(text))


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
