"""Time from launching `agent chat` in a real pseudo-terminal to its first prompt on screen.

Prints a table of medians over several runs, with bare-Python start-up and `agent --version` measured in the
same run as references (ratios tell more than seconds on a shared machine).

    PYTHONPATH=src python bench/repl_startup.py [--runs 7]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pexpect

ROOT = Path(__file__).resolve().parents[1]
PROMPT = "›"


def make_repo(path: Path) -> Path:
    """A small git repository with a scripted reply file next to it."""
    path.mkdir(parents=True)
    for args in (["init", "-q", "-b", "main"], ["config", "user.email", "b@e"], ["config", "user.name", "B"]):
        subprocess.run(["git", *args], cwd=path, check=True)
    (path / "app.py").write_text("def f():\n    return 1\n")
    subprocess.run(["git", "add", "-A"], cwd=path, check=True)
    subprocess.run(["git", "commit", "-qm", "init"], cwd=path, check=True)
    (path.parent / "replies.json").write_text(json.dumps([{"content": "hello"}]))
    return path


def time_to(argv: list[str], cwd: Path, marker: str | None, typed: str = "") -> float:
    """Seconds from spawn to `marker` on screen (or to exit when marker is None).

    With `typed`, those keys are sent once the marker shows, and the time runs until the editor draws them.
    """
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"), PROMPT_TOOLKIT_NO_CPR="1", TERM="xterm-256color")
    start = time.perf_counter()
    child = pexpect.spawn(argv[0], argv[1:], cwd=str(cwd), env=env, encoding="utf-8", timeout=30, dimensions=(40, 100))
    child.expect(marker if marker else pexpect.EOF)
    if typed:
        child.send(typed)
        child.expect(typed)
        child.sendcontrol("u")
    elapsed = time.perf_counter() - start
    if marker:
        child.sendcontrol("d")
        child.expect(pexpect.EOF)
    child.close()
    return elapsed


def main() -> None:
    """Run the measurements and print the table."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=7)
    runs = parser.parse_args().runs
    with tempfile.TemporaryDirectory() as tmp:
        repo = make_repo(Path(tmp) / "repo")
        model = f"scripted:{Path(tmp) / 'replies.json'}"
        cases = {
            "python -c pass": ([sys.executable, "-c", "pass"], None, ""),
            "agent --version": ([sys.executable, "-m", "agent", "--version"], None, ""),
            "agent chat: first prompt": ([sys.executable, "-m", "agent", "chat", "--model", model], PROMPT, ""),
            "agent chat: typed key shown": ([sys.executable, "-m", "agent", "chat", "--model", model], PROMPT, "zq9"),
        }
        results: dict[str, list[float]] = {name: [] for name in cases}
        for _ in range(runs):  # interleaved, so load on the machine hits every case alike
            for name, (argv, marker, typed) in cases.items():
                results[name].append(time_to(argv, repo, marker, typed))
    base = statistics.median(results["python -c pass"])
    print(f"{'case':<28} {'median s':>9} {'min s':>7} {'max s':>7} {'x python':>9}")
    for name, values in results.items():
        med = statistics.median(values)
        print(f"{name:<28} {med:>9.3f} {min(values):>7.3f} {max(values):>7.3f} {med / base:>9.1f}")
    chat = statistics.median(results["agent chat: first prompt"])
    print("\n'typed key shown': keys sent as soon as the prompt shows, timed until the editor has drawn them")
    print(f"first prompt {'within' if chat <= 0.5 else 'OVER'} the 0.5 s target ({runs} runs, median)")


if __name__ == "__main__":
    main()
