"""MemoryStore on a real chromadb index: recall, scopes, dedup, secrets, drift repair."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from memory_support import _shared_model, model_cache, repo  # noqa: F401

from agent.config import MemoryConfig
from agent.errors import StoreError
from agent.memory import MemoryStore, open_store
from agent.memory.index import _FORMAT_KEY
from agent.protocols import MemoryStore as MemoryProtocol

NOTES = [
    "Pin litellm below 1.106.10 because later releases need a certifi version the registry does not serve.",
    "Import heavy libraries such as chromadb and litellm inside functions so that agent --help starts fast.",
    "Run the test suite with pytest -q from the repository root; slow tests are marked with -m slow.",
]


@pytest.fixture
def store(repo: Path, tmp_path: Path) -> MemoryStore:
    return MemoryStore(repo, MemoryConfig(index_dir=str(tmp_path / "index"), user_dir=str(tmp_path / "user")))


def reopen(store: MemoryStore) -> MemoryStore:
    return MemoryStore(store.root, store.config)


def test_satisfies_the_protocol_and_open_store(store: MemoryStore, repo: Path) -> None:
    assert isinstance(store, MemoryProtocol)
    assert open_store(repo, MemoryConfig(enabled=False)) is None


def test_remember_and_recall_with_scope_and_status(store: MemoryStore) -> None:
    ids = [store.remember(t, [], ["t"]) for t in NOTES]
    user_id = store.remember("I prefer short commit messages in the imperative mood.", [], [], scope="user")
    assert (store.dirs["repo"] / f"{ids[0]}.md").is_file() and (store.dirs["user"] / f"{user_id}.md").is_file()
    hits = reopen(store).recall("which version of litellm is allowed?", k=2)
    assert hits[0]["id"] == ids[0] and hits[0]["scope"] == "repo" and hits[0]["status"] == "fresh"
    assert hits[0]["score"] > hits[1]["score"]
    mine = store.recall("how should I write commit messages", k=1)
    assert mine[0]["id"] == user_id and mine[0]["scope"] == "user"
    assert [h["id"] for h in store.recall("commit message style", k=5, scope="repo")] != [user_id]


def test_near_duplicate_updates_instead_of_adding(store: MemoryStore) -> None:
    first = store.remember("The user prefers tabs over spaces for indentation.", [], ["style"])
    second = store.remember("The user prefers spaces over tabs for indentation.", ["app/ops.py:area"], ["pref"])
    assert first == second
    note = store.get(first)
    assert note.text.startswith("The user prefers spaces") and note.tags == ["style", "pref"]
    assert [a.spec() for a in note.anchors] == ["app/ops.py:area"]
    assert len(store.notes()) == 1 and store.index.count() == 1
    assert store.remember("Deploys go through the staging cluster first.", [], []) != first


def test_secrets_are_refused(store: MemoryStore, monkeypatch: pytest.MonkeyPatch, repo: Path) -> None:
    from agent import redact

    with pytest.raises(StoreError, match="secret"):
        store.remember("the AWS key is AKIAIOSFODNN7EXAMPLE", [], [])
    monkeypatch.setenv("DEPLOY_PW", "Vq7-tR2#pLm9xZ4w")
    redact.reset()
    for text in ("sk-proj-" + "Q7w" * 12 + " is the deploy key", "the deploy password is Vq7-tR2#pLm9xZ4w",
                 "it is VQ7-TR2#PLM9XZ4W in capitals", 'keep password = "hunter22" in mind'):
        with pytest.raises(StoreError, match="holds a secret") as refused:
            store.remember(text, [], [])
        assert "Q7wQ7w" not in str(refused.value) and "Vq7-tR2" not in str(refused.value)
    redact.reset()
    assert store.notes() == [] and not [p for p in repo.rglob("*.md") if "memory" in p.parts]


def test_stale_and_orphaned_labels(store: MemoryStore, repo: Path) -> None:
    note_id = store.remember("area() uses math.pi for precision", ["app/ops.py:area"], [])
    ops = repo / "app/ops.py"
    ops.write_text(ops.read_text().replace("math.pi * r * r", "3.14159 * r ** 2"))
    assert store.recall("how is the area computed", 1)[0]["status"] == "stale"
    ops.write_text(ops.read_text().replace("def area(r):", "def surface(r):"))
    hit = store.recall("how is the area computed", 1)[0]
    assert hit["id"] == note_id and hit["status"] == "orphaned"


def test_hand_edits_and_deletions_are_picked_up(store: MemoryStore) -> None:
    ids = [store.remember(t, [], []) for t in NOTES]
    path = store.dirs["repo"] / f"{ids[2]}.md"
    path.write_text(path.read_text().replace(NOTES[2], "Database migrations are written with alembic."))
    (store.dirs["repo"] / f"{ids[1]}.md").unlink()
    hits = store.recall("how do we migrate the database schema", k=3)
    assert hits[0]["id"] == ids[2] and "alembic" in hits[0]["text"]
    assert ids[1] not in [h["id"] for h in hits] and store.index.count() == 2
    assert {h["id"] for h in reopen(store).recall("anything", 5)} == {ids[0], ids[2]}


def test_malformed_file_warns_and_others_load(store: MemoryStore) -> None:
    ids = [store.remember(t, [], []) for t in NOTES]
    bad = store.dirs["repo"] / "broken-note.md"
    bad.write_text("---\nformat: 1\nid: [oops\n---\ntext\n")
    again = reopen(store)
    assert any(str(bad) in w for w in again.warnings)
    assert sorted(n.id for n in again.notes()) == sorted(ids)
    assert again.recall("litellm pin", 1)[0]["id"] == ids[0]


def test_deleted_index_is_rebuilt(store: MemoryStore) -> None:
    from chromadb.api.shared_system_client import SharedSystemClient

    ids = sorted(store.remember(t, [], []) for t in NOTES)
    SharedSystemClient.clear_system_cache()  # as a new process would start
    shutil.rmtree(store.index.path)
    fresh = reopen(store)
    assert sorted(fresh.index.hashes()) == ids
    assert fresh.recall("where should big dependencies be imported", 1)[0]["text"] == NOTES[1]


def test_corrupted_index_is_rebuilt(store: MemoryStore) -> None:
    ids = sorted(store.remember(t, [], []) for t in NOTES)
    from chromadb.api.shared_system_client import SharedSystemClient

    SharedSystemClient.clear_system_cache()
    for f in store.index.path.rglob("*"):
        if f.is_file():
            f.write_bytes(b"\x00garbage" * 100)
    again = reopen(store)
    assert sorted(again.index.hashes()) == ids and again.index.rebuilt
    assert again.recall("how to run tests", 1)[0]["text"] == NOTES[2]


def test_index_from_an_older_format_is_rebuilt(store: MemoryStore) -> None:
    ids = sorted(store.remember(t, [], []) for t in NOTES)
    store.index.collection.modify(metadata={_FORMAT_KEY: 0, "agent_embedding": "old"})
    again = reopen(store)
    assert again.index.rebuilt and sorted(again.index.hashes()) == ids


def test_reindex_forget_and_get(store: MemoryStore) -> None:
    ids = [store.remember(t, [], []) for t in NOTES]
    assert store.reindex() == 3
    store.forget(ids[0])
    assert not (store.dirs["repo"] / f"{ids[0]}.md").exists() and store.index.count() == 2
    with pytest.raises(StoreError, match="no note"):
        store.forget(ids[0])
    with pytest.raises(StoreError, match="no note"):
        store.get("nope")
    with pytest.raises(StoreError):
        store.remember("  ", [], [])
    with pytest.raises(StoreError, match="scope"):
        store.remember("x", [], [], scope="team")


def test_one_batch_updating_the_same_note_twice(store: MemoryStore) -> None:
    first = store.remember("The nightly build runs at 02:00 UTC.", [], [])
    ids = store.remember_many([{"text": "The nightly build runs at 02:00 UTC daily.", "tags": ["ci"]},
                               {"text": "The nightly build runs every day at 02:00 UTC.", "tags": ["cron"]}])
    assert ids == [first, first] and store.index.count() == 1
    note = store.get(first)
    assert note.text == "The nightly build runs every day at 02:00 UTC."
    assert note.tags == ["ci", "cron"]  # the second update builds on the first, not on the file before the batch


def test_searches_after_own_writes_match_a_fresh_process(store: MemoryStore) -> None:
    """The writer keeps its in-memory vectors current instead of re-reading the index after each write."""
    ids = store.remember_many([{"text": t} for t in NOTES])
    store.recall("anything", k=1)  # loads the in-memory copy
    store.forget(ids[1])
    new = store.remember("Release notes are written in docs/changes.rst, newest first.", [], [])
    query = "where do the release notes go"
    mine = [(h["id"], h["score"]) for h in store.recall(query, k=5)]
    fresh = [(h["id"], h["score"]) for h in reopen(store).recall(query, k=5)]
    assert mine == fresh and mine[0][0] == new and ids[1] not in {i for i, _ in mine} and len(mine) == 3
