"""What the OS sandbox costs: start-up per command, and a small test suite's time, with and without it.

Each command goes through the path run_shell takes (agent.tools.shell.execute: `bash -c`, its own process group,
the child set-up), with [sandbox] mode "off" (the reference: PR_SET_PDEATHSIG only) and "auto" (namespaces and
Landlock), interleaved so both see the same machine load. A bare subprocess of `true` is shown for scale.

Usage: python bench/sandbox.py [--runs 60] [--suite-runs 5] [--tests 40]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from agent.config import load_config
from agent.sandbox import available
from agent.tools.shell import execute
from agent.workspace import Workspace


def repo(root: Path, tests: int) -> Path:
    """A git repository with a small module and `tests` test functions over 4 files."""
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    (root / "calc.py").write_text("def add(a, b):\n    return a + b\n")
    (root / "tests").mkdir()
    per = max(tests // 4, 1)
    for f in range(4):
        body = "".join(f"\n\ndef test_{f}_{i}():\n    assert add({i}, 1) == {i + 1}\n" for i in range(per))
        (root / "tests" / f"test_{f}.py").write_text("from calc import add\n" + body)
    (root / "pyproject.toml").write_text("[tool.pytest.ini_options]\npythonpath = ['.']\n")
    return root


def workspaces(root: Path) -> dict[str, Workspace]:
    config = {mode: load_config(root, {"sandbox": {"mode": mode}}, environ={}) for mode in ("off", "auto")}
    return {mode: Workspace(root, c) for mode, c in config.items()}


def timed(ws: Workspace, command: str) -> float:
    start = time.perf_counter()
    code, out = execute(ws, command, 300)
    elapsed = time.perf_counter() - start
    if code != 0 and "pytest" not in command:
        raise SystemExit(f"`{command}` failed (exit {code}): {out[-300:]}")
    return elapsed * 1000


def bare(runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(["true"], check=True)
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=60, help="`true` commands per mode")
    parser.add_argument("--suite-runs", type=int, default=5, help="test-suite runs per mode")
    parser.add_argument("--tests", type=int, default=40, help="tests in the small suite")
    args = parser.parse_args()
    if available() is None:
        raise SystemExit("no OS sandbox on this machine (user namespaces / Landlock): nothing to compare")
    with tempfile.TemporaryDirectory() as tmp:
        ws = workspaces(repo(Path(tmp) / "repo", args.tests))
        cmd: dict[str, list[float]] = {"off": [], "auto": []}
        for _ in range(args.runs):
            for mode in ("off", "auto"):
                cmd[mode].append(timed(ws[mode], "true"))
        suite: dict[str, list[float]] = {"off": [], "auto": []}
        pytest = f"{sys.executable} -m pytest -q -p no:cacheprovider"
        for _ in range(args.suite_runs):
            for mode in ("off", "auto"):
                suite[mode].append(timed(ws[mode], pytest))
    base = bare(args.runs)
    off, on = statistics.median(cmd["off"]), statistics.median(cmd["auto"])
    s_off, s_on = statistics.median(suite["off"]), statistics.median(suite["auto"])
    print(f"sandbox mechanism: {available()}; medians over {args.runs} commands / {args.suite_runs} suite runs")
    print(f"{'what':<34} {'no sandbox ms':>14} {'sandbox ms':>11} {'added ms':>9} {'ratio':>6}")
    print(f"{'subprocess `true` (no bash)':<34} {base:>14.1f} {'':>11} {'':>9} {'':>6}")
    print(f"{'run_shell `true` (bash -c)':<34} {off:>14.1f} {on:>11.1f} {on - off:>9.1f} {on / off:>6.2f}")
    label = f"pytest, {args.tests} tests"
    print(f"{label:<34} {s_off:>14.1f} {s_on:>11.1f} {s_on - s_off:>9.1f} {s_on / s_off:>6.2f}")


if __name__ == "__main__":
    main()
