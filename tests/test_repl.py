"""The real `agent chat` in a pseudo-terminal (pexpect), with the scripted backend, on real git repositories."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pexpect
import pytest
from conftest import ROOT, init_repo

FILES = {
    "calc/ops.py": "def add(a, b):\n    return a - b\n",
    "calc/__init__.py": "",
    "tests/test_calc.py": "from calc.ops import add\n\ndef test_add():\n    assert add(2, 3) == 5\n",
    "pyproject.toml": "[tool.pytest.ini_options]\npythonpath = ['.']\n",
}
PROMPT = "›"
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def loose(text: str) -> str:
    """A regex for `text` as drawn on screen: escape sequences may come between its characters."""
    return "(?:\x1b\\[[0-9;?]*[A-Za-z])*".join(re.escape(ch) for ch in text)


def call(name: str, **arguments: Any) -> dict[str, Any]:
    return {"name": name, "arguments": arguments}


def spawn(
    repo: Path, replies: list[dict[str, Any]], *args: str, name: str = "replies.json", sigint_ignored: bool = False
) -> pexpect.spawn:
    """Start the real REPL on `repo` in a 40x100 pty (`sigint_ignored`: as a parent that ignores Ctrl-C would)."""
    script = repo.parent / name
    script.write_text(json.dumps(replies))
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "PROMPT_TOOLKIT_NO_CPR": "1", "TERM": "xterm-256color"}
    child = pexpect.spawn(
        sys.executable,
        ["-m", "agent", "chat", "--model", f"scripted:{script}", *args],
        cwd=str(repo),
        env=env,
        encoding="utf-8",
        timeout=60,
        dimensions=(40, 100),
        preexec_fn=(lambda: signal.signal(signal.SIGINT, signal.SIG_IGN)) if sigint_ignored else None,
    )
    child.logfile_read = (repo.parent / "screen.log").open("a")
    return child


def finish(child: pexpect.spawn) -> int:
    """Send /exit (typed ahead if a turn is still rendering) and return the exit status."""
    child.sendline("/exit")
    child.expect(pexpect.EOF)
    child.close()
    return int(child.exitstatus)


def test_not_a_terminal_exits_2(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "repo", FILES)
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    proc = subprocess.run(
        [sys.executable, "-m", "agent", "chat"],
        cwd=repo,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.count("\n") == 1 and "agent chat needs a terminal" in proc.stderr


def test_task_streams_answer_shows_coloured_diff_approves_and_undoes(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "repo", FILES)
    child = spawn(
        repo,
        [
            {
                "content": "The bug is in **calc/ops.py**:\n\n```python\nreturn a - b\n```\n",
                "tool_calls": [call("read_file", path="calc/ops.py")],
            },
            {
                "content": "Fixing it.",
                "tool_calls": [call("edit_file", edits=[{"path": "calc/ops.py", "old": "a - b", "new": "a + b"}])],
            },
            {"tool_calls": [call("run_shell", command="python -m pytest -q")]},
            {"content": "Fixed: `add` now adds and the tests pass."},
        ],
    )
    child.expect(PROMPT)
    child.sendline("fix the add function")
    child.expect("The bug is in")
    child.expect("read_file")
    child.expect(r"\x1b\[[0-9;]*32m\+    return a \+ b")  # the added line, in green
    assert re.search(r"\x1b\[[0-9;]*31m-    return a - b", child.before)  # the removed one, in red
    child.expect(r"allow run.*python -m pytest -q.*\[y\]es / \[n\]o / \[a\]lways")
    child.sendline("y")
    child.expect("exit code 0")
    child.expect("tests pass")
    child.expect("changed calc/ops.py")
    assert (repo / "calc/ops.py").read_text() == "def add(a, b):\n    return a + b\n"
    child.expect(PROMPT)
    child.sendline("/undo")
    child.expect("undone")
    assert (repo / "calc/ops.py").read_text() == FILES["calc/ops.py"]
    child.expect(PROMPT)
    child.sendline("/tokns")
    child.expect("unknown command /tokns.*did you mean /tokens")
    assert finish(child) == 0


def test_always_is_remembered_and_completion_works(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "repo", FILES)
    child = spawn(
        repo,
        [
            {"tool_calls": [call("run_shell", command="touch one")]},
            {"content": "first done"},
            {"tool_calls": [call("run_shell", command="touch one")]},
            {"content": "second done"},
        ],
    )
    child.expect(PROMPT)
    child.sendline("make a file")
    child.expect(r"\[a\]lways")
    child.sendline("a")
    child.expect("first done")
    child.expect(PROMPT)
    child.sendline("again")
    child.expect("second done")
    assert "allow run" not in ANSI.sub("", child.before)
    child.expect(PROMPT)
    child.send("/tok\t")
    child.expect(loose("/tokens"))
    child.send("\r")
    child.expect("tokens so far")
    child.expect(PROMPT)
    child.send("@calc/o\t")
    child.expect(loose("@calc/ops.py"))
    child.send("\x15")  # Ctrl-U clears the line
    assert finish(child) == 0


@pytest.mark.parametrize("sigint_ignored", [False, True], ids=["default", "inherited-ignore"])
def test_ctrl_c_stops_the_step_and_the_conversation_goes_on(tmp_path: Path, sigint_ignored: bool) -> None:
    repo = init_repo(tmp_path / "repo", FILES)
    child = spawn(
        repo,
        [
            {"content": "Running a long command.", "tool_calls": [call("run_shell", command="sleep 30 && touch late")]},
            {"content": "Still here."},
        ],
        "--yes",
        sigint_ignored=sigint_ignored,
    )
    child.expect(PROMPT)
    child.sendline("wait for it")
    child.expect("run_shell")
    time.sleep(1.0)
    started = time.monotonic()
    child.sendintr()
    child.expect("interrupted")
    assert time.monotonic() - started < 10
    child.expect(PROMPT)
    child.sendline("are you there?")
    child.expect("Still here.")
    assert finish(child) == 0
    assert not (repo / "late").exists()
    session = json.loads(next((repo / ".agent/sessions").glob("*.json")).read_text())
    tool = [m for m in session["messages"] if m["role"] == "tool"]
    assert len(tool) == 1 and "interrupted" in tool[0]["content"]
    assert session["messages"][-1] == {"role": "assistant", "content": "Still here."}


def test_ctrl_d_exits_and_resume_continues_the_last_session(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "repo", FILES)
    child = spawn(repo, [{"content": "Noted: the magic number is 42."}])
    child.expect(PROMPT)
    child.sendline("remember 42 and look at @calc/ops.py")
    child.expect("magic number")
    child.expect(PROMPT)
    child.sendeof()
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    child = spawn(repo, [{"content": "You said 42."}], "--resume", name="second.json")
    child.expect(r"resuming session \S+: 1 turns, 1 files in context")
    child.expect(PROMPT)
    child.sendline("what number?")
    child.expect("You said 42.")
    assert finish(child) == 0
    sessions = list((repo / ".agent/sessions").glob("*.json"))
    assert len(sessions) == 1
    data = json.loads(sessions[0].read_text())
    assert [m["role"] for m in data["messages"]] == ["system", "user", "assistant", "user", "assistant"]
    assert data["files"] == ["calc/ops.py"] and "return a - b" in data["messages"][3]["content"]
    assert (repo / ".agent/sessions/history.txt").read_text().count("what number?") == 1
