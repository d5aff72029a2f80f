"""distill() with the real ScriptedBackend, and prompt_notes() for the first prompt."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import agent_cli
from memory_support import _shared_model, model_cache, repo  # noqa: F401

from agent.backends.scripted import ScriptedBackend
from agent.config import MemoryConfig
from agent.memory import MemoryStore, distill, prompt_notes
from agent.memory.context import approx_tokens
from agent.memory.distill import parse_lessons, transcript

RUN = [
    {"role": "system", "content": "You are a coding agent."},
    {"role": "user", "content": "Fix the failing test in app/ops.py"},
    {"role": "assistant", "content": "", "tool_calls": [{"id": "1", "type": "function",
     "function": {"name": "run_shell", "arguments": "{\"command\": \"python -m unittest\"}"}}]},
    {"role": "tool", "tool_call_id": "1", "content": "no tests ran; this repo uses pytest"},
]


@pytest.fixture
def store(repo: Path, tmp_path: Path) -> MemoryStore:
    return MemoryStore(repo, MemoryConfig(user_dir=str(tmp_path / "user")))


def test_distill_stores_lessons_deduplicated_and_without_secrets(store: MemoryStore) -> None:
    existing = store.remember("The tests of this repository run with pytest, not unittest.", [], [])
    lessons = [
        "This repository's tests are run with pytest rather than unittest.",  # same as `existing`
        "app/ops.py keeps geometry helpers; area() uses math.pi.",
        "Deploy with the key AKIAIOSFODNN7EXAMPLE from the vault.",  # redacted, then stored
        "export TOKEN=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",
    ]
    backend = ScriptedBackend([{"content": "Here you go:\n" + json.dumps(lessons), "tool_calls": []}])
    ids = distill(store, backend, RUN)
    assert ids[0] == existing and len(ids) == 4
    texts = {n.id: n.text for n in store.notes()}
    assert texts[existing] == lessons[0] and len(texts) == 4
    assert not any("AKIA" in t or "ghp_" in t for t in texts.values())
    assert any("[REDACTED" in t and "vault" in t for t in texts.values())
    prompt = backend.seen[0][0]["content"]
    assert "python -m unittest" in prompt and "JSON array" in prompt


def test_distill_with_nothing_to_learn(store: MemoryStore) -> None:
    assert distill(store, ScriptedBackend([{"content": "[]"}]), RUN) == []
    assert store.notes() == []


def test_parse_lessons_and_transcript() -> None:
    assert parse_lessons('["a", " ", "b"]') == ["a", "b"]
    assert parse_lessons("Lessons:\n- first one\n2. second one\nnot a bullet") == ["first one", "second one"]
    text = transcript(RUN)
    assert "[calls run_shell(" in text and text.startswith("system: You are")
    long = transcript([{"role": "user", "content": "x" * 50000}], limit=1000)
    assert len(long) < 1100 and "left out" in long


def test_prompt_notes_are_labelled_and_within_budget(store: MemoryStore, repo: Path) -> None:
    stale_id = store.remember("area() is computed with math.pi * r * r", ["app/ops.py:area"], [])
    store.remember("The user wants answers in British English.", [], [], scope="user")
    for i in range(30):
        store.remember(f"Geometry fact {i}: shape number {i} has {i + 3} corners and colour code C{i * 37}.", [], [])
    ops = repo / "app/ops.py"
    ops.write_text(ops.read_text().replace("math.pi * r * r", "r ** 2 * math.pi"))
    block = prompt_notes(store, "fix the area computation", 200)
    assert f"[stale, repo] {stale_id}" in block and "Notes from earlier sessions" in block
    assert approx_tokens(block) <= 200
    assert prompt_notes(store, "spelling conventions for answers", 600).count("[fresh, user]") == 1
    assert prompt_notes(store, "anything", 0) == "" and prompt_notes(None, "x", 100) == ""


def test_lessons_of_a_failed_run_are_labelled_as_such(store: MemoryStore) -> None:
    backend = ScriptedBackend([{"content": json.dumps(["Patching ops.area with a cache broke the doctests."])}])
    ids = distill(store, backend, RUN, verified=False)
    note = store.get(ids[0])
    assert note.text == "From a failed run: Patching ops.area with a cache broke the doctests."
    assert note.tags == ["lesson", "failed-run"]
    assert "did NOT succeed" in backend.seen[0][0]["content"]
    ok = ScriptedBackend([{"content": "[]"}])
    distill(store, ok, RUN)
    assert "was verified" in ok.seen[0][0]["content"] and "did NOT succeed" not in ok.seen[0][0]["content"]


def test_a_headless_run_whose_tests_fail_distils_labelled_lessons(repo: Path) -> None:
    from agent.config import load_config
    from agent.session import Session

    (repo / "fail.py").write_text("raise SystemExit('1 failed')\n")
    config = load_config(repo)
    config.tools.test_command = "python fail.py"
    backend = ScriptedBackend([
        {"tool_calls": [{"name": "finish", "arguments": {"summary": "done, I think"}}]},
        {"content": json.dumps(["Calling area() with a string radius crashes."])},
    ])
    events: list[dict] = []
    Session(repo, config, backend=backend).run("make area accept strings", events.append)
    distilled = next(e for e in events if e["type"] == "memory_distilled")
    note = MemoryStore(repo, config.memory).get(distilled["notes"][0])
    assert note.text.startswith("From a failed run: ") and "failed-run" in note.tags


def test_a_run_ends_with_cheap_consolidation_merging_duplicates_and_only_flagging_the_rest(repo: Path) -> None:
    from agent.config import load_config
    from agent.memory.consolidate import FLAG_TAG
    from agent.memory.notes import write_many
    from agent.session import Session

    config = load_config(repo)
    first = MemoryStore(repo, config.memory)
    floats = first.remember("Amounts of money in the billing code are floats, rounded when printed.", [], [], "user")
    parser = first.remember("Parser.parse splits the text on whitespace.", ["app/ops.py:Parser.parse"], [], "user")
    other = first.remember("area() must keep using math.pi.", ["app/ops.py:area"], [], "user")
    for note in first.notes():  # written last month (timestamps have one-second resolution)
        note.created = note.updated = "2026-11-01T10:00:00Z"
        write_many(first.dirs["repo"], [note])
    new_ops = "import math\n\n\ndef area(r):\n    return math.pi * r * r\n"  # Parser is gone
    lessons = ["The billing tests run with make test-billing.", "Billing tests are run with make test-billing."]
    backend = ScriptedBackend([
        {"tool_calls": [{"name": "remember", "arguments": {
            "text": "Never use floats for money in the billing code: use Decimal."}}]},
        {"tool_calls": [{"name": "write_file", "arguments": {"path": "app/ops.py", "content": new_ops}}]},
        {"tool_calls": [{"name": "finish", "arguments": {"summary": "done"}}]},
        {"content": json.dumps(lessons)},  # the distillation
    ])
    events: list[dict] = []
    Session(repo, config, backend=backend, approve=lambda kind, detail: True).run("use Decimal", events.append)
    (done,) = [e for e in events if e["type"] == "memory_consolidated"]
    store = MemoryStore(repo, config.memory)
    notes = {n.id: n for n in store.notes()}
    billing = [n for n in notes.values() if "make test-billing" in n.text]
    assert len(billing) == 1 and done["merged"] and done["merged"][0] not in notes  # one duplicate merged away
    decimal = next(n for n in notes.values() if "Decimal" in n.text)
    assert set(done["flagged"]) == {floats, decimal.id, parser}  # the contradiction and the orphan
    assert all(FLAG_TAG in notes[i].tags for i in done["flagged"])  # flagged, never deleted
    assert FLAG_TAG not in notes[other].tags and done["reanchored"] == []
    assert "needs-review" in (repo / ".agent/memory").joinpath(*notes[parser].path.parts[-1:]).read_text()

    resolved = agent_cli("memory", "consolidate", "--yes", "--repo", str(repo))  # the person settles the flags
    assert resolved.returncode == 0, resolved.stderr
    left = {n.id: n for n in MemoryStore(repo, config.memory).notes()}
    assert floats not in left and parser not in left  # the older of the contradiction, the orphan: retired
    assert decimal.id in left and FLAG_TAG not in left[decimal.id].tags
