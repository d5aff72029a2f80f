"""MCP resources and prompts for chat: `@server:uri` attaches a resource, `/mcp__server__prompt` sends a prompt."""

from __future__ import annotations

import re
from typing import Any

from agent.errors import UsageError
from agent.mcp.hub import McpHub
from agent.mcp.tools import clean

RESOURCE = re.compile(r"(?<![\w@])@([A-Za-z0-9][A-Za-z0-9_-]*):(\S+)")
RESOURCE_CHARS = 60_000


def mentioned(text: str, servers: set[str]) -> list[tuple[str, str]]:
    """The (server, uri) pairs of `@server:uri` mentions whose server is configured."""
    pairs = [(s, u.rstrip(".,;:)")) for s, u in RESOURCE.findall(text) if s in servers]
    return list(dict.fromkeys(pairs))


def read_resource(hub: McpHub, server: str, uri: str) -> str:
    """A resource's text (binary parts as a placeholder), capped like a file in the chat."""
    result = hub.call(server, lambda client: client.read_resource(uri))
    parts = []
    for item in getattr(result, "contents", None) or []:
        text = getattr(item, "text", None)
        kind = getattr(item, "mime_type", "") or "data"
        parts.append(str(text) if text is not None else f"[binary {kind}: not shown]")
    text = "\n".join(parts) or "(empty)"
    return text if len(text) <= RESOURCE_CHARS else text[:RESOURCE_CHARS] + "\n... [cut]"


def get_prompt(hub: McpHub, server: str, name: str, words: list[str]) -> str:
    """A server prompt as one user message; arguments as key=value or in the prompt's own order."""
    listing = hub.call(server, lambda client: client.list_prompts())
    prompt = next((p for p in listing.prompts if p.name == name), None)
    if prompt is None:
        known = ", ".join(p.name for p in listing.prompts) or "none"
        raise UsageError(f"mcp server {server!r} has no prompt {name!r} (prompts: {known})")
    names = [a.name for a in prompt.arguments or []]
    arguments: dict[str, str] = {}
    for i, word in enumerate(words):
        key, eq, value = word.partition("=")
        if eq and key in names:
            arguments[key] = value
        elif i < len(names):
            arguments[names[i]] = word
    missing = [a.name for a in prompt.arguments or [] if a.required and a.name not in arguments]
    if missing:
        raise UsageError(f"prompt {name!r} needs: {', '.join(missing)}")
    result = hub.call(server, lambda client: client.get_prompt(name, arguments))
    return "\n\n".join(_message_text(m.content) for m in result.messages)


def _message_text(content: Any) -> str:
    text = getattr(content, "text", None)
    if text is None:
        return f"[{getattr(content, 'type', 'content')}: not shown]"
    return clean(str(text), RESOURCE_CHARS)
