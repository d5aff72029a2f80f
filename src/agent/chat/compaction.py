"""Compaction of a conversation that nears the model's context limit.

Older turns are summarised by the model (prompts/compact.j2); the latest turns, and so the user's latest
request, are kept verbatim. Rules the user stated that should outlast the session are saved to memory.
When there is no older turn to summarise, old tool output inside the kept turns is folded instead.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from agent.prompts import render
from agent.protocols import Message

if TYPE_CHECKING:
    from agent.chat.conversation import Conversation

TRANSCRIPT_CHARS = 2000  # per message, in the transcript the model summarises
FOLD_KEEP_CHARS = 300
FOLD_LAST_MESSAGES = 4


@dataclass
class Compaction:
    """What a compaction did: the parts dropped (for the user), the summary, notes saved."""

    dropped: list[str]
    summary: str
    tokens_before: int
    tokens_after: int
    remembered: list[str] = field(default_factory=list)
    tokens_in: int = 0
    tokens_out: int = 0
    cost_usd: float = 0.0

    def as_event(self) -> dict[str, Any]:
        """The `compacted` event's fields."""
        return {
            "dropped": self.dropped,
            "summary": self.summary,
            "tokens_before": self.tokens_before,
            "tokens_after": self.tokens_after,
            "remembered": self.remembered,
        }


def estimate_tokens(messages: list[Message]) -> int:
    """About 4 characters a token, counting content and tool-call arguments."""
    chars = 0
    for m in messages:
        chars += len(str(m.get("content") or ""))
        chars += sum(len(json.dumps(c)) for c in m.get("tool_calls") or [])
    return chars // 4


def transcript(messages: list[Message]) -> str:
    """A readable, capped rendering of messages for the summariser."""
    lines = []
    for m in messages:
        text = str(m.get("content") or "")
        if len(text) > TRANSCRIPT_CHARS:
            text = text[:TRANSCRIPT_CHARS] + f" [... {len(text) - TRANSCRIPT_CHARS} characters cut]"
        calls = [f"{c['function']['name']}({c['function']['arguments'][:300]})" for c in m.get("tool_calls") or []]
        lines.append(f"[{m['role']}] {text}" + (f" -> calls {'; '.join(calls)}" if calls else ""))
    return "\n".join(lines)


def describe_turns(messages: list[Message], starts: list[int], end: int) -> list[str]:
    """One line per turn in messages[:end]: the request's first line and how many steps it took."""
    out = []
    bounds = [s for s in starts if s < end] + [end]
    for a, b in zip(bounds, bounds[1:], strict=False):
        request = str(messages[a].get("content") or "").strip().splitlines()
        calls = sum(len(m.get("tool_calls") or []) for m in messages[a:b])
        out.append(f"turn: {(request[-1] if request else '')[:80]!r} ({b - a} messages, {calls} tool calls)")
    return out


def compact_messages(conv: Conversation, keep_turns: int) -> Compaction:
    """Compact `conv.messages` in place; raise AgentError when the summariser fails (nothing changed)."""
    before = conv.context_tokens()
    starts = conv.turn_starts
    if len(starts) <= keep_turns:
        return _fold_tool_output(conv, before)
    cut = starts[-keep_turns]
    old = conv.messages[1:cut]
    dropped = ([] if starts[0] == 1 else ["earlier summary"]) + describe_turns(conv.messages, starts, cut)
    prompt = render("compact", transcript=transcript(old), max_words=400)
    reply = conv.backend.complete([{"role": "user", "content": prompt}], [])
    summary, lasting = split_lasting(reply.content)
    remembered = _remember(conv, lasting)
    conv.messages[1:cut] = [{"role": "user", "content": render("chat_summary", summary=summary)}]
    conv.turn_starts = [s - cut + 2 for s in starts if s >= cut]
    return Compaction(
        dropped, summary, before, conv.context_tokens(), remembered, reply.tokens_in, reply.tokens_out, reply.cost_usd
    )


def split_lasting(text: str) -> tuple[str, list[str]]:
    """Split the summariser's reply into the summary and its `LASTING:` lines."""
    keep, lasting = [], []
    for line in text.strip().splitlines():
        stripped = line.strip().lstrip("-* ")
        if stripped.upper().startswith("LASTING:"):
            if stripped[8:].strip():
                lasting.append(stripped[8:].strip())
        else:
            keep.append(line)
    return "\n".join(keep).strip(), lasting


def _remember(conv: Conversation, lasting: list[str]) -> list[str]:
    if conv.ws.memory is None:
        return []
    from agent.errors import AgentError

    saved = []
    for text in lasting:
        try:
            conv.ws.memory.remember(text, [], ["chat", "constraint"], source="agent")
            saved.append(text)
        except AgentError:
            continue
    return saved


def _fold_tool_output(conv: Conversation, before: int) -> Compaction:
    """Shorten the output of older tool calls; the last few messages stay whole."""
    dropped = []
    names = {c["id"]: c["function"]["name"] for m in conv.messages for c in m.get("tool_calls") or []}
    for m in conv.messages[1:-FOLD_LAST_MESSAGES]:
        text = str(m.get("content") or "")
        if m.get("role") == "tool" and len(text) > 2 * FOLD_KEEP_CHARS:
            m["content"] = text[:FOLD_KEEP_CHARS] + "\n" + render("folded_output", chars=len(text) - FOLD_KEEP_CHARS)
            dropped.append(
                f"output of {names.get(m.get('tool_call_id'), 'a tool')} ({len(text) - FOLD_KEEP_CHARS} characters)"
            )
    return Compaction(dropped, "", before, conv.context_tokens())
