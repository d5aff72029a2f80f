"""The agent loop: messages -> backend -> tool calls -> observations, until finish or a limit.

It does no terminal I/O: everything is reported to the `on_event` callback.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from agent.backends import ContextOverflow
from agent.backends.budget import check_prompt
from agent.config import LoopConfig
from agent.errors import AgentError, FormatError, LimitsExceeded, Submitted, UsageError
from agent.images import tool_message
from agent.prompts import render
from agent.protocols import Backend, EventSink, Message, Reply, ToolCall
from agent.redact import redact
from agent.toolchain import PermissionHook, ToolChain, cap_arguments
from agent.tools import Tool
from agent.tools.limits import cap_text
from agent.workspace import Workspace

if TYPE_CHECKING:
    from agent.chat.compaction import Compaction, RunCompactor


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
        self.compactor: RunCompactor | None = None  # headless: the session's (agent.chat.compaction)

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
        reply = self._complete(messages)
        self._account(reply)
        cap_arguments(reply.tool_calls, self.ws.config.tools.argument_chars)  # before history, log and tools
        messages.append(_assistant_message(reply))
        self.emit({
            "type": "model_reply", "step": self.steps, "content": reply.content,
            "tool_calls": [{"id": c.id, "name": c.name, "arguments": c.arguments, "error": c.error} for c in reply.tool_calls],
            "tokens_in": reply.tokens_in, "tokens_out": reply.tokens_out, "cost_usd": reply.cost_usd,
            "prompt_tokens_evaluated": reply.prompt_tokens_evaluated,
            "finish_reason": reply.finish_reason,  # hosted: cache tokens and why the reply ended
            "cache_read_tokens": reply.cache_read_tokens, "cache_write_tokens": reply.cache_write_tokens,
        })
        cut = reply.finish_reason == "length"  # cut at the output limit: explained, never a format error
        if not reply.tool_calls:
            if self.text_ends_turn and not cut:
                raise Submitted(reply.content)
            error = self._cut_note(False) if cut else self._format_error("the reply contains no tool call")
            messages.append({"role": "user", "content": error})
            return
        for i, call in enumerate(reply.tool_calls):
            last_cut = cut and i == len(reply.tool_calls) - 1
            messages.append(self._cut(call) if last_cut else self._execute(call))

    def _complete(self, messages: list[Message]) -> Reply:
        """The model call, compacting first when the history nears the window, and once more on an overflow."""
        if self.compactor is not None:
            self._compacted(self.compactor.before_step(messages, self.schemas))
        if self.config.budget_usd is not None:  # a step whose prompt alone would cross the budget is not started
            check_prompt(self.backend, messages, self.schemas, self.spent()[1], self.config.budget_usd)
        try:
            return self.backend.complete(messages, self.schemas, on_text=self._on_text)
        except ContextOverflow as exc:
            if self.compactor is None:
                raise
            self._compacted(self.compactor.after_overflow(messages, self.schemas, exc.window))
            return self.backend.complete(messages, self.schemas, on_text=self._on_text)

    def _compacted(self, done: Compaction | None) -> None:
        if done is not None:
            self.tokens_in, self.tokens_out = self.tokens_in + done.tokens_in, self.tokens_out + done.tokens_out
            self.cost_usd += done.cost_usd  # the summariser's call counts towards the budgets
            self.emit({"type": "compacted", "step": self.steps, **done.as_event()})

    def _cut(self, call: ToolCall) -> Message:
        note = call.error or self._cut_note(True)
        self.emit({"type": "tool_result", "step": self.steps, "id": call.id, "name": call.name, "ok": False,
                   "output": note})
        return {"role": "tool", "tool_call_id": call.id, "content": note}

    def _cut_note(self, in_call: bool) -> str:
        return render("truncated", limit=self.backend.capabilities().max_output, in_call=in_call)

    def _execute(self, call: ToolCall) -> Message:
        """Run one call through the tool chain; its tool message. FormatError only when too many in a row."""
        self.emit({"type": "tool_call", "step": self.steps, "id": call.id, "name": call.name,
                   "arguments": call.arguments})
        try:
            if call.error:
                raise FormatError(f"could not parse the call to {call.name or 'a tool'}: {call.error}")
            result = self.chain.run(self.ws, call)
        except FormatError as exc:
            return {"role": "tool", "tool_call_id": call.id, "content": self._format_error(str(exc))}
        except Submitted:
            self.emit({"type": "tool_result", "step": self.steps, "id": call.id, "name": call.name, "ok": True,
                       "output": "finished"})
            raise
        if not result.crashed:
            self.format_errors = 0
        output = cap_text(result.output, self.ws.config.tools.output_chars)  # any tool, plugins and MCP included
        message, images = tool_message(call.id, output, result.images, self.backend)  # images where it takes them
        self.emit({"type": "tool_result", "step": self.steps, "id": call.id, "name": call.name, "ok": result.ok,
                   "output": message["content"], **({"images": images} if images else {})})
        return message

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

    def spent(self) -> tuple[int, float]:
        """Tokens (in + out) and USD the budgets count: this run's (chat: the whole session's)."""
        return self.tokens_in + self.tokens_out, self.cost_usd

    def _check_limits(self) -> None:
        c = self.config
        tokens, cost = self.spent()
        if self.steps >= c.max_steps:
            raise LimitsExceeded(f"step limit reached ({c.max_steps})")
        if c.max_tokens is not None and tokens >= c.max_tokens:
            raise LimitsExceeded(f"token budget reached ({tokens} >= {c.max_tokens})")
        if c.budget_usd is not None and cost >= c.budget_usd:
            raise LimitsExceeded(f"cost budget reached (${cost:.4f} >= ${c.budget_usd})")
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
