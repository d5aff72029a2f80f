"""Conversation: turns over the real loop with the scripted backend, on real git repositories."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from conftest import init_repo

from agent.backends.scripted import ScriptedBackend
from agent.chat.conversation import Conversation, close_dangling
from agent.chat.store import FORMAT_VERSION, latest_session, read_session, restore
from agent.config import load_config
from agent.errors import AgentError, StoreError
from agent.session import Session

FILES = {"calc/ops.py": "def add(a, b):\n    return a - b\n", "calc/__init__.py": "", "README.md": "calc\n"}


def call(name: str, **arguments: Any) -> dict[str, Any]:
    return {"name": name, "arguments": arguments}


def conversation(repo: Path, replies: list[dict[str, Any]], approve: Any = None, **config: Any) -> Conversation:
    cfg = load_config(repo, {"context": {"map_tokens": 0}, **config})
    session = Session(repo, cfg, backend=ScriptedBackend(replies), approve=approve or (lambda kind, detail: False))
    return Conversation(session)


def test_turns_keep_history_and_text_reply_ends_the_turn(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "repo", FILES)
    conv = conversation(
        repo,
        [
            {"content": "Reading it.", "tool_calls": [call("read_file", path="calc/ops.py")]},
            {"content": "`add` subtracts."},
            {"content": "Yes, I remember: `add` subtracts."},
        ],
    )
    events: list[dict[str, Any]] = []
    first = conv.turn("what does add do?", events.append)
    assert (first.status, first.summary, first.files_changed) == ("done", "`add` subtracts.", [])
    second = conv.turn("and again?", events.append)
    assert second.summary == "Yes, I remember: `add` subtracts."
    seen = conv.backend.seen[-1]  # type: ignore[attr-defined]
    assert [m["role"] for m in seen] == ["system", "user", "assistant", "tool", "assistant", "user"]
    assert "what does add do?" in seen[1]["content"] and seen[-1]["content"].endswith("and again?")
    assert [e["text"] for e in events if e["type"] == "text_delta"][0] == "Reading it."
    assert not [e for e in events if e["type"] == "format_error"]
    assert conv.turn_starts == [1, 5] and conv.tokens_in > 0


def test_mentioned_files_are_sent_once_until_they_change(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "repo", FILES)
    conv = conversation(repo, [{"content": "a"}, {"content": "b"}, {"content": "c"}])
    result = conv.turn("look at @calc/ops.py, and @nothing/here.py", lambda e: None)
    assert result.added == ["calc/ops.py"] and conv.files == ["calc/ops.py"]
    assert "return a - b" in conv.messages[1]["content"]
    conv.turn("again", lambda e: None)
    assert "return a - b" not in conv.messages[-2]["content"]
    (repo / "calc/ops.py").write_text("def add(a, b):\n    return a + b\n")
    conv.turn("changed", lambda e: None)
    assert "return a + b" in conv.messages[-2]["content"]


def test_edit_emits_diff_and_undo_restores_exactly(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "repo", FILES)
    conv = conversation(
        repo,
        [
            {"tool_calls": [call("read_file", path="calc/ops.py")]},
            {
                "tool_calls": [
                    call("edit_file", edits=[{"path": "calc/ops.py", "old": "a - b", "new": "a + b"}]),
                    call("write_file", path="calc/new.py", content="x = 1\n"),
                ]
            },
            {"content": "done"},
        ],
        approve=lambda kind, detail: True,
    )  # a new file is not in play: it asks
    events: list[dict[str, Any]] = []
    result = conv.turn("fix add", events.append)
    diffs = {e["path"]: e["diff"] for e in events if e["type"] == "file_diff"}
    assert "-    return a - b\n+    return a + b" in diffs["calc/ops.py"] and "+x = 1" in diffs["calc/new.py"]
    assert result.files_changed == ["calc/new.py", "calc/ops.py"]
    assert conv.undo() == ["calc/new.py", "calc/ops.py"]
    assert (repo / "calc/ops.py").read_text() == FILES["calc/ops.py"] and not (repo / "calc/new.py").exists()
    with pytest.raises(AgentError, match="nothing to undo"):
        conv.undo()


def test_undo_refuses_when_the_user_changed_the_file_after(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "repo", FILES)
    conv = conversation(
        repo,
        [
            {"tool_calls": [call("read_file", path="calc/ops.py")]},
            {"tool_calls": [call("edit_file", edits=[{"path": "calc/ops.py", "old": "a - b", "new": "a + b"}])]},
            {"content": "done"},
        ],
    )
    conv.turn("fix add", lambda e: None)
    (repo / "calc/ops.py").write_text("user's own work\n")
    with pytest.raises(AgentError, match="changed since"):
        conv.undo()
    assert (repo / "calc/ops.py").read_text() == "user's own work\n" and len(conv.undo_stack) == 1


def test_edit_outside_files_in_play_asks(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "repo", FILES)
    asked: list[tuple[str, str]] = []
    conv = conversation(
        repo,
        [
            {"tool_calls": [call("edit_file", edits=[{"path": "README.md", "old": "calc", "new": "calculator"}])]},
            {"content": "refused"},
        ],
        approve=lambda kind, detail: asked.append((kind, detail)) is not None,
    )
    conv.turn("rename", lambda e: None)
    assert asked == [("edit", "README.md")]
    assert (repo / "README.md").read_text() == "calc\n"
    assert "not approved" in conv.messages[3]["content"]


def test_close_dangling_answers_unanswered_calls() -> None:
    messages = [
        {"role": "system", "content": "s"},
        {"role": "user", "content": "u"},
        {"role": "assistant", "content": "", "tool_calls": [{"id": "a"}, {"id": "b"}]},
        {"role": "tool", "tool_call_id": "a", "content": "ok"},
    ]
    close_dangling(messages)
    assert [m.get("tool_call_id") for m in messages[3:]] == ["a", "b"] and "interrupted" in messages[4]["content"]
    close_dangling(messages)
    assert len(messages) == 5


def test_compaction_summarises_older_turns_and_keeps_the_latest(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "repo", FILES)
    big = "x" * 1600
    conv = conversation(
        repo,
        [
            {"content": "one " + big},
            {"content": "two " + big},
            {"content": "three " + big},
            {"content": "- decided: keep the API\nLASTING: never change the public API of calc"},
            {"content": "four"},
        ],
        chat={"compact_ratio": 0.9, "keep_turns": 2},
    )
    for text in ("first: keep the API stable", "second", "third"):
        conv.turn(text, lambda e: None)
    assert not [m for m in conv.messages if "Summary" in str(m["content"])]
    conv.limit = conv.context_tokens()  # the next step finds the context 100% full
    events: list[dict[str, Any]] = []
    conv.turn("latest request", events.append)
    done = [e for e in events if e["type"] == "compacted"][0]
    assert [d.split("(")[0] for d in done["dropped"]] == ["turn: 'first: keep the API stable' ", "turn: 'second' "]
    assert done["tokens_after"] < done["tokens_before"] and done["summary"] == "- decided: keep the API"
    assert "decided: keep the API" in conv.messages[1]["content"] and "LASTING" not in conv.messages[1]["content"]
    requests = [conv.messages[s]["content"] for s in conv.turn_starts]
    assert requests[0].endswith("third") and requests[1].endswith("latest request")
    assert conv.messages[-1]["content"] == "four"


def test_session_saves_and_resumes(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "repo", FILES)
    conv = conversation(repo, [{"content": "hello"}])
    conv.add(["calc/*.py"])
    conv.turn("hi", lambda e: None)
    path = latest_session(repo)
    assert path is not None and path.name == f"{conv.id}.json"
    assert "sessions/" in (repo / ".agent/.gitignore").read_text()
    fresh = conversation(repo, [{"content": "again"}])
    restore(fresh, read_session(path))
    assert (fresh.id, fresh.files, fresh.turn_starts) == (conv.id, ["calc/__init__.py", "calc/ops.py"], [1])
    fresh.turn("still there?", lambda e: None)
    assert [m["role"] for m in fresh.messages] == ["system", "user", "assistant", "user", "assistant"]
    assert "return a - b" in fresh.messages[3]["content"]  # files are sent again after a resume
    data = json.loads(path.read_text())
    data["format"] = FORMAT_VERSION + 1
    path.write_text(json.dumps(data))
    with pytest.raises(StoreError, match="format"):
        read_session(path)


def test_compaction_with_one_long_turn_folds_old_tool_output(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "repo", {**FILES, "big.txt": "line\n" * 2000})
    conv = conversation(repo, [
        {"tool_calls": [call("read_file", path="big.txt")]},
        {"tool_calls": [call("read_file", path="calc/ops.py")]},
        {"tool_calls": [call("read_file", path="README.md")]},
        {"content": "read them all"},
    ])
    conv.turn("read everything", lambda e: None)
    before = conv.context_tokens()
    done = conv.compact()
    assert [d.split(" (")[0] for d in done.dropped] == ["output of read_file"]
    assert done.tokens_after < before and "dropped to save context" in conv.messages[3]["content"]
    assert conv.messages[-1]["content"] == "read them all" and conv.turn_starts == [1]


def test_a_chat_edit_is_committed_with_its_trailer_and_agent_undo_reverts_it(tmp_path: Path) -> None:
    from conftest import agent_cli, git

    repo = init_repo(tmp_path / "repo", FILES)
    start = git(repo, "rev-parse", "HEAD").strip()
    conv = conversation(
        repo,
        [
            {"content": "add must add", "tool_calls": [call("read_file", path="calc/ops.py")]},
            {"tool_calls": [call("edit_file", edits=[{"path": "calc/ops.py", "old": "a - b", "new": "a + b"}])]},
            {"content": "fixed"},
        ],
    )
    events: list[dict[str, Any]] = []
    conv.turn("fix add", events.append)
    commits = [e for e in events if e["type"] == "git_commit"]
    assert len(commits) == 1 and commits[0]["paths"] == ["calc/ops.py"]
    message = git(repo, "log", "-1", "--format=%B")
    assert f"Agent-Run: {conv.id}" in message and "Task: fix add" in message
    assert git(repo, "status", "--porcelain") == ""
    undone = agent_cli("undo", "--repo", str(repo))
    assert undone.returncode == 0, undone.stderr
    assert git(repo, "rev-parse", "HEAD").strip() == start
    assert (repo / "calc/ops.py").read_text() == FILES["calc/ops.py"]
    assert git(repo, "status", "--porcelain") == ""


def test_chat_undo_also_takes_back_the_turn_commits(tmp_path: Path) -> None:
    from conftest import git

    repo = init_repo(tmp_path / "repo", FILES)
    start = git(repo, "rev-parse", "HEAD").strip()
    conv = conversation(
        repo,
        [
            {"tool_calls": [call("read_file", path="calc/ops.py")]},
            {"tool_calls": [call("edit_file", edits=[{"path": "calc/ops.py", "old": "a - b", "new": "a + b"}])]},
            {"content": "fixed"},
        ],
    )
    conv.turn("fix add", lambda e: None)
    assert git(repo, "rev-parse", "HEAD").strip() != start
    assert conv.undo() == ["calc/ops.py"]
    assert git(repo, "rev-parse", "HEAD").strip() == start and git(repo, "status", "--porcelain") == ""


def test_nested_and_user_agents_md_reach_the_model(tmp_path: Path, isolated_home: Path) -> None:
    guides = {"AGENTS.md": "ROOT-RULE\n", "calc/AGENTS.md": "CALC-RULE: ints only\n"}
    repo = init_repo(tmp_path / "repo", {**FILES, **guides})
    own = isolated_home / "config" / "agent" / "AGENTS.md"
    own.parent.mkdir(parents=True, exist_ok=True)
    own.write_text("USER-RULE: answer tersely\n")
    conv = conversation(repo, [{"content": "a"}, {"content": "b"}])
    assert "USER-RULE" in conv.messages[0]["content"] and "ROOT-RULE" in conv.messages[0]["content"]
    conv.turn("look at @calc/ops.py", lambda e: None)
    assert "CALC-RULE: ints only" in conv.messages[1]["content"] and "calc/AGENTS.md" in conv.messages[1]["content"]
    conv.turn("and again @calc/ops.py", lambda e: None)
    assert "CALC-RULE" not in conv.messages[-2]["content"]  # sent once


def test_undo_of_a_shell_turn_keeps_what_the_command_changed_and_diff_is_the_agents_only(tmp_path: Path) -> None:
    from conftest import git

    repo = init_repo(tmp_path / "repo", FILES)
    start = git(repo, "rev-parse", "HEAD").strip()
    conv = conversation(
        repo,
        [
            {"tool_calls": [call("read_file", path="calc/ops.py")]},
            {"tool_calls": [call("edit_file", edits=[{"path": "calc/ops.py", "old": "a - b", "new": "a + b"}])]},
            {"tool_calls": [call("run_shell", command="echo made > made.txt")]},
            {"content": "done"},
        ],
        approve=lambda kind, detail: True,
    )
    result = conv.turn("fix add", lambda e: None)
    assert (result.files_changed, result.by_commands) == (["calc/ops.py"], ["made.txt"])
    (repo / "README.md").write_text("calc, the user's edit\n")  # later, the user's own work
    diff = conv.session_diff()
    assert "+    return a + b" in diff and "README" not in diff and "made.txt" not in diff
    assert conv.undo() == ["calc/ops.py"]
    assert (repo / "calc/ops.py").read_text() == FILES["calc/ops.py"] and (repo / "made.txt").read_text() == "made\n"
    assert git(repo, "rev-parse", "HEAD").strip() == start
    assert sorted(git(repo, "status", "--porcelain").splitlines()) == [" M README.md", "?? made.txt"]


def test_a_format_1_session_resumes_without_its_unsafe_undo_records(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "repo", FILES)
    conv = conversation(repo, [{"content": "a"}])
    conv.turn("hello", lambda e: None)
    path = conv.save()
    data = json.loads(path.read_text())
    data.update(format=1, undo_stack=[{"before": "0" * 40, "after": "1" * 40, "paths": ["calc/ops.py"]}])
    path.write_text(json.dumps(data))
    loaded = read_session(path)
    assert loaded["format"] == FORMAT_VERSION and loaded["undo_stack"] == [] and loaded["turn_starts"] == [1]


def test_undo_restores_what_the_user_wrote_while_the_edit_was_waiting_for_approval(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "repo", FILES)

    def approve(kind: str, detail: str) -> bool:  # the user writes the file while asked, then says yes
        (repo / "calc/new.py").write_text("the user's draft\n")
        return True

    conv = conversation(
        repo,
        [{"tool_calls": [call("write_file", path="calc/new.py", content="x = 1\n")]}, {"content": "done"}],
        approve=approve,
    )
    conv.turn("write new.py", lambda e: None)
    assert (repo / "calc/new.py").read_text() == "x = 1\n"
    assert conv.undo() == ["calc/new.py"]
    assert (repo / "calc/new.py").read_text() == "the user's draft\n"  # recorded when the tool ran, not before
