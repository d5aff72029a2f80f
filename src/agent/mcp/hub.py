"""The MCP client: one asyncio loop in a background thread owns every server's session.

The SDK is async; the agent loop is not. Each server lives in one task on that loop (the SDK's
context managers must be entered and left by the same task); the agent calls in through
`run_coroutine_threadsafe` and waits with a timeout, so a hung server costs a timeout, not the run.
"""

from __future__ import annotations

import asyncio
import os
import re
import sys
import tempfile
import threading
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from pathlib import Path
from typing import Any

from agent.errors import ToolError, UsageError
from agent.mcp.settings import McpServerConfig

VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
MAX_RESTARTS = 2  # a server that keeps crashing is left down for the rest of the session


class McpServerError(ToolError):
    """An MCP server could not be started, timed out or failed; the message is one line."""


def expand(value: str, where: str, environ: dict[str, str] | None = None) -> str:
    """Replace ${VAR} with the environment's value; an unset variable is a usage error naming it."""
    env = os.environ if environ is None else environ

    def one(match: re.Match[str]) -> str:
        if match.group(1) not in env:
            raise UsageError(f"{where} uses ${{{match.group(1)}}}, which is not set in the environment")
        return env[match.group(1)]

    return VAR.sub(one, value)


class _Server:
    """One configured server: its task on the loop, its SDK client while running, its state."""

    def __init__(self, name: str, config: McpServerConfig, root: Path):
        self.name, self.config, self.root = name, config, root
        self.state = "stopped"  # stopped | running | failed | crashed | disabled
        self.error = ""
        self.client: Any = None
        self.task: asyncio.Task[None] | None = None
        self.stop: asyncio.Event | None = None
        self.starts = 0
        self.errlog: Any = None

    def target(self) -> Any:
        """What the SDK's Client connects to: stdio parameters, or a Streamable HTTP transport."""
        from mcp import StdioServerParameters

        where = f"mcp server {self.name!r}"
        if self.config.command:
            env = {k: expand(v, f"{where} env {k}") for k, v in self.config.env.items()}
            program, *args = self.config.command
            return StdioServerParameters(command=program, args=args, env=env or None, cwd=str(self.root))
        from mcp.client.streamable_http import streamable_http_client
        from mcp.shared._httpx_utils import create_mcp_http_client

        headers = {k: expand(v, f"{where} header {k}") for k, v in self.config.headers.items()}
        return streamable_http_client(str(self.config.url), http_client=create_mcp_http_client(headers=headers))

    def stderr_tail(self) -> str:
        """The last line a stdio server wrote to stderr (for the one-line failure message)."""
        if self.errlog is None:
            return ""
        try:
            self.errlog.flush()
            self.errlog.seek(0)
            lines = [ln.strip() for ln in self.errlog.read()[-4000:].splitlines() if ln.strip()]
        except (OSError, ValueError):
            return ""
        return f" (stderr: {lines[-1][:200]})" if lines else ""


class McpHub:
    """Starts configured servers on demand and calls them synchronously, with timeouts."""

    def __init__(self, servers: dict[str, McpServerConfig], root: Path):
        self.servers = {n: _Server(n, c, root) for n, c in servers.items()}
        for server in self.servers.values():
            if not server.config.enabled:
                server.state = "disabled"
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    # -- the loop thread ----------------------------------------------------------------------

    def _ensure_loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None:
                loop = asyncio.new_event_loop()
                self._thread = threading.Thread(target=loop.run_forever, name="agent-mcp", daemon=True)
                self._thread.start()
                self._loop = loop
            return self._loop

    def _wait(self, coro: Any, timeout: float) -> Any:
        future: Future[Any] = asyncio.run_coroutine_threadsafe(coro, self._ensure_loop())
        try:
            return future.result(timeout)
        except (FutureTimeout, KeyboardInterrupt):
            future.cancel()
            raise

    # -- servers ------------------------------------------------------------------------------

    def server(self, name: str) -> _Server:
        """The named server, or a usage error listing the configured ones."""
        if name not in self.servers:
            known = ", ".join(self.servers) or "none configured"
            raise UsageError(f"no MCP server named {name!r} (servers: {known})")
        return self.servers[name]

    def start(self, name: str) -> _Server:
        """Start the server if it is not running; raise McpServerError with one line if it cannot."""
        server = self.server(name)
        if server.state == "running":
            return server
        if server.state == "disabled":
            raise McpServerError(f"mcp server {name!r} is disabled (mcp.servers.{name}.enabled = false)")
        if server.starts > MAX_RESTARTS:
            raise McpServerError(f"mcp server {name!r} is down: {server.error}")
        server.starts += 1
        timeout = server.config.start_timeout_s
        try:
            self._wait(self._start(server), timeout + 5)
        except (FutureTimeout, TimeoutError):
            self._fail(server, f"did not start within {timeout:g}s{server.stderr_tail()}")
        except UsageError as exc:
            server.state, server.error = "failed", str(exc)
            raise McpServerError(str(exc)) from None
        except Exception as exc:  # the SDK raises OSError, MCPError, exception groups...
            self._fail(server, f"failed to start: {_describe(exc)}{server.stderr_tail()}")
        return server

    def _fail(self, server: _Server, why: str) -> None:
        server.state, server.error = "failed", why
        self._stop_quietly(server)
        raise McpServerError(f"mcp server {server.name!r} {why}")

    async def _start(self, server: _Server) -> None:
        loop = asyncio.get_running_loop()
        ready: asyncio.Future[None] = loop.create_future()
        server.stop = asyncio.Event()
        server.task = loop.create_task(self._serve(server, ready))
        try:
            await asyncio.wait_for(asyncio.shield(ready), server.config.start_timeout_s)
        except BaseException:
            server.task.cancel()
            raise
        server.state, server.error = "running", ""

    async def _serve(self, server: _Server, ready: asyncio.Future[None]) -> None:
        from mcp import Client
        from mcp.types import Implementation

        from agent import __version__

        try:
            target = server.target()
            if server.config.command:
                server.errlog = tempfile.TemporaryFile("w+", encoding="utf-8", errors="replace")
                target = _StdioTarget(target, server.errlog)
            info = Implementation(name="agent", version=__version__)
            async with Client(target, client_info=info, read_timeout_seconds=server.config.call_timeout_s) as client:
                server.client = client
                ready.set_result(None)
                await server.stop.wait()  # type: ignore[union-attr]
        except BaseException as exc:
            if not ready.done():
                ready.set_exception(exc if isinstance(exc, Exception) else RuntimeError(str(exc)))
            elif server.state == "running":
                server.state, server.error = "crashed", _describe(exc)
            if not isinstance(exc, Exception):
                raise
        finally:
            server.client = None

    def call(self, name: str, coro_of: Any, timeout: float | None = None) -> Any:
        """Run `coro_of(client)` on the running server (starting it first); one-line errors."""
        server = self.start(name)
        timeout = timeout or server.config.call_timeout_s
        try:
            return self._wait(_with_timeout(coro_of(server.client), timeout), timeout + 5)
        except (FutureTimeout, TimeoutError):
            raise McpServerError(f"mcp server {name!r} did not answer within {timeout:g}s") from None
        except Exception as exc:
            if _closed(exc):
                server.state, server.error = "crashed", f"exited{server.stderr_tail()}"
                self._stop_quietly(server)
                raise McpServerError(
                    f"mcp server {name!r} crashed during the call{server.stderr_tail()}; it restarts on its next use"
                ) from None
            raise McpServerError(f"mcp server {name!r}: {_describe(exc)}") from None

    def _stop_quietly(self, server: _Server) -> None:
        if self._loop is None or server.task is None:
            return
        try:
            self._wait(self._stop(server), 10)
        except Exception:  # stopping is best effort: the process is gone or will be at exit
            pass

    async def _stop(self, server: _Server) -> None:
        if server.stop is not None:
            server.stop.set()
        task, server.task = server.task, None
        if task is not None:
            try:
                await asyncio.wait_for(task, 5)
            except BaseException:  # noqa: S110 - a server that will not stop is cancelled
                task.cancel()

    def close(self) -> None:
        """Stop every running server (they start again on their next use)."""
        for server in self.servers.values():
            if server.task is not None:
                self._stop_quietly(server)
                if server.state == "running":
                    server.state = "stopped"
            if server.errlog is not None:
                server.errlog.close()
                server.errlog = None


class _StdioTarget:
    """The SDK's stdio transport with the server's stderr sent to a file instead of ours."""

    def __init__(self, params: Any, errlog: Any):
        self.params, self.errlog = params, errlog

    def __getattr__(self, name: str) -> Any:
        raise AttributeError(name)

    async def __aenter__(self) -> Any:
        from mcp.client.stdio import stdio_client

        self._cm = stdio_client(self.params, errlog=self.errlog)
        return await self._cm.__aenter__()

    async def __aexit__(self, *exc: Any) -> Any:
        return await self._cm.__aexit__(*exc)


async def _with_timeout(coro: Any, timeout: float) -> Any:
    return await asyncio.wait_for(coro, timeout)


def _closed(exc: BaseException) -> bool:
    text = _describe(exc).lower()
    return "connection closed" in text or "closed" in text and "stream" in text


def _describe(exc: BaseException) -> str:
    """One line for an SDK error, unwrapping exception groups."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    text = " ".join(str(exc).split()) or type(exc).__name__
    if isinstance(exc, FileNotFoundError):
        text = f"command not found: {exc.filename or text}"
    return text[:300]


def default_notice(line: str) -> None:
    """Tell the user about a server problem outside any run event (one line on stderr)."""
    sys.stderr.write(f"agent: warning: {line}\n")
    sys.stderr.flush()
