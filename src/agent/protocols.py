"""The small interfaces the core is written against."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Protocol, runtime_checkable

if TYPE_CHECKING:
    from agent.toolchain import CallContext

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


@dataclass(frozen=True)
class Capabilities:
    """What a backend's model can do, so front ends never branch on a backend's name.

    context_window / max_output: tokens (None: unknown; chat then assumes 32768 for the window).
    """

    context_window: int | None = None
    max_output: int | None = None
    native_tools: bool = True  # tool calls come back structured (else constrained or parsed from text)
    streaming: bool = False  # on_text receives deltas while the reply is generated
    caching: bool = False  # a repeated prompt prefix is cheaper (KV cache, provider prompt caching)
    vision: bool = False  # images in tool results reach the model (else a text placeholder stands in)


@runtime_checkable
class Backend(Protocol):
    """A model: turns messages and tool schemas into a reply, and says what it can do."""

    name: str

    def capabilities(self) -> Capabilities:
        """The model's context window, output cap and features."""
        ...

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

    shown: set[str]  # ids of the notes already in the model's context this session (never recalled again)

    def recall(self, query: str, k: int = 5) -> list[dict[str, Any]]:
        """Return the notes most relevant to `query`, each labelled fresh/stale/orphaned."""
        ...

    def remember(
        self, text: str, anchors: list[str], tags: list[str], source: str = "agent", scope: str = "repo"
    ) -> str:
        """Store a note (or update a near-duplicate in the same scope) and return its id."""
        ...

    def forget(self, note_id: str) -> None:
        """Delete a note."""
        ...


class Approver(Protocol):
    """Answers an "ask": (action kind, detail) -> True to approve. Chat asks the user; headless refuses."""

    def __call__(self, kind: str, detail: str) -> bool:
        """Return True to let the action go ahead."""
        ...


Verdict = Literal["allow", "ask", "deny"]


@dataclass(frozen=True)
class Decision:
    """A hook's answer before a tool call: allow, deny, or ask the Approver the `questions` (all must pass).

    `refusal` replaces the default message the model sees when the call is denied or an ask is refused;
    `on_approve` runs once the asks are approved (e.g. to remember the approval).
    """

    verdict: Verdict = "allow"
    reason: str = ""
    questions: tuple[tuple[str, str], ...] = ()
    refusal: str = ""
    on_approve: Callable[[], None] | None = None

    @classmethod
    def allow(cls) -> Decision:
        """Let the call go on to the next hook."""
        return cls()

    @classmethod
    def deny(cls, reason: str, refusal: str = "") -> Decision:
        """Refuse the call; the model sees `refusal` or "permission denied: REASON"."""
        return cls("deny", reason, refusal=refusal)

    @classmethod
    def ask(cls, reason: str, kind: str, detail: str, refusal: str = "",
            on_approve: Callable[[], None] | None = None) -> Decision:
        """Ask the Approver about (kind, detail); refused, the model sees `refusal` or "not approved: REASON..."."""
        return cls("ask", reason, ((kind, detail),), refusal, on_approve)


@dataclass(frozen=True)
class Image:
    """An image a tool returned: its MIME type and its bytes in base64."""

    mime_type: str
    data: str

    @property
    def size(self) -> int:
        """The decoded size in bytes."""
        return len(self.data) * 3 // 4 - self.data[-2:].count("=")

    def meta(self, shown: bool) -> dict[str, Any]:
        """What the tool_result event records of it (never the data)."""
        return {"mime_type": self.mime_type, "bytes": self.size, "shown": shown}


@dataclass
class ToolResult:
    """A tool call's observation and whether it succeeded (`crashed`: the tool raised something unexpected).

    `images` go to the model with the text where its backend accepts them (Capabilities.vision).
    """

    output: str
    ok: bool = True
    crashed: bool = False
    images: list[Image] = field(default_factory=list)


@runtime_checkable
class ToolHook(Protocol):
    """One step of the tool chain (agent.toolchain): consulted before a call, and shown its result after.

    `after` runs only for hooks whose `before` allowed the call, in reverse order (innermost first), for
    failed calls too (`result.ok` False); it returns the result, changed or not.
    """

    def before(self, call: ToolCall, ctx: CallContext) -> Decision:
        """Allow, deny or ask about the call; may keep per-call state in `ctx.scratch`."""
        ...

    def after(self, call: ToolCall, ctx: CallContext, result: ToolResult) -> ToolResult:
        """Look at (or amend) the result of a call this hook allowed."""
        ...
