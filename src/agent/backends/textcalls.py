"""Tool calls as text, for models or servers without solid native tool calling.

The tools are described in the system prompt (prompts/text_tools.j2); the model answers with a short thought and
fenced blocks: ```json {"name": ..., "arguments": {...}}``` or ```bash COMMAND``` (a run_shell call). Parsing is
strict: a block that is not a call becomes a ToolCall with `error`, so the loop's format feedback applies.
The history is sent back as plain text: calls as the blocks the model wrote, results as user turns.
"""

from __future__ import annotations

import json
import re
from typing import Any

from agent.prompts import render
from agent.protocols import Message, ToolCall

BLOCK = re.compile(r"```(json|bash|sh)[ \t]*\n(.*?)\n?```", re.DOTALL)


def to_text(messages: list[Message], tools: list[dict[str, Any]]) -> list[Message]:
    """The history as plain role/content messages, the tools described in the system prompt."""
    out: list[Message] = []
    for m in messages:
        role, content = m.get("role"), str(m.get("content") or "")
        if role == "system":
            out.append({"role": "system", "content": content + "\n\n" + render("text_tools", tools=tools)})
        elif role == "assistant":
            blocks = [_block(c) for c in m.get("tool_calls") or []]
            out.append({"role": "assistant", "content": "\n\n".join([content, *blocks]).strip()})
        elif role == "tool":
            out.append({"role": "user", "content": f"Result of {m.get('tool_call_id')}:\n{content}"})
        else:
            out.append({"role": str(role), "content": content})
    return out


def parse(text: str, step_id: str) -> tuple[str, list[ToolCall]]:
    """The reply's text without its blocks, and one ToolCall per fenced block (malformed ones with `error`)."""
    calls = [_call(kind, body.strip(), f"{step_id}_{i}") for i, (kind, body) in enumerate(BLOCK.findall(text))]
    return BLOCK.sub("", text).strip(), calls


def _call(kind: str, body: str, call_id: str) -> ToolCall:
    if kind in ("bash", "sh"):
        return ToolCall(call_id, "run_shell", {"command": body}) if body else ToolCall(call_id, "run_shell", {},
                                                                                         "the bash block is empty")
    try:
        data = json.loads(body)
    except (ValueError, RecursionError) as exc:
        return ToolCall(call_id, "", {}, f"the json block is not valid JSON: {exc}")
    if not isinstance(data, dict) or not isinstance(data.get("name"), str) or not data["name"]:
        return ToolCall(call_id, "", {}, 'a json block must be an object {"name": "<tool>", "arguments": {...}}')
    arguments = data.get("arguments", {})
    if not isinstance(arguments, dict):
        return ToolCall(call_id, data["name"], {}, "arguments must be a JSON object")
    return ToolCall(call_id, data["name"], arguments)


def _block(call: dict[str, Any]) -> str:
    function = call.get("function") or {}
    try:
        arguments = json.loads(function.get("arguments") or "{}")
    except ValueError:
        arguments = {}
    return "```json\n" + json.dumps({"name": function.get("name", ""), "arguments": arguments}) + "\n```"
