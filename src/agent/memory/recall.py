"""Just-in-time recall: notes come back with the tool result that makes them matter.

A tool-chain hook (agent.protocols.ToolHook). After a call that reads, edits or searches into files,
the notes anchored to those files, and not yet in the model's context this session, are appended to
the result, labelled with their freshness. After a failed call or a test run that reports failures,
the notes most similar to the error lines are appended as well (above a similarity floor). Each
result gets at most `memory.recall_tokens` of notes; a note is never shown twice in one session
(the store's `shown` set also holds the notes of the first prompt).
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from agent.errors import StoreError
from agent.memory.context import approx_tokens, format_hit
from agent.protocols import Decision, ToolCall, ToolResult

if TYPE_CHECKING:
    from agent.memory.store import MemoryStore
    from agent.toolchain import CallContext

_GREP_PATH = re.compile(r"^([^\s:][^:\n]*):\d+:", re.MULTILINE)
_ERROR_LINE = re.compile(r"(error|exception|traceback|failed|failure|assert|not found|denied|fatal)", re.IGNORECASE)
_FAILED_TEST = re.compile(r"(FAILED|FAIL:|ERROR:|[1-9]\d* failed|failures?=)")


def error_query(output: str, limit: int = 600) -> str:
    """The lines of a tool result that say what went wrong (the last few), as a recall query."""
    lines = [ln.strip() for ln in output.splitlines() if ln.strip()]
    picked = [ln for ln in lines if _ERROR_LINE.search(ln)][-6:] or lines[-3:]
    return "\n".join(picked)[-limit:]


def touched_paths(call: ToolCall, ctx: CallContext, result: ToolResult) -> list[str]:
    """Repository files a call read, edited or found matches in."""
    if ctx.kind in ("read", "edit"):
        return [p for p in ctx.paths if p not in (".", "")]
    if call.name == "search" and result.ok:
        return list(dict.fromkeys(_GREP_PATH.findall(result.output)))[:50]
    return []


class RecallHook:
    """Appends the notes that matter to a tool's result (see the module docstring)."""

    def __init__(self, store: Any, budget_tokens: int, min_score: float) -> None:
        self.store: MemoryStore = store  # the workspace's store (typed by its protocol there)
        self.budget, self.min_score = budget_tokens, min_score

    def before(self, call: ToolCall, ctx: CallContext) -> Decision:
        """Never stands in the way."""
        return Decision.allow()

    def after(self, call: ToolCall, ctx: CallContext, result: ToolResult) -> ToolResult:
        """The result, with the notes it brings back appended (unchanged when there are none)."""
        if self.budget <= 0 or call.name in ("recall", "remember", "forget"):
            return result
        try:
            hits = self._anchored(touched_paths(call, ctx, result))
            if not result.ok or (ctx.kind == "test" and _FAILED_TEST.search(result.output)):
                hits += self._similar(error_query(result.output))
        except StoreError:
            return result
        block = self._render(hits)
        if not block:
            return result
        return replace(result, output=f"{result.output}\n\n{block}")

    def _anchored(self, paths: list[str]) -> list[dict[str, Any]]:
        if not paths:
            return []
        return [self.store.describe(n) for n in self.store.anchored_to(paths) if n.id not in self.store.shown]

    def _similar(self, query: str) -> list[dict[str, Any]]:
        if not query.strip():
            return []
        hits = self.store.recall(query, 5)
        return [h for h in hits if h["score"] >= self.min_score and h["id"] not in self.store.shown]

    def _render(self, hits: list[dict[str, Any]]) -> str:
        from agent.prompts import render

        used = approx_tokens(render("memory_recall", lines=[]))
        lines: list[str] = []
        for hit in hits:
            line = format_hit(hit)
            cost = approx_tokens(line)
            if hit["id"] in self.store.shown or used + cost > self.budget:
                continue
            lines.append(line)
            self.store.shown.add(hit["id"])
            used += cost
        return render("memory_recall", lines=lines) if lines else ""
