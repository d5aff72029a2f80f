"""Repo map: tree-sitter tags, ranking and token-budgeted rendering.

    build_map(root, query, focus, budget) -> MapResult   the map for a task
    find_symbol(root, name) -> (definitions, references)
"""

from agent.repomap.api import MapResult, SymbolHit, build_map, find_symbol

__all__ = ["MapResult", "SymbolHit", "build_map", "find_symbol"]
