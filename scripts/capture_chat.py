"""Capture a scripted `agent chat` session as plain text (docs/chat-session.txt).

Runs the real REPL in a pseudo-terminal and replays the screen through a terminal emulator (pyte), so the
text is what a user sees. pyte is a doc-tool dependency only: run with a venv that has it, e.g.
    /work/tmp-venvs/capture/bin/python scripts/capture_chat.py > docs/chat-session.txt
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pexpect
import pyte

ROOT = Path(__file__).resolve().parents[1]
PYTHON = os.environ.get("AGENT_PYTHON", "/work/main/.venv/bin/python")
COLUMNS, LINES = 100, 40
FILES = {
    "calc/__init__.py": "",
    "calc/ops.py": "def add(a, b):\n    return a - b\n\n\ndef mul(a, b):\n    return a * b\n",
    "tests/test_ops.py": "from calc.ops import add\n\n\ndef test_add():\n    assert add(2, 3) == 5\n",
    "pyproject.toml": "[tool.pytest.ini_options]\npythonpath = ['.']\n",
}
REPLIES = [
    {"content": "`add` subtracts: line 2 of **calc/ops.py** reads\n\n```python\nreturn a - b\n```\n\nso "
     "`add(2, 3)` gives `-1`. I'll fix it and run the tests.",
     "tool_calls": [{"name": "edit_file", "arguments": {"edits": [
         {"path": "calc/ops.py", "old": "return a - b", "new": "return a + b"}]}}]},
    {"tool_calls": [{"name": "run_shell", "arguments": {"command": "python -m pytest -q"}}]},
    {"content": "Fixed: `add` now returns `a + b`, and the test passes (1 passed)."},
]


def make_repo(path: Path) -> None:
    """The demo repository."""
    path.mkdir()
    for name, text in FILES.items():
        (path / name).parent.mkdir(parents=True, exist_ok=True)
        (path / name).write_text(text)
    for args in (["init", "-q", "-b", "main"], ["-c", "user.email=d@e", "-c", "user.name=D", "add", "-A"],
                 ["-c", "user.email=d@e", "-c", "user.name=D", "commit", "-qm", "calc"]):
        subprocess.run(["git", *args], cwd=path, check=True)


def main() -> None:
    """Drive the session and print the screen, scrolled-off lines included."""
    screen = pyte.HistoryScreen(COLUMNS, LINES, history=2000)
    stream = pyte.Stream(screen)
    with tempfile.TemporaryDirectory() as tmp:
        repo = Path(tmp) / "calc"
        make_repo(repo)
        (Path(tmp) / "replies.json").write_text(json.dumps(REPLIES))
        env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "PROMPT_TOOLKIT_NO_CPR": "1", "TERM": "xterm-256color"}
        child = pexpect.spawn(PYTHON, ["-m", "agent", "chat", "--model", "scripted:replies.json", "--repo", "calc"],
                              cwd=tmp, env=env, encoding="utf-8", timeout=60, dimensions=(LINES, COLUMNS))
        child.logfile_read = record = io.StringIO()
        steps = [("›", "why does add(2, 3) give -1? @calc/ops.py"), (r"\[a\]lways", "y"),
                 ("changed calc/ops.py", ""), ("›", "/diff"), ("›", "/tokens"), ("›", "/undo"), ("›", "/exit")]
        for wait, text in steps:
            child.expect(wait)
            if text:
                child.sendline(text)
        child.expect(pexpect.EOF)
        stream.feed(record.getvalue())
    top = ["".join(row[x].data for x in range(COLUMNS)) for row in screen.history.top]
    shown = ["".join(screen.buffer[y][x].data for x in range(COLUMNS)) for y in range(LINES)]
    text = "\n".join(line.rstrip() for line in top + shown).strip("\n")
    print(text.replace(tmp, "/tmp/demo"))


if __name__ == "__main__":
    main()
