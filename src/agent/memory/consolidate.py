"""Consolidation: tidy the notes, each change a plain edit of the note files (so it shows in git).

    merge          near-duplicates (cosine >= memory.dedup_threshold, same scope): the newest keeps
                   the others' tags and anchors, the others' files are removed
    contradiction  similar notes (cosine >= CONTRA_MIN) of which one forbids what the other states:
                   needs confirmation; confirmed, the newer is kept
    reanchor       an orphaned anchor whose code (same hash) is found in another tracked file
    retire         a note still orphaned after re-anchoring: needs confirmation, then it is removed
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agent.memory import notes as nf
from agent.memory.anchors import ORPHANED, anchor_status, code_hash, symbol_text
from agent.memory.notes import Anchor, Note

CONTRA_MIN = 0.6
_NEGATION = re.compile(r"\b(never|not|no|don'?t|do not|doesn'?t|avoid|without|stop|instead of)\b", re.I)


@dataclass
class Change:
    """One consolidation step: keep `keep` (rewritten as `note` when set), remove `drop`."""

    kind: str
    keep: str
    drop: list[str] = field(default_factory=list)
    detail: str = ""
    note: Note | None = None

    @property
    def needs_confirm(self) -> bool:
        """Contradictions and retirements change what the agent believes: the user decides."""
        return self.kind in ("contradiction", "retire")


def _tracked(root: Path) -> list[str]:
    try:
        out = subprocess.run(["git", "ls-files", "-z"], cwd=root, capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return []
    return [p for p in out.split("\0") if p]


def _moved(root: Path, anchor: Anchor, files: list[str]) -> Anchor | None:
    """The anchor at its new place: a tracked file (same suffix) holding code with the recorded hash."""
    if anchor.hash is None:
        return None
    suffix = Path(anchor.path).suffix
    for rel in files:
        if rel == anchor.path or Path(rel).suffix != suffix:
            continue
        text = symbol_text(root / rel, anchor.symbol)
        if text is not None and code_hash(text) == anchor.hash:
            return Anchor(rel, anchor.symbol, anchor.hash)
    return None


def _anchor_changes(store: Any, notes: list[Note]) -> list[Change]:
    files: list[str] | None = None
    out = []
    for note in notes:
        if not any(anchor_status(store.root, a) == ORPHANED for a in note.anchors):
            continue
        files = _tracked(store.root) if files is None else files
        fixed, moved = [], []
        for a in note.anchors:
            new = _moved(store.root, a, files) if anchor_status(store.root, a) == ORPHANED else None
            fixed.append(new or a)
            if new is not None:
                moved.append(f"{a.spec()} -> {new.spec()}")
        if moved:
            note.anchors = fixed
            out.append(Change("reanchor", note.id, detail=", ".join(moved), note=note))
        if any(anchor_status(store.root, a) == ORPHANED for a in fixed):
            out.append(Change("retire", note.id, [note.id], "its code is gone: " + note.text))
    return out


def _pair_changes(notes: list[Note], threshold: float) -> list[Change]:
    from agent.memory.embed import embedder

    if len(notes) < 2:
        return []
    ordered = sorted(notes, key=lambda n: (n.updated, n.created), reverse=True)  # newest first
    sims = embedder().embed([n.text for n in ordered])
    sims = sims @ sims.T
    taken: set[int] = set()
    out = []
    for i, newer in enumerate(ordered):
        if i in taken:
            continue
        group = [j for j in range(i + 1, len(ordered)) if j not in taken and ordered[j].scope == newer.scope
                 and sims[i, j] >= threshold]
        if group:
            taken.update(group)
            out.append(_merged(newer, [ordered[j] for j in group]))
        for j in range(i + 1, len(ordered)):
            older = ordered[j]
            if j in taken or not CONTRA_MIN <= sims[i, j] < threshold:
                continue
            if bool(_NEGATION.search(newer.text)) != bool(_NEGATION.search(older.text)):
                taken.add(j)
                out.append(Change("contradiction", newer.id, [older.id], f"newer: {newer.text}\nolder: {older.text}"))
    return out


def _merged(keep: Note, others: list[Note]) -> Change:
    for other in others:
        keep.tags = list(dict.fromkeys([*keep.tags, *other.tags]))
        keep.anchors = list({a.spec(): a for a in [*other.anchors, *keep.anchors]}.values())
    detail = "; ".join(f"{o.id}: {o.text}" for o in others)
    return Change("merge", keep.id, [o.id for o in others], detail, keep)


def plan(store: Any) -> list[Change]:
    """Every change consolidation would make, re-anchoring first (a re-anchored note is not retired)."""
    notes = store.notes()
    changes = _anchor_changes(store, notes)
    retired = {c.keep for c in changes if c.kind == "retire"}
    return changes + _pair_changes([n for n in notes if n.id not in retired], store.config.dedup_threshold)


def apply(store: Any, change: Change) -> None:
    """Make one change on disk: rewrite the kept note (if changed), remove the dropped ones."""
    if change.note is not None:
        note = change.note
        note.updated = nf.now()
        nf.write_many(store.dirs[note.scope], [note])
    for note_id in change.drop:
        if note_id != change.keep or change.kind == "retire":
            store.forget(note_id)
    store.sync()
