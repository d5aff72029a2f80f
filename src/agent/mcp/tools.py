"""MCP tools as ordinary agent Tools: mcp__SERVER__TOOL, the server's own schema, text observations.

Descriptions and schemas come from a server the agent does not control: control characters are
stripped and both are capped before they reach the prompt; a schema that is not a valid JSON
Schema for an object leaves that tool out with one warning line.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict

from agent.errors import FormatError, ToolError
from agent.mcp.hub import McpHub, McpServerError
from agent.mcp.settings import McpConfig
from agent.protocols import Image, ToolResult
from agent.tools import Tool
from agent.workspace import Workspace

LISTING_FORMAT = 1
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")
BAD_NAME = re.compile(r"[^A-Za-z0-9_-]")


class _AnyArguments(BaseModel):
    """Arguments are checked against the server's JSON schema by the tool itself."""

    model_config = ConfigDict(extra="allow")


def clean(text: str, limit: int) -> str:
    """Untrusted text from a server: no control or bidi characters, at most `limit` characters."""
    text = CONTROL.sub("", text.replace("\t", " ").replace("\r", ""))
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _clean_schema(value: Any, limit: int) -> Any:
    if isinstance(value, str):
        return clean(value, limit)
    if isinstance(value, list):
        return [_clean_schema(v, limit) for v in value]
    if isinstance(value, dict):
        return {clean(str(k), 200): _clean_schema(v, limit) for k, v in value.items()}
    return value


def check_schema(schema: Any, limit: int) -> str | None:
    """Why this input schema cannot be offered to the model, or None when it can."""
    import jsonschema

    if not isinstance(schema, dict) or schema.get("type", "object") != "object":
        return "the input schema is not an object schema"
    try:
        jsonschema.validators.validator_for(schema).check_schema(schema)
    except jsonschema.SchemaError as exc:
        return f"malformed input schema: {' '.join(exc.message.split())[:160]}"
    if len(json.dumps(schema)) > limit:
        return f"input schema over {limit} characters"
    return None


@dataclass
class McpTool(Tool):
    """A tool of an MCP server; schema() is the server's own JSON schema, result() carries its images."""

    input_schema: dict[str, Any] = field(default_factory=dict)
    server: str = ""
    remote: str = ""
    caller: Callable[..., ToolResult] | None = None

    @classmethod
    def from_schema(cls, name: str, description: str, schema: dict[str, Any], caller: Callable[..., ToolResult],
                    server: str = "", remote: str = "") -> McpTool:
        """A tool from a name, a description, a JSON schema and a callable `caller(ws, **arguments)`."""

        def text(ws: Workspace, **arguments: Any) -> str:
            return caller(ws, **arguments).output

        text.__name__ = name
        return cls(name=name, description=description, function=text, arguments=_AnyArguments,
                   input_schema=schema, server=server, remote=remote, caller=caller)

    def result(self, ws: Workspace, args: BaseModel) -> ToolResult:
        """The server's text and images."""
        assert self.caller is not None
        return self.caller(ws, **dict(args))

    def schema(self) -> dict[str, Any]:
        """The OpenAI-style function schema with the server's parameters."""
        return {"type": "function", "function": {"name": self.name, "description": self.description,
                                                 "parameters": self.input_schema}}


def tool_name(server: str, remote: str) -> str:
    """mcp__SERVER__TOOL with characters providers accept, at most 64 long."""
    name = f"mcp__{server}__{BAD_NAME.sub('_', remote)}"
    if len(name) > 64:
        name = name[:55] + "_" + hashlib.sha1(remote.encode()).hexdigest()[:8]
    return name


def build_tools(hub: McpHub, server: str, listing: list[dict[str, Any]], config: McpConfig,
                notice: Callable[[str], None]) -> dict[str, Tool]:
    """Tools of one server from its listing; a tool with an unusable schema is left out with one line."""
    tools: dict[str, Tool] = {}
    for entry in listing:
        remote = str(entry.get("name", ""))
        raw = entry.get("input_schema")
        schema: dict[str, Any] = raw if isinstance(raw, dict) else {}
        problem = check_schema(raw, config.schema_chars) if remote else "a tool has no name"
        if problem:
            notice(f"mcp server {server!r}: tool {clean(remote, 80)!r} left out: {problem}")
            continue
        name = tool_name(server, remote)
        text = clean(entry.get("description") or remote, config.description_chars)
        tools[name] = McpTool.from_schema(name, f"[MCP server {server}] {text}", _clean_schema(schema, 2000),
                                          _caller(hub, server, remote, schema), server=server, remote=remote)
    return tools


def _caller(hub: McpHub, server: str, remote: str, schema: dict[str, Any]) -> Callable[..., ToolResult]:
    def call(ws: Workspace, **arguments: Any) -> ToolResult:
        import jsonschema

        try:
            jsonschema.validate(arguments, schema)
        except jsonschema.ValidationError as exc:
            where = ".".join(str(p) for p in exc.absolute_path) or "arguments"
            raise FormatError(f"invalid arguments for {tool_name(server, remote)}: {where}: {exc.message}") from None
        result = hub.call(server, lambda client: client.call_tool(remote, arguments))
        if getattr(result, "is_error", False):
            raise ToolError(f"mcp server {server!r} tool {remote!r} failed: {render_result(result)}")
        text, images = split_result(result)
        return ToolResult(_cap(text, ws.config.tools.output_chars), images=images)

    return call


def render_result(result: Any) -> str:
    """The observation text of a CallToolResult: text blocks, placeholders for images and audio."""
    parts = [_block(b) for b in getattr(result, "content", None) or []]
    if not parts and getattr(result, "structured_content", None) is not None:
        parts.append(json.dumps(result.structured_content, ensure_ascii=False, default=str))
    return "\n".join(parts) if parts else "(no output)"


def split_result(result: Any) -> tuple[str, list[Image]]:
    """A CallToolResult as observation text and its images (the loop says where each went: agent.images)."""
    blocks = getattr(result, "content", None) or []
    images = [Image(str(b.mime_type), str(b.data)) for b in blocks if getattr(b, "type", "") == "image"]
    parts = [_block(b) for b in blocks if getattr(b, "type", "") != "image"]
    if not blocks and getattr(result, "structured_content", None) is not None:
        parts.append(json.dumps(result.structured_content, ensure_ascii=False, default=str))
    return "\n".join(parts) if parts or images else "(no output)", images


def _block(block: Any) -> str:
    kind = getattr(block, "type", "")
    if kind == "text":
        return str(block.text)
    if kind in ("image", "audio"):
        size = len(getattr(block, "data", "") or "") * 3 // 4
        return f"[{kind} {getattr(block, 'mime_type', '')}, {size:,} bytes: not shown to the model]"
    if kind == "resource":
        inner = block.resource
        text = getattr(inner, "text", None)
        return str(text) if text is not None else f"[binary resource {inner.uri}: not shown to the model]"
    if kind == "resource_link":
        return f"[resource {block.uri}{' ' + block.name if getattr(block, 'name', None) else ''}]"
    return f"[{kind or 'unknown'} content: not shown to the model]"


def _cap(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    half = limit // 2
    return f"{text[:half]}\n... [{len(text) - limit} characters cut] ...\n{text[-half:]}"


# -- listings: asked once, kept in the user cache so later sessions need not start the server ---------


def _cache_file(name: str, hub: McpHub) -> Path:
    import platformdirs

    config = hub.server(name).config.model_dump_json()
    digest = hashlib.sha256(f"{name}\0{config}".encode()).hexdigest()[:16]
    return Path(platformdirs.user_cache_dir("agent")) / "mcp" / f"{name}-{digest}.json"


def fetch_listing(hub: McpHub, name: str) -> list[dict[str, Any]]:
    """Ask the server (starting it) for its tools, and remember the answer."""
    server = hub.server(name)
    result = hub.call(name, lambda client: _all_tools(client), server.config.start_timeout_s)
    path = _cache_file(name, hub)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"format": LISTING_FORMAT, "tools": result}))
        tmp.replace(path)
    except OSError:
        pass
    return result


def cached_listing(hub: McpHub, name: str) -> list[dict[str, Any]] | None:
    """The remembered listing of this server as configured now, or None."""
    try:
        data = json.loads(_cache_file(name, hub).read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("format") != LISTING_FORMAT or not isinstance(data.get("tools"), list):
        return None
    return data["tools"]


async def _all_tools(client: Any) -> list[dict[str, Any]]:
    tools, cursor = [], None
    for _ in range(50):  # a paginator that never ends must not hang the start
        page = await client.list_tools(cursor=cursor)
        tools += [{"name": t.name, "description": t.description, "input_schema": t.input_schema} for t in page.tools]
        cursor = page.next_cursor
        if not cursor:
            break
    return tools


def server_tools(hub: McpHub, name: str, config: McpConfig, notice: Callable[[str], None],
                 refresh: bool = False) -> dict[str, Tool]:
    """The tools of one server: from the remembered listing, else by starting it; failures are one line."""
    listing = None if refresh else cached_listing(hub, name)
    if listing is None:
        try:
            listing = fetch_listing(hub, name)
        except (McpServerError, ToolError) as exc:
            notice(f"{exc}; its tools are not available")
            return {}
    return build_tools(hub, name, listing, config, notice)
