"""The messages and tools as sent to one provider: thinking kept for Claude, cache breakpoints, no placeholders.

The loop's history is never changed here: every function returns copies.
"""

from __future__ import annotations

import copy
from typing import Any

from agent.images import data_url
from agent.prompts import render
from agent.protocols import Message

CLAUDE_ROUTES = ("anthropic", "openrouter", "bedrock", "bedrock_converse", "vertex_ai", "vertex_ai_beta")
EPHEMERAL = {"type": "ephemeral"}


def is_claude(model: str, provider: str) -> bool:
    """Whether the model is a Claude model on a route where litellm passes Anthropic features through."""
    return provider in CLAUDE_ROUTES and ("claude" in model.lower() or provider == "anthropic")


def prepare(messages: list[Message], model: str, provider: str, cache: bool, vision: bool = False) -> list[Message]:
    """Copies of `messages` fit for the provider (tool results' images in its format, or left out)."""
    claude = is_claude(model, provider)
    out = []
    for message in with_images(messages, claude, vision):
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


def with_images(messages: list[Message], claude: bool, vision: bool) -> list[Message]:
    """Tool messages' images (agent.images) as the provider takes them.

    Claude: image blocks inside the tool_result (litellm turns a tool message's image_url parts into them).
    OpenAI Chat Completions and the rest: a tool message may hold text only, so the images follow the run
    of tool messages in one user message. Without vision: left out, with a line saying so.
    """
    out: list[Message] = []
    waiting: list[dict[str, Any]] = []  # image parts for the user message after the current run of tool messages
    for message in messages:
        if waiting and message.get("role") != "tool":
            out.append({"role": "user", "content": waiting})
            waiting = []
        images = message.get("images")
        if not images:
            out.append(message)
            continue
        m = {k: v for k, v in message.items() if k != "images"}
        text = str(m.get("content") or "")
        parts = [{"type": "image_url", "image_url": {"url": data_url(i)}} for i in images]
        if not vision:
            hidden = [{"mime_type": i["mime_type"], "bytes": len(i["data"]) * 3 // 4, "state": "hidden", "limit": 0}
                      for i in images]
            m["content"] = "\n".join(filter(None, [text, render("tool_images", images=hidden)]))
        elif claude:
            m["content"] = [{"type": "text", "text": text}, *parts]
        else:
            waiting += [{"type": "text", "text": render("tool_images_message", call_id=m.get("tool_call_id"))}, *parts]
        out.append(m)
    if waiting:
        out.append({"role": "user", "content": waiting})
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
