"""Git safety on real repositories: the agent's commits, the user's dirty files, snapshots, undo."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import agent_cli, git, init_repo

from agent.config import load_config
from agent.errors import AgentError
from agent.git.commits import TRAILER, commit_paths, dirty_paths, work_tree
from agent.git.undo import undo_last_commit as undo_last
from agent.session import Session

FILES = {"a.py": "a = 1\n", "b.py": "b = 1\n", "keep.txt": "keep\n"}


def call(name: str, **arguments: object) -> dict:
    return {"name": name, "arguments": arguments}


def edit(path: str, old: str, new: str) -> dict:
    return call("edit_file", edits=[{"path": path, "old": old, "new": new}])


def run(repo: Path, tmp_path: Path, replies: list[dict], *extra: str) -> list[dict]:
    script = tmp_path / "replies.json"
    script.write_text(json.dumps(replies))
    proc = agent_cli("run", "the task", "--repo", str(repo), "--model", f"scripted:{script}", "--json", *extra)
    assert "Traceback" not in proc.stderr, proc.stderr
    return [json.loads(line) for line in proc.stdout.splitlines()]


def log(repo: Path) -> list[str]:
    return git(repo, "log", "--format=%s").splitlines()


def test_agent_edits_are_committed_without_the_users_dirty_work(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "repo", FILES)
    (repo / "keep.txt").write_text("keep\nuser line\n")
    git(repo, "add", "keep.txt")  # staged user work
    (repo / "b.py").write_text("b = 1  # user edit\n")  # unstaged user work
    (repo / "notes.txt").write_text("user's untracked notes\n")
    events = run(
        repo,
        tmp_path,
        [
            {"content": "a must be 2 for the task", "tool_calls": [edit("a.py", "a = 1", "a = 2")]},
            {"tool_calls": [call("write_file", path="new.py", content="x = 1\n")]},
            {"tool_calls": [call("finish", summary="done")]},
        ],
    )
    assert events[-1]["status"] == "done"
    assert log(repo) == ["agent: edit new.py", "agent: edit a.py", "initial"]
    body = git(repo, "log", "-1", "--format=%B", "HEAD~1")
    assert "a must be 2 for the task" in body and f"{TRAILER}: {events[-1]['run_id']}" in body
    assert git(repo, "show", "--name-only", "--format=", "HEAD~1").split() == ["a.py"]
    assert git(repo, "show", "HEAD:b.py") == "b = 1\n" and git(repo, "show", "HEAD:keep.txt") == "keep\n"
    # the user's work is exactly where it was: staged stays staged, unstaged stays unstaged
    assert (repo / "b.py").read_text() == "b = 1  # user edit\n"
    assert git(repo, "diff", "--cached", "--name-only").split() == ["keep.txt"]
    assert git(repo, "diff", "--name-only").split() == ["b.py"]
    assert "notes.txt" in git(repo, "status", "--porcelain")
    assert [e["paths"] for e in events if e["type"] == "git_commit"] == [["a.py"], ["new.py"]]


def test_headless_refuses_to_edit_a_dirty_file(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "repo", FILES)
    (repo / "b.py").write_text("b = 2  # user\n")
    events = run(
        repo,
        tmp_path,
        [
            {"tool_calls": [edit("b.py", "b = 2", "b = 3")]},
            {"tool_calls": [call("finish", summary="gave up")]},
        ],
    )
    result = next(e for e in events if e["type"] == "tool_result")
    assert not result["ok"] and "refusing to edit b.py: uncommitted changes" in result["output"]
    assert (repo / "b.py").read_text() == "b = 2  # user\n"
    assert log(repo) == ["initial"]


def test_dirty_files_allow_edits_but_never_commits_them(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "repo", FILES)
    (repo / "b.py").write_text("b = 2  # user\n")
    (repo / ".agent").mkdir()
    (repo / ".agent" / "config.toml").write_text('[git]\ndirty_files = "allow"\n')
    run(
        repo,
        tmp_path,
        [
            {"tool_calls": [edit("b.py", "b = 2", "b = 3"), edit("a.py", "a = 1", "a = 9")]},
            {"tool_calls": [call("finish", summary="ok")]},
        ],
    )
    assert (repo / "b.py").read_text() == "b = 3  # user\n"
    assert git(repo, "show", "HEAD:b.py") == "b = 1\n" and git(repo, "show", "HEAD:a.py") == "a = 9\n"


def test_repl_asks_through_the_approver(tmp_path: Path) -> None:
    from agent.backends.scripted import ScriptedBackend

    repo = init_repo(tmp_path / "repo", FILES)
    (repo / "b.py").write_text("b = 2  # user\n")
    asked: list[tuple[str, str]] = []
    backend = ScriptedBackend(
        [{"tool_calls": [edit("b.py", "b = 2", "b = 3")]}, {"tool_calls": [call("finish", summary="x")]}]
    )
    approve = lambda kind, detail: asked.append((kind, detail)) is None  # noqa: E731  (approves)
    Session(repo, load_config(repo), backend, approve).run("t", lambda e: None)
    assert asked and asked[0][0] == "dirty_file" and "b.py" in asked[0][1]
    assert (repo / "b.py").read_text() == "b = 3  # user\n" and log(repo) == ["initial"]


def test_shell_changes_are_committed_and_snapshotted(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "repo", FILES)
    (repo / "b.py").write_text("b = 2  # user\n")
    events = run(
        repo,
        tmp_path,
        [
            {
                "content": "generate c",
                "tool_calls": [call("run_shell", command="echo c > c.txt; echo more >> b.py; rm keep.txt")],
            },
            {"tool_calls": [call("finish", summary="ok")]},
        ],
        "--yes",
    )
    run_id = events[-1]["run_id"]
    assert log(repo)[0].startswith("agent: shell `echo c > c.txt")
    assert sorted(git(repo, "show", "--name-only", "--format=", "HEAD").split()) == ["c.txt", "keep.txt"]
    output = next(e for e in events if e["type"] == "tool_result")["output"]
    assert "not committed: b.py" in output and f"refs/agent/snapshots/{run_id}/1" in output
    # the snapshot holds the work tree before the command, the user's dirty b.py included
    assert git(repo, "show", f"refs/agent/snapshots/{run_id}/1:b.py") == "b = 2  # user\n"
    assert git(repo, "show", f"refs/agent/snapshots/{run_id}/1:keep.txt") == "keep\n"
    undo_last(repo)  # undo reverts what the shell command did, and only that
    assert (repo / "keep.txt").read_text() == "keep\n" and not (repo / "c.txt").exists()
    assert (repo / "b.py").read_text() == "b = 2  # user\nmore\n"


def test_undo_is_exact_and_refuses_after_user_changes(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "repo", FILES)
    (repo / "b.py").write_text("b = 1  # user\n")
    run(
        repo,
        tmp_path,
        [
            {"tool_calls": [edit("a.py", "a = 1", "a = 2")]},
            {"tool_calls": [call("write_file", path="new.py", content="n\n"), edit("keep.txt", "keep", "kept")]},
            {"tool_calls": [call("finish", summary="ok")]},
        ],
    )
    initial = git(repo, "rev-parse", "HEAD~3").strip()
    initial_tree = git(repo, "rev-parse", "HEAD~3^{tree}").strip()
    assert len(log(repo)) == 4
    out = agent_cli("undo", "--repo", str(repo))
    assert out.returncode == 0 and "keep.txt" in out.stdout
    assert (repo / "keep.txt").read_text() == "keep\n" and (repo / "new.py").exists()
    (repo / "new.py").write_text("user touched it\n")
    refused = agent_cli("undo", "--repo", str(repo))
    assert refused.returncode == 1 and "you changed new.py" in refused.stderr and "Traceback" not in refused.stderr
    (repo / "new.py").write_text("n\n")
    assert "new.py" in undo_last(repo)
    assert not (repo / "new.py").exists()
    assert "a.py" in undo_last(repo)
    assert git(repo, "rev-parse", "HEAD").strip() == initial
    assert git(repo, "rev-parse", "HEAD^{tree}").strip() == initial_tree
    assert (repo / "a.py").read_text() == "a = 1\n" and (repo / "b.py").read_text() == "b = 1  # user\n"
    assert git(repo, "status", "--porcelain").split() == ["M", "b.py"]  # .agent/ ignores itself
    with pytest.raises(AgentError, match="not an agent commit"):
        undo_last(repo)


def test_commit_paths_in_a_repo_without_commits(tmp_path: Path) -> None:
    repo = tmp_path / "empty"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    (repo / "x.txt").write_text("x\n")
    (repo / "user.txt").write_text("u\n")
    sha = commit_paths(repo, ["x.txt"], f"agent: add x\n\n{TRAILER}: r1\n")
    assert sha and git(repo, "ls-tree", "--name-only", "HEAD").split() == ["x.txt"]
    assert dirty_paths(repo) == {"user.txt"}
    assert commit_paths(repo, ["x.txt"], "again") is None


def test_work_tree_snapshot_includes_untracked_and_leaves_the_index(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "repo", FILES)
    (repo / "u.txt").write_text("u\n")
    (repo / ".gitignore").write_text("*.log\n")
    (repo / "x.log").write_text("ignored\n")
    index_before = (repo / ".git" / "index").read_bytes()
    tree = work_tree(repo)
    names = git(repo, "ls-tree", "--name-only", tree).split()
    assert "u.txt" in names and "x.log" not in names
    assert (repo / ".git" / "index").read_bytes() == index_before
