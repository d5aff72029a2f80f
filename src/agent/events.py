"""The events a run reports, as TypedDicts: the JSON Lines contract of `agent run --json` and events.jsonl.

Every event of a run carries `type`, `run_id` and `ts` (Unix seconds); the last one is `run_finished`.
Chat adds its own events (files_added, file_diff, compaction_failed, context_overflow), never written to a run
log; `compacted` is both (a run stamps it).
docs/events.schema.json is generated from these classes: `python -m agent.events > docs/events.schema.json`
(tests/test_events.py fails when it is out of date).
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal, NotRequired

from pydantic import ConfigDict, Field, TypeAdapter, with_config
from typing_extensions import TypedDict

STRICT = ConfigDict(extra="forbid")


class _Stamped(TypedDict):
    run_id: str
    ts: float


class ReplyToolCall(TypedDict):
    """A tool call as the model_reply event lists it (`error`: why it could not be parsed)."""

    id: str
    name: str
    arguments: dict[str, Any]
    error: str | None


@with_config(STRICT)
class RunStarted(_Stamped):
    """The run began (`run_resumed`: it went on from its checkpoint)."""

    type: Literal["run_started", "run_resumed"]
    format: int
    task: str
    model: str
    repo: str
    start_commit: str


@with_config(STRICT)
class StepStarted(_Stamped):
    """A model call is about to be made."""

    type: Literal["step_started"]
    step: int


@with_config(STRICT)
class TextDelta(_Stamped):
    """Streamed reply text (not written to events.jsonl)."""

    type: Literal["text_delta"]
    step: int
    text: str


@with_config(STRICT)
class ModelReply(_Stamped):
    """The model's reply to one step, with its token use and cost."""

    type: Literal["model_reply"]
    step: int
    content: str
    tool_calls: list[ReplyToolCall]
    tokens_in: int
    tokens_out: int
    cost_usd: float
    prompt_tokens_evaluated: int | None
    finish_reason: str  # the provider's ("stop", "tool_calls", "length", ...); "" when it gave none
    cache_read_tokens: int  # prompt tokens served from the provider's prompt cache
    cache_write_tokens: int  # prompt tokens written to it


@with_config(STRICT)
class Retry(_Stamped):
    """A hosted provider failed in a way worth retrying; the backend waits `delay_s` and tries again."""

    type: Literal["retry"]
    reason: str
    attempt: int
    of: int
    delay_s: float
    status: int | None
    error: str


@with_config(STRICT)
class ToolCallEvent(_Stamped):
    """A tool call about to go through the tool chain."""

    type: Literal["tool_call"]
    step: int
    id: str
    name: str
    arguments: dict[str, Any]


class ImageMeta(TypedDict):
    """An image a tool returned: its type, its size, whether it reached the model (never its data)."""

    mime_type: str
    bytes: int
    shown: bool


@with_config(STRICT)
class ToolResultEvent(_Stamped):
    """The observation the model gets for a call (redacted, capped); `images`: those the tool returned."""

    type: Literal["tool_result"]
    step: int
    id: str
    name: str
    ok: bool
    output: str
    images: NotRequired[list[ImageMeta]]


@with_config(STRICT)
class FormatErrorEvent(_Stamped):
    """A reply that could not be used; `in_a_row` counts towards loop.max_format_errors."""

    type: Literal["format_error"]
    step: int
    error: str
    in_a_row: int


@with_config(STRICT)
class GitCommit(_Stamped):
    """The agent committed one action (trailer Agent-Run)."""

    type: Literal["git_commit"]
    commit: str
    subject: str
    paths: list[str]


@with_config(STRICT)
class GuardFindings(_Stamped):
    """Test tampering found in the run's change."""

    type: Literal["guard_findings"]
    findings: list[dict[str, Any]]


@with_config(STRICT)
class VerificationStarted(_Stamped):
    """The original tests are about to run on the run's source."""

    type: Literal["verification_started"]
    command: str


@with_config(STRICT)
class VerificationFinished(_Stamped):
    """How the original tests did."""

    type: Literal["verification_finished"]
    ran: bool
    command: str
    passed: bool
    timed_out: bool
    tests_restored: list[str]
    output_tail: str


@with_config(STRICT)
class MemoryDistilled(_Stamped):
    """Notes stored from what the run taught (their ids)."""

    type: Literal["memory_distilled"]
    notes: list[str]


@with_config(STRICT)
class MemoryDistillSkipped(_Stamped):
    """Distilling notes failed; the run is not affected."""

    type: Literal["memory_distill_skipped"]
    reason: str


@with_config(STRICT)
class MemoryConsolidated(_Stamped):
    """End-of-run consolidation: duplicates merged away, notes re-anchored, notes flagged needs-review."""

    type: Literal["memory_consolidated"]
    merged: list[str]
    reanchored: list[str]
    flagged: list[str]


@with_config(STRICT)
class RunFinished(_Stamped):
    """The last event of a run (fields of the CLI contract, then details)."""

    type: Literal["run_finished"]
    status: Literal["done", "failed", "limits", "error", "interrupted"]
    verified: bool
    files_changed: list[str]
    tokens_in: int
    tokens_out: int
    cost_usd: float
    duration_s: float
    steps: int
    summary: str
    guard_findings: list[dict[str, Any]]
    verification: dict[str, Any]
    cache_read_tokens: NotRequired[int]  # totals over the run's replies (hosted prompt caching)
    cache_write_tokens: NotRequired[int]


@with_config(STRICT)
class RunEnded(_Stamped):
    """`agent run --tasks`: one background run ended (its own log has the details)."""

    type: Literal["run_ended"]
    status: str
    exit_code: int | None


@with_config(STRICT)
class WarningEvent(TypedDict):
    """Something the user should know that does not stop the run: an MCP server that failed to start, a tool
    left out (`source`: mcp | plugin). Stamped in a run; chat shows it as a dim line."""

    type: Literal["warning"]
    run_id: NotRequired[str]
    ts: NotRequired[float]
    source: str
    message: str


@with_config(STRICT)
class FilesAdded(TypedDict):
    """Chat: files put into context by @path."""

    type: Literal["files_added"]
    paths: list[str]


@with_config(STRICT)
class FileDiff(TypedDict):
    """Chat: what an edit changed in one file."""

    type: Literal["file_diff"]
    path: str
    diff: str


@with_config(STRICT)
class Compacted(TypedDict):
    """Chat, or a run (stamped, with its step): older turns or steps were summarised or folded to make room."""

    type: Literal["compacted"]
    run_id: NotRequired[str]
    ts: NotRequired[float]
    step: NotRequired[int]
    dropped: list[str]
    summary: str
    tokens_before: int
    tokens_after: int
    remembered: list[str]


@with_config(STRICT)
class CompactionFailed(TypedDict):
    """Chat: compaction failed; the turn goes on."""

    type: Literal["compaction_failed"]
    error: str


@with_config(STRICT)
class ContextOverflowEvent(TypedDict):
    """Chat: the provider refused the prompt as too long; `window` is what that taught (in our ~4-character
    tokens). The turn compacts once and retries, or refuses a message that alone does not fit."""

    type: Literal["context_overflow"]
    window: int
    error: str


RUN_EVENTS = (
    RunStarted, StepStarted, TextDelta, ModelReply, Retry, ToolCallEvent, ToolResultEvent, FormatErrorEvent, GitCommit,
    GuardFindings, VerificationStarted, VerificationFinished, MemoryDistilled, MemoryDistillSkipped, MemoryConsolidated,
    RunFinished, RunEnded, Compacted, WarningEvent,
)
CHAT_EVENTS = (FilesAdded, FileDiff, Compacted, CompactionFailed, WarningEvent, ContextOverflowEvent)
AnyEvent = Annotated[
    RunStarted | StepStarted | TextDelta | ModelReply | Retry | ToolCallEvent | ToolResultEvent | FormatErrorEvent | GitCommit
    | GuardFindings | VerificationStarted | VerificationFinished | MemoryDistilled | MemoryDistillSkipped
    | MemoryConsolidated | RunFinished | RunEnded | FilesAdded | FileDiff | Compacted | CompactionFailed | WarningEvent
    | ContextOverflowEvent,
    Field(discriminator="type"),
]


def schema() -> dict[str, Any]:
    """The JSON Schema of one event line."""
    adapter: TypeAdapter[Any] = TypeAdapter(AnyEvent)
    out = adapter.json_schema()
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "title": "agent event", **out}


if __name__ == "__main__":
    print(json.dumps(schema(), indent=2, sort_keys=True))
