"""/undo in a real pty: it takes back what the agent wrote, by recorded content, and never the user's own work."""

from __future__ import annotations

import time
from pathlib import Path

from conftest import git, init_repo
from test_repl import FILES, PROMPT, call, finish, spawn

NOTES = "my notes\n"


def test_undo_keeps_the_users_file_and_line_written_while_a_turn_runs(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "repo", {**FILES, "notes.txt": NOTES})
    start = git(repo, "rev-parse", "HEAD").strip()
    child = spawn(
        repo,
        [
            {
                "content": "Fixing it.",
                "tool_calls": [call("edit_file", edits=[{"path": "calc/ops.py", "old": "a - b", "new": "a + b"}])],
            },
            {"content": "Waiting.", "tool_calls": [call("run_shell", command="sleep 2")]},
            {"content": "all done"},
        ],
    )
    child.expect(PROMPT)
    child.sendline("/add calc/ops.py")
    child.expect("added")
    child.sendline("fix add")
    child.expect(r"allow run.*sleep 2")
    child.sendline("y")
    time.sleep(0.5)  # `sleep 2` runs: the user works in another shell meanwhile
    (repo / "NOTES_user.md").write_text("the user's own file\n")
    with (repo / "notes.txt").open("a") as fh:
        fh.write("a line the user appended\n")
    child.expect("all done", timeout=30)
    child.expect(PROMPT)
    child.sendline("/undo")
    child.expect("undone")
    child.expect(PROMPT)
    assert (repo / "calc/ops.py").read_text() == FILES["calc/ops.py"]  # the agent's edit is taken back
    assert (repo / "NOTES_user.md").read_text() == "the user's own file\n"
    assert (repo / "notes.txt").read_text() == NOTES + "a line the user appended\n"
    assert git(repo, "rev-parse", "HEAD").strip() == start  # the turn's agent commits are gone from HEAD
    status = sorted(git(repo, "status", "--porcelain").splitlines())
    assert status == [" M notes.txt", "?? NOTES_user.md"]  # the user's work, left to the user
    assert finish(child) == 0


def test_undo_refuses_when_the_user_changed_the_agents_file_since(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "repo", FILES)
    child = spawn(
        repo,
        [
            {"tool_calls": [call("edit_file", edits=[{"path": "calc/ops.py", "old": "a - b", "new": "a + b"}])]},
            {"content": "all done"},
        ],
    )
    child.expect(PROMPT)
    child.sendline("/add calc/ops.py")
    child.expect("added")
    child.sendline("fix add")
    child.expect("all done")
    child.expect(PROMPT)
    edited = (repo / "calc/ops.py").read_text()
    (repo / "calc/ops.py").write_text(edited + "# mine\n")
    child.sendline("/undo")
    child.expect(r"not undone.*calc/ops\.py")
    child.expect(PROMPT)
    assert (repo / "calc/ops.py").read_text() == edited + "# mine\n"
    assert finish(child) == 0
