"""The tool chain: every tool call of every front end goes through here.

    hooks' before (in order)  ->  the tool  ->  hooks' after (reverse order)  ->  redaction, output cap

A hook (protocols.ToolHook) answers allow / deny / ask before a call and may amend the result after it.
The built-in order, set up by agent.session.Session.chain: PermissionHook (permissions.* and test edits),
chat's ChatScope (agent.chat.conversation), GitGuard (agent.git.commits: dirty files, a commit per edit,
snapshots around shell), then any hook passed in `extra`. "ask" goes to the Approver: chat asks the user,
a headless run refuses and the model sees why.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from agent.errors import FormatError, LoopControl, PermissionDenied, ToolError
from agent.images import admit
from agent.policy.permissions import decide
from agent.protocols import Approver, Decision, ToolCall, ToolHook, ToolResult
from agent.redact import redact

if TYPE_CHECKING:
    from agent.tools import Tool
    from agent.workspace import Workspace

OUTPUT_CAP = 200_000  # characters: the last guard against a tool that does not cap its own output
NOT_APPROVED = (
    "It needs approval and none was given (a headless run refuses every such action); find another way, "
    "or the user can allow it in the permissions configuration"
)


def cap_arguments(calls: list[ToolCall], limit: int) -> None:
    """Turn every call whose arguments exceed `limit` JSON characters into a format error (arguments dropped)."""
    for call in calls:
        size = len(json.dumps(call.arguments)) if call.error is None else 0
        if size > limit:
            call.arguments = {}
            call.error = (f"its arguments are {size} characters long; the limit is {limit} "
                          "(tools.argument_chars): split the work into smaller calls")


@dataclass
class CallContext:
    """What hooks know about one call: the workspace, the tool, its validated arguments and declared effect."""

    ws: Workspace
    tool: Tool
    args: BaseModel
    paths: list[str]  # repository paths the call reads or edits (tool.effect), resolved and relative
    detail: str  # the command line for shell and test calls, else the tool's name
    scratch: dict[str, Any] = field(default_factory=dict)  # per-call state a hook keeps from before to after

    @property
    def kind(self) -> str:
        """read | edit | shell | test | tool."""
        return self.tool.kind


class PermissionHook:
    """The permission policy (agent.policy.permissions.decide): per tool, then per path or command."""

    def before(self, call: ToolCall, ctx: CallContext) -> Decision:
        """Deny if any part is denied, else ask about every part that needs it, else allow."""
        policy = ctx.ws.config.permissions
        parts = [("tool", call.name)]
        if ctx.kind in ("read", "edit"):
            parts += [(ctx.kind, p) for p in ctx.paths]
        elif ctx.kind in ("shell", "test"):
            parts.append((ctx.kind, ctx.detail))
        asks: list[tuple[str, str]] = []
        reasons: list[str] = []
        for kind, detail in parts:
            verdict, reason = decide(policy, kind, detail, ctx.ws)
            if verdict == "deny":
                return Decision.deny(reason)
            if verdict == "ask":
                asks.append((kind, detail))
                reasons.append(reason)
        if asks:
            return Decision("ask", "; ".join(reasons), tuple(asks))
        return Decision.allow()

    def after(self, call: ToolCall, ctx: CallContext, result: ToolResult) -> ToolResult:
        """Nothing to do after."""
        return result


class ToolChain:
    """Tools behind hooks; `run` is the one way a front end executes a tool call."""

    def __init__(self, tools: dict[str, Tool], hooks: list[ToolHook], approve: Approver, cap: int = OUTPUT_CAP):
        self.tools, self.hooks, self.approve, self.cap = tools, hooks, approve, cap

    def run(self, ws: Workspace, call: ToolCall) -> ToolResult:
        """Run one call through the hooks; ToolError and tool bugs become failed results, redacted and capped.

        FormatError (bad arguments, unknown tool) and loop control (finish, limits, Ctrl-C) propagate.
        """
        if call.name not in self.tools:
            raise FormatError(f"unknown tool {call.name!r}; the tools are: {', '.join(self.tools)}")
        result = self._run(ws, call)[0]
        output = redact(result.output)  # the one place every observation passes, errors included
        if len(output) > self.cap:
            output = output[: self.cap] + f"\n... [{len(output) - self.cap} characters cut]"
        images, dropped = admit(result.images, ws.config.tools.images, ws.config.tools.image_bytes)
        return ToolResult("\n".join(filter(None, [output, dropped])), result.ok, result.crashed, images)

    def call(self, ws: Workspace, name: str, arguments: dict[str, Any]) -> str:
        """Run one call through the hooks for a caller outside the loop: the output, or the ToolError raised."""
        result, error = self._run(ws, ToolCall("direct", name, arguments))
        if error is not None:
            raise error
        return redact(result.output)

    def _run(self, ws: Workspace, call: ToolCall) -> tuple[ToolResult, ToolError | None]:
        tool = self.tools[call.name]
        args = tool.validate(call.arguments)
        passed: list[ToolHook] = []
        error: ToolError | None = None
        try:
            ctx = CallContext(ws, tool, args, tool.paths(ws, args), tool.detail(ws, args))
            for hook in self.hooks:
                self._settle(hook.before(call, ctx))
                passed.append(hook)
            result = tool.result(ws, args)
        except ToolError as exc:
            result, error = ToolResult(f"error: {exc}", ok=False), exc
        except (LoopControl, KeyboardInterrupt):
            raise
        except Exception as exc:  # a tool bug must not end the run: the model sees it
            result = ToolResult(f"error: {call.name} failed unexpectedly: {type(exc).__name__}: {exc}", False, True)
        for hook in reversed(passed):
            result = hook.after(call, ctx, result)
        return result, error

    def _settle(self, decision: Decision) -> None:
        """Go on for allow (or an approved ask); raise PermissionDenied with the model's message otherwise."""
        if decision.verdict == "deny":
            raise PermissionDenied(decision.refusal or f"permission denied: {decision.reason}")
        if decision.verdict == "ask":
            if not all(self.approve(kind, detail) for kind, detail in decision.questions):
                raise PermissionDenied(decision.refusal or f"not approved: {decision.reason}. {NOT_APPROVED}")
        if decision.on_approve is not None:
            decision.on_approve()
