"""The agent loop: messages -> backend -> tool calls -> observations, until finish or a limit.

It does no terminal I/O: everything is reported to the `on_event` callback.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass

from agent.config import LoopConfig
from agent.errors import AgentError, FormatError, LimitsExceeded, Submitted, UsageError
from agent.prompts import render
from agent.protocols import Backend, EventSink, Message, Reply, ToolCall
from agent.redact import redact
from agent.toolchain import PermissionHook, ToolChain
from agent.tools import Tool
from agent.workspace import Workspace


@dataclass
class Outcome:
    """How a run ended."""

    status: str  # done | failed | limits | error | interrupted
    summary: str
    steps: int
    tokens_in: int
    tokens_out: int
    cost_usd: float
    usage_error: bool = False


class Agent:
    """Drives one backend with one set of tools inside one workspace."""

    text_ends_turn = False  # chat: a reply without tool calls answers the user and ends the run

    def __init__(
        self, backend: Backend, tools: ToolChain | dict[str, Tool], ws: Workspace, config: LoopConfig,
        on_event: EventSink,
    ):
        """`tools`: the chain to call them through (a bare dict gets the permission policy only)."""
        if not isinstance(tools, ToolChain):
            tools = ToolChain(tools, [PermissionHook()], ws.approve)
        self.backend, self.chain, self.ws, self.config, self.emit = backend, tools, ws, config, on_event
        self.tools = tools.tools
        self.schemas = [t.schema() for t in self.tools.values()]
        self.steps = self.tokens_in = self.tokens_out = 0
        self.cost_usd = 0.0
        self.format_errors = 0
        self.started = time.monotonic()

    def run(self, messages: list[Message]) -> Outcome:
        """Step until the model finishes or something ends the run; `messages` grows in place."""
        for message in messages:  # project instructions, repo map and notes may quote secrets
            if isinstance(message.get("content"), str):
                message["content"] = redact(message["content"])
        try:
            while True:
                self.step(messages)
        except Submitted as exc:
            return self._outcome("done", str(exc))
        except LimitsExceeded as exc:
            return self._outcome("limits", str(exc))
        except FormatError as exc:
            return self._outcome("failed", str(exc))
        except KeyboardInterrupt:
            return self._outcome("interrupted", "interrupted by the user")
        except AgentError as exc:
            outcome = self._outcome("error", str(exc))
            outcome.usage_error = isinstance(exc, UsageError)  # hosted: a refused key ends with exit 2
            return outcome

    def step(self, messages: list[Message]) -> None:
        """One model call and the tool calls it asks for."""
        self._check_limits()
        self.steps += 1
        self.emit({"type": "step_started", "step": self.steps})
        reply = self.backend.complete(messages, self.schemas, on_text=self._on_text)
        self._account(reply)
        messages.append(_assistant_message(reply))
        self.emit({
            "type": "model_reply", "step": self.steps, "content": reply.content,
            "tool_calls": [{"id": c.id, "name": c.name, "arguments": c.arguments, "error": c.error} for c in reply.tool_calls],
            "tokens_in": reply.tokens_in, "tokens_out": reply.tokens_out, "cost_usd": reply.cost_usd,
            "prompt_tokens_evaluated": reply.prompt_tokens_evaluated,
            "finish_reason": reply.finish_reason,  # hosted: cache tokens and why the reply ended
            "cache_read_tokens": reply.cache_read_tokens, "cache_write_tokens": reply.cache_write_tokens,
        })
        if not reply.tool_calls:
            if self.text_ends_turn:
                raise Submitted(reply.content)
            messages.append({"role": "user", "content": self._format_error("the reply contains no tool call")})
            return
        for call in reply.tool_calls:
            messages.append({"role": "tool", "tool_call_id": call.id, "content": self._execute(call)})

    def _execute(self, call: ToolCall) -> str:
        """Run one call through the tool chain and return the observation; FormatError only when too many in a row."""
        self.emit({"type": "tool_call", "step": self.steps, "id": call.id, "name": call.name,
                   "arguments": call.arguments})
        try:
            if call.error:
                raise FormatError(f"could not parse the call to {call.name or 'a tool'}: {call.error}")
            result = self.chain.run(self.ws, call)
        except FormatError as exc:
            return self._format_error(str(exc))
        except Submitted:
            self.emit({"type": "tool_result", "step": self.steps, "id": call.id, "name": call.name, "ok": True,
                       "output": "finished"})
            raise
        if not result.crashed:
            self.format_errors = 0
        self.emit({"type": "tool_result", "step": self.steps, "id": call.id, "name": call.name, "ok": result.ok,
                   "output": result.output})
        return result.output

    def _format_error(self, error: str) -> str:
        self.format_errors += 1
        self.emit({"type": "format_error", "step": self.steps, "error": error, "in_a_row": self.format_errors})
        if self.format_errors >= self.config.max_format_errors:
            raise FormatError(f"{self.format_errors} malformed replies in a row; last: {error}")
        return render("format_error", error=error, tools=list(self.tools))

    def _on_text(self, chunk: str) -> None:
        self.emit({"type": "text_delta", "step": self.steps, "text": chunk})

    def _account(self, reply: Reply) -> None:
        self.tokens_in += reply.tokens_in
        self.tokens_out += reply.tokens_out
        self.cost_usd += reply.cost_usd

    def _check_limits(self) -> None:
        c = self.config
        if self.steps >= c.max_steps:
            raise LimitsExceeded(f"step limit reached ({c.max_steps})")
        if c.max_tokens is not None and self.tokens_in + self.tokens_out >= c.max_tokens:
            raise LimitsExceeded(f"token budget reached ({self.tokens_in + self.tokens_out} >= {c.max_tokens})")
        if c.budget_usd is not None and self.cost_usd >= c.budget_usd:
            raise LimitsExceeded(f"cost budget reached (${self.cost_usd:.4f} >= ${c.budget_usd})")
        if c.max_seconds is not None and time.monotonic() - self.started >= c.max_seconds:
            raise LimitsExceeded(f"time limit reached ({c.max_seconds:g}s)")

    def _outcome(self, status: str, summary: str) -> Outcome:
        return Outcome(status, summary, self.steps, self.tokens_in, self.tokens_out, self.cost_usd)


def _assistant_message(reply: Reply) -> Message:
    message: Message = {"role": "assistant", "content": reply.content or ""}
    if reply.thinking_blocks:  # Claude with thinking on rejects a history without them
        message["thinking_blocks"] = reply.thinking_blocks
    if reply.tool_calls:
        message["tool_calls"] = [
            {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": json.dumps(c.arguments)}}
            for c in reply.tool_calls
        ]
    return message
