"""`agent memory ...` in real subprocesses: notes added in one process are found by another."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import agent_cli
from memory_support import _shared_model, model_cache, repo  # noqa: F401

DATA = json.loads((Path(__file__).parent / "data" / "memory_paraphrases.json").read_text())


def ok(*args: str, cwd: Path) -> str:
    proc = agent_cli("memory", *args, cwd=cwd)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_notes_added_in_one_process_are_found_first_by_paraphrase(repo: Path) -> None:
    ids = [ok("add", text, cwd=repo).strip() for text in DATA["notes"]]
    assert len(set(ids)) == len(DATA["notes"])
    seen = set()
    for q in DATA["queries"]:
        if q["note"] in seen:
            continue  # one paraphrase per note through the CLI; bench/memory.py measures them all
        seen.add(q["note"])
        hits = json.loads(ok("search", q["query"], "-k", "3", "--json", cwd=repo))
        assert hits[0]["id"] == ids[q["note"]], q["query"]
        assert hits[0]["scope"] == "repo" and hits[0]["status"] == "fresh"


def test_add_list_show_stale_forget_export_reindex(repo: Path) -> None:
    note_id = ok("add", "area() returns pi r squared", "--anchor", "app/ops.py:area", "--tag", "math", cwd=repo).strip()
    user_id = ok("add", "I like terse answers", "--scope", "user", cwd=repo).strip()
    listed = json.loads(ok("list", "--json", cwd=repo))
    assert {(n["id"], n["scope"]) for n in listed} == {(note_id, "repo"), (user_id, "user")}
    assert json.loads(ok("stale", "--json", cwd=repo)) == []
    ops = repo / "app/ops.py"
    ops.write_text(ops.read_text().replace("math.pi * r * r", "r * r * math.pi"))
    stale = json.loads(ok("stale", "--json", cwd=repo))
    assert [(n["id"], n["status"], n["anchors"]) for n in stale] == [(note_id, "stale", ["app/ops.py:area"])]
    assert "[stale, repo]" in ok("stale", cwd=repo)
    shown = ok("show", note_id, cwd=repo)
    assert "format: 1" in shown and "area() returns pi r squared" in shown and "stale" in shown.splitlines()[0]
    lines = [json.loads(x) for x in ok("export", cwd=repo).splitlines()]
    assert sorted(x["id"] for x in lines) == sorted([note_id, user_id])
    assert ok("reindex", cwd=repo).strip() == "indexed 2 notes"
    assert ok("forget", user_id, cwd=repo).strip() == f"forgot {user_id}"
    assert [n["id"] for n in json.loads(ok("list", "--json", cwd=repo))] == [note_id]


def test_configured_dir_and_deleted_index(repo: Path, isolated_home: Path) -> None:
    (repo / "pyproject.toml").write_text('[tool.agent.memory]\ndir = "memory"\n')
    note_id = ok("add", "The docs are built with mkdocs", cwd=repo).strip()
    assert (repo / "memory" / f"{note_id}.md").is_file()
    import shutil

    shutil.rmtree(isolated_home / "cache" / "agent" / "memory")
    assert json.loads(ok("search", "how is the documentation generated", "--json", cwd=repo))[0]["id"] == note_id


@pytest.mark.parametrize(
    "args",
    [
        ["add", "x", "--anchor", "missing.py"],
        ["add", "x", "--scope", "team"],
        ["add", "password = 'hunter2hunter2'"],
        ["show", "no-such-note"],
        ["forget", "no-such-note"],
        ["search", "  "],
        ["list", "--repo", "/nonexistent/path"],
    ],
)
def test_bad_input_is_one_line_and_exit_2(repo: Path, args: list[str]) -> None:
    proc = agent_cli("memory", *args, cwd=repo)
    assert proc.returncode == 2
    assert proc.stderr.startswith("agent: error: ") and len(proc.stderr.strip().splitlines()) == 1, proc.stderr


def test_malformed_note_gives_a_warning_naming_it(repo: Path) -> None:
    note_id = ok("add", "Releases are tagged vX.Y.Z", cwd=repo).strip()
    bad = repo / ".agent/memory/bad-note.md"
    bad.write_text("---\nformat: one\n---\nhello\n")
    proc = agent_cli("memory", "list", "--json", cwd=repo)
    assert proc.returncode == 0 and str(bad) in proc.stderr and "warning" in proc.stderr
    assert [n["id"] for n in json.loads(proc.stdout)] == [note_id]
