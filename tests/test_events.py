"""The event stream's JSON Schema: generated from agent.events, published in docs/, and met by a real run."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import jsonschema
from conftest import agent_cli, init_repo

from agent.events import schema

SCHEMA = Path(__file__).resolve().parent.parent / "docs" / "events.schema.json"
FILES = {
    "calc/ops.py": "def add(a, b):\n    return a - b\n",
    "tests/test_ops.py": "from calc.ops import add\n\ndef test_add():\n    assert add(2, 3) == 5\n",
}


def test_the_published_schema_is_the_generated_one() -> None:
    regenerate = f"{sys.executable} -m agent.events > docs/events.schema.json"
    assert json.loads(SCHEMA.read_text()) == schema(), f"docs/events.schema.json is stale: run {regenerate}"
    generated = subprocess.run([sys.executable, "-m", "agent.events"], capture_output=True, text=True, check=True)
    assert json.loads(generated.stdout) == schema()


def test_a_real_run_streams_only_events_the_schema_allows(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "repo", FILES)
    replies = [
        {"content": "Looking.", "tool_calls": [{"name": "read_file", "arguments": {"path": "calc/ops.py"}}]},
        {"tool_calls": [{"name": "edit_file", "arguments": "{broken"}]},
        {"tool_calls": [{"name": "edit_file", "arguments": {"edits": [
            {"path": "calc/ops.py", "old": "a - b", "new": "a + b"}]}}]},
        {"tool_calls": [{"name": "run_tests", "arguments": {}}]},
        {"tool_calls": [{"name": "finish", "arguments": {"summary": "fixed add"}}]},
    ]
    (tmp_path / "replies.json").write_text(json.dumps(replies))
    proc = agent_cli("run", "fix add", "--repo", str(repo), "--model", f"scripted:{tmp_path / 'replies.json'}", "--json")
    assert proc.returncode == 0, proc.stderr
    events = [json.loads(line) for line in proc.stdout.splitlines()]
    validator = jsonschema.Draft202012Validator(json.loads(SCHEMA.read_text()))
    for event in events:
        errors = [e.message for e in validator.iter_errors(event)]
        assert not errors, (event["type"], errors)
    kinds = {e["type"] for e in events}
    assert {"run_started", "model_reply", "tool_call", "tool_result", "format_error", "git_commit",
            "verification_finished", "run_finished"} <= kinds
    bad = {**events[-1], "status": "fine"}
    assert list(validator.iter_errors(bad)), "the schema must reject what the contract does not allow"
