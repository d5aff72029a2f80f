"""Backends: the scripted one, litellm against a real loopback HTTP server, and model-spec errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fake_provider import FakeProvider

from agent.backends import create_backend
from agent.backends.scripted import ScriptedBackend
from agent.config import BackendConfig
from agent.errors import BackendError, UsageError
from agent.tools import load_tools

TOOLS = [t.schema() for t in load_tools(["finish", "read_file"]).values()]
MESSAGES = [{"role": "system", "content": "s"}, {"role": "user", "content": "u"}]


def test_scripted_replays_and_parses_raw_arguments() -> None:
    backend = ScriptedBackend([
        {"content": "hi", "tool_calls": [{"name": "read_file", "arguments": {"path": "a"}}]},
        {"tool_calls": [{"name": "read_file", "arguments": "{\"path\": \"b\"}"}, {"name": "x", "arguments": "{oops"}]},
    ])
    first = backend.complete(MESSAGES, TOOLS)
    assert first.content == "hi" and first.tool_calls[0].arguments == {"path": "a"}
    second = backend.complete(MESSAGES, TOOLS)
    assert second.tool_calls[0].arguments == {"path": "b"} and second.tool_calls[0].error is None
    assert second.tool_calls[1].error is not None and "not valid JSON" in second.tool_calls[1].error
    with pytest.raises(BackendError, match="ran out of replies after 2"):
        backend.complete(MESSAGES, TOOLS)


def test_scripted_file_errors(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="not found"):
        create_backend(BackendConfig(model=f"scripted:{tmp_path / 'missing.json'}"))
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"not": "a list"}))
    with pytest.raises(UsageError, match="expected a JSON list"):
        create_backend(BackendConfig(model=f"scripted:{bad}"))


def test_model_spec_errors(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="unknown model"):
        create_backend(BackendConfig(model="no-such-provider-model-xyz"))
    with pytest.raises(UsageError, match="ANTHROPIC_API_KEY"):
        create_backend(BackendConfig(model="anthropic/claude-sonnet-4-5"))
    with pytest.raises(UsageError, match="GGUF file not found"):
        create_backend(BackendConfig(model=f"gguf:{tmp_path / 'nope.gguf'}"))


@pytest.mark.parametrize("stream", [False, True])
def test_litellm_against_openai_compatible_server(stream: bool) -> None:
    with FakeProvider() as server:
        backend = create_backend(BackendConfig(model="openai/stub-model", api_base=server.openai_url))
        chunks: list[str] = []
        reply = backend.complete(MESSAGES, TOOLS, on_text=chunks.append if stream else None)
    assert reply.content == "Done."
    assert [(c.name, c.arguments) for c in reply.tool_calls] == [("finish", {"summary": "ok"})]
    usage = server.usages[0]
    assert (reply.tokens_in, reply.tokens_out) == (usage["prompt_tokens"], usage["completion_tokens"])
    assert server.requests[0]["body"]["tools"][0]["function"]["name"] == "finish"
    assert server.requests[0]["body"]["model"] == "stub-model"
    if stream:
        assert "".join(chunks) == "Done."


def test_backends_report_capabilities() -> None:
    from agent.backends.litellm import LitellmBackend
    from agent.protocols import Backend

    scripted = ScriptedBackend([])
    assert isinstance(scripted, Backend) and scripted.capabilities().context_window is None
    known = LitellmBackend("openai/gpt-4o-mini", BackendConfig())
    caps = known.capabilities()
    assert isinstance(known, Backend) and caps.context_window and caps.context_window >= 100_000 and caps.streaming
    assert LitellmBackend("openai/no-such-model-xyz", BackendConfig()).capabilities().context_window is None
