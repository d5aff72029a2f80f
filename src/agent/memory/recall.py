"""Just-in-time recall: notes come back with the tool result that makes them matter.

A tool-chain hook (agent.protocols.ToolHook). After a call that reads, edits, searches into or looks up
code, the notes anchored to what it covered, and not yet in the model's context this session, are
appended to the result, labelled with their freshness. What a call covers (`coverage`): the lines a
read_file showed, the lines an edit's new text landed on, the lines of search matches and of the
definitions find_symbol found, the definitions the first files of a repo map show; in a large file a
note anchored to a symbol needs its symbol covered (anchors.covers). A file read or edited also brings
the notes whose text names it or its folder. After a failed call or a test run that reports failures,
the notes matching the error lines are appended as well (hybrid score over a floor, within the margin
of the best: context.relevant). Each result gets at most `memory.recall_tokens` of notes; a note is
never shown twice in one session (the store's `shown` set also holds the notes of the first prompt,
and a resumed run or chat restores it).
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from agent.errors import StoreError
from agent.memory.context import approx_tokens, format_hit, relevant
from agent.protocols import Decision, ToolCall, ToolResult

if TYPE_CHECKING:
    from agent.memory.store import MemoryStore
    from agent.toolchain import CallContext

_OPENS = ("read_file", "edit_file", "write_file")
_ERROR_LINE = re.compile(r"(error|exception|traceback|failed|failure|assert|not found|denied|fatal)", re.IGNORECASE)
_FAILED_TEST = re.compile(r"(FAILED|FAIL:|ERROR:|[1-9]\d* failed|failures?=)")


def error_query(output: str, limit: int = 600) -> str:
    """The lines of a tool result that say what went wrong (the last few), as a recall query.

    A bare `AssertionError:` brings the line after it (where the message is); a `path:line[:col]:`
    prefix is dropped, so the message, not the location, is matched.
    """
    lines = [ln.strip() for ln in output.splitlines() if ln.strip()]
    keep: list[int] = []
    for i, line in enumerate(lines):
        if _ERROR_LINE.search(line):
            keep += [i, i + 1] if _BARE_NAME.match(line) and i + 1 < len(lines) else [i]
    picked = [lines[i] for i in dict.fromkeys(keep)][-6:] or lines[-3:]
    return "\n".join(_LOCATION.sub("", ln) for ln in picked)[-limit:]


_BARE_NAME = re.compile(r"^[\w.]+:$")  # an exception name whose message is on the next line
_LOCATION = re.compile(r"^\S+?:\d+(?::\d+)?:\s+")  # path:line[:col]: of a compiler, linter or doc build


Coverage = dict[str, list[tuple[int, int]] | None]  # path -> line ranges a call showed or changed (None: all)
_DEFINITION = re.compile(r"^  (\S[^:\n]*):(\d+): ", re.MULTILINE)
_MAP_FILE = re.compile(r"^(\S[^\n]*):$")
MAP_FILES = 5  # repo_map: notes of the files ranked first only


def _line_of(text: str, needle: str) -> tuple[int, int] | None:
    at = text.find(needle) if needle else -1
    return None if at < 0 else (text.count("\n", 0, at) + 1, text.count("\n", 0, at + len(needle)) + 1)


def _read_cover(call: ToolCall, ctx: CallContext) -> Coverage:
    args = ctx.args
    start = int(getattr(args, "start_line", 1) or 1)
    page = ctx.ws.config.tools.read_lines
    end = min(int(getattr(args, "end_line", None) or start + page - 1), start + page - 1)
    return {p: [(start, end)] for p in ctx.paths}


def _edit_cover(ctx: CallContext) -> Coverage:
    """The lines where each edit's new text now stands (the whole file when it cannot be found)."""
    out: Coverage = {p: [] for p in ctx.paths}
    for edit in getattr(ctx.args, "edits", []) or []:
        key = next((p for p in ctx.paths if p == edit.path.strip("/") or edit.path.endswith(p)), None)
        if key is None or out.get(key) is None:
            continue
        try:
            text = (ctx.ws.root / key).read_text(encoding="utf-8", errors="replace")
        except OSError:
            text = ""
        span = _line_of(text, edit.new.strip())
        out[key] = None if span is None else [*(out[key] or []), span]
    return {p: (r if r else None) for p, r in out.items()}


def _map_cover(ctx: CallContext, output: str) -> Coverage:
    """The first files of a repo map, each with the lines of the definitions it shows."""
    out: Coverage = {}
    current: str | None = None
    for line in output.splitlines():
        header = _MAP_FILE.match(line)
        if header and not line.startswith(" "):
            if len(out) >= MAP_FILES:
                break
            current = header.group(1).strip()
            out[current] = []
            try:
                text = (ctx.ws.root / current).read_text(encoding="utf-8", errors="replace")
            except OSError:
                text = ""
        elif current is not None and line.strip() and not line.lstrip()[:1].isdigit():
            span = _line_of(text, line.strip())
            if span is not None:
                out[current] = [*(out[current] or []), span]
    return {p: (r if r else [(0, 0)]) for p, r in out.items()}


def coverage(call: ToolCall, ctx: CallContext, result: ToolResult) -> Coverage:
    """The repository files (and lines of them) a call read, edited, found matches or definitions in."""
    if call.name == "read_file":
        return _read_cover(call, ctx)
    if call.name == "edit_file":
        return _edit_cover(ctx)
    if ctx.kind in ("read", "edit") and call.name not in ("repo_map", "find_symbol"):
        return {p: None for p in ctx.paths if p not in (".", "")}
    if not result.ok:
        return {}
    if call.name == "search":
        out: Coverage = {}
        for path, line in re.findall(r"^([^\s:][^:\n]*):(\d+):", result.output, re.MULTILINE)[:200]:
            out.setdefault(path, []).append((int(line), int(line)))  # type: ignore[union-attr]
        return dict(list(out.items())[:50])
    if call.name == "find_symbol":
        definitions = result.output.split("\nreferences")[0]
        found: Coverage = {}
        for path, line in _DEFINITION.findall(definitions):
            found.setdefault(path, []).append((int(line), int(line)))  # type: ignore[union-attr]
        return found
    if call.name == "repo_map":
        return _map_cover(ctx, result.output)
    return {}


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
            cover = coverage(call, ctx, result)
            named = list(cover) if call.name in _OPENS else []  # a file opened or changed, not a match in it
            hits = self._anchored(cover, named)
            if not result.ok or (ctx.kind == "test" and _FAILED_TEST.search(result.output)):
                hits += self._similar(error_query(result.output))
        except StoreError:
            return result
        block = self._render(hits)
        if not block:
            return result
        return replace(result, output=f"{result.output}\n\n{block}")

    def _anchored(self, cover: Coverage, named: list[str]) -> list[dict[str, Any]]:
        """Notes anchored to what the call covered, then notes whose text names one of the `named` files."""
        notes = self.store.anchored_to(cover) if cover else []
        if named and hasattr(self.store, "mentioning"):
            notes += self.store.mentioning(named)
        out: dict[str, dict[str, Any]] = {}
        for note in notes:
            if note.id not in self.store.shown and note.id not in out:
                out[note.id] = self.store.describe(note)
        return list(out.values())

    def _similar(self, query: str) -> list[dict[str, Any]]:
        if not query.strip():
            return []
        hits = relevant(self.store.recall(query, 5), floor=self.min_score)
        return [h for h in hits if h["id"] not in self.store.shown]

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
