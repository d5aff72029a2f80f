"""`agent memory ...` in real subprocesses: notes added in one process are found by another."""

from __future__ import annotations

import json
import subprocess
import sys
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


def test_consolidate_merges_flags_a_contradiction_reanchors_and_retires(repo: Path) -> None:
    from conftest import git

    from agent.config import MemoryConfig
    from agent.memory import MemoryStore
    from agent.memory import notes as nf

    seeding = MemoryStore(repo, MemoryConfig(dedup_threshold=1.0))  # let duplicates in, as old stores have them
    old_dup = seeding.remember("The tests are run with make test rather than pytest directly.", [], ["tests"])
    new_dup = seeding.remember("Run the tests with make test, not plain pytest.", ["app/ops.py"], ["make"])
    old_rule = seeding.remember("Money amounts are stored as float in this repo.", [], [])
    new_rule = seeding.remember("Never use floats for money amounts in this repo; use Decimal.", [], [])
    moved = seeding.remember("area() must keep using math.pi.", ["app/ops.py:area"], [])
    gone = seeding.remember("slugify output is used in URLs: keep it lowercase ASCII.", ["web/util.js:slugify"], [])
    for note_id in (old_dup, old_rule):  # written a year ago
        note = seeding.get(note_id)
        note.updated = "2024-01-01T00:00:00Z"
        nf.write(repo / ".agent/memory", note)
    ops = (repo / "app/ops.py").read_text()
    area = "def area(r):\n    return math.pi * r * r\n"
    (repo / "app/geometry.py").write_text("import math\n\n\n" + area)
    (repo / "app/ops.py").write_text(ops.replace(area, ""))
    (repo / "web/util.js").write_text("const x = 1;\n")
    git(repo, "add", "-A")

    dry = agent_cli("memory", "consolidate", "--dry-run", "--repo", str(repo))
    assert dry.returncode == 0, dry.stderr
    assert f"merge {new_dup} (removes {old_dup})" in dry.stdout
    assert f"contradiction {new_rule} (removes {old_rule})" in dry.stdout
    assert "reanchor" in dry.stdout and "app/ops.py:area -> app/geometry.py:area" in dry.stdout
    assert f"retire {gone}" in dry.stdout
    assert len(list((repo / ".agent/memory").glob("*.md"))) == 6  # a dry run changes nothing

    done = subprocess.run([sys.executable, "-m", "agent", "memory", "consolidate", "--repo", str(repo)],
                          input="n\ny\n", capture_output=True, text=True, timeout=300)  # retire: no; contradiction: yes
    assert done.returncode == 0, done.stderr
    assert "newer: Never use floats" in done.stdout and "older: Money amounts" in done.stdout
    left = {p.stem: p.read_text() for p in (repo / ".agent/memory").glob("*.md")}
    assert set(left) == {new_dup, new_rule, moved, gone}  # duplicate merged, contradiction resolved, retire declined
    assert "tests" in left[new_dup] and "make" in left[new_dup]  # the merged note keeps both notes' tags
    assert "path: app/geometry.py" in left[moved] and "symbol: area" in left[moved]
    listing = agent_cli("memory", "list", "--repo", str(repo)).stdout
    assert f"[fresh, repo] {moved}" in listing and f"[orphaned, repo] {gone}" in listing
