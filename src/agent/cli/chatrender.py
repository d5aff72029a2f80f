"""Rendering for `agent chat`: streamed Markdown, compact tool calls with folded results, coloured diffs."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any

from rich.console import Console
from rich.live import Live
from rich.markdown import Markdown
from rich.markup import escape
from rich.spinner import Spinner
from rich.text import Text

from agent.cli.render import image_note, short

CODE_THEME = "monokai"
DIFF_SHOWN = {"edit_file", "write_file"}
FENCE = re.compile(r"^\s*(```|~~~)")
KEY_ARGUMENT = {
    "read_file": "path",
    "write_file": "path",
    "search": "pattern",
    "run_shell": "command",
    "list_files": "pattern",
    "recall": "query",
    "remember": "text",
    "forget": "note_id",
    "finish": "summary",
}


def split_complete(text: str) -> tuple[str, str]:
    """Split streamed Markdown into complete blocks (ended by a blank line or a closing fence) and the rest."""
    in_fence, cut, pos = False, 0, 0
    lines = text.split("\n")
    for i, line in enumerate(lines[:-1]):  # the last piece may be an unfinished line
        pos += len(line) + 1
        if FENCE.match(line):
            in_fence = not in_fence
            if not in_fence:
                cut = pos
        elif not in_fence and not line.strip() and i > 0:
            cut = pos
    return text[:cut], text[cut:]


class MarkdownStream:
    """Prints finished Markdown blocks for good and shows the unfinished one in a transient live view."""

    def __init__(self, console: Console):
        self.console, self.buffer = console, ""
        self.live: Live | None = None

    def feed(self, chunk: str) -> None:
        """Add streamed text."""
        self.buffer += chunk
        done, self.buffer = split_complete(self.buffer)
        if done.strip():
            self._stop_live()
            self.console.print(Markdown(done, code_theme=CODE_THEME))
        if self.buffer.strip():
            tail = "\n".join(self.buffer.splitlines()[-max(self.console.height - 4, 3) :])
            if self.live is None:
                self.live = Live(Markdown(tail), console=self.console, transient=True, auto_refresh=False)
                self.live.start()
            self.live.update(Markdown(tail, code_theme=CODE_THEME), refresh=True)

    def end(self) -> None:
        """Print what is left; safe to call twice."""
        self._stop_live()
        if self.buffer.strip():
            self.console.print(Markdown(self.buffer, code_theme=CODE_THEME))
        self.buffer = ""

    def _stop_live(self) -> None:
        if self.live is not None:
            self.live.stop()
            self.live = None


TAIL_LINES = 4  # lines of a running command's output shown under the spinner


class _Elapsed:
    """A label with the seconds since it started and the tail of live output, re-rendered at every refresh."""

    def __init__(self, label: str, typed: Callable[[], str]):
        self.label, self.started, self.typed = label, time.monotonic(), typed
        self.output = ""

    def feed(self, text: str) -> None:
        """Keep the end of a running command's output (written from its reader thread)."""
        self.output = (self.output + text)[-8192:]

    def __rich__(self) -> Text:
        text = Text(f"{self.label} {time.monotonic() - self.started:.0f}s", style="dim")
        for line in self.output.replace("\r", "\n").splitlines()[-TAIL_LINES:]:
            text.append("\n  │ " + clip(line, 100), style="dim")
        typed = self.typed()
        if typed:
            text.append("\n› ", style="bold")
            text.append(clip(typed.replace("\n", " ⏎ "), 90) + "  ", style="")
            text.append("(typed ahead: kept for after this step)", style="dim")
        return text


class Ticker:
    """A transient spinner with elapsed time while the model thinks or a tool runs (terminals only)."""

    def __init__(self, console: Console):
        self.console = console
        self.live: Live | None = None
        self.label: _Elapsed | None = None
        self.typed: Callable[[], str] = lambda: ""  # the text typed during the step (StepKeys.preview), shown under it

    def start(self, label: str) -> None:
        """Show `label` with a spinner until stop()."""
        self.stop()
        if self.console.is_terminal:
            self.label = _Elapsed(label, self.typed)
            spinner = Spinner("dots", text=self.label, style="cyan")
            self.live = Live(spinner, console=self.console, transient=True, refresh_per_second=8)
            self.live.start()

    def feed(self, text: str) -> None:
        """Live output of the running command, shown under the spinner."""
        label = self.label
        if label is not None:
            label.feed(text)

    def stop(self) -> None:
        """Take the spinner away; safe to call twice."""
        self.label = None
        if self.live is not None:
            self.live.stop()
            self.live = None


def diff_text(diff: str) -> Text:
    """A unified diff with added lines green, removed red and hunk headers cyan."""
    out = Text()
    for line in diff.splitlines():
        style = (
            "bold"
            if line.startswith(("+++", "---"))
            else "green"
            if line.startswith("+")
            else "red"
            if line.startswith("-")
            else "cyan"
            if line.startswith("@@")
            else ""
        )
        out.append(line + "\n", style=style)
    return out


def call_summary(name: str, arguments: dict[str, Any]) -> str:
    """The one argument worth showing for a tool call."""
    if name == "edit_file":
        return ", ".join(dict.fromkeys(str(e.get("path")) for e in arguments.get("edits") or [] if isinstance(e, dict)))
    key = KEY_ARGUMENT.get(name)
    if key and key in arguments:
        value = arguments[key]
        return clip(value, 100) if isinstance(value, str) else short(value, 100)
    return short(arguments, 100) if arguments else ""


def clip(line: str, width: int) -> str:
    """One line cut to `width` at a word boundary (a long unbroken word is cut where it must be)."""
    text = " ".join(line.split())
    if len(text) <= width:
        return text
    cut = text.rfind(" ", 0, width)
    return text[: cut if cut > width * 0.6 else width - 1].rstrip() + " …"


def fold(output: str, lines: int, number: int | None = None) -> str:
    """The first `lines` lines of a result, how many more there are, and how to see it whole (/show N)."""
    rows = output.rstrip().splitlines() or [""]
    head = rows[: max(lines, 1)]
    shown = " ⏎ ".join(clip(r, 120) for r in head)
    hidden = len(rows) - len(head)
    parts = [f"+{hidden} lines"] if hidden > 0 else []
    if number and (hidden > 0 or any(len(r) > 120 for r in head)):
        parts.append(f"/show {number}")
    return shown + (f"  [dim]({' · '.join(parts)})[/]" if parts else "")


class ChatPrinter:
    """Renders one turn's events."""

    def __init__(self, console: Console, fold_lines: int = 1, results: list[tuple[str, str]] | None = None):
        self.console, self.fold_lines = console, fold_lines
        self.stream = MarkdownStream(console)
        self.streamed = ""
        self.results = results if results is not None else []  # (tool, output) of the session, for /show N
        self.ticker = Ticker(console)

    def __call__(self, event: dict[str, Any]) -> None:
        """Render one event."""
        handler = getattr(self, f"on_{event['type']}", None)
        if handler:
            handler(event)

    def on_output(self, text: str) -> None:
        """A running shell or test command's output, as it comes (from its reader thread)."""
        self.ticker.feed(text)

    def end(self) -> None:
        """Flush streamed text and stop the spinner (before a prompt, an error or the end of the turn)."""
        self.ticker.stop()
        self.stream.end()

    def on_step_started(self, e: dict[str, Any]) -> None:
        self.ticker.start("thinking…")

    def on_text_delta(self, e: dict[str, Any]) -> None:
        self.ticker.stop()  # one live display at a time: the streamed Markdown takes over
        self.streamed += e["text"]
        self.stream.feed(e["text"])

    def on_model_reply(self, e: dict[str, Any]) -> None:
        self.ticker.stop()
        self.stream.end()

    def on_retry(self, e: dict[str, Any]) -> None:
        from agent.cli.render import retry_line

        self.stream.end()
        self.console.print(f"[yellow]{escape(retry_line(e))}[/]")

    def on_tool_call(self, e: dict[str, Any]) -> None:
        self.ticker.stop()
        self.console.print(f"[cyan]● {escape(e['name'])}[/] {escape(call_summary(e['name'], e['arguments']))}")
        self.ticker.start(f"running {e['name']}…")

    def on_tool_result(self, e: dict[str, Any]) -> None:
        self.ticker.stop()
        mark = "[green]✓[/]" if e["ok"] else "[red]✗[/]"
        if e["ok"] and e["name"] in DIFF_SHOWN:  # the file_diff event that follows shows the change
            self.console.print(f"  {mark} {escape(short(e['output'].splitlines()[0] if e['output'] else ''))}")
            return
        self.results.append((e["name"], e["output"]))
        lines = self.fold_lines if e["ok"] else max(self.fold_lines, 3)
        self.console.print(f"  {mark} {fold(escape(e['output']), lines, len(self.results))}{image_note(e)}",
                           highlight=False)

    def on_files_added(self, e: dict[str, Any]) -> None:
        self.console.print(f"[dim]added {escape(', '.join(e['paths']))} to the chat[/]")

    def on_file_diff(self, e: dict[str, Any]) -> None:
        self.console.print(diff_text(e["diff"]), end="")

    def on_format_error(self, e: dict[str, Any]) -> None:
        self.console.print(f"  [yellow]! {escape(short(e['error'], 200))}[/]")

    def on_compacted(self, e: dict[str, Any]) -> None:
        self.ticker.stop()
        print_compaction(self.console, e)
        self.ticker.start("thinking…")  # the model call goes on (a step's, or the retry after an overflow)

    def on_compaction_failed(self, e: dict[str, Any]) -> None:
        self.console.print(f"[yellow]compaction failed: {escape(e['error'])}[/]")

    def on_warning(self, e: dict[str, Any]) -> None:
        self.ticker.stop()
        print_warning(self.console, e)

    def on_context_overflow(self, e: dict[str, Any]) -> None:
        self.ticker.stop()
        self.stream.end()
        self.console.print(f"[yellow]the prompt overflowed the model's window (now taken as ~{e['window']:,} tokens): "
                           "compacting and retrying[/]")


def print_warning(console: Console, e: dict[str, Any]) -> None:
    """A warning event as one dim line."""
    console.print(f"[dim]warning: {escape(e['message'])}[/]", highlight=False)


def print_compaction(console: Console, e: dict[str, Any]) -> None:
    """Tell the user what compaction dropped and saved."""
    console.print(f"[yellow]context compacted[/] {e['tokens_before']:,} → {e['tokens_after']:,} tokens; dropped:")
    for item in e["dropped"] or ["nothing"]:
        console.print(f"  [dim]- {escape(item)}[/]")
    for note in e.get("remembered") or []:
        console.print(f"  [green]saved to memory:[/] {escape(note)}")
