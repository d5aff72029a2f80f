"""Consolidation: tidy the notes, each change a plain edit of the note files (so it shows in git).

    merge          near-duplicates (cosine >= memory.dedup_threshold, same scope): the newest keeps
                   the others' tags and anchors, the others' files are removed
    contradiction  similar notes (cosine >= CONTRA_MIN) of which one forbids what the other states:
                   needs confirmation; confirmed, the newer is kept
    reanchor       an orphaned anchor whose code (same hash) is found in another tracked file
    retire         a note still orphaned after re-anchoring: needs confirmation, then it is removed

`after_run` is the unattended form a run does at its end (see its docstring): it merges and re-anchors,
and only flags what needs a person (the tag needs-review), which `agent memory consolidate` then asks about.
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agent.errors import StoreError
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
    """Make one change on disk: rewrite the kept note (if changed), remove the dropped ones.

    A resolved contradiction also clears the needs-review flag an unattended run put on the kept note.
    """
    if change.kind == "contradiction" and change.note is None:
        kept = store.get(change.keep)
        if FLAG_TAG in kept.tags:
            kept.tags = [t for t in kept.tags if t != FLAG_TAG]
            nf.write_many(store.dirs[kept.scope], [kept])
    if change.note is not None:
        note = change.note
        note.updated = nf.now()
        nf.write_many(store.dirs[note.scope], [note])
    for note_id in change.drop:
        if note_id != change.keep or change.kind == "retire":
            store.forget(note_id)
    store.sync()


FLAG_TAG = "needs-review"  # set on notes an unattended consolidation could not settle


def _flag(store: Any, note_ids: list[str], flagged: list[str]) -> None:
    for note_id in note_ids:
        if note_id in flagged:
            continue
        note = store.get(note_id)
        if FLAG_TAG not in note.tags:  # a tag only: `updated` stays, so "keep the newer" still means the newer
            note.tags = [*note.tags, FLAG_TAG]
            nf.write_many(store.dirs[note.scope], [note])
            store.sync()
        flagged.append(note_id)


def after_run(store: Any, written: list[str], changed_files: list[str]) -> dict[str, list[str]]:
    """Cheap consolidation at the end of a run, around what the run touched; nothing is deleted unasked.

    The notes the run wrote are compared with their nearest neighbours in the index (a handful of
    embeddings, no pass over all notes): a near-duplicate is merged into the newer note; a contradiction
    is only flagged (the tag needs-review on both). The notes anchored to the files the run changed are
    re-anchored where their code moved, and flagged where it is gone. Returns the ids per outcome.
    """
    from agent.memory.embed import embedder

    out: dict[str, list[str]] = {"merged": [], "reanchored": [], "flagged": []}
    notes = []
    for note_id in written:  # only these files are read: the cost does not grow with the store
        try:
            notes.append(store.get(note_id))
        except StoreError:
            continue  # merged or forgotten since
    if notes:
        vectors = embedder().embed([n.text for n in notes])
        for note, near in zip(notes, store.index.query(vectors, 5), strict=True):
            _settle_pairs(store, note, near, out)
    orphaned = [n for n in store.anchored_to(changed_files)
                if any(anchor_status(store.root, a) == ORPHANED for a in n.anchors)] if changed_files else []
    for change in _anchor_changes(store, orphaned):
        if change.kind == "reanchor":
            apply(store, change)
            out["reanchored"].append(change.keep)
        else:
            _flag(store, [change.keep], out["flagged"])
    return out


def _settle_pairs(store: Any, note: Note, near: list[tuple[str, float]], out: dict[str, list[str]]) -> None:
    gone = set(out["merged"])
    for other_id, sim in near:
        if other_id == note.id or other_id in gone or note.id in gone:
            continue
        try:
            other, mine = store.get(other_id), store.get(note.id)
        except StoreError:
            continue
        if other.scope != mine.scope:
            continue
        newer, older = sorted([mine, other], key=lambda n: (n.updated, n.created), reverse=True)
        if sim >= store.config.dedup_threshold:
            apply(store, _merged(newer, [older]))
            out["merged"].append(older.id)
            gone.add(older.id)
        elif sim >= CONTRA_MIN and bool(_NEGATION.search(newer.text)) != bool(_NEGATION.search(older.text)):
            _flag(store, [newer.id, older.id], out["flagged"])
