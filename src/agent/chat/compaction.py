"""Compaction of a conversation that nears the model's context limit.

Older turns are summarised by the model (prompts/compact.j2); the latest turns, and so the user's latest
request, are kept verbatim. Rules the user stated that should outlast the session are saved to memory.
When there is no older turn to summarise, old tool output inside the kept turns is folded instead.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from agent.errors import AgentError
from agent.prompts import render
from agent.protocols import Message

if TYPE_CHECKING:
    from agent.chat.conversation import Conversation
    from agent.config import AgentConfig
    from agent.protocols import Backend

TRANSCRIPT_CHARS = 2000  # per message, in the transcript the model summarises
FOLD_KEEP_CHARS = 300
FOLD_LAST_MESSAGES = 4
IMAGE_TOKENS = 1600  # what an image in a tool result costs, about (providers scale big ones down to ~1,600)


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
        chars += 4 * IMAGE_TOKENS * len(m.get("images") or [])  # a tool result's images (agent.images)
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
    dropped += fold_outputs(conv.messages, 1, len(conv.messages), conv.limit)  # a huge result in the kept turns
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
    saved = []
    for text in lasting:
        try:
            conv.ws.memory.remember(text, [], ["chat", "constraint"], source="agent")
            saved.append(text)
        except AgentError:
            continue
    return saved


def _fold_tool_output(conv: Conversation, before: int) -> Compaction:
    """Shorten the output of older tool calls; the last few messages stay whole unless one is huge."""
    last = max(len(conv.messages) - FOLD_LAST_MESSAGES, 1)
    dropped = fold_outputs(conv.messages, 1, last, 2 * FOLD_KEEP_CHARS)
    dropped += fold_outputs(conv.messages, last, len(conv.messages), conv.limit)  # over a quarter of the window
    return Compaction(dropped, "", before, conv.context_tokens())


# -- headless runs ------------------------------------------------------------------------------

RUN_TRANSCRIPT_SHARE = 2  # the summariser's transcript is at most window * this many characters (~half the window)
EDIT_TOOLS = ("write_file", "edit_file")
SUMMARY_TOKENS = 600  # room a summary takes, when choosing how many steps to keep


class RunCompactor:
    """Keeps a headless run's history inside the window: before a step when it nears it, and after an overflow.

    The system prompt and the task stay; older steps become a summary that keeps the plan, the files changed
    and what is left (prompts/compact_run.j2); the latest `keep_steps` steps stay verbatim, their huge tool
    outputs folded. When the summariser fails, a plain list of the steps taken stands in for its summary.
    """

    def __init__(self, backend: Backend, window: int | None, ratio: float, keep_steps: int):
        self.backend, self.window, self.ratio, self.keep_steps = backend, window, ratio, keep_steps

    @classmethod
    def for_run(cls, config: AgentConfig, backend: Backend) -> RunCompactor:
        """The window from backend.context_tokens, else the backend's own (unknown: learned on an overflow)."""
        window = config.backend.context_tokens or backend.capabilities().context_window
        return cls(backend, window, config.context.compact_ratio, config.context.keep_steps)

    def before_step(self, messages: list[Message], tools: list[dict[str, Any]]) -> Compaction | None:
        """Compact when the next call would carry more than `ratio` of the window (a known window only)."""
        if not self.window or _size(messages, tools) < self.ratio * self.window:
            return None
        return self.compact(messages, tools)

    def after_overflow(self, messages: list[Message], tools: list[dict[str, Any]], window: int | None) -> Compaction:
        """The provider refused the prompt: learn the window (named or estimated), then compact under it."""
        size = _size(messages, tools)
        learned = min(window or size, int(size * 0.9))  # in our estimate's units, the window is below `size`
        self.window = min(self.window or learned, learned)
        return self.compact(messages, tools)

    def compact(self, messages: list[Message], tools: list[dict[str, Any]]) -> Compaction:
        """Fold, then summarise, until the history fits; AgentError when even the task alone does not fit."""
        window = self.window or 32768
        target, before = int(self.ratio * window * 0.6), _size(messages, tools)
        cut = self._cut(messages, tools, target)
        dropped = fold_outputs(messages, 2, cut, FOLD_KEEP_CHARS)
        dropped += fold_outputs(messages, cut, len(messages), max(window, 4 * FOLD_KEEP_CHARS))  # a quarter of it
        done = Compaction(dropped, "", before, _size(messages, tools))
        if done.tokens_after > target and cut > 2:
            done = self._summarise(messages, cut, done, tools)
        if _size(messages, tools) >= window:
            dropped += fold_outputs(messages, 2, len(messages), FOLD_KEEP_CHARS)
            done.tokens_after = _size(messages, tools)
        if done.tokens_after >= window:
            raise AgentError(f"the task and the latest step alone are ~{done.tokens_after:,} tokens, over the "
                             f"model's window (~{window:,}): shorten the task or raise backend.context_tokens")
        return done

    def _cut(self, messages: list[Message], tools: list[dict[str, Any]], target: int) -> int:
        """Where the kept steps begin: the latest `keep_steps`, fewer (down to one) when they alone pass `target`."""
        steps = [i for i, m in enumerate(messages) if i >= 2 and m.get("role") == "assistant"]
        if len(steps) <= 1:
            return 2
        for cut in steps[-min(self.keep_steps, len(steps) - 1):]:
            if _size(messages[:2] + messages[cut:], tools) + SUMMARY_TOKENS <= target:
                return cut
        return steps[-1]

    def _summarise(
        self, messages: list[Message], cut: int, done: Compaction, tools: list[dict[str, Any]]
    ) -> Compaction:
        old = messages[2:cut]
        chars = (self.window or 32768) * RUN_TRANSCRIPT_SHARE
        text = transcript(old)
        prompt = render("compact_run", transcript=text[-chars:], max_words=400)
        try:
            reply = self.backend.complete([{"role": "user", "content": prompt}], [])
            summary = split_lasting(reply.content)[0] or steps_taken(old)
        except AgentError:  # never fatal: the steps' own record stands in for a summary
            reply, summary = None, steps_taken(old)
        messages[2:cut] = [{"role": "user", "content": render("run_summary", summary=summary, steps=len(
            [m for m in old if m.get("role") == "assistant"]), files=files_edited(old))}]
        done.dropped.insert(0, f"{cut - 2} messages of earlier steps (summarised)")
        done.summary, done.tokens_after = summary, _size(messages, tools)
        if reply is not None:
            done.tokens_in, done.tokens_out, done.cost_usd = reply.tokens_in, reply.tokens_out, reply.cost_usd
        return done


def fold_outputs(messages: list[Message], start: int, end: int, over: int) -> list[str]:
    """Fold the tool outputs in messages[start:end] longer than `over` characters to their head; what was folded."""
    names = {c["id"]: c["function"]["name"] for m in messages for c in m.get("tool_calls") or []}
    dropped = []
    for m in messages[start:end]:
        text = str(m.get("content") or "")
        images = m.get("images") or []
        if m.get("role") == "tool" and images and len(text) + 4 * IMAGE_TOKENS * len(images) > over:
            del m["images"]  # the text still lists them; the model can call the tool again
            dropped.append(f"{len(images)} image(s) returned by {names.get(m.get('tool_call_id'), 'a tool')}")
        if m.get("role") == "tool" and len(text) > max(over, 2 * FOLD_KEEP_CHARS):
            m["content"] = text[:FOLD_KEEP_CHARS] + "\n" + render("folded_output", chars=len(text) - FOLD_KEEP_CHARS)
            name = names.get(m.get("tool_call_id"), "a tool")
            dropped.append(f"output of {name} ({len(text) - FOLD_KEEP_CHARS} characters)")
    return dropped


def files_edited(messages: list[Message]) -> list[str]:
    """The paths the write and edit calls in `messages` named, in order."""
    paths = []
    for m in messages:
        for c in m.get("tool_calls") or []:
            if c["function"]["name"] in EDIT_TOOLS:
                try:
                    paths.append(str(json.loads(c["function"]["arguments"]).get("path")))
                except (ValueError, AttributeError):
                    continue
    return list(dict.fromkeys(p for p in paths if p and p != "None"))


def steps_taken(messages: list[Message]) -> str:
    """A plain record of the calls made, when the model cannot summarise."""
    calls = [f"- {c['function']['name']}({c['function']['arguments'][:120]})"
             for m in messages for c in m.get("tool_calls") or []]
    return "\n".join(calls) or "- (no tool calls)"


def _size(messages: list[Message], tools: list[dict[str, Any]]) -> int:
    return estimate_tokens(messages) + len(json.dumps(tools)) // 4
