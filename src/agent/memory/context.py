"""Notes for the model: one-line renderings and the budgeted block for the first prompt."""

from __future__ import annotations

from typing import Any

from agent.errors import StoreError


def approx_tokens(text: str) -> int:
    """A cheap token estimate (about 4 characters per token) that needs no tokenizer."""
    return len(text) // 4 + 1


def format_hit(hit: dict[str, Any]) -> str:
    """One note as a line: `[status, scope] id: text (about: anchors)`."""
    about = f" (about: {', '.join(hit['anchors'])})" if hit.get("anchors") else ""
    text = " ".join(str(hit["text"]).split())
    return f"- [{hit['status']}, {hit['scope']}] {hit['id']}: {text}{about}"


def prompt_notes(store: Any, query: str, budget_tokens: int, k: int = 12) -> str:
    """The most relevant notes for `query`, labelled, within `budget_tokens`; "" when none fit."""
    from agent.prompts import render

    if store is None or budget_tokens <= 0 or not query.strip():
        return ""
    try:
        hits = store.recall(query, k)
    except StoreError:
        return ""
    header = approx_tokens(render("memory_notes", lines=[]))
    lines: list[str] = []
    used = header
    for hit in hits:
        line = format_hit(hit)
        cost = approx_tokens(line)
        if used + cost > budget_tokens:
            continue
        lines.append(line)
        used += cost
        if hasattr(store, "shown"):
            store.shown.add(hit["id"])  # just-in-time recall does not repeat it
    return render("memory_notes", lines=lines) if lines else ""
