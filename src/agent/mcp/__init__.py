"""MCP servers as tools: `[mcp.servers.NAME]` in the config, tools named mcp__NAME__TOOL.

Importing this package is cheap; the SDK is imported only when a configured server is used.
Tool listings are remembered in the user cache (keyed by the server's config), so a session
starts a server only when the model first calls one of its tools; a server never seen before
is started once at session start to list its tools (within its start timeout) and kept running.
"""

from __future__ import annotations

import atexit
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from agent.config import AgentConfig
    from agent.mcp.hub import McpHub
    from agent.tools import Tool


class McpTools:
    """The MCP side of a session: its hub (started servers) and the tools they offer."""

    def __init__(self, config: AgentConfig, root: Path, notice: Callable[[str], None] | None = None):
        self.config, self.root = config.mcp, root
        self.hub: McpHub | None = None
        self.tools: dict[str, Tool] = {}
        if not self.config.servers:
            return
        from agent.mcp.hub import McpHub, default_notice
        from agent.mcp.tools import server_tools

        self.notice = notice or default_notice
        self.hub = hub = McpHub(self.config.servers, root)
        atexit.register(self.close)
        from concurrent.futures import ThreadPoolExecutor

        names = [n for n, server in self.config.servers.items() if server.enabled]
        with ThreadPoolExecutor(max(1, min(8, len(names)))) as pool:  # servers never seen start side by side
            for found in pool.map(lambda n: server_tools(hub, n, self.config, self.notice), names):
                self.tools.update(found)

    def status(self) -> list[dict[str, Any]]:
        """Each server's state (stopped until first use, running, failed, crashed, disabled) and tool names."""
        if self.hub is None:
            return []
        return [{"name": name, "state": server.state, "error": server.error,
                 "tools": [t for t, tool in self.tools.items() if getattr(tool, "server", None) == name]}
                for name, server in self.hub.servers.items()]

    def attach_mentions(self, text: str, pending: list[str]) -> list[str]:
        """Read each `@server:uri` in a chat message into `pending` (the next message); return what was added."""
        if self.hub is None or "@" not in text:
            return []
        from agent.mcp.content import mentioned, read_resource
        from agent.prompts import render

        added = []
        for server, uri in mentioned(text, set(self.hub.servers)):
            body = read_resource(self.hub, server, uri)
            pending.append(render("chat_resource", server=server, uri=uri, text=body))
            added.append(f"{server}:{uri}")
        return added

    def prompt(self, command: str, words: list[str]) -> str:
        """The text of a server prompt named by a slash command /mcp__SERVER__PROMPT."""
        from agent.errors import UsageError
        from agent.mcp.content import get_prompt

        _, server, name = (command.lstrip("/").split("__", 2) + ["", ""])[:3]
        if self.hub is None or server not in self.hub.servers or not name:
            raise UsageError(f"no MCP prompt {command} (use /mcp__SERVER__PROMPT [ARGS])")
        return get_prompt(self.hub, server, name, words)

    def close(self) -> None:
        """Stop the servers that were started (at the end of a run or chat; also at exit)."""
        if self.hub is not None:
            self.hub.close()


def attach(config: AgentConfig, root: Path, tools: dict[str, Any],
           notice: Callable[[str], None] | None = None) -> McpTools:
    """Add the configured servers' tools to a toolbox; return the handle that stops them.

    `notice` gets each warning line (a server that cannot start, a tool left out); default: stderr.
    """
    mcp = McpTools(config, root, notice)
    tools.update({k: v for k, v in mcp.tools.items() if k not in tools})
    return mcp


def describe_servers(config: AgentConfig, root: Path, names: list[str] | None = None) -> list[dict[str, Any]]:
    """Start each named (default: every) server, list its tools, stop it; one dict per server."""
    from agent.mcp.hub import McpHub, McpServerError
    from agent.mcp.tools import build_tools, fetch_listing

    hub = McpHub(config.mcp.servers, root)
    out = []
    try:
        for name in names or list(config.mcp.servers):
            server = hub.server(name)
            c = server.config
            row: dict[str, Any] = {"name": name, "transport": "stdio" if c.command else "http",
                                   "target": " ".join(c.command) if c.command else c.url, "enabled": c.enabled,
                                   "state": "disabled", "error": None, "warnings": [], "tools": []}
            if c.enabled:
                try:
                    listing = fetch_listing(hub, name)
                except McpServerError as exc:
                    row.update(state="failed", error=str(exc))
                else:
                    tools = build_tools(hub, name, listing, config.mcp, row["warnings"].append)
                    row["state"] = "ok"
                    row["tools"] = [{"name": k, "tool": t.remote, "description": t.description}  # type: ignore[attr-defined]
                                    for k, t in tools.items()]
            out.append(row)
    finally:
        hub.close()
    return out
