"""Note files: render/parse round trip and malformed files named in errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.errors import StoreError
from agent.memory.notes import Anchor, Note, load, new_id, parse, render, scan, write


def test_round_trip(tmp_path: Path) -> None:
    note = Note(new_id("Use ruff: it is fast"), "Use ruff: it is fast.\n\nSecond paragraph.", "repo", "user",
                ["style"], [Anchor("a.py", "f", "abc")], "2025-01-01T00:00:00Z", "2025-01-02T00:00:00Z")
    path = write(tmp_path, note)
    assert path.name == f"{note.id}.md" and note.id.startswith("use-ruff-it-is-fast-")
    back, sha = load(path, "repo")
    assert back.to_dict() == note.to_dict() and len(sha) == 16
    assert path.read_text().startswith("---\nformat: 1\nid: ")


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("no front matter", "no YAML front matter"),
        ("---\nformat: 1\nid: a-b\n: [\n---\nbody\n", "bad YAML"),
        ("---\nformat: 9\nid: a-b\n---\nbody\n", "newer agent"),
        ("---\nid: a-b\n---\nbody\n", "format"),
        ("---\nformat: 1\nid: a-b\nsource: robot\n---\nbody\n", "source"),
        ("---\nformat: 1\nid: a-b\n---\n\n", "no text"),
        ("---\nformat: 1\nid: a-b\nanchors: [{symbol: x}]\n---\nbody\n", "anchor"),
    ],
)
def test_malformed_files_are_refused_with_their_name(tmp_path: Path, text: str, problem: str) -> None:
    path = tmp_path / "a-b.md"
    with pytest.raises(StoreError, match=problem) as info:
        parse(text, path, "repo")
    assert str(path) in str(info.value)


def test_scan_skips_readme_and_hidden_files(tmp_path: Path) -> None:
    for name in ("README.md", ".x.md.tmp", ".hidden.md", "a.md", "b.txt"):
        (tmp_path / name).write_text("x")
    assert [p.name for p in scan(tmp_path)] == ["a.md"]
    assert scan(tmp_path / "missing") == []
