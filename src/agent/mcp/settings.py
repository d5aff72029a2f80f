"""The `[mcp]` configuration section: MCP servers the agent may start and talk to."""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

SERVER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]*(_[A-Za-z0-9-]+)*$")  # no "__": it separates mcp__NAME__TOOL


class McpServerConfig(BaseModel):
    """One server: a command speaking MCP on stdin/stdout, or a Streamable HTTP URL."""

    model_config = ConfigDict(extra="forbid")

    command: list[str] | None = Field(None, min_length=1, description="stdio server: the program and its arguments")
    url: str | None = Field(None, description="Streamable HTTP server, e.g. http://127.0.0.1:8000/mcp")
    headers: dict[str, str] = Field(default_factory=dict, description="HTTP headers (${VAR}: from the environment)")
    env: dict[str, str] = Field(default_factory=dict, description="extra environment of a stdio server (${VAR})")
    enabled: bool = Field(True, description="false: keep the server configured but never start it")
    start_timeout_s: float = Field(20.0, gt=0, description="seconds to start and list the tools before giving up")
    call_timeout_s: float = Field(120.0, gt=0, description="seconds one tool call may take")

    @model_validator(mode="after")
    def _one_transport(self) -> McpServerConfig:
        if (self.command is None) == (self.url is None):
            raise ValueError("set exactly one of command (stdio) or url (Streamable HTTP)")
        if self.url is not None and not self.url.startswith(("http://", "https://")):
            raise ValueError(f"url must start with http:// or https://: {self.url!r}")
        return self


class McpConfig(BaseModel):
    """MCP servers whose tools reach the model as mcp__NAME__TOOL (user config, or a trusted repository's)."""

    model_config = ConfigDict(extra="forbid")

    servers: dict[str, McpServerConfig] = Field(default_factory=dict, description="servers by name")
    description_chars: int = Field(1024, ge=64, description="cap on a tool description taken from a server")
    schema_chars: int = Field(16000, ge=256, description="cap on one tool's input schema (JSON characters)")

    @field_validator("servers")
    @classmethod
    def _names(cls, servers: dict[str, McpServerConfig]) -> dict[str, McpServerConfig]:
        for name in servers:
            if not SERVER_NAME.match(name):
                raise ValueError(f"server name {name!r}: use letters, digits, '-' and single '_'")
        return servers
