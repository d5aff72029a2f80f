"""Memory inside real runs: a scripted run remembers, the next run on the repo is told in its first prompt."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import agent_cli
from memory_support import _shared_model, model_cache, repo


def call(name: str, **arguments: object) -> dict:
    return {"name": name, "arguments": arguments}


def test_a_note_remembered_in_one_run_reaches_the_next_runs_first_prompt(repo: Path, tmp_path: Path) -> None:
    replies = tmp_path / "first.json"
    replies.write_text(json.dumps([
        {"tool_calls": [call("remember", text="area() in app/ops.py must keep using math.pi, never 3.14.",
                             anchors=["app/ops.py:area"], tags=["math"])]},
        {"tool_calls": [call("finish", summary="noted")]},
    ]))
    model = f"scripted:{replies}"
    first = agent_cli("run", "look at the geometry code", "--repo", str(repo), "--model", model, "--json")
    results = [json.loads(x) for x in first.stdout.splitlines() if '"tool_result"' in x]
    assert results and results[0]["output"].startswith("remembered as "), first.stdout + first.stderr
    note_id = results[0]["output"].removeprefix("remembered as ")

    from agent.backends.scripted import ScriptedBackend
    from agent.config import load_config
    from agent.session import Session

    backend = ScriptedBackend([{"tool_calls": [call("finish", summary="ok")]}])
    Session(repo, load_config(repo), backend=backend).run("fix the area computation", lambda e: None)
    first_prompt = backend.seen[0][1]["content"]
    assert f"[fresh, repo] {note_id}: area() in app/ops.py must keep using math.pi" in first_prompt
