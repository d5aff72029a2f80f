"""Durable memory: note files (the truth), a chromadb index over them, recall with freshness labels.

    open_store(root, config) -> MemoryStore | None      recall / remember / forget (agent.protocols.MemoryStore)
    prompt_notes(store, query, budget_tokens) -> str    the labelled notes for a first prompt
    distill(store, backend, messages) -> list[str]      lessons from a finished run, stored; their ids
"""

from agent.memory.context import prompt_notes
from agent.memory.distill import distill
from agent.memory.store import MemoryStore, open_store

__all__ = ["MemoryStore", "distill", "open_store", "prompt_notes"]
