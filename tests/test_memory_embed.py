"""The offline embedder: ONNX graph built from the safetensors weights vs. a numpy forward pass."""

from __future__ import annotations

import math

import numpy as np
from memory_support import _shared_model, model_cache  # noqa: F401

from agent.memory.embed import MiniLMEmbedder, embedder, onnx_path, package_model_dir
from agent.memory.onnxbert import load_weights

TEXTS = [
    "Pin litellm below 1.106.10: later releases need a certifi the registry lacks.",
    "heavy imports stay lazy",
    "x",
    "The repository map is built with tree-sitter grammars for each language and ranked by a PageRank "
    "over the definitions and references it finds, so the most central files come first.",
]


def numpy_bert(ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """A plain float64 BERT forward pass plus mean pooling, written independently of the ONNX graph."""
    w, config = load_weights(package_model_dir()[0])
    erf = np.vectorize(math.erf)
    heads, hidden = config["num_attention_heads"], config["hidden_size"]

    def norm(x, p):
        mu = x.mean(-1, keepdims=True)
        var = ((x - mu) ** 2).mean(-1, keepdims=True)
        return (x - mu) / np.sqrt(var + 1e-12) * w[p + ".weight"] + w[p + ".bias"]

    def lin(x, p):
        return x @ w[p + ".weight"].T.astype(np.float64) + w[p + ".bias"]

    b, n = ids.shape
    x = w["embeddings.word_embeddings.weight"][ids] + w["embeddings.position_embeddings.weight"][:n]
    x = norm((x + w["embeddings.token_type_embeddings.weight"][0]).astype(np.float64), "embeddings.LayerNorm")
    bias = (1.0 - mask[:, None, None, :]) * -1e9
    for i in range(config["num_hidden_layers"]):
        p = f"encoder.layer.{i}"
        q, k, v = (
            lin(x, f"{p}.attention.self.{name}").reshape(b, n, heads, -1).transpose(0, 2, 1, 3)
            for name in ("query", "key", "value")
        )
        s = q @ k.transpose(0, 1, 3, 2) / math.sqrt(hidden // heads) + bias
        s = np.exp(s - s.max(-1, keepdims=True))
        s /= s.sum(-1, keepdims=True)
        a = (s @ v).transpose(0, 2, 1, 3).reshape(b, n, hidden)
        x = norm(lin(a, f"{p}.attention.output.dense") + x, f"{p}.attention.output.LayerNorm")
        h = lin(x, f"{p}.intermediate.dense")
        x = norm(lin(0.5 * h * (1 + erf(h / math.sqrt(2))), f"{p}.output.dense") + x, f"{p}.output.LayerNorm")
    m = mask[..., None]
    mean = (x * m).sum(1) / m.sum(1)
    return mean / np.linalg.norm(mean, axis=1, keepdims=True)


def test_onnx_matches_numpy_reference() -> None:
    e = embedder()
    ids, mask = e.tokenize(TEXTS)
    got = e.embed(TEXTS)
    assert got.shape == (4, 384)
    assert np.abs(got - numpy_bert(ids, mask)).max() < 1e-5


def test_padding_to_the_batch_does_not_change_a_vector() -> None:
    e = embedder()
    alone = np.stack([e.embed([t])[0] for t in TEXTS])
    assert np.abs(alone - e.embed(TEXTS)).max() < 1e-5
    assert np.allclose(np.linalg.norm(alone, axis=1), 1.0, atol=1e-5)


def test_onnx_file_is_built_once_and_reused() -> None:
    path = onnx_path()
    stamp = path.stat().st_mtime_ns
    MiniLMEmbedder()
    assert onnx_path() == path and path.stat().st_mtime_ns == stamp


def test_truncated_cache_file_is_rebuilt() -> None:
    path = onnx_path()
    path.write_bytes(b"not a model")
    vec = MiniLMEmbedder().embed(["hello"])
    assert vec.shape == (1, 384) and path.stat().st_size > 1_000_000


def test_paraphrases_are_closer_than_unrelated_text() -> None:
    texts = ["Run the tests with pytest -q", "Tests are run using pytest in quiet mode", "The logo is blue"]
    v = embedder().embed(texts)
    assert v[0] @ v[1] > v[0] @ v[2] + 0.3
