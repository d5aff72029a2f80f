"""The small interfaces the core is written against."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

Message = dict[str, Any]
"""An OpenAI-style chat message: role, content, and tool_calls / tool_call_id."""

Event = dict[str, Any]
"""A loop event: always has "type"; the session adds "run_id" and "ts"."""

EventSink = Callable[[Event], None]


@dataclass
class ToolCall:
    """One tool call requested by the model; `error` is set when it could not be parsed."""

    id: str
    name: str
    arguments: dict[str, Any] = field(default_factory=dict)
    error: str | None = None


@dataclass
class Reply:
    """What a backend returns for one completion."""

    content: str = ""
    tool_calls: list[ToolCall] = field(default_factory=list)
    tokens_in: int = 0
    tokens_out: int = 0
    cost_usd: float = 0.0
    prompt_tokens_evaluated: int | None = None  # llama.cpp: prompt tokens not served from the KV cache
    finish_reason: str = ""  # stop | tool_calls | length (cut at the output limit) | ...
    thinking_blocks: list[dict[str, Any]] | None = None  # Claude thinking, sent back verbatim next turn
    cache_read_tokens: int = 0  # prompt tokens served from the provider's cache (part of tokens_in)
    cache_write_tokens: int = 0  # prompt tokens written to the provider's cache (part of tokens_in)


@runtime_checkable
class Backend(Protocol):
    """A model: turns messages and tool schemas into a reply."""

    name: str

    def complete(
        self,
        messages: list[Message],
        tools: list[dict[str, Any]],
        on_text: Callable[[str], None] | None = None,
    ) -> Reply:
        """Return the model's next reply; stream text through `on_text` when given."""
        ...


@runtime_checkable
class MemoryStore(Protocol):
    """Durable notes the loop can recall and write."""

    def recall(self, query: str, k: int = 5) -> list[dict[str, Any]]:
        """Return the notes most relevant to `query`, each labelled fresh/stale/orphaned."""
        ...

    def remember(self, text: str, anchors: list[str], tags: list[str], source: str = "agent") -> str:
        """Store a note (or update a near-duplicate) and return its id."""
        ...

    def forget(self, note_id: str) -> None:
        """Delete a note."""
        ...
