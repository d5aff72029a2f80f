"""End-to-end runs of the loop through `agent run` with the scripted backend on real git repos."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from conftest import agent_cli, git, init_repo

BUGGY = {
    "calc/ops.py": "def add(a, b):\n    return a - b\n",
    "calc/fmt.py": "def show(x):\n    return 'result: ' + x\n",
    "calc/__init__.py": "",
    "tests/test_calc.py": (
        "from calc.ops import add\nfrom calc.fmt import show\n\n"
        "def test_add():\n    assert add(2, 3) == 5\n\n"
        "def test_show():\n    assert show(5) == 'result: 5'\n"
    ),
    "pyproject.toml": "[tool.pytest.ini_options]\npythonpath = ['.']\n",
}


def call(name: str, **arguments: object) -> dict:
    return {"name": name, "arguments": arguments}


def script(path: Path, replies: list[dict]) -> str:
    path.write_text(json.dumps(replies))
    return f"scripted:{path}"


def run_json(repo: Path, model: str, *extra: str) -> tuple[int, list[dict]]:
    proc = agent_cli("run", "fix the calculator", "--repo", str(repo), "--model", model, "--json", *extra)
    assert proc.stderr == "" or "Traceback" not in proc.stderr, proc.stderr
    return proc.returncode, [json.loads(line) for line in proc.stdout.splitlines()]


def test_scripted_fix_across_two_files(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "repo", BUGGY)
    model = script(tmp_path / "replies.json", [
        {"content": "Let me look around.", "tool_calls": [call("list_files", pattern="*.py")]},
        {"tool_calls": [call("search", pattern=r"def (add|show)")]},
        {"tool_calls": [call("read_file", path="calc/ops.py"), call("read_file", path="calc/fmt.py")]},
        {"tool_calls": [call("run_tests")]},
        {"tool_calls": [call("edit_file", edits=[
            {"path": "calc/ops.py", "old": "return a - b", "new": "return a + b"},
            {"path": "calc/fmt.py", "old": "'result: ' + x", "new": "'result: ' + str(x)"},
        ])]},
        {"tool_calls": [call("run_tests")]},
        {"tool_calls": [call("finish", summary="fixed add and show")]},
    ])
    code, events = run_json(repo, model)
    final = events[-1]
    assert code == 0, events
    assert final["type"] == "run_finished" and final["status"] == "done" and final["verified"] is True
    assert final["files_changed"] == ["calc/fmt.py", "calc/ops.py"]
    results = [e for e in events if e["type"] == "tool_result"]
    assert [r["name"] for r in results] == ["list_files", "search", "read_file", "read_file", "run_tests", "edit_file", "run_tests", "finish"]
    assert "calc/ops.py:1:def add(a, b):" in results[1]["output"]
    assert "exit code 1" in results[4]["output"] and "exit code 0" in results[6]["output"]
    tests = subprocess.run([sys.executable, "-m", "pytest", "-q"], cwd=repo, capture_output=True, text=True)
    assert tests.returncode == 0, tests.stdout
    # the log on disk matches the stream, and run logs stay out of the user's git status
    log = (repo / ".agent" / "runs" / final["run_id"] / "events.jsonl").read_text().splitlines()
    assert [json.loads(x)["type"] for x in log] == [e["type"] for e in events]
    assert ".agent/runs" not in git(repo, "status", "--porcelain", "--untracked-files=all")


def test_malformed_replies_fail_and_leave_repo_untouched(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "repo", BUGGY)
    model = script(tmp_path / "replies.json", [
        {"tool_calls": [{"name": "edit_file", "arguments": "{not json"}]},
        {"tool_calls": [call("no_such_tool", x=1)]},
        {"tool_calls": [call("read_file", wrong_arg="calc/ops.py")]},
        {"tool_calls": [call("finish", summary="never reached")]},
    ])
    code, events = run_json(repo, model)
    final = events[-1]
    assert code == 1
    assert final["status"] == "failed" and final["verified"] is False and final["files_changed"] == []
    assert "3 malformed replies in a row" in final["summary"] and "invalid arguments for read_file" in final["summary"]
    assert [e["in_a_row"] for e in events if e["type"] == "format_error"] == [1, 2, 3]
    assert git(repo, "status", "--porcelain") == "?? .agent/\n" or git(repo, "status", "--porcelain") == ""
    assert (repo / "calc/ops.py").read_text() == BUGGY["calc/ops.py"]


def test_run_finished_event_has_contract_fields(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "repo", {"README.md": "hi\n"})
    model = script(tmp_path / "r.json", [{"tool_calls": [call("finish", summary="nothing to do")]}])
    code, events = run_json(repo, model)
    assert code == 0
    for event in events:
        assert {"type", "run_id", "ts"} <= event.keys()
    final = events[-1]
    assert {"status", "verified", "files_changed", "tokens_in", "tokens_out", "cost_usd", "duration_s"} <= final.keys()
    assert final["verification"]["ran"] is False


def test_step_limit_exits_3(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "repo", {"a.txt": "a\n"})
    model = script(tmp_path / "r.json", [{"tool_calls": [call("list_files")]}] * 5)
    code, events = run_json(repo, model, "--max-steps", "2")
    assert code == 3 and events[-1]["status"] == "limits" and events[-1]["steps"] == 2


def test_running_out_of_scripted_replies_is_an_error(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "repo", {"a.txt": "a\n"})
    model = script(tmp_path / "r.json", [{"tool_calls": [call("list_files")]}])
    code, events = run_json(repo, model)
    assert code == 1 and events[-1]["status"] == "error" and "ran out of replies" in events[-1]["summary"]


def test_agents_md_reaches_the_model(tmp_path: Path) -> None:
    from agent.backends.scripted import ScriptedBackend
    from agent.config import load_config
    from agent.session import Session

    repo = init_repo(tmp_path / "repo", {"AGENTS.md": "Always use tabs.\n", "CLAUDE.md": "Be brief.\n"})
    backend = ScriptedBackend([{"tool_calls": [call("finish", summary="ok")]}])
    Session(repo, load_config(repo), backend=backend).run("do it", lambda e: None)
    first_user = backend.seen[0][1]["content"]
    assert "Always use tabs." in first_user and "Be brief." in first_user and "do it" in first_user


CHEAT = [
    {"tool_calls": [call("run_tests")]},
    {"tool_calls": [call("edit_file", edits=[{"path": "tests/test_calc.py", "old": "assert add(2, 3) == 5", "new": "assert add(2, 3) == -1"}])]},
    {"tool_calls": [call("edit_file", edits=[{"path": "calc/fmt.py", "old": "'result: ' + x", "new": "'result: ' + str(x)"}])]},
    {"tool_calls": [call("run_tests")]},
    {"tool_calls": [call("finish", summary="all tests pass")]},
]


def test_passing_by_editing_a_test_is_unverified(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "repo", BUGGY)
    code, events = run_json(repo, script(tmp_path / "r.json", CHEAT), "--allow-test-edits")
    results = [e for e in events if e["type"] == "tool_result" and e["name"] == "run_tests"]
    assert "exit code 0" in results[-1]["output"]  # the weakened suite passes in place...
    final = events[-1]
    assert code == 1 and final["status"] == "done" and final["verified"] is False  # ...but not the original one
    assert final["verification"]["passed"] is False and final["verification"]["tests_restored"] == ["tests/test_calc.py"]
    assert any(f["kind"] == "expected_value_changed" and f["file"] == "tests/test_calc.py" for f in final["guard_findings"])


def test_headless_run_may_not_edit_tests_by_default(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "repo", BUGGY)
    code, events = run_json(repo, script(tmp_path / "r.json", CHEAT))
    denied = [e for e in events if e["type"] == "tool_result" and e["name"] == "edit_file"][0]
    assert denied["ok"] is False and "test file" in denied["output"]
    assert (repo / "tests/test_calc.py").read_text() == BUGGY["tests/test_calc.py"]
    assert code == 1 and events[-1]["verified"] is False and events[-1]["guard_findings"] == []


def test_a_done_run_distils_its_lessons_into_notes(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "repo", {"a.py": "x = 1\n"})
    lesson = "The project formats code with black, line length 100."
    model = script(tmp_path / "r.json", [
        {"tool_calls": [call("finish", summary="nothing to change")]},
        {"content": json.dumps([lesson])},  # the distillation reply
    ])
    code, events = run_json(repo, model)
    distilled = [e for e in events if e["type"] == "memory_distilled"]
    assert code == 0 and len(distilled) == 1 and len(distilled[0]["notes"]) == 1
    notes = list((repo / ".agent" / "memory").glob("*.md"))
    assert len(notes) == 1 and lesson in notes[0].read_text() and "source: agent" in notes[0].read_text()
    search = agent_cli("memory", "search", "which formatter and line length?", "--repo", str(repo), "--json")
    assert search.returncode == 0 and lesson in search.stdout
