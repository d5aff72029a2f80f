"""Git safety on real repositories: the agent's commits, the user's dirty files, snapshots, undo."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import ROOT, agent_cli, git, init_repo

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
    with pytest.raises(AgentError, match="agent undo --force"):  # what changed while a command ran: ask first
        undo_last(repo)
    assert (repo / "c.txt").exists()
    undo_last(repo, force=True)  # undo reverts what the shell command did, and only that
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


def start_run(repo: Path, tmp_path: Path, replies: list[dict]) -> subprocess.Popen[str]:
    script = tmp_path / "replies.json"
    script.write_text(json.dumps(replies))
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    return subprocess.Popen(
        [sys.executable, "-m", "agent", "run", "the task", "--repo", str(repo), "--model", f"scripted:{script}",
         "--yes", "--json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )


def shell_commit_with_the_users_work(repo: Path, tmp_path: Path) -> str:
    """A headless run's `sleep`, during which the user creates a file and appends a line in another shell."""
    proc = start_run(repo, tmp_path, [
        {"tool_calls": [call("run_shell", command="echo gen > gen.txt; sleep 3")]},
        {"tool_calls": [call("finish", summary="ok")]},
    ])
    deadline = time.monotonic() + 60
    while not (repo / "gen.txt").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    (repo / "NOTES_user.md").write_text("the user's own file\n")
    with (repo / "keep.txt").open("a") as fh:
        fh.write("a line the user appended\n")
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    return git(repo, "rev-parse", "HEAD").strip()


def test_agent_undo_of_a_shell_commit_needs_consent_and_leaves_what_changed_since(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "repo", FILES)
    start = git(repo, "rev-parse", "HEAD").strip()
    sha = shell_commit_with_the_users_work(repo, tmp_path)
    # which process wrote a file cannot be known: the user's work is in the command's commit, marked as such
    assert git(repo, "show", "--name-only", "--format=", sha).split() == ["NOTES_user.md", "gen.txt", "keep.txt"]
    message = git(repo, "log", "-1", "--format=%B", sha)
    assert "Agent-Action: shell" in message and "Changed while the command ran" in message
    refused = agent_cli("undo", "--repo", str(repo))  # not a terminal, no --force: nothing happens
    assert refused.returncode == 1 and refused.stderr.count("\n") == 1 and "Traceback" not in refused.stderr
    assert "NOTES_user.md" in refused.stderr and "agent undo --force" in refused.stderr
    assert git(repo, "rev-parse", "HEAD").strip() == sha and (repo / "NOTES_user.md").exists()
    (repo / "keep.txt").write_text("keep\nthe user went on\n")  # changed since the commit: never reverted
    done = agent_cli("undo", "--force", "--repo", str(repo))
    assert done.returncode == 0, done.stderr
    assert "left alone, changed since: keep.txt" in done.stdout and "leave   keep.txt" in done.stdout
    assert (repo / "keep.txt").read_text() == "keep\nthe user went on\n"
    assert not (repo / "gen.txt").exists() and not (repo / "NOTES_user.md").exists()  # the user said so
    assert git(repo, "rev-parse", "HEAD").strip() == start
    assert git(repo, "status", "--porcelain").split() == ["M", "keep.txt"]
    # nothing the undone commit held is lost: it stays reachable, named in the output
    assert git(repo, "show", f"refs/agent/undone/{sha}:NOTES_user.md") == "the user's own file\n"
    assert f"git checkout {sha[:10]} -- PATH" in done.stdout


def test_agent_undo_in_a_terminal_asks_before_reverting_a_shell_commit(tmp_path: Path) -> None:
    import pexpect

    repo = init_repo(tmp_path / "repo", FILES)
    start = git(repo, "rev-parse", "HEAD").strip()
    sha = shell_commit_with_the_users_work(repo, tmp_path)
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    for answer, code in (("n", 1), ("y", 0)):
        child = pexpect.spawn(sys.executable, ["-m", "agent", "undo"], cwd=str(repo), env=env, encoding="utf-8",
                              timeout=60)
        child.expect("a file you saved in another shell would be here too")
        child.expect(r"delete  NOTES_user\.md \(new in it\)")
        child.expect(r"restore keep\.txt")
        child.expect(r"revert them\? \[y/N\]")
        child.sendline(answer)
        child.expect(pexpect.EOF)
        child.close()
        assert child.exitstatus == code
        if answer == "n":
            assert "nothing undone" in child.before
            assert git(repo, "rev-parse", "HEAD").strip() == sha and (repo / "NOTES_user.md").exists()
    assert git(repo, "rev-parse", "HEAD").strip() == start and not (repo / "NOTES_user.md").exists()
    assert (repo / "keep.txt").read_text() == "keep\n"


def test_edit_commits_say_so_and_undo_without_asking(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "repo", FILES)
    run(repo, tmp_path, [{"tool_calls": [edit("a.py", "a = 1", "a = 2")]}, {"tool_calls": [call("finish")]}])
    assert "Agent-Action: edit" in git(repo, "log", "-1", "--format=%B")
    assert "a.py" in undo_last(repo) and (repo / "a.py").read_text() == "a = 1\n"


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
