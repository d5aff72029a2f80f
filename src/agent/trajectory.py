"""A run's trajectory on disk: .agent/runs/<id>/events.jsonl (written as it goes) and summary.json."""

from __future__ import annotations

import json
import secrets
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from agent.atomic import atomic_write_text
from agent.protocols import Event

FORMAT_VERSION = 1


def new_run_id() -> str:
    """A sortable, unique run id such as 20261122-184455-3f9a."""
    return datetime.now(UTC).strftime("%Y%m%d-%H%M%S-") + secrets.token_hex(2)


def runs_dir(root: Path) -> Path:
    """Where runs live; `.agent/.gitignore` keeps them out of the user's git status."""
    agent_dir = root / ".agent"
    agent_dir.mkdir(exist_ok=True)
    ignore = agent_dir / ".gitignore"
    if not ignore.exists():
        atomic_write_text(ignore, "# written by agent: run logs and caches are local\nruns/\ncache/\n")
    return agent_dir / "runs"


class Trajectory:
    """Appends stamped events to events.jsonl, one flushed line each, so a killed run leaves a readable log."""

    def __init__(self, root: Path, run_id: str):
        self.run_id = run_id
        self.dir = runs_dir(root) / run_id
        self.dir.mkdir(parents=True, exist_ok=False)
        self._fh = (self.dir / "events.jsonl").open("a", encoding="utf-8")

    def stamp(self, event: Event) -> Event:
        """Add run_id and ts (Unix seconds) to an event."""
        return {"type": event["type"], "run_id": self.run_id, "ts": round(time.time(), 3), **event}

    def write(self, event: Event) -> None:
        """Append one already-stamped event."""
        self._fh.write(json.dumps(event, default=str) + "\n")
        self._fh.flush()

    def finish(self, summary: dict[str, Any]) -> None:
        """Write summary.json and close the log."""
        atomic_write_text(self.dir / "summary.json", json.dumps({"format": FORMAT_VERSION, **summary}, indent=2, default=str))
        self._fh.close()


def read_events(run_dir: Path) -> list[Event]:
    """Read a run's events, ignoring a torn last line left by a kill."""
    events = []
    for line in (run_dir / "events.jsonl").read_text(encoding="utf-8").splitlines():
        try:
            events.append(json.loads(line))
        except ValueError:
            break
    return events
