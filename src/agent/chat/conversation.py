"""A multi-turn conversation over the agent loop: history, files in context, accounting, compaction, undo.

No terminal I/O: the REPL renders the events and the values returned here.
"""

from __future__ import annotations

import difflib
import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agent.backends import ContextOverflow, bind_events
from agent.chat.compaction import Compaction, compact_messages, estimate_tokens
from agent.chat.globs import matches, matches_any
from agent.config import AgentConfig
from agent.errors import AgentError, UsageError
from agent.git.commits import GitGuard, head
from agent.git.undo import EditRecorder, combine, undo_last
from agent.loop import Agent
from agent.prompts import render
from agent.protocols import Backend, Decision, Event, EventSink, Message, Reply, ToolCall, ToolResult
from agent.session import Session, gather_context, nested_instructions, project_instructions
from agent.toolchain import CallContext

MENTION = re.compile(r"(?<![\w@])@([\w./\-]+)")
FILE_CHAR_LIMIT = 60_000


@dataclass
class TurnResult:
    """How one user request ended."""

    status: str  # done | failed | limits | error | interrupted
    summary: str
    files_changed: list[str] = field(default_factory=list)  # written by the agent's edit tools (/undo reverts)
    added: list[str] = field(default_factory=list)  # files put into context by @path
    by_commands: list[str] = field(default_factory=list)  # changed while its shell commands ran (/undo keeps)


@dataclass
class ChatScope:
    """Chat's scope rule (a tool-chain hook): an allowed edit of a file not in play (in context, read or edited
    this session, or approved) still asks the user, unless everything is approved."""

    in_play: set[str]

    def before(self, call: ToolCall, ctx: CallContext) -> Decision:
        """Ask about each edited path outside play; approved paths join it."""
        policy = ctx.ws.config.permissions
        if ctx.kind != "edit" or policy.approve_all or policy.edit != "allow":
            return Decision.allow()
        outside = [p for p in ctx.paths if p not in self.in_play]
        if not outside:
            return Decision.allow()
        names = ", ".join(outside)
        return Decision("ask", f"edit {names} (not in the files in play)", tuple(("edit", p) for p in outside),
                        f"not approved: edit {names} (not in the files in play)",
                        lambda: self.in_play.update(outside))

    def after(self, call: ToolCall, ctx: CallContext, result: ToolResult) -> ToolResult:
        """Files the model read or edited are in play from now on."""
        if result.ok and ctx.kind in ("read", "edit"):
            self.in_play.update(ctx.paths)
        return result


class ChatAgent(Agent):
    """The loop for chat: a text reply ends the turn, the context is compacted before a step when nearly full and
    after the provider's overflow error, and the budgets count the whole session."""

    text_ends_turn = True

    def __init__(self, conversation: Conversation, on_event: EventSink):
        c = conversation
        super().__init__(c.backend, c.chain, c.ws, c.config.loop, on_event)
        self.conversation = c
        self.refused: str | None = None  # the turn's message alone does not fit the window the provider taught

    def spent(self) -> tuple[int, float]:
        """The session's tokens and cost so far (every turn and compaction): chat budgets are per session."""
        c = self.conversation
        return c.tokens_in + c.tokens_out, c.cost_usd

    def _complete(self, messages: list[Message]) -> Reply:
        """On the provider's overflow error: learn the window, compact once and retry (or refuse the message)."""
        try:
            return super()._complete(messages)
        except ContextOverflow as exc:
            c = self.conversation
            c.learn_window(exc.window)
            self.emit({"type": "context_overflow", "window": c.limit, "error": str(exc)})
            alone = c.turn_alone_tokens()
            if alone >= c.limit:
                self.refused = too_large(alone, c.limit)
                raise UsageError(self.refused) from exc
            try:
                done = c.compact()
            except AgentError:
                raise exc from None  # the summariser failed: the overflow is what the user needs to know
            self.emit({"type": "compacted", **done.as_event()})
            return self.backend.complete(messages, self.schemas, on_text=self._on_text)

    def step(self, messages: list[Message]) -> None:
        """Compact first when the context nears its limit, then one ordinary step."""
        if self.conversation.needs_compaction():
            try:
                done = self.conversation.compact()
            except AgentError as exc:
                self.emit({"type": "compaction_failed", "error": str(exc)})
            else:
                self.emit({"type": "compacted", **done.as_event()})
        super().step(messages)


class Conversation:
    """Messages kept across turns, the files in context, tokens and cost, and the turns' undo records."""

    def __init__(self, session: Session, session_id: str | None = None):
        from agent.chat.store import new_session_id

        self.session, self.root, self.config = session, session.root, session.config
        self.backend, self.tools, self.ws = session.backend, session.tools, session.ws
        self.in_play: set[str] = set()  # files the model may edit without asking (ChatScope)
        self.id = session_id or new_session_id()
        self.guard = GitGuard(self.root, self.config.git, self.id, "", lambda e: None)
        self.chain = session.chain(self.guard, ChatScope(self.in_play))
        self.recorder = EditRecorder(self.root)
        self.chain.hooks.append(self.recorder)  # last: it reads the files once every approval is given
        self.messages: list[Message] = [self._system()]
        self.turn_starts: list[int] = []
        self.files: list[str] = []
        self.sent: dict[str, str] = {}  # path -> hash of the content last sent to the model
        self.pending: list[str] = []  # notes for the next user message (e.g. /run output)
        self.guides_sent: set[str] = set()  # nested AGENTS.md files already sent
        self.tokens_in = self.tokens_out = self.notes_recalled = 0
        self.tokens_cached = 0  # prompt tokens the provider served from its cache (part of tokens_in)
        self.cost_usd = 0.0
        self.undo_stack: list[dict[str, Any]] = []
        self.limit = context_limit(self.config, self.backend)
        self.schema_tokens = estimate_tokens([{"content": str([t.schema() for t in self.tools.values()])}])

    def use_backend(self, backend: Backend) -> None:
        """Switch the model for the next turns (and their context limit)."""
        self.backend = self.session.backend = backend
        self.limit = context_limit(self.config, backend)

    # -- turns ---------------------------------------------------------------------------------

    def turn(self, text: str, on_event: EventSink) -> TurnResult:
        """Run one user request to its end (answer, finish, limit or Ctrl-C); history is kept."""
        request, added = self.expand_mentions(text)
        added += self.session.mcp.attach_mentions(request, self.pending)  # @server:uri (agent.mcp)
        if not request.strip():
            raise UsageError("empty request")
        if added:
            on_event({"type": "files_added", "paths": added})
        self.check_budgets()
        message = {"role": "user", "content": self._user_message(request)}
        size = estimate_tokens([message]) + estimate_tokens(self.messages[:1]) + self.schema_tokens
        if size >= self.limit:  # compaction cannot help: the message alone does not fit
            self.sent = {}
            raise UsageError(too_large(size, self.limit))
        self.turn_starts.append(len(self.messages))
        self.messages.append(message)
        turn: dict[str, Any] = {"changes": [], "commands": [], "head_before": head(self.root)}
        self.recorder.changes, self.recorder.calls = turn["changes"], {}
        emit = self._observe(on_event, turn)
        self.guard.run_id, self.guard.task, self.guard.emit = self.id, request, emit
        bind_events(self.backend, emit)  # hosted: retry events reach the chat
        agent = ChatAgent(self, emit)
        try:
            outcome = agent.run(self.messages)
        finally:  # a Ctrl-C mid-turn keeps what was recorded, so /undo still works
            close_dangling(self.messages)
            if agent.refused:  # the message goes, so the next turns do not overflow on it again
                del self.messages[self.turn_starts.pop():]
                self.sent = {}
            edited = self._keep_turn(turn)
            self.save()
        if agent.refused:
            raise UsageError(agent.refused)
        commands = sorted(set(turn["commands"]) - set(edited))
        return TurnResult(outcome.status, outcome.summary, edited, added, commands)

    def _keep_turn(self, turn: dict[str, Any]) -> list[str]:
        """Push the turn's undo record (its edits by content, its agent commits); return the paths edited."""
        turn["changes"] = combine(turn["changes"])
        turn["head_after"] = head(self.root)
        if turn["changes"] or turn["head_after"] != turn["head_before"]:
            self.undo_stack.append(turn)
        return [c["path"] for c in turn["changes"]]

    def _system(self) -> Message:
        return {
            "role": "system",
            "content": render("chat_system", tools=list(self.tools), instructions=project_instructions(self.root),
                              shell_timeout_s=self.config.tools.shell_timeout_s),
        }

    def _user_message(self, request: str) -> str:
        context = ""
        if len(self.turn_starts) == 1:
            context = gather_context(self.ws, request)
            self.notes_recalled += sum(1 for line in context.splitlines() if line.startswith("- ["))
        files = self._changed_files()
        notes, self.pending = self.pending, []
        guides = self._nested_guides([f["path"] for f in files])
        return render("chat_turn", context=context, files=files, notes=notes, request=request, guides=guides)

    def _nested_guides(self, paths: list[str]) -> list[dict[str, str]]:
        """The AGENTS.md / CLAUDE.md of sub-folders of files now in play, each sent once."""
        out = []
        for path in paths:
            for guide in nested_instructions(self.root, path):
                if guide not in self.guides_sent:
                    self.guides_sent.add(guide)
                    text = (self.root / guide).read_text(errors="replace")[:FILE_CHAR_LIMIT]
                    out.append({"path": guide, "text": text})
        return out

    def _changed_files(self) -> list[dict[str, str]]:
        """The files in context whose content the model has not seen yet."""
        out = []
        for path in self.files:
            try:
                text = (self.root / path).read_text(errors="replace")
            except OSError:
                continue
            digest = hashlib.sha1(text.encode()).hexdigest()
            if self.sent.get(path) != digest:
                self.sent[path] = digest
                out.append({"path": path, "text": text[:FILE_CHAR_LIMIT]})
        return out

    def _observe(self, on_event: EventSink, turn: dict[str, Any]) -> EventSink:
        """Account tokens, note the paths shell commands changed, pass events on, and after an edit's
        result show what it wrote (recorded by the EditRecorder hook) as file_diff events."""

        def emit(event: Event) -> None:
            kind = event["type"]
            if kind == "model_reply":
                self.tokens_in += event["tokens_in"]
                self.tokens_out += event["tokens_out"]
                self.tokens_cached += event.get("cache_read_tokens") or 0
                self.cost_usd += event["cost_usd"]
            elif kind == "git_commit" and str(event["subject"]).startswith("agent: shell"):
                turn["commands"].extend(event["paths"])
            self.guard.observe(event)
            on_event(event)
            if kind == "tool_result":
                for path, old, new in self.recorder.calls.pop(event["id"], []):
                    diff = unified_diff(path, _text(old), _text(new))
                    if diff:
                        on_event({"type": "file_diff", "path": path, "diff": diff})

        return emit

    # -- files in context ----------------------------------------------------------------------

    def add(self, patterns: list[str]) -> list[str]:
        """Put files (paths, folders or globs, agent.chat.globs) into context; return those added.

        A pattern that names no file raises UsageError before anything is added."""
        known = self.ws.files()
        found = [matches(known, pattern) for pattern in patterns]
        missing = [p for p, names in zip(patterns, found, strict=True) if not names]
        if missing:
            raise UsageError(f"no such file in the repository: {', '.join(missing)} (nothing added)")
        added = []
        for names in found:
            binary = [f for f in names if _is_binary(self.root / f)]
            if binary and len(names) == 1:
                raise UsageError(f"{binary[0]} is a binary file; only text files can go into the chat")
            for path in names:
                if path not in self.files and path not in binary:
                    self.files.append(path)
                    self.in_play.add(path)
                    added.append(path)
        return added

    def drop(self, patterns: list[str]) -> list[str]:
        """Take files out of context (all when no pattern): exact paths, folders or globs; return those dropped."""
        gone = matches_any(self.files, patterns) if patterns else list(self.files)
        self.files = [f for f in self.files if f not in gone]
        for path in gone:
            self.sent.pop(path, None)
        return gone

    def expand_mentions(self, text: str) -> tuple[str, list[str]]:
        """Add each @path that names a repository file to context; return the text and the files added."""
        known = set(self.ws.files())
        wanted = [m for m in MENTION.findall(text) if m.rstrip(".,;:") in known]
        return text, self.add([m.rstrip(".,;:") for m in wanted]) if wanted else []

    # -- context size, compaction, undo ---------------------------------------------------------

    def context_tokens(self) -> int:
        """Estimated tokens the next model call will carry (history, tools, pending files)."""
        return estimate_tokens(self.messages) + self.schema_tokens

    def check_budgets(self) -> None:
        """UsageError (one line, nothing sent) when the session has spent its cost or token budget: they hold per
        session, a turn's own limits are checked by the loop."""
        c = self.config.loop
        if c.budget_usd is not None and self.cost_usd >= c.budget_usd:
            raise UsageError(f"this chat session's cost budget is spent (${self.cost_usd:.4f} of "
                             f"${c.budget_usd}); start a new session to go on")
        if c.max_tokens is not None and self.tokens_in + self.tokens_out >= c.max_tokens:
            raise UsageError(f"this chat session's token budget is spent ({self.tokens_in + self.tokens_out:,} "
                             f"of {c.max_tokens:,}); start a new session to go on")

    def learn_window(self, named: int | None) -> None:
        """The provider refused the prompt: the window is below what was sent (and the size its error named)."""
        size = self.context_tokens()
        self.limit = min(self.limit, named or size, int(size * 0.9))  # in our estimate's units

    def turn_alone_tokens(self) -> int:
        """The system prompt, the tools and this turn's message: what no compaction can shrink."""
        start = self.turn_starts[-1] if self.turn_starts else len(self.messages) - 1
        return estimate_tokens([self.messages[0], self.messages[start]]) + self.schema_tokens

    def needs_compaction(self) -> bool:
        """True when the context is fuller than the configured ratio of the model's limit."""
        return self.context_tokens() >= self.config.chat.compact_ratio * self.limit

    def compact(self) -> Compaction:
        """Summarise older turns with the model (or fold old tool output); report what was dropped."""
        done = compact_messages(self, self.config.chat.keep_turns)
        self.tokens_in += done.tokens_in
        self.tokens_out += done.tokens_out
        self.cost_usd += done.cost_usd
        self.sent = {}
        return done

    def clear(self) -> None:
        """Forget the history (files stay in context and are sent again)."""
        self.messages = [self._system()]
        self.turn_starts, self.sent, self.guides_sent = [], {}, set()
        if self.ws.memory is not None:
            self.ws.memory.shown.clear()  # the notes left the context with the history

    def undo(self) -> list[str]:
        """Take back what the agent wrote in its last turn that changed files (by recorded content); return them."""
        restored = undo_last(self.root, self.undo_stack)
        self.pending.append(render("chat_undone", paths=restored))
        self.save()
        return restored

    def session_diff(self) -> str:
        """What the agent's edits changed in this session: first recorded content to last (the user's later
        edits are not the agent's, so they are not in it)."""
        from agent.git.undo import read_blob

        def text(blob: str | None) -> str | None:
            return None if blob is None else read_blob(self.root, blob).decode(errors="replace")

        merged = combine([c for turn in self.undo_stack for c in turn.get("changes", [])])
        return "".join(unified_diff(c["path"], text(c["before"]), text(c["after"])) for c in merged)

    def save(self) -> Path:
        """Write the session to .agent/sessions/<id>.json."""
        from agent.chat.store import save_session

        return save_session(self)


def context_limit(config: AgentConfig, backend: Backend) -> int:
    """The model's context size in tokens: configured (chat's, else the backend's), else the backend's
    capabilities (what it learned from an overflow error included), else 32768."""
    if config.chat.context_tokens or config.backend.context_tokens:
        return int(config.chat.context_tokens or config.backend.context_tokens or 0)
    return backend.capabilities().context_window or 32768


def too_large(size: int, limit: int) -> str:
    """The one line that refuses a message the window cannot hold."""
    return (f"this message is ~{size:,} tokens with the system prompt and tools; the model's window is "
            f"~{limit:,}: send less (or /drop files)")


def close_dangling(messages: list[Message]) -> None:
    """After an interruption, answer every tool call that has no result, so the history stays valid."""
    answered = {m.get("tool_call_id") for m in messages if m.get("role") == "tool"}
    for i in range(len(messages) - 1, -1, -1):
        calls = messages[i].get("tool_calls") or []
        missing = [c["id"] for c in calls if c["id"] not in answered]
        if missing:
            insert_at = i + 1 + sum(1 for m in messages[i + 1 :] if m.get("role") == "tool")
            messages[insert_at:insert_at] = [
                {"role": "tool", "tool_call_id": cid, "content": render("chat_interrupted")} for cid in missing
            ]
            return
        if messages[i].get("role") == "assistant":
            return


def unified_diff(path: str, old: str | None, new: str | None) -> str:
    """A unified diff of one file between two contents (None: absent)."""
    if old == new:
        return ""
    a, b = (old or "").splitlines(True), (new or "").splitlines(True)
    return "".join(
        difflib.unified_diff(
            a, b, "/dev/null" if old is None else f"a/{path}", "/dev/null" if new is None else f"b/{path}"
        )
    )


def _text(data: bytes | None) -> str | None:
    return None if data is None else data.decode(errors="replace")


def _is_binary(path: Path) -> bool:
    """A NUL byte in the first 8 KiB, as git judges it."""
    try:
        with path.open("rb") as fh:
            return b"\0" in fh.read(8192)
    except OSError:
        return False

