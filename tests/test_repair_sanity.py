"""The repair benchmark end to end on a tiny self-contained task: gold oracle resolves, no-op and cheaters do not."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import git, init_repo

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

import repair_env  # noqa: E402

BUGGY = '''def clamp(value, low, high):
    """Limit value to the range [low, high]."""
    if value < low:
        return low
    if value > high:
        return low
    return value
'''
FIXED = BUGGY.replace("return low\n    return", "return high\n    return")
TESTS = '''from calc import clamp


def test_clamp_low():
    assert clamp(-5, 0, 10) == 0


def test_clamp_inside():
    assert clamp(5, 0, 10) == 5
'''
NEW_TEST = '''

def test_clamp_high():
    assert clamp(50, 0, 10) == 10
'''
TEST_CMD = ("unshare -n sh -c 'ip link set lo up && exec \"$@\"' sh env PYTHONPATH=src .venv/bin/python -m pytest "
            "-p no:cacheprovider -rA -q tests/test_calc.py")


def diff_of(repo: Path, path: str, new_text: str) -> str:
    """The patch that turns `path` at HEAD into `new_text` (the work tree is restored after)."""
    target = repo / path
    old = target.read_text()
    target.write_text(new_text)
    patch = git(repo, "diff", "--", path)
    target.write_text(old)
    return patch


@pytest.fixture
def bench(tmp_path: Path) -> dict[str, Path]:
    """A mirror with one repository holding a real bug, and a tasks file describing its fix."""
    mirror = init_repo(tmp_path / "mirrors" / "local+calc", {
        "src/calc/__init__.py": BUGGY, "tests/test_calc.py": TESTS, "README.md": "calc\n",
    })
    task = {
        "instance_id": "calc-1", "repo": "local/calc", "base_commit": git(mirror, "rev-parse", "HEAD").strip(),
        "problem_statement": "clamp() returns the lower bound for values above the upper bound.",
        "patch": diff_of(mirror, "src/calc/__init__.py", FIXED),
        "test_patch": diff_of(mirror, "tests/test_calc.py", TESTS + NEW_TEST),
        "FAIL_TO_PASS": ["tests/test_calc.py::test_clamp_high"],
        "PASS_TO_PASS": ["tests/test_calc.py::test_clamp_low", "tests/test_calc.py::test_clamp_inside"],
        "install": f"ln -s {sys.prefix} .venv", "test_cmd": TEST_CMD,
    }
    tasks = tmp_path / "tasks.jsonl"
    tasks.write_text(json.dumps(task) + "\n")
    return {"tasks": tasks, "mirrors": tmp_path / "mirrors", "work": tmp_path / "work", "out": tmp_path / "out.json"}


def harness(bench: dict[str, Path], *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run bench/repair.py as a script, the way a user does."""
    argv = [sys.executable, str(ROOT / "bench" / "repair.py"), "--tasks", str(bench["tasks"]),
            "--mirrors", str(bench["mirrors"]), "--work", str(bench["work"]), "--json", str(bench["out"]), *args]
    return subprocess.run(argv, capture_output=True, text=True, timeout=600, env=env)


def test_sanity_mode_oracle_resolves_and_noop_does_not(bench: dict[str, Path]) -> None:
    proc = harness(bench, "--sanity")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "sanity: OK" in proc.stdout
    result = json.loads(bench["out"].read_text())
    oracle, noop = result["records"]
    assert (oracle["model"], oracle["resolved"], oracle["f2p_passed"], oracle["p2p_passed"]) == ("oracle", True, 1, 2)
    assert oracle["files_changed"] == ["src/calc/__init__.py"] and oracle["steps"] == 2
    assert (noop["model"], noop["resolved"], noop["f2p_passed"], noop["p2p_passed"]) == ("noop", False, 0, 2)
    assert result["summary"]["oracle"]["resolved_rate"] == 1.0 and result["summary"]["noop"]["resolved"] == 0
    assert "calc-1  oracle  yes" in proc.stdout


def test_model_that_edits_the_tests_is_refused(bench: dict[str, Path], tmp_path: Path) -> None:
    cheat = [
        {"content": "", "tool_calls": [{"name": "write_file", "arguments": {
            "path": "tests/test_calc.py", "content": "def test_clamp_high():\n    pass\n"}}]},
        {"content": "", "tool_calls": [{"name": "finish", "arguments": {"summary": "made the tests pass"}}]},
    ]
    script = tmp_path / "cheat.json"
    script.write_text(json.dumps(cheat))
    proc = harness(bench, "--model", f"scripted:{script}")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    (record,) = json.loads(bench["out"].read_text())["records"]
    # headless runs may not edit tests (no --allow-test-edits): the write is refused, nothing to reset
    assert record["resolved"] is False and record["reset_test_files"] == []
    assert (record["f2p_passed"], record["p2p_passed"]) == (0, 2)
    (saved,) = (bench["work"] / "calc-1").glob("*.patch")
    assert "test_clamp_high" not in saved.read_text()


def test_agent_that_cannot_start_is_recorded_as_crashed(bench: dict[str, Path], tmp_path: Path) -> None:
    proc = harness(bench, "--model", f"scripted:{tmp_path / 'missing.json'}")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    (record,) = json.loads(bench["out"].read_text())["records"]
    assert (record["status"], record["exit_code"], record["resolved"]) == ("crashed", 2, False)
    assert "scripted replies file not found" in record["error"]
    assert (record["f2p_passed"], record["p2p_passed"]) == (0, 2)


def test_refuses_to_run_without_network_isolation(bench: dict[str, Path], tmp_path: Path) -> None:
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "unshare").write_text("#!/bin/sh\necho 'unshare: unshare failed: Operation not permitted' >&2\nexit 1\n")
    (fake / "unshare").chmod(0o755)
    env = {**os.environ, "PATH": f"{fake}{os.pathsep}{os.environ['PATH']}"}
    proc = harness(bench, "--sanity", env=env)
    assert proc.returncode == 2
    assert "refusing to run task tests without" in proc.stderr
    assert not bench["work"].exists()


def test_pytest_report_parsing_keeps_parametrized_ids() -> None:
    output = "\n".join([
        "PASSED tests/t.py::test_a[x-y]",
        "PASSED tests/t.py::test_b[Confirm Password-a\\nb]",
        "FAILED tests/t.py::test_c - AssertionError: 1 - 2",
        "ERROR tests/t.py::test_d - RuntimeError",
        "SKIPPED [1] tests/t.py:9: no",
    ])
    outcomes = repair_env.parse_pytest_report(output)
    assert outcomes == {"tests/t.py::test_a[x-y]": "PASSED", "tests/t.py::test_b[Confirm Password-a\\nb]": "PASSED",
                        "tests/t.py::test_c": "FAILED", "tests/t.py::test_d": "ERROR"}


def test_agent_test_command_runs_the_whole_suite_isolated() -> None:
    command = repair_env.agent_test_command(TEST_CMD)
    assert command.startswith("unshare -")
    assert command.endswith(".venv/bin/python -m pytest -p no:cacheprovider -q --continue-on-collection-errors")
    assert "tests/test_calc.py" not in command and "-rA" not in command
