"""Chat sessions on disk: <repo>/.agent/sessions/<id>.json (format-versioned), and the input history file."""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agent.atomic import atomic_write_text
from agent.errors import StoreError
from agent.trajectory import agent_dir, new_run_id

if TYPE_CHECKING:
    from agent.chat.conversation import Conversation

FORMAT_VERSION = 2  # 2: undo records hold the agent's edits by content (1: work-tree snapshots)
new_session_id = new_run_id  # the same sortable, unique ids


@dataclass
class ChatState:
    """What a chat saves and resumes: its history, the files in it, its totals and its undo records."""

    messages: list[dict[str, Any]]
    turn_starts: list[int] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    tokens_in: int = 0
    tokens_out: int = 0
    tokens_cached: int = 0  # prompt tokens the provider served from its cache (part of tokens_in)
    cost_usd: float = 0.0
    notes_recalled: int = 0
    undo_stack: list[dict[str, Any]] = field(default_factory=list)
    memory_shown: list[str] = field(default_factory=list)  # notes already in the messages: not recalled again

    @classmethod
    def of(cls, conv: Conversation) -> ChatState:
        """The state of a live conversation."""
        shown = sorted(conv.ws.memory.shown) if conv.ws.memory is not None else []
        return cls(conv.messages, conv.turn_starts, conv.files, conv.tokens_in, conv.tokens_out, conv.tokens_cached,
                   conv.cost_usd, conv.notes_recalled, conv.undo_stack, shown)

    def to_dict(self) -> dict[str, Any]:
        """The fields as saved (JSON-ready)."""
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ChatState:
        """A saved state; absent fields get their defaults, unknown keys are ignored."""
        if not isinstance(data.get("messages"), list):
            raise StoreError("the session has no message list")
        return cls(**{f.name: data[f.name] for f in fields(cls) if f.name in data})

    def apply(self, conv: Conversation) -> None:
        """Put this state into a conversation (its system prompt is kept: it is rebuilt for this session)."""
        system = conv.messages[0]
        conv.messages, conv.turn_starts, conv.files = self.messages, self.turn_starts, self.files
        conv.tokens_in, conv.tokens_out, conv.tokens_cached = self.tokens_in, self.tokens_out, self.tokens_cached
        conv.cost_usd, conv.notes_recalled, conv.undo_stack = self.cost_usd, self.notes_recalled, self.undo_stack
        conv.messages[0] = system
        conv.in_play.update(conv.files)
        if conv.ws.memory is not None:
            conv.ws.memory.shown.update(self.memory_shown)


def sessions_dir(root: Path) -> Path:
    """Where sessions live (kept out of git by `.agent/.gitignore`)."""
    path = agent_dir(root) / "sessions"
    path.mkdir(exist_ok=True)
    return path


def history_path(root: Path) -> Path:
    """The REPL's input history for this repository."""
    return sessions_dir(root) / "history.txt"


def save_session(conv: Conversation) -> Path:
    """Write the conversation's state atomically; return the file."""
    data: dict[str, Any] = {
        "format": FORMAT_VERSION,
        "id": conv.id,
        "model": conv.backend.name,
        "updated": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    data.update(ChatState.of(conv).to_dict())
    path = sessions_dir(conv.root) / f"{conv.id}.json"
    atomic_write_text(path, json.dumps(data, indent=1, default=str))
    return path


def list_sessions(root: Path) -> list[Path]:
    """Saved session files, oldest first."""
    return sorted(sessions_dir(root).glob("*.json"), key=lambda p: (p.stat().st_mtime, p.name))


def latest_session(root: Path) -> Path | None:
    """The most recently saved session file, if any."""
    files = list_sessions(root)
    return files[-1] if files else None


def find_session(root: Path, wanted: str) -> Path:
    """The session whose id is `wanted` or starts with it; StoreError when none or several match."""
    found = [p for p in list_sessions(root) if p.stem.startswith(wanted)]
    if len(found) != 1:
        what = "no saved session" if not found else f"{len(found)} sessions"
        raise StoreError(f"{what} with id {wanted!r}: /resume lists them")
    return found[0]


def describe(path: Path) -> str:
    """One line for a saved session: id, turns, the first request (read without the heavy modules)."""
    try:
        data = json.loads(path.read_text())
        first = next((m["content"] for m in data["messages"] if m.get("role") == "user"), "")
        request = first.rsplit("\n\n", 1)[-1].strip().replace("\n", " ")
        return f"{data['id']}  {len(data['turn_starts'])} turns  {data.get('updated', '')}  {request[:60]}"
    except (OSError, ValueError, KeyError, TypeError):
        return f"{path.stem}  (unreadable)"


def recap(messages: list[dict[str, Any]], turns: int = 3) -> list[tuple[str, str]]:
    """The last `turns` requests and answers of a conversation, as (role, text) for showing on resume."""
    said = [(m["role"], str(m.get("content") or "")) for m in messages if m.get("role") in ("user", "assistant")]
    said = [(r, t.rsplit("\n\n", 1)[-1] if r == "user" else t) for r, t in said if t.strip()]
    users = [i for i, (r, _) in enumerate(said) if r == "user"]
    return said[users[-turns] if len(users) >= turns else 0 :]


def resume_line(root: Path) -> str:
    """One line about the session --resume will continue, read without the heavy modules."""
    path = latest_session(root)
    if path is None:
        return "no saved session to resume: starting a new one\n"
    try:
        data = json.loads(path.read_text())
        return (
            f"resuming session {data['id']}: {len(data['turn_starts'])} turns, {len(data['files'])} files in context\n"
        )
    except (OSError, ValueError, KeyError, TypeError):
        return f"resuming {path.name}\n"


def read_session(path: Path) -> dict[str, Any]:
    """Load a session file; an unknown format or a damaged file raises StoreError."""
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise StoreError(f"cannot read session {path.name}: {exc}") from exc
    if isinstance(data, dict) and data.get("format") == 1:  # its undo records diffed whole trees: unsafe to replay
        data.update(format=FORMAT_VERSION, undo_stack=[])
    if not isinstance(data, dict) or data.get("format") != FORMAT_VERSION:
        raise StoreError(
            f"session {path.name} has format {data.get('format') if isinstance(data, dict) else '?'}; "
            f"this agent reads format {FORMAT_VERSION}"
        )
    return data


def restore(conv: Conversation, data: dict[str, Any]) -> None:
    """Put a saved session's state into a fresh conversation (the system prompt is rebuilt)."""
    ChatState.from_dict(data).apply(conv)
    conv.id = data["id"]
