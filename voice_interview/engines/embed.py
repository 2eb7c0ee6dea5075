"""Sentence embeddings with all-MiniLM-L6-v2 (or all-mpnet-base-v2), run in plain numpy.

The bundled model is a zip holding ``model.safetensors`` + ``tokenizer.json``. We read the
safetensors file ourselves (8-byte little-endian header length, a JSON header naming each
tensor's dtype, shape and byte range, then the raw little-endian data), tokenize with
``tokenizers`` and run the encoder in float32, then mean-pool over the real tokens and
L2-normalise, exactly as sentence-transformers does for these models. Two encoders are
supported, told apart by ``model_type`` in config.json: BERT (all-MiniLM-L6-v2, 6
layers, 384 dimensions) and MPNet (all-mpnet-base-v2, 12 layers, 768 dimensions), which
differs in its tensor names, in having no token types, in counting positions from the
padding id and in adding a bucketed relative-position bias to every layer's attention.

One instance per process; ``embed`` is blocking and thread-safe (a lock guards the cache;
the forward pass itself only reads the weights).
"""

from __future__ import annotations

import ctypes
import json
import struct
import threading
import time
import zipfile
from collections import OrderedDict
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from voice_interview.engines.models import ModelFile, ModelNotFoundError

Array = NDArray[np.float32]

EMBED_DIM = 384  # the bundled all-MiniLM-L6-v2; ``Embedder.dim`` is the loaded model's
MAX_TOKENS = 256  # all-MiniLM-L6-v2 was trained with max_seq_length 256

_DTYPES: dict[str, str] = {
    "F32": "<f4",
    "F16": "<f2",
    "F64": "<f8",
    "I64": "<i8",
    "I32": "<i4",
    "I16": "<i2",
    "I8": "i1",
    "U8": "u1",
    "BOOL": "?",
}


def read_safetensors(data: bytes) -> dict[str, NDArray[Any]]:
    """Parse a safetensors blob into numpy arrays (views into ``data``, read-only)."""
    if len(data) < 8:
        raise ValueError("safetensors blob is shorter than its 8-byte header length")
    (header_len,) = struct.unpack("<Q", data[:8])
    if header_len <= 0 or 8 + header_len > len(data):
        raise ValueError(f"safetensors header length {header_len} is out of range")
    try:
        header = json.loads(data[8 : 8 + header_len])
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ValueError("safetensors header is not valid JSON") from e
    base = 8 + header_len
    tensors: dict[str, NDArray[Any]] = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        dtype = _DTYPES.get(info["dtype"])
        if dtype is None:
            raise ValueError(f"tensor {name}: unsupported dtype {info['dtype']}")
        start, end = (int(v) for v in info["data_offsets"])
        shape = tuple(int(v) for v in info["shape"])
        if base + end > len(data) or start > end:
            raise ValueError(f"tensor {name}: data offsets out of range")
        kind = np.dtype(dtype)
        count = (end - start) // kind.itemsize
        arr = np.frombuffer(data, dtype=kind, count=count, offset=base + start)
        tensors[name] = arr.reshape(shape)
    return tensors


_BLAS_SETTERS = (
    "scipy_openblas_set_num_threads64_",
    "scipy_openblas_set_num_threads",
    "openblas_set_num_threads64_",
    "openblas_set_num_threads",
)


def limit_blas_threads(n: int) -> bool:
    """Cap the threads of the OpenBLAS that numpy loaded (process-wide); True if done.

    The embedder's matrices are small (a few hundred tokens by 384), so extra BLAS threads
    mostly spin, and on a small CPU they fight the STT and LLM engines for cores: on two
    shared cores one thread embeds about twice as fast as two."""
    try:
        with open("/proc/self/maps", encoding="utf-8") as fh:
            paths = {line.split()[-1] for line in fh if "openblas" in line.lower()}
    except OSError:
        return False
    for path in sorted(paths):
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for name in _BLAS_SETTERS:
            setter = getattr(lib, name, None)
            if setter is not None:
                setter(int(n))
                return True
    return False


def _erf(x: Array) -> Array:
    """erf for float32 arrays (Abramowitz & Stegun 7.1.26, |error| < 1.5e-7)."""
    sign = np.sign(x)
    a = np.abs(x)
    t = 1.0 / (1.0 + 0.3275911 * a)
    poly = t * (
        0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429)))
    )
    return np.asarray(sign * (1.0 - poly * np.exp(-a * a)), dtype=np.float32)


def gelu(x: Array) -> Array:
    """The exact (erf) GELU that BERT uses."""
    return np.asarray(0.5 * x * (1.0 + _erf(x * np.float32(0.7071067811865476))), dtype=np.float32)


def layer_norm(x: Array, weight: Array, bias: Array, eps: float) -> Array:
    mean = x.mean(axis=-1, keepdims=True)
    centred = x - mean
    var = (centred * centred).mean(axis=-1, keepdims=True)
    return np.asarray(centred / np.sqrt(var + np.float32(eps)) * weight + bias, dtype=np.float32)


# Tensor names inside one encoder layer, per architecture.
_LAYER_NAMES: dict[str, dict[str, str]] = {
    "bert": {
        "q": "attention.self.query",
        "k": "attention.self.key",
        "v": "attention.self.value",
        "o": "attention.output.dense",
        "ln1": "attention.output.LayerNorm",
    },
    "mpnet": {
        "q": "attention.attn.q",
        "k": "attention.attn.k",
        "v": "attention.attn.v",
        "o": "attention.attn.o",
        "ln1": "attention.LayerNorm",
    },
}


class _Layer:
    __slots__ = (
        "down_b",
        "down_w",
        "ln1_b",
        "ln1_w",
        "ln2_b",
        "ln2_w",
        "o_b",
        "o_w",
        "qkv_b",
        "qkv_w",
        "up_b",
        "up_w",
    )

    def __init__(self, t: dict[str, NDArray[Any]], prefix: str, names: dict[str, str]) -> None:
        def w(name: str) -> Array:
            return np.array(t[prefix + name], dtype=np.float32)  # a copy: see Embedder

        q, k, v = names["q"], names["k"], names["v"]
        # Linear layers are stored (out, in); keep them transposed (in, out), Q|K|V fused.
        self.qkv_w = np.ascontiguousarray(
            np.concatenate([w(q + ".weight"), w(k + ".weight"), w(v + ".weight")], axis=0).T
        )
        self.qkv_b = np.concatenate([w(q + ".bias"), w(k + ".bias"), w(v + ".bias")])
        self.o_w = np.ascontiguousarray(w(names["o"] + ".weight").T)
        self.o_b = w(names["o"] + ".bias")
        self.ln1_w = w(names["ln1"] + ".weight")
        self.ln1_b = w(names["ln1"] + ".bias")
        self.up_w = np.ascontiguousarray(w("intermediate.dense.weight").T)
        self.up_b = w("intermediate.dense.bias")
        self.down_w = np.ascontiguousarray(w("output.dense.weight").T)
        self.down_b = w("output.dense.bias")
        self.ln2_w = w("output.LayerNorm.weight")
        self.ln2_b = w("output.LayerNorm.bias")


def relative_position_buckets(n: int, num_buckets: int, max_distance: int = 128) -> NDArray[Any]:
    """MPNet's (T5-style) bucket of each (query, key) offset, an (n, n) int array.

    Half the buckets are for keys before the query, half for keys after; within each half
    the first quarter of buckets are exact offsets and the rest grow logarithmically up to
    ``max_distance``."""
    pos = np.arange(n)
    rel = pos[None, :] - pos[:, None]  # key minus query
    half = num_buckets // 2
    ret = np.where(rel > 0, half, 0)  # -rel < 0: the key comes after the query
    dist = np.abs(rel)
    exact = half // 2
    with np.errstate(divide="ignore"):
        large = exact + (
            np.log(np.maximum(dist, 1) / exact) / np.log(max_distance / exact) * (half - exact)
        ).astype(np.int64)
    large = np.minimum(large, half - 1)
    return np.asarray(ret + np.where(dist < exact, dist, large), dtype=np.int64)


class Embedder:
    """Sentence embeddings: ``embed(texts) -> (n, dim)``, L2-normalised."""

    def __init__(
        self,
        model: ModelFile,
        *,
        max_tokens: int | None = None,
        batch_size: int = 16,
        cache_size: int = 4096,
        blas_threads: int | None = 1,
    ) -> None:
        """``max_tokens``: truncation, by default the model's ``max_seq_length``
        (sentence_bert_config.json) or MAX_TOKENS. ``blas_threads``: cap numpy's OpenBLAS
        threads (process-wide, see ``limit_blas_threads``); None leaves them alone."""
        t0 = time.monotonic()
        if blas_threads is not None:
            limit_blas_threads(blas_threads)
        self.model_info = model
        self.batch_size = max(1, batch_size)
        self.cache_size = max(0, cache_size)
        files = self._read_files(Path(model.path))
        try:
            config = json.loads(files["config.json"])
            if max_tokens is None:
                st_config = json.loads(files.get("sentence_bert_config.json", b"{}"))
                max_tokens = int(st_config.get("max_seq_length", MAX_TOKENS))
            self.max_tokens = max_tokens
            self.n_heads = int(config["num_attention_heads"])
            self.arch = str(config.get("model_type", "bert"))
            if self.arch not in _LAYER_NAMES:
                raise ValueError(f"unsupported model_type {self.arch!r}")
            self.eps = float(config.get("layer_norm_eps", 1e-12))
            n_layers = int(config["num_hidden_layers"])
            tensors = read_safetensors(files["model.safetensors"])
            from tokenizers import Tokenizer

            self._tokenizer = Tokenizer.from_str(files["tokenizer.json"].decode("utf-8"))
        except Exception as e:  # tokenizers raises plain Exception on a bad file
            raise ModelNotFoundError(
                f"embed model unusable: {model.setting}={model.path} ({e})"
            ) from e
        self._tokenizer.no_padding()
        self._tokenizer.enable_truncation(max_length=max_tokens)
        p = "" if "embeddings.word_embeddings.weight" in tensors else self.arch + "."

        def w(name: str) -> Array:
            # A copy, not a view: a view of one bias would keep the whole file in memory.
            return np.array(tensors[p + name], dtype=np.float32)

        try:
            self._word = w("embeddings.word_embeddings.weight")
            self._pos = w("embeddings.position_embeddings.weight")
            self._emb_ln_w = w("embeddings.LayerNorm.weight")
            self._emb_ln_b = w("embeddings.LayerNorm.bias")
            own = {k[len(p):]: v for k, v in tensors.items() if k.startswith(p)}
            names = _LAYER_NAMES[self.arch]
            self._layers = [_Layer(own, f"encoder.layer.{i}.", names) for i in range(n_layers)]
            if self.arch == "mpnet":
                # MPNet: no token types; positions count from the padding id + 1 (as in
                # RoBERTa); one relative-position bias table shared by every layer.
                self._type = np.zeros(self._word.shape[1], dtype=np.float32)
                self._pos_offset = int(config.get("pad_token_id", 1)) + 1
                self._rel_bias: Array | None = w("encoder.relative_attention_bias.weight")
                self._rel_buckets = int(config.get("relative_attention_num_buckets", 32))
            else:
                self._type = w("embeddings.token_type_embeddings.weight")[0]
                self._pos_offset = 0
                self._rel_bias = None
                self._rel_buckets = 0
        except KeyError as e:
            raise ModelNotFoundError(
                f"embed model unusable: {model.setting}={model.path} (missing tensor {e})"
            ) from e
        self.dim = int(self._word.shape[1])
        self._cache: OrderedDict[str, Array] = OrderedDict()
        self._lock = threading.Lock()
        self.cache_hits = 0
        self.cache_misses = 0
        self.load_s = time.monotonic() - t0

    @staticmethod
    def _read_files(path: Path) -> dict[str, bytes]:
        names = ("config.json", "model.safetensors", "tokenizer.json")
        optional = ("sentence_bert_config.json",)
        out: dict[str, bytes] = {}
        try:
            if path.is_dir():
                for n in names:
                    out[n] = (path / n).read_bytes()
                for n in optional:
                    if (path / n).is_file():
                        out[n] = (path / n).read_bytes()
                return out
            with zipfile.ZipFile(path) as zf:
                index: dict[str, str] = {}
                # The shallowest file of each name: sentence-transformers folders also
                # hold a 1_Pooling/config.json.
                for i in sorted(zf.namelist(), key=lambda i: (i.count("/"), i)):
                    index.setdefault(Path(i).name, i)
                for n in names:
                    out[n] = zf.read(index[n])
                for n in optional:
                    if n in index:
                        out[n] = zf.read(index[n])
        except (OSError, KeyError, zipfile.BadZipFile) as e:
            raise ModelNotFoundError(f"embed model unusable: {path} ({e})") from e
        return out

    # -- public API -------------------------------------------------------------------------

    @property
    def sha256(self) -> str:
        return self.model_info.sha256

    def embed(self, texts: list[str]) -> Array:
        """Embeddings of ``texts`` as an (n, dim) float32 array with unit rows.

        Results are kept in an LRU cache keyed by the exact text, so rubric key points
        (which repeat for every answer to a question) are computed once.
        """
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        todo: list[int] = []
        with self._lock:
            for i, text in enumerate(texts):
                hit = self._cache.get(text)
                if hit is None:
                    todo.append(i)
                else:
                    self._cache.move_to_end(text)
                    out[i] = hit
                    self.cache_hits += 1
        if not todo:
            return out
        unique = list(dict.fromkeys(texts[i] for i in todo))
        vectors = self._embed_uncached(unique)
        by_text = dict(zip(unique, vectors, strict=True))
        with self._lock:
            self.cache_misses += len(unique)
            for text, vec in by_text.items():
                if self.cache_size:
                    self._cache[text] = vec
                    self._cache.move_to_end(text)
            while len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)
        for i in todo:
            out[i] = by_text[texts[i]]
        return out

    # -- the forward pass -------------------------------------------------------------------

    def _embed_uncached(self, texts: list[str]) -> Array:
        encodings = self._tokenizer.encode_batch(texts)
        ids = [e.ids for e in encodings]
        # Sort by length so each batch pads as little as possible.
        order = sorted(range(len(texts)), key=lambda i: len(ids[i]))
        result = np.zeros((len(texts), self.dim), dtype=np.float32)
        for start in range(0, len(order), self.batch_size):
            chunk = order[start : start + self.batch_size]
            width = max(len(ids[i]) for i in chunk)
            batch = np.zeros((len(chunk), width), dtype=np.int64)
            mask = np.zeros((len(chunk), width), dtype=np.float32)
            for row, i in enumerate(chunk):
                batch[row, : len(ids[i])] = ids[i]
                mask[row, : len(ids[i])] = 1.0
            result[chunk] = self._forward(batch, mask)
        return result

    def _forward(self, ids: NDArray[np.int64], mask: Array) -> Array:
        b, n = ids.shape
        h = self.n_heads
        d = self.dim // h
        pos = self._pos[self._pos_offset : self._pos_offset + n]
        x = self._word[ids] + pos[None, :, :] + self._type[None, None, :]
        # Linear layers run on a 2-D (tokens, features) matrix so numpy hands them to BLAS.
        x = layer_norm(x.reshape(b * n, self.dim), self._emb_ln_w, self._emb_ln_b, self.eps)
        # Additive attention mask: padded keys get a large negative score.
        bias = ((1.0 - mask) * np.float32(-1e9))[:, None, None, :]
        if self._rel_bias is not None:
            buckets = relative_position_buckets(n, self._rel_buckets)
            rel = self._rel_bias[buckets].transpose(2, 0, 1)  # (heads, n, n)
            bias = np.asarray(bias + rel[None, :, :, :], dtype=np.float32)
        scale = np.float32(1.0 / np.sqrt(d))
        for layer in self._layers:
            qkv = x @ layer.qkv_w + layer.qkv_b  # (b*n, 3*dim)
            qkv = np.ascontiguousarray(qkv.reshape(b, n, 3, h, d).transpose(2, 0, 3, 1, 4))
            q, k, v = qkv[0], qkv[1], qkv[2]  # (b, h, n, d), contiguous
            scores = np.matmul(q, np.ascontiguousarray(k.transpose(0, 1, 3, 2))) * scale + bias
            scores -= scores.max(axis=-1, keepdims=True)
            probs = np.exp(scores)
            probs /= probs.sum(axis=-1, keepdims=True)
            ctx = np.matmul(probs, v).transpose(0, 2, 1, 3).reshape(b * n, self.dim)
            x = layer_norm(ctx @ layer.o_w + layer.o_b + x, layer.ln1_w, layer.ln1_b, self.eps)
            up = gelu(x @ layer.up_w + layer.up_b)
            x = layer_norm(up @ layer.down_w + layer.down_b + x, layer.ln2_w, layer.ln2_b, self.eps)
        # Mean pooling over real tokens, then L2 normalisation.
        hidden = x.reshape(b, n, self.dim)
        summed = (hidden * mask[:, :, None]).sum(axis=1)
        counts = np.maximum(mask.sum(axis=1, keepdims=True), 1e-9)
        pooled = summed / counts
        norms = np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
        return np.asarray(pooled / norms, dtype=np.float32)
