"""Warnings from a session's parts (MCP servers, plugins) as `warning` events in the front end's stream.

A session is built before its run or chat has an event stream, so warnings are held until a front end
binds one (Session.run binds the run's: events.jsonl and `--json`; chat binds a dim line); any still held
at exit are written to stderr, one line each, as they were before a stream existed.
"""

from __future__ import annotations

import atexit
import sys
from collections.abc import Callable

from agent.protocols import Event, EventSink
from agent.redact import redact


class Notices:
    """Warning lines by source; delivered to the bound sink, held while there is none."""

    def __init__(self) -> None:
        self.sink: EventSink | None = None
        self.held: list[Event] = []
        atexit.register(self.flush)

    def of(self, source: str) -> Callable[[str], None]:
        """A one-argument notice function for one source (mcp, plugin)."""
        return lambda line: self.warn(source, line)

    def warn(self, source: str, line: str) -> None:
        """Report one warning line (redacted: a server's stderr may quote a secret)."""
        event: Event = {"type": "warning", "source": source, "message": redact(" ".join(line.split()))}
        if self.sink is None:
            self.held.append(event)
        else:
            self.sink(event)

    def bind(self, sink: EventSink | None) -> None:
        """Send warnings to `sink` from now on (the held ones first); None holds them again."""
        self.sink = sink
        held, self.held = (self.held, []) if sink is not None else ([], self.held)
        for event in held:
            sink(event)  # type: ignore[misc]

    def flush(self) -> None:
        """Write the held warnings to stderr (no front end took them)."""
        held, self.held = self.held, []
        for event in held:
            sys.stderr.write(f"agent: warning: {event['message']}\n")
        sys.stderr.flush()
