"""Plugins: backends and tools that installed packages register through entry points.

    [project.entry-points."agent.tools"]
    shout = "my_pkg.tools:shout"          # a typed tool function, like agent.tools.*

    [project.entry-points."agent.backends"]
    echo = "my_pkg.backend:EchoBackend"   # `--model echo:ANYTHING`: from_config(config, "ANYTHING") or a callable

Entry points are read from the installed packages' metadata (no import); a plugin's module is imported
only when a session builds its toolbox (tools) or its model spec names it (backends), never for
`agent --help` or `--version`. A plugin that fails to load gives one warning line and is left out.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from agent.errors import UsageError

if TYPE_CHECKING:
    from importlib.metadata import EntryPoint

    from agent.config import BackendConfig
    from agent.protocols import Backend
    from agent.tools import Tool

TOOL_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,63}$")
BACKEND_PREFIX = re.compile(r"^([A-Za-z][A-Za-z0-9_-]*):(.*)$", re.S)


def entry_points(group: str) -> dict[str, EntryPoint]:
    """The entry points of one group by name (the first installed one wins on a clash)."""
    from importlib.metadata import entry_points as found

    out: dict[str, EntryPoint] = {}
    for ep in found(group=group):
        out.setdefault(ep.name, ep)
    return out


def _warn(line: str) -> None:
    sys.stderr.write(f"agent: warning: {line}\n")


def plugin_tools(taken: dict[str, Any], notice: Callable[[str], None] = _warn) -> dict[str, Tool]:
    """Tools from the `agent.tools` entry points; a clash with a built-in name or a bad plugin is one line."""
    from agent.tools import Tool

    tools: dict[str, Tool] = {}
    for name, ep in entry_points("agent.tools").items():
        if name in taken or name.startswith("mcp__") or not TOOL_NAME.match(name):
            notice(f"plugin tool {name!r} ({ep.value}) left out: the name is taken or not a valid tool name")
            continue
        try:
            tool = Tool.from_function(ep.load())
        except Exception as exc:  # a broken plugin must not stop the agent
            notice(f"plugin tool {name!r} ({ep.value}) left out: {type(exc).__name__}: {exc}")
            continue
        tool.name = name
        tools[name] = tool
    return tools


def plugin_backend(spec: str, config: BackendConfig) -> Backend | None:
    """The backend a `NAME:REST` model spec names through `agent.backends`, or None when no plugin has NAME."""
    match = BACKEND_PREFIX.match(spec)
    if not match:
        return None
    ep = entry_points("agent.backends").get(match.group(1))
    if ep is None:
        return None
    try:
        factory = ep.load()
    except Exception as exc:
        why = f"{type(exc).__name__}: {exc}"
        raise UsageError(f"backend plugin {ep.name!r} ({ep.value}) cannot be loaded: {why}") from exc
    make = getattr(factory, "from_config", factory)
    backend = make(config, match.group(2))
    if not callable(getattr(backend, "capabilities", None)):  # a plugin written before Backend.capabilities
        from agent.protocols import Capabilities

        backend.capabilities = Capabilities  # nothing known: the defaults (window unknown, native tools)
    return backend
