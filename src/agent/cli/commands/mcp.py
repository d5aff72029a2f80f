"""`agent mcp`: the configured MCP servers, their state and their tools."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated, Any

import typer

from agent.cli.options import RepoOption

HELP = "MCP servers ([mcp.servers.NAME] in the config): list them with their tools, or test one."
app = typer.Typer(help=HELP, no_args_is_help=True)


def _describe(repo: Path, names: list[str] | None) -> list[dict[str, Any]]:
    """Load the config (the repository's, when in one) and ask each server; errors exit with one line."""
    from agent.config import load_config
    from agent.errors import AgentError, UsageError
    from agent.mcp import describe_servers
    from agent.workspace import find_repo_root

    try:
        try:
            root: Path | None = find_repo_root(repo)
        except UsageError:
            root = None
        config = load_config(root)
        for name in names or []:
            if name not in config.mcp.servers:
                known = ", ".join(config.mcp.servers) or "none configured"
                raise UsageError(f"no MCP server named {name!r} (servers: {known})")
        return describe_servers(config, root or Path.cwd().resolve(), names)
    except AgentError as exc:
        if os.environ.get("AGENT_DEBUG"):
            raise
        typer.echo(f"agent: error: {exc}", err=True)
        raise typer.Exit(2 if isinstance(exc, UsageError) else 1) from None


@app.command("list")
def list_servers(
    repo: RepoOption = Path("."),
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """List the servers: transport, state (ok, failed, disabled) and tools. Starts each one briefly."""
    rows = _describe(repo, None)
    if as_json:
        typer.echo(json.dumps({"servers": rows}))
        return
    if not rows:
        typer.echo("no MCP servers configured: add [mcp.servers.NAME] to your config")
    for row in rows:
        typer.echo(f"{row['name']}  {row['transport']}  {row['state']}  {row['target']}")
        for line in [row["error"], *row["warnings"]]:
            if line:
                typer.echo(f"  ! {line}")
        for tool in row["tools"]:
            typer.echo(f"  {tool['name']}  {tool['description'][:80]}")


@app.command("test")
def test_server(
    name: Annotated[str, typer.Argument(help="The server's name in [mcp.servers].")],
    repo: RepoOption = Path("."),
) -> None:
    """Start one server, list its tools and stop it; exit 2 with one line if it fails."""
    row = _describe(repo, [name])[0]
    if row["state"] != "ok":
        typer.echo(f"agent: error: {row['error'] or f'mcp server {name!r} is disabled'}", err=True)
        raise typer.Exit(2)
    for line in row["warnings"]:
        typer.echo(f"agent: warning: {line}", err=True)
    typer.echo(f"{name}: ok, {len(row['tools'])} tools")
    for tool in row["tools"]:
        typer.echo(f"  {tool['name']}  {tool['description'][:100]}")
