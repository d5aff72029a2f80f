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
        self.hub = McpHub(self.config.servers, root)
        atexit.register(self.close)
        for name, server in self.config.servers.items():
            if server.enabled:
                self.tools.update(server_tools(self.hub, name, self.config, self.notice))

    def close(self) -> None:
        """Stop the servers that were started (at the end of a run or chat; also at exit)."""
        if self.hub is not None:
            self.hub.close()


def attach(config: AgentConfig, root: Path, tools: dict[str, Any]) -> McpTools:
    """Add the configured servers' tools to a toolbox; return the handle that stops them."""
    mcp = McpTools(config, root)
    tools.update({k: v for k, v in mcp.tools.items() if k not in tools})
    return mcp
