"""edit_file: search/replace edits, several files at once, all or nothing."""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from agent.errors import ToolError
from agent.redact import refuse_placeholders
from agent.tools import effect
from agent.tools.files import read_text
from agent.workspace import Workspace


class Edit(BaseModel):
    """One replacement in one file."""

    model_config = ConfigDict(extra="forbid")
    path: str = Field(description="file path relative to the repository root")
    old: str = Field(description="exact text to replace (empty to create a new file)")
    new: str = Field(description="replacement text")
    replace_all: bool = Field(False, description="replace every occurrence instead of exactly one")


def _line_of(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


def _indent(line: str) -> str:
    return line[: len(line) - len(line.lstrip())]


def _closest(lines: list[str], old_lines: list[str], path: str) -> str:
    """Describe the windows of the file most similar to the text that was not found."""
    size = max(len(old_lines), 1)
    target = "\n".join(x.strip() for x in old_lines)
    scored = []
    for i in range(max(len(lines) - size + 1, 1)):
        window = "\n".join(x.strip() for x in lines[i : i + size])
        scored.append((difflib.SequenceMatcher(None, target, window).quick_ratio(), i))
    best = sorted(scored, reverse=True)[:20]
    best = sorted(
        ((difflib.SequenceMatcher(None, target, "\n".join(x.strip() for x in lines[i : i + size])).ratio(), i) for _, i in best),
        reverse=True,
    )[:2]
    parts = [
        f"lines {i + 1}-{i + size} ({ratio:.0%} similar):\n" + "\n".join(lines[i : i + size])
        for ratio, i in best
        if ratio > 0.3
    ]
    return f"{path}: closest candidates:\n" + "\n---\n".join(parts) if parts else f"{path}: nothing similar found"


def _fuzzy(text: str, edit: Edit) -> str:
    """Match line by line ignoring indentation and trailing spaces; re-indent the replacement."""
    lines = text.split("\n")
    old_lines = edit.old.strip("\n").split("\n")
    key = [x.strip() for x in old_lines]
    starts = [i for i in range(len(lines) - len(key) + 1) if [x.strip() for x in lines[i : i + len(key)]] == key]
    if not starts:
        raise ToolError(f"old text not found in {edit.path}.\n{_closest(lines, old_lines, edit.path)}")
    if len(starts) > 1 and not edit.replace_all:
        where = ", ".join(str(s + 1) for s in starts)
        raise ToolError(f"old text is ambiguous in {edit.path}: it matches at lines {where}; include more context")
    shift_from, shift_to = _indent(old_lines[0]), _indent(lines[starts[0]])
    new_lines = []
    for line in edit.new.strip("\n").split("\n") if edit.new.strip("\n") else []:
        if line.startswith(shift_from):
            line = shift_to + line[len(shift_from) :]
        new_lines.append(line)
    for start in reversed(starts):
        lines[start : start + len(key)] = new_lines
    return "\n".join(lines)


def apply_edit(text: str | None, edit: Edit) -> str:
    """Return `text` with the edit applied, or raise ToolError explaining why it cannot be."""
    if text is None:
        if edit.old:
            raise ToolError(f"no such file: {edit.path} (use old='' to create it)")
        return edit.new
    if not edit.old:
        raise ToolError(f"{edit.path} exists: give the text to replace in `old`")
    count = text.count(edit.old)
    if count == 1 or (count > 1 and edit.replace_all):
        return text.replace(edit.old, edit.new)
    if count > 1:
        where, start = [], 0
        while (start := text.find(edit.old, start)) != -1:
            where.append(str(_line_of(text, start)))
            start += 1
        raise ToolError(f"old text is ambiguous in {edit.path}: it occurs at lines {', '.join(where)}; include more context")
    return _fuzzy(text, edit)


def read_raw(ws: Workspace, path: str) -> str:
    """A file's text with undecodable bytes kept (surrogateescape), so an edit changes nothing else."""
    text = read_text(ws, path)  # refuses directories and binaries
    if "\ufffd" not in text:
        return text
    return ws.read_bytes(ws.resolve(path)).decode("utf-8", "surrogateescape")


def _roll_back(ws: Workspace, written: list[str], originals: dict[str, str | None], paths: dict[str, Path]) -> None:
    for key in written:  # so the edit is all or nothing
        old = originals[key]
        if old is None:
            paths[key].unlink(missing_ok=True)
        else:
            ws.write_bytes(paths[key], old.encode("utf-8", "surrogateescape"))


@effect("edit", paths=lambda a: [e.path for e in a.edits])
def edit_file(
    ws: Workspace,
    edits: Annotated[list[Edit], Field(min_length=1, description="replacements, applied in order")],
) -> str:
    """Replace exact text in files. Several edits, even across files, apply all together or not at all."""
    originals: dict[str, str | None] = {}
    current: dict[str, str | None] = {}
    paths: dict[str, Path] = {}
    for edit in edits:
        real = ws.resolve(edit.path)
        key = ws.rel(real)
        if key not in current:
            originals[key] = read_raw(ws, key) if real.exists() else None
            current[key], paths[key] = originals[key], real
        current[key] = apply_edit(current[key], edit)
    for key, text in current.items():
        refuse_placeholders(text or "", originals[key] or "")
    written: list[str] = []
    try:
        for key, text in current.items():
            if text != originals[key]:
                ws.write_bytes(paths[key], (text or "").encode("utf-8", "surrogateescape"))
                written.append(key)
    except (OSError, ToolError) as exc:  # e.g. a later path runs through a file: undo the earlier writes
        _roll_back(ws, written, originals, paths)
        raise ToolError(f"could not write {key}: {exc}; no file was changed") from exc
    diff = "".join(
        "".join(difflib.unified_diff((originals[k] or "").splitlines(True), (current[k] or "").splitlines(True), f"a/{k}", f"b/{k}"))
        for k in written
    ).encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    limit = ws.config.tools.output_chars
    return f"edited {', '.join(written) or 'nothing (no change)'}\n" + (diff if len(diff) <= limit else diff[:limit] + "\n... diff cut")
