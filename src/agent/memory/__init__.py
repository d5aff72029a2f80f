"""Durable memory: note files (the truth), a chromadb index over them, recall with freshness labels."""

from agent.memory.store import MemoryStore, open_store

__all__ = ["MemoryStore", "open_store"]
