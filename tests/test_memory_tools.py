"""The remember / recall / forget tools, run through the Tool wrapper on a real store."""

from __future__ import annotations

from pathlib import Path

import pytest
from memory_support import _shared_model, model_cache, repo  # noqa: F401

from agent.config import AgentConfig
from agent.errors import ToolError
from agent.memory import MemoryStore
from agent.tools import load_tools
from agent.workspace import Workspace


@pytest.fixture
def ws(repo: Path) -> Workspace:
    config = AgentConfig()
    return Workspace(repo, config, memory=MemoryStore(repo, config.memory))


def test_remember_recall_forget(ws: Workspace) -> None:
    tools = load_tools(["remember", "recall", "forget"])
    args = {"text": "area() must stay in sync with the docs", "anchors": ["app/ops.py:area"], "tags": ["docs"]}
    out = tools["remember"](ws, args)
    note_id = out.removeprefix("remembered as ")
    assert (ws.root / ".agent/memory" / f"{note_id}.md").is_file()
    listing = tools["recall"](ws, {"query": "documentation of the area function"})
    assert listing.startswith(f"- [fresh, repo] {note_id}: area() must stay") and "(about: app/ops.py:area)" in listing
    assert tools["forget"](ws, {"id": note_id}) == f"forgot {note_id}"
    assert tools["recall"](ws, {"query": "area"}) == "no notes found"


def test_failures_are_tool_errors(ws: Workspace) -> None:
    tools = load_tools(["remember", "forget"])
    with pytest.raises(ToolError, match="not found"):
        tools["remember"](ws, {"text": "x", "anchors": ["app/ops.py:nope"]})
    with pytest.raises(ToolError, match="secret"):
        tools["remember"](ws, {"text": "token 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 works"})
    with pytest.raises(ToolError, match="no note"):
        tools["forget"](ws, {"id": "missing-1234"})
    ws.memory = None
    with pytest.raises(ToolError, match="not enabled"):
        tools["forget"](ws, {"id": "x"})


def test_schemas_describe_the_arguments() -> None:
    schema = load_tools(["remember"])["remember"].schema()["function"]
    assert set(schema["parameters"]["properties"]) == {"text", "anchors", "tags", "scope"}
    assert schema["parameters"]["required"] == ["text"]
