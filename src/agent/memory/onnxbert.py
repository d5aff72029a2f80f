"""Build an ONNX graph of a BERT encoder (all-MiniLM-L6-v2) straight from its safetensors weights.

The graph takes `input_ids` and `attention_mask` (int64, [batch, length]) and returns the last hidden
state ([batch, length, hidden]); pooling and normalisation happen in numpy. Token types are always 0.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np

GRAPH_VERSION = 1
"""Bumped whenever the graph below changes, so cached .onnx files are rebuilt."""


class _Graph:
    """Accumulates nodes and initializers with unique names."""

    def __init__(self) -> None:
        self.nodes: list[Any] = []
        self.inits: list[Any] = []
        self._n = 0

    def const(self, name: str, array: np.ndarray) -> str:
        from onnx import numpy_helper

        self.inits.append(numpy_helper.from_array(np.ascontiguousarray(array), name))
        return name

    def op(self, kind: str, inputs: list[str], **attrs: Any) -> str:
        from onnx import helper

        self._n += 1
        out = f"{kind.lower()}_{self._n}"
        self.nodes.append(helper.make_node(kind, inputs, [out], name=out, **attrs))
        return out


def _linear(g: _Graph, x: str, w: dict[str, np.ndarray], prefix: str) -> str:
    weight = g.const(prefix + ".weight_t", w[prefix + ".weight"].T.astype(np.float32))
    bias = g.const(prefix + ".bias", w[prefix + ".bias"])
    return g.op("Add", [g.op("MatMul", [x, weight]), bias])


def _layer_norm(g: _Graph, x: str, w: dict[str, np.ndarray], prefix: str, eps: float) -> str:
    scale = g.const(prefix + ".weight", w[prefix + ".weight"])
    bias = g.const(prefix + ".bias", w[prefix + ".bias"])
    return g.op("LayerNormalization", [x, scale, bias], axis=-1, epsilon=eps)


def _attention(g: _Graph, x: str, mask_bias: str, w: dict[str, np.ndarray], prefix: str, heads: int) -> str:
    hidden = w[prefix + ".query.weight"].shape[0]
    split = g.const(f"{prefix}.split_shape", np.array([0, 0, heads, hidden // heads], dtype=np.int64))
    merge = g.const(f"{prefix}.merge_shape", np.array([0, 0, hidden], dtype=np.int64))

    def heads_of(name: str, perm: list[int]) -> str:
        return g.op("Transpose", [g.op("Reshape", [_linear(g, x, w, f"{prefix}.{name}"), split])], perm=perm)

    q = heads_of("query", [0, 2, 1, 3])
    k = heads_of("key", [0, 2, 3, 1])
    v = heads_of("value", [0, 2, 1, 3])
    scale = g.const(f"{prefix}.scale", np.array(1.0 / math.sqrt(hidden // heads), dtype=np.float32))
    scores = g.op("Add", [g.op("Mul", [g.op("MatMul", [q, k]), scale]), mask_bias])
    probs = g.op("Softmax", [scores], axis=-1)
    context = g.op("Transpose", [g.op("MatMul", [probs, v])], perm=[0, 2, 1, 3])
    return g.op("Reshape", [context, merge])


def _gelu(g: _Graph, x: str, prefix: str) -> str:
    inv_sqrt2 = g.const(prefix + ".inv_sqrt2", np.array(1 / math.sqrt(2), dtype=np.float32))
    one = g.const(prefix + ".one", np.array(1.0, dtype=np.float32))
    half = g.const(prefix + ".half", np.array(0.5, dtype=np.float32))
    erf = g.op("Erf", [g.op("Mul", [x, inv_sqrt2])])
    return g.op("Mul", [g.op("Mul", [x, half]), g.op("Add", [erf, one])])


def _embeddings(g: _Graph, w: dict[str, np.ndarray], eps: float) -> str:
    words = g.const("word_embeddings", w["embeddings.word_embeddings.weight"])
    positions = g.const("position_embeddings", w["embeddings.position_embeddings.weight"])
    token_type = g.const("token_type0", w["embeddings.token_type_embeddings.weight"][0])
    zero = g.const("zero_1d", np.array([0], dtype=np.int64))
    length = g.op("Shape", ["input_ids"], start=1, end=2)
    pos = g.op("Slice", [positions, zero, length, zero])
    x = g.op("Add", [g.op("Gather", [words, "input_ids"], axis=0), pos])
    x = g.op("Add", [x, token_type])
    return _layer_norm(g, x, w, "embeddings.LayerNorm", eps)


def build_model(weights: dict[str, np.ndarray], config: dict[str, Any]) -> Any:
    """Return an onnx.ModelProto computing BERT's last hidden state."""
    from onnx import TensorProto, helper

    g = _Graph()
    eps = float(config.get("layer_norm_eps", 1e-12))
    x = _embeddings(g, weights, eps)
    axes = g.const("mask_axes", np.array([1, 2], dtype=np.int64))
    mask = g.op("Cast", [g.op("Unsqueeze", ["attention_mask", axes])], to=TensorProto.FLOAT)
    one_f = g.const("one_f", np.array(1.0, dtype=np.float32))
    neg = g.const("neg_inf", np.array(-1e9, dtype=np.float32))
    mask_bias = g.op("Mul", [g.op("Sub", [one_f, mask]), neg])
    for i in range(int(config["num_hidden_layers"])):
        p = f"encoder.layer.{i}"
        attn = _attention(g, x, mask_bias, weights, f"{p}.attention.self", int(config["num_attention_heads"]))
        attn = _linear(g, attn, weights, f"{p}.attention.output.dense")
        x = _layer_norm(g, g.op("Add", [attn, x]), weights, f"{p}.attention.output.LayerNorm", eps)
        inner = _gelu(g, _linear(g, x, weights, f"{p}.intermediate.dense"), p)
        out = _linear(g, inner, weights, f"{p}.output.dense")
        x = _layer_norm(g, g.op("Add", [out, x]), weights, f"{p}.output.LayerNorm", eps)
    g.nodes.append(helper.make_node("Identity", [x], ["last_hidden_state"]))
    dims = ["batch", "length"]
    graph = helper.make_graph(
        g.nodes,
        "minilm",
        [helper.make_tensor_value_info(n, TensorProto.INT64, dims) for n in ("input_ids", "attention_mask")],
        [helper.make_tensor_value_info("last_hidden_state", TensorProto.FLOAT, [*dims, config["hidden_size"]])],
        g.inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="agent")
    model.ir_version = 8
    return model


def load_weights(model_dir: Path) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Read the safetensors weights and config.json of a BERT model directory."""
    from safetensors.numpy import load_file

    config = json.loads((model_dir / "config.json").read_text())
    return load_file(str(model_dir / "model.safetensors")), config
