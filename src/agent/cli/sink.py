"""Where a headless run's events go: JSON Lines on stdout, or the human renderer."""

from __future__ import annotations

import json
import sys
from typing import Any

from agent.protocols import EventSink


def event_sink(as_json: bool) -> EventSink:
    """JSON Lines on stdout (`--json`), or the rich renderer (imported only then)."""
    if as_json:
        return print_json
    from agent.cli.render import EventPrinter

    return EventPrinter()


def print_json(event: dict[str, Any]) -> None:
    """One event as one line of JSON (text deltas are left out)."""
    if event["type"] != "text_delta":
        sys.stdout.write(json.dumps(event, default=str) + "\n")
        sys.stdout.flush()
