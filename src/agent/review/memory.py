"""The review's seams to agent.memory: dismissed findings become notes, notes inform the model review."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from agent.errors import UsageError
from agent.review.model import Finding

DISMISSED_TAG = "dismissed"
FINDING_TAG = "finding:"


def _memory_section(config: Any) -> Any:
    from agent.config import MemoryConfig

    section = getattr(config, "memory", None)
    return section if isinstance(section, MemoryConfig) else MemoryConfig.model_validate(section or {})


def _note_dirs(root: Path, config: Any) -> list[tuple[str, Path]]:
    from agent.memory.store import default_user_dir

    section = _memory_section(config)
    repo_dir = Path(section.dir).expanduser()
    user_dir = Path(section.user_dir).expanduser() if section.user_dir else default_user_dir()
    return [("repo", repo_dir if repo_dir.is_absolute() else root / repo_dir), ("user", user_dir)]


def dismissed_ids(root: Path, config: Any) -> set[str]:
    """Ids of findings dismissed earlier, read from the note files (no index, no embedding: fast)."""
    from agent.errors import StoreError
    from agent.memory import notes as nf

    found: set[str] = set()
    for scope, directory in _note_dirs(root, config):
        for path in nf.scan(directory):
            try:
                note = nf.load(path, scope)[0]
            except StoreError:
                continue
            if note.source == "review" and DISMISSED_TAG in note.tags:
                found |= {t.removeprefix(FINDING_TAG) for t in note.tags if t.startswith(FINDING_TAG)}
    return found


def dismiss(root: Path, config: Any, finding_id: str, why: str, finding: Finding | None) -> str:
    """Record a dismissed finding as a memory note (source "review", tag "dismissed"); return the note id."""
    from agent.memory import open_store

    if not why.strip():
        raise UsageError("--dismiss needs --why TEXT: the reason becomes the memory note")
    store = open_store(root, config)
    if store is None:
        raise UsageError("cannot dismiss: memory is disabled (memory.enabled = false)")
    text = f"Review finding {finding_id} dismissed as a false positive: {why.strip()}"
    anchors: list[str] = []
    if finding is not None:
        where = f"{finding.file}:{finding.line}" if finding.line else finding.file
        text += f"\n\nFinding ({finding.kind}, {finding.severity}) at {where}: {finding.message}"
        if (root / finding.file).is_file():
            anchors.append(finding.file)
    return store.remember(text, anchors, [DISMISSED_TAG, FINDING_TAG + finding_id], source="review")


def recall_notes(root: Path, config: Any, query: str, k: int = 5) -> list[str]:
    """Memory notes relevant to the change, labelled with their freshness; [] without memory."""
    from agent.memory import open_store

    store = open_store(root, config)
    if store is None or not query.strip():
        return []
    return [f"[{hit.get('status', 'fresh')}] {hit.get('text', '')}" for hit in store.recall(query, k)]
