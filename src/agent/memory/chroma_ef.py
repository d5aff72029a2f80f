"""The chromadb adapter for the packaged MiniLM embedder (imports chromadb)."""

from __future__ import annotations

from typing import Any

from chromadb.api.types import Documents, EmbeddingFunction, Embeddings

from agent.memory.embed import MODEL_NAME, embedder


class MiniLMEmbeddingFunction(EmbeddingFunction[Documents]):
    """Embeds documents offline with the packaged all-MiniLM-L6-v2 on onnxruntime."""

    def __init__(self) -> None:
        self._embedder = embedder()

    def __call__(self, input: Documents) -> Embeddings:
        return list(self._embedder.embed(list(input)))

    @staticmethod
    def name() -> str:
        return "agent-minilm"

    def get_config(self) -> dict[str, Any]:
        return {"model": MODEL_NAME}

    @staticmethod
    def build_from_config(config: dict[str, Any]) -> MiniLMEmbeddingFunction:
        return MiniLMEmbeddingFunction()

    def default_space(self) -> str:  # type: ignore[override]
        return "cosine"
