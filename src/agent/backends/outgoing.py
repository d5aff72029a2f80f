"""The messages and tools as sent to one provider: thinking kept for Claude, cache breakpoints, no placeholders.

The loop's history is never changed here: every function returns copies.
"""

from __future__ import annotations

import copy
from typing import Any

from agent.protocols import Message

CLAUDE_ROUTES = ("anthropic", "openrouter", "bedrock", "bedrock_converse", "vertex_ai", "vertex_ai_beta")
EPHEMERAL = {"type": "ephemeral"}


def is_claude(model: str, provider: str) -> bool:
    """Whether the model is a Claude model on a route where litellm passes Anthropic features through."""
    return provider in CLAUDE_ROUTES and ("claude" in model.lower() or provider == "anthropic")


def prepare(messages: list[Message], model: str, provider: str, cache: bool) -> list[Message]:
    """Copies of `messages` fit for the provider."""
    claude = is_claude(model, provider)
    out = []
    for message in messages:
        m = dict(message)
        if not claude:
            m.pop("thinking_blocks", None)
        elif m.get("role") == "assistant" and m.get("tool_calls") and not (m.get("content") or "").strip():
            m["content"] = None  # an empty string would become litellm's "[System: Empty message ...]" text
        out.append(m)
    if claude and cache:
        for index in breakpoints(out):
            out[index] = _mark(out[index])
    return out


def prepare_tools(tools: list[dict[str, Any]], model: str, provider: str, cache: bool) -> list[dict[str, Any]]:
    """The tool schemas, with a cache breakpoint after the last one for Claude."""
    if not (tools and cache and is_claude(model, provider)):
        return tools
    marked = [*tools[:-1], {**tools[-1], "cache_control": EPHEMERAL}]
    return marked


def breakpoints(messages: list[Message]) -> list[int]:
    """Where to put cache breakpoints (Anthropic allows 4; the tools take one).

    The system prompt; the last message (written to the cache by this request); and the last message
    before the latest assistant turn, which was the end of the previous request (read from the cache).
    """
    points = [i for i, m in enumerate(messages[:1]) if m.get("role") == "system"]
    last_assistant = max((i for i, m in enumerate(messages) if m.get("role") == "assistant"), default=None)
    if last_assistant is not None and last_assistant > 0 and messages[last_assistant - 1].get("role") != "system":
        points.append(last_assistant - 1)
    if messages and messages[-1].get("role") in ("user", "tool") and len(messages) - 1 not in points:
        points.append(len(messages) - 1)
    return points


def _mark(message: Message) -> Message:
    """A copy of the message with a cache_control breakpoint on its (last) content block."""
    m = copy.copy(message)
    content = m.get("content")
    if m.get("role") == "tool":  # litellm puts a tool message's cache_control on its tool_result block
        m["cache_control"] = EPHEMERAL
    elif isinstance(content, str) and content:
        m["content"] = [{"type": "text", "text": content, "cache_control": EPHEMERAL}]
    elif isinstance(content, list) and content and isinstance(content[-1], dict):
        m["content"] = [*content[:-1], {**content[-1], "cache_control": EPHEMERAL}]
    return m
