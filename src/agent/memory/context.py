"""Notes for the model: one-line renderings and the budgeted block for the first prompt."""

from __future__ import annotations

from typing import Any

from agent.errors import StoreError

# Tuned on the tune split of bench/memory-usefulness (bench/memory_usefulness.py), with the hybrid weight
# (index.HYBRID_WEIGHT): a note comes back when its score is at least FLOOR and within MARGIN of the
# best hit's, so a clear best match comes alone and near-ties come together. MARGIN was 0.12; 0.25
# (refitted on tune: floor, margin and weight swept together) lets the notes a task implies without
# resembling it come with the best match: task recall@3 0.78 -> 0.83, error 0.91 -> 0.92.
FLOOR = 0.4
MARGIN = 0.25


def approx_tokens(text: str) -> int:
    """A cheap token estimate (about 4 characters per token) that needs no tokenizer."""
    return len(text) // 4 + 1


def format_hit(hit: dict[str, Any]) -> str:
    """One note as a line: `[status, scope] id: text (about: anchors)`."""
    about = f" (about: {', '.join(hit['anchors'])})" if hit.get("anchors") else ""
    text = " ".join(str(hit["text"]).split())
    return f"- [{hit['status']}, {hit['scope']}] {hit['id']}: {text}{about}"


def relevant(hits: list[dict[str, Any]], floor: float = FLOOR, margin: float = MARGIN) -> list[dict[str, Any]]:
    """The hits (best first) worth showing: score >= floor and within `margin` of the best."""
    if not hits:
        return []
    top = hits[0]["score"]
    return [h for h in hits if h["score"] >= floor and h["score"] >= top - margin]


def prompt_notes(store: Any, query: str, budget_tokens: int, k: int = 12) -> str:
    """The most relevant notes for `query`, labelled, within `budget_tokens`; "" when none fit."""
    from agent.prompts import render

    if store is None or budget_tokens <= 0 or not query.strip():
        return ""
    try:
        hits = relevant(store.recall(query, k))
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
