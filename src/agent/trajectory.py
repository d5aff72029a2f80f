"""A run's trajectory on disk: .agent/runs/<id>/events.jsonl (written as it goes) and summary.json."""

from __future__ import annotations

import json
import os
import secrets
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from agent.atomic import atomic_write_text
from agent.protocols import Event
from agent.redact import redact_obj

FORMAT_VERSION = 1
# .agent/.gitignore: what stays local. It ignores itself too, so a repo with no notes shows nothing new in
# `git status`; notes in .agent/memory/ are not ignored and can be committed.
LOCAL_ONLY = "# written by agent\nruns/\ncache/\nsessions/\nworktrees/\n.gitignore\n"


def new_run_id() -> str:
    """A sortable, unique run id such as 20261122-184455-3f9a."""
    return datetime.now(UTC).strftime("%Y%m%d-%H%M%S-") + secrets.token_hex(2)


def agent_dir(root: Path) -> Path:
    """The repo's .agent/ folder, whose .gitignore keeps runs, sessions, caches and worktrees out of git."""
    folder = root / ".agent"
    folder.mkdir(exist_ok=True)
    ignore = folder / ".gitignore"
    text = ignore.read_text() if ignore.exists() else ""
    missing = [line for line in LOCAL_ONLY.splitlines()[1:] if line not in text.split()]
    if missing:  # a file from an older version, or none yet
        head = text.rstrip("\n") + "\n" if text else LOCAL_ONLY.splitlines()[0] + "\n"
        atomic_write_text(ignore, head + "\n".join(missing) + "\n")
    return folder


def runs_dir(root: Path) -> Path:
    """Where runs live."""
    return agent_dir(root) / "runs"


def allocate_run_id(root: Path) -> str:
    """A new run id whose directory this call created, so parallel runs never share one."""
    base = runs_dir(root)
    base.mkdir(exist_ok=True)
    while True:
        run_id = new_run_id()
        try:
            (base / run_id).mkdir()
            return run_id
        except FileExistsError:
            continue


EVENT_CHARS = 256_000  # what one logged event may hold; longer strings in it keep their head and tail


def cap_event(event: Any, limit: int = EVENT_CHARS) -> Any:
    """`event` with its long strings cut to head and tail when its JSON would pass `limit` characters."""
    if len(json.dumps(event, default=str)) <= limit:
        return event
    return _cap_strings(event, limit // 8)


def _cap_strings(value: Any, limit: int) -> Any:
    if isinstance(value, str) and len(value) > limit:
        half = limit // 2
        return f"{value[:half]}\n... [{len(value) - limit} characters cut from the log] ...\n{value[-half:]}"
    if isinstance(value, dict):
        return {k: _cap_strings(v, limit) for k, v in value.items()}
    if isinstance(value, list):
        return [_cap_strings(v, limit) for v in value]
    return value


class Trajectory:
    """Appends stamped events to events.jsonl, one flushed line each, so a killed run leaves a readable log."""

    def __init__(self, root: Path, run_id: str, append: bool = False):
        self.run_id = run_id
        self.dir = runs_dir(root) / run_id
        self.dir.mkdir(parents=True, exist_ok=True)
        # "x": a fresh run never writes into another run's log; "a": a resumed run goes on in its own
        self._fh = (self.dir / "events.jsonl").open("a" if append else "x", encoding="utf-8")
        # pid + start time: lets `agent runs` tell a running run from a killed one
        atomic_write_text(self.dir / "pid.json", json.dumps(process_token()))

    def stamp(self, event: Event) -> Event:
        """Add run_id and ts (Unix seconds) to an event."""
        return {"type": event["type"], "run_id": self.run_id, "ts": round(time.time(), 3), **event}

    def write(self, event: Event, redacted: bool = False) -> None:
        """Append one already-stamped event, secrets redacted (`redacted`: the caller did it)."""
        self._fh.write(json.dumps(event if redacted else redact_obj(event), default=str) + "\n")
        self._fh.flush()

    def finish(self, summary: dict[str, Any]) -> None:
        """Write summary.json and close the log."""
        text = json.dumps(redact_obj({"format": FORMAT_VERSION, **summary}), indent=2, default=str)
        atomic_write_text(self.dir / "summary.json", text)
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


class Checkpoint:
    """checkpoint.json: the messages and counters after each finished step, so a killed run can resume."""

    def __init__(self, run_dir: Path, messages: list[Any], agent: Any, extra: dict[str, Any] | None = None,
                 shown: set[str] | None = None):
        self.path, self.messages, self.agent, self.extra = run_dir / "checkpoint.json", messages, agent, extra or {}
        self.clean: dict[str, Any] = {}  # a message as JSON -> redacted, so each is redacted once per run
        self.shown = shown  # ids of the memory notes already in the messages (MemoryStore.shown), if any
        self.pending: list[dict[str, Any]] = []  # this step's tool results not yet in `messages`

    def restore(self, saved: dict[str, Any], backend: Any) -> None:
        """Carry the saved counters (and the notes already shown) into the agent; a replaying backend skips
        the replies already used."""
        for key in ("steps", "tokens_in", "tokens_out", "cost_usd"):
            setattr(self.agent, key, saved[key])
        if self.shown is not None:
            self.shown.update(str(i) for i in saved.get("memory_shown", []))
        if hasattr(backend, "resume_at"):
            backend.resume_at(saved["steps"])

    def on_event(self, event: Event) -> None:
        """Save at the start of each step (the previous one is complete), at the end of the run, and within a step
        after the model's reply and each tool result (a resumed run never replays a call that ran)."""
        kind = event["type"]
        if kind == "step_started":
            self.pending = []
        elif kind == "tool_result":  # its tool message is appended once the call returns: keep it until then
            self.pending.append({"role": "tool", "tool_call_id": event["id"], "content": event["output"]})
        if kind in ("step_started", "run_finished", "model_reply", "tool_result"):
            a = self.agent
            steps = event["step"] - 1 if kind == "step_started" else a.steps
            answered = {m.get("tool_call_id") for m in self.messages if m.get("role") == "tool"}
            late = [m for m in self.pending if m["tool_call_id"] not in answered] if kind != "run_finished" else []
            state = {"format": FORMAT_VERSION, **self.extra, "steps": steps, "tokens_in": a.tokens_in,
                     "tokens_out": a.tokens_out, "cost_usd": a.cost_usd,
                     "messages": self._redacted() + [redact_obj(m) for m in late]}
            if self.shown is not None:
                state["memory_shown"] = sorted(self.shown)
            atomic_write_text(self.path, json.dumps(state, default=str))

    def _redacted(self) -> list[Any]:
        """The messages with secrets redacted (images' data kept as it is)."""
        out = []
        for message in self.messages:
            key = json.dumps(message, sort_keys=True, default=str)
            if key not in self.clean:
                self.clean[key] = redact_obj(message, keep=frozenset({"images"}))
            out.append(self.clean[key])
        return out


def answer_unfinished(messages: list[Any], in_flight: dict[str, Any]) -> None:
    """On --resume from within a step: a tool message for each call of the last reply that has none, saying
    whether it finished (`in_flight`: the intent record of the call in flight when the run stopped) or never ran."""
    from agent.prompts import render

    last = next((i for i in range(len(messages) - 1, -1, -1) if messages[i].get("role") == "assistant"), None)
    if last is None:
        return
    answered = {m.get("tool_call_id") for m in messages[last + 1:] if m.get("role") == "tool"}
    for call in messages[last].get("tool_calls") or []:
        if call["id"] in answered:
            continue
        if call["id"] == in_flight.get("call"):
            state = "done" if in_flight.get("kind") == "done" else "interrupted"
        else:
            state = "not_run"
        messages.append({"role": "tool", "tool_call_id": call["id"], "content": render("resumed_call", state=state)})


def load_checkpoint(run_dir: Path) -> dict[str, Any]:
    """The last checkpoint of a run; StoreError when there is none or its format is unknown."""
    from agent.errors import StoreError

    try:
        saved = json.loads((run_dir / "checkpoint.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise StoreError(f"run {run_dir.name} has no readable checkpoint: {exc}") from exc
    if saved.get("format") != FORMAT_VERSION:
        raise StoreError(f"run {run_dir.name}: checkpoint format {saved.get('format')} is not supported")
    return saved


def _proc_stat(pid: int) -> list[str] | None:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def process_token(pid: int | None = None) -> dict[str, Any]:
    """A process id with its start time (Linux), so a reused pid is not mistaken for the run."""
    pid = os.getpid() if pid is None else pid
    stat = _proc_stat(pid)
    return {"pid": pid, "start": stat[19] if stat else None}


def process_alive(token: dict[str, Any]) -> bool:
    """True while the process in `token` runs (zombies and reused pids count as gone)."""
    stat = _proc_stat(int(token["pid"]))
    if stat is not None:
        return stat[0] not in ("Z", "X") and (token.get("start") is None or stat[19] == token["start"])
    try:
        os.kill(int(token["pid"]), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return not Path("/proc/self").exists()
