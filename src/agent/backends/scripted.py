"""ScriptedBackend: replays scripted replies. A real backend for tests and demos."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from agent.errors import BackendError, UsageError
from agent.protocols import Capabilities, Message, Reply, ToolCall


class ScriptedBackend:
    """Returns the given replies in order; running out is an error, never a hang.

    Each reply is {"content": str, "tool_calls": [{"name": str, "arguments": {...} | "raw json"}]}.
    Arguments given as a string are parsed like a model's raw output, so malformed JSON can be scripted;
    "finish_reason": "length" scripts a reply cut at the output limit.
    """

    name = "scripted"

    def __init__(self, replies: list[dict[str, Any]], tokens_per_reply: int = 0, vision: bool = False):
        self.replies = list(replies)
        self.position = 0
        self.tokens_per_reply = tokens_per_reply
        self.vision = vision  # backend.vision = true: tool results' images are kept in the messages it sees
        self.seen: list[list[Message]] = []  # the messages each call received, for inspection

    def capabilities(self) -> Capabilities:
        """A scripted model has no window of its own; it streams each reply's content as one delta."""
        return Capabilities(native_tools=True, streaming=True, vision=self.vision)

    @classmethod
    def from_file(cls, path: Path, vision: bool = False) -> ScriptedBackend:
        """Load replies from a JSON list file."""
        try:
            replies = json.loads(path.read_text())
        except FileNotFoundError:
            raise UsageError(f"scripted replies file not found: {path}") from None
        except (OSError, ValueError) as exc:
            raise UsageError(f"cannot read scripted replies {path}: {exc}") from exc
        if not isinstance(replies, list) or not all(isinstance(r, dict) for r in replies):
            raise UsageError(f"{path}: expected a JSON list of reply objects")
        return cls(replies, vision=vision)

    def resume_at(self, calls: int) -> None:
        """Go on with a resumed run: the first `calls` replies were used before it stopped."""
        self.position = calls

    def complete(
        self, messages: list[Message], tools: list[dict[str, Any]], on_text: Callable[[str], None] | None = None
    ) -> Reply:
        """Return the next scripted reply."""
        self.seen.append([dict(m) for m in messages])
        if self.position >= len(self.replies):
            raise BackendError(f"scripted backend ran out of replies after {len(self.replies)}")
        raw = self.replies[self.position]
        self.position += 1
        content = str(raw.get("content") or "")
        if on_text and content:
            on_text(content)
        listed = raw.get("tool_calls") or []
        listed = listed if isinstance(listed, list) else [listed]
        calls = [_tool_call(f"call_{self.position}_{i}", c) for i, c in enumerate(listed)]
        tokens_in = sum(len(str(m.get("content") or "")) for m in messages) // 4
        return Reply(content, calls, tokens_in, max(len(content) // 4, 1) + self.tokens_per_reply,
                     _cost(raw.get("cost_usd")), finish_reason=str(raw.get("finish_reason") or ""))


def _cost(value: Any) -> float:
    try:
        return float(value or 0.0)
    except (TypeError, ValueError):
        return 0.0


def _tool_call(call_id: str, raw: Any) -> ToolCall:
    if not isinstance(raw, dict):
        return ToolCall(call_id, "", {}, f"tool call is not an object: {raw!r}")
    name = raw.get("name", "")
    name = name if isinstance(name, str) else str(name)
    args = raw.get("arguments", {})
    if isinstance(args, str):
        try:
            args = json.loads(args)
        except (ValueError, RecursionError) as exc:
            return ToolCall(call_id, name, {}, f"arguments are not valid JSON: {exc}")
    if not isinstance(args, dict):
        return ToolCall(call_id, name, {}, "arguments must be a JSON object")
    return ToolCall(call_id, name, args)
