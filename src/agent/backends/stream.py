"""Reading a litellm stream: text deltas out as they come, tool calls assembled by index (ids or not)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from agent.backends.retry import DroppedStream


@dataclass
class StreamedCalls:
    """Tool calls put together from deltas; a call without an id gets a unique one."""

    calls: dict[int, dict[str, Any]] = field(default_factory=dict)

    def add(self, delta: Any, order: int) -> None:
        """Merge one tool-call delta (OpenAI shape: index, id, function.name, function.arguments)."""
        index = getattr(delta, "index", None)
        index = index if isinstance(index, int) else order
        call = self.calls.setdefault(index, {"id": "", "name": "", "arguments": ""})
        if getattr(delta, "id", None):
            call["id"] = delta.id
        function = getattr(delta, "function", None)
        if function is not None:
            if getattr(function, "name", None):
                call["name"] = function.name
            args = getattr(function, "arguments", None)
            if isinstance(args, dict):
                args = json.dumps(args)
            if args:
                call["arguments"] += args

    def as_list(self) -> list[dict[str, Any]]:
        """The calls (id, name, raw arguments), ids made unique."""
        out, seen = [], set()
        for n, index in enumerate(sorted(self.calls)):
            call = self.calls[index]
            call_id = call["id"] if call["id"] and call["id"] not in seen else f"call_{n}_{call['name'] or 'tool'}"
            seen.add(call_id)
            out.append({"id": call_id, "name": call["name"], "arguments": call["arguments"]})
        return out


class StreamedThinking:
    """Claude thinking blocks from deltas; litellm's signature delta repeats the whole text, so it replaces it."""

    def __init__(self) -> None:
        self.blocks: list[dict[str, Any]] = []
        self.open = ""

    def add(self, block: Any) -> None:
        """Merge one thinking-block delta."""
        block = dict(block) if not isinstance(block, dict) else block
        if block.get("type") == "redacted_thinking":
            self.blocks.append(block)
        elif block.get("signature"):
            self.blocks.append({"type": "thinking", "thinking": block.get("thinking") or self.open,
                                "signature": block["signature"]})
            self.open = ""
        else:
            self.open += block.get("thinking") or ""

    def result(self) -> list[dict[str, Any]] | None:
        """The complete blocks (an unsigned tail is kept as text, as the provider sent it)."""
        tail = [{"type": "thinking", "thinking": self.open}] if self.open else []
        return (self.blocks + tail) or None


@dataclass
class Streamed:
    """A consumed stream."""

    chunks: list[Any]
    calls: list[dict[str, Any]]
    finish: str
    thinking: list[dict[str, Any]] | None


def read_stream(stream: Iterable[Any], on_text: Callable[[str], None]) -> Streamed:
    """Consume a stream, sending text to `on_text`; a stream that ends unfinished raises DroppedStream."""
    chunks: list[Any] = []
    calls, thinking = StreamedCalls(), StreamedThinking()
    finish = ""
    for chunk in stream:
        chunks.append(chunk)
        if not chunk.choices:
            continue
        choice = chunk.choices[0]
        delta = choice.delta
        if getattr(delta, "content", None):
            on_text(delta.content)
        for order, tool_delta in enumerate(getattr(delta, "tool_calls", None) or []):
            calls.add(tool_delta, len(calls.calls) + order)
        for block in getattr(delta, "thinking_blocks", None) or []:
            thinking.add(block)
        if getattr(choice, "finish_reason", None):
            finish = choice.finish_reason
    if not finish:
        raise DroppedStream("the stream ended before the reply was complete")
    return Streamed(chunks, calls.as_list(), finish, thinking.result())


def close_stream(stream: Any) -> None:
    """Release the HTTP response under a litellm stream now, read to its end or not.

    litellm stops reading at the provider's last event and never closes the response, so the generators under
    it stay open in reference cycles. When the cyclic garbage collector later finalizes them, their cleanup takes
    httpcore's connection-pool lock; if that collection runs inside the next request, which holds the same
    (non-reentrant) lock, the process hangs for good (encode/httpcore#990): a long run stopped at a random step.
    """
    inner = getattr(stream, "completion_stream", None)
    for part in (getattr(inner, "streaming_response", None), getattr(inner, "response_iterator", None), inner):
        close = getattr(part, "close", None)
        if callable(close):
            try:
                close()
            except Exception:  # noqa: BLE001  # cleanup only: the reply is already read
                continue
