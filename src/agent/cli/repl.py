"""`agent chat`: the interactive front end. It parses, wires, renders and confirms; the work is in Conversation.

The first prompt is drawn before anything heavy is imported: config, backend, tools, memory and rich are
loaded by a background thread while the user types, and the first request waits for it.
"""

from __future__ import annotations

import fnmatch
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from prompt_toolkit import PromptSession
from prompt_toolkit.completion import CompleteEvent, Completer, Completion
from prompt_toolkit.document import Document
from prompt_toolkit.filters import is_searching
from prompt_toolkit.formatted_text import HTML
from prompt_toolkit.history import FileHistory, InMemoryHistory
from prompt_toolkit.key_binding import KeyBindings, KeyPressEvent

from agent.cli.chatterm import (
    PASTED_NEWLINE,
    StepKeys,
    approval_why,
    command_pattern,
    drain_stdin,
    esc_interrupts,
    save_shell_allow,
)

COMMAND_NAMES = [
    "/help",
    "/add",
    "/drop",
    "/files",
    "/map",
    "/search",
    "/memory",
    "/undo",
    "/diff",
    "/test",
    "/run",
    "/model",
    "/tokens",
    "/compact",
    "/clear",
    "/exit",
]
FILE_COMMANDS = ("/add ", "/drop ")
APPROVAL_ANSWERS = {"y": "yes", "yes": "yes", "n": "no", "no": "no", "": "no", "a": "always", "always": "always"}
ESCAPES = re.compile(r"\x1b(?:\[[0-9;?]*[ -/]*[@-~]|O.|.)")  # keys typed ahead as terminal sequences




class LoadFailed(Exception):
    """The background load failed while the first prompt was open."""


class ChatCompleter(Completer):
    """Completes slash commands, @paths and the paths after /add and /drop."""

    def __init__(self, files: Any):
        self.files = files  # () -> list[str]

    def get_completions(self, document: Document, complete_event: CompleteEvent) -> Iterable[Completion]:
        """Yield completions for the text before the cursor."""
        text = document.text_before_cursor
        if text.startswith("/") and " " not in text:
            yield from (Completion(c, -len(text)) for c in COMMAND_NAMES if c.startswith(text))
            return
        word = text.split(" ")[-1]
        if word.startswith("@"):
            yield from (Completion("@" + f, -len(word)) for f in self._match(word[1:]))
        elif text.startswith(FILE_COMMANDS):
            yield from (Completion(f, -len(word)) for f in self._match(word))

    def _match(self, fragment: str) -> list[str]:
        files = self.files()
        prefix = [f for f in files if f.startswith(fragment)]
        inside = [f for f in files if fragment.lower() in f.lower() and f not in prefix]
        return (prefix + inside)[:50]


def _bindings() -> KeyBindings:
    keys = KeyBindings()

    @keys.add("enter", filter=~is_searching)  # while searching history (Ctrl-R), Enter accepts the match
    def _submit(event: KeyPressEvent) -> None:
        buffer = event.current_buffer
        if buffer.document.text_before_cursor.endswith("\\"):  # a trailing backslash continues the line
            buffer.delete_before_cursor()
            buffer.insert_text("\n")
        else:
            buffer.validate_and_handle()

    @keys.add("escape", "enter")
    def _newline(event: KeyPressEvent) -> None:
        event.current_buffer.insert_text("\n")

    return keys


class Repl:
    """The chat loop: read a line, run a slash command or a turn, render, repeat."""

    def __init__(self, root: Path, overrides: dict[str, Any], resume: bool | str, model_label: str, first: str = ""):
        self.root, self.overrides, self.resume, self.model_label = root, overrides, resume, model_label
        self.first_message = first.strip()
        self.typeahead = ""  # typed during a step and drained before an approval: the next prompts' input
        self.step_keys: StepKeys | None = None  # keys read while a step runs (esc_interrupts)
        self.results: list[tuple[str, str]] = []  # every tool result of the session, for /show N
        self.ready = threading.Event()
        self.conv: Any = None
        self.console: Any = None
        self.load_error: Exception | None = None
        self.always: set[tuple[str, str]] = set()
        self.patterns: set[str] = set()  # "always" for a command pattern, e.g. "pytest *"
        self.printer: Any = None
        self._files: tuple[float, list[str]] = (0.0, [])
        history = _history(root)
        self.session: PromptSession[str] = PromptSession(
            history=history,
            completer=ChatCompleter(self.file_list),
            complete_while_typing=False,
            key_bindings=_bindings(),
            multiline=True,
            bottom_toolbar=self.toolbar,
            prompt_continuation=lambda width, line, soft: "… ".rjust(width),
        )
        self.asker: PromptSession[str] = PromptSession(history=InMemoryHistory())

    # -- loading -------------------------------------------------------------------------------

    def start_loading(self) -> None:
        """Build config, backend, tools, memory and the conversation in a background thread."""
        threading.Thread(target=self._load, name="agent-chat-loader", daemon=True).start()

    def _load(self) -> None:
        try:
            from rich.console import Console

            self.console = Console(highlight=False)
            from agent.chat.conversation import Conversation
            from agent.chat.store import find_session, latest_session, read_session, restore
            from agent.config import load_config
            from agent.session import Session

            config = load_config(self.root, self.overrides)
            conv = Conversation(Session(self.root, config, approve=self.approve_tool))
            if self.resume:
                path = latest_session(self.root) if self.resume is True else find_session(self.root, self.resume)
                if path is not None:
                    restore(conv, read_session(path))
            self.conv = conv
        except Exception as exc:  # shown once the user sends something; the prompt must not die
            self.load_error = exc
        finally:
            self.ready.set()
            app = self.session.app
            if app.is_running and app.loop is not None:
                if self.load_error is not None:  # refuse up front, not after the user's first request
                    app.loop.call_soon_threadsafe(lambda: app.exit(exception=LoadFailed()))
                else:
                    app.loop.call_soon_threadsafe(app.invalidate)

    def wait(self) -> bool:
        """Wait for the background load; False (after saying why) when it failed. Ctrl-C leaves it loading."""
        if not self.ready.is_set():
            _write(f"\x1b[2mloading {self.model_label}… (Ctrl-C to cancel the request)\x1b[0m\n")
            while not self.ready.wait(0.1):
                pass
        if self.load_error is not None:
            sys.stderr.write(f"agent: error: {self.load_error}\n")
            sys.stderr.flush()
            return False
        notices = self.conv.session.notices
        if notices.sink is None:  # the warnings held while loading (MCP servers, plugins), then any later ones
            from agent.cli.chatrender import print_warning

            notices.bind(lambda e: print_warning(self.console, e))
        return True

    # -- the loop ------------------------------------------------------------------------------

    def run(self) -> int:
        """Read and act until /exit or Ctrl-D; returns the exit code (2: the model or config was refused)."""
        code = self._start()
        if code is not None:
            return code
        first = not self.ready_started
        while True:
            try:
                text = self._next_line(first)
            except KeyboardInterrupt:
                continue
            except EOFError:
                break
            except LoadFailed:
                self.wait()
                return 2
            finally:
                first = False
            code = self.act(text.strip())
            if code is not None:
                return code
        self._goodbye()
        return 0

    def _start(self) -> int | None:
        """On --resume, show the earlier conversation; with a first message, send it at once."""
        self.ready_started = bool(self.resume or self.first_message)
        if self.ready_started:
            self.start_loading()
        if self.resume:
            from agent.cli.slash import show_recap

            if not self.wait():
                return 2
            show_recap(self)
        return self.act(self.first_message) if self.first_message else None

    def _next_line(self, first: bool) -> str:
        """A line typed ahead during an approval (sent as it was typed), else one read at the prompt."""
        if "\n" in self.typeahead:
            line, _, self.typeahead = self.typeahead.partition("\n")
            line = line.replace(PASTED_NEWLINE, "\n")
            _write(f"\x1b[1m›\x1b[0m {line}\n")
            if line.strip():
                self.session.history.append_string(line)  # Up and Ctrl-R find it as if typed at the prompt
            return line
        default, self.typeahead = self.typeahead.replace(PASTED_NEWLINE, "\n"), ""
        return self.session.prompt(HTML("<b>›</b> "), default=default, pre_run=self.start_loading if first else None)

    def act(self, text: str) -> int | None:
        """Act on one line: a slash command, `!cmd`, `#note` or a request; an exit code ends the REPL."""
        if not text:
            return None
        try:
            if not self.wait():
                return 2
        except KeyboardInterrupt:
            _write("\x1b[33minterrupted\x1b[0m — still loading; your request was not sent\n")
            return None
        if text.startswith("/") or text[0] in "!#":
            from agent.cli.slash import dispatch

            if dispatch(self, text):
                self._goodbye()
                return 0
        else:
            self.run_turn(text)
        return None

    def _goodbye(self) -> None:
        if self.conv is not None and self.conv.turn_starts:
            self.console.print(f"[dim]session {self.conv.id} saved · agent chat --resume continues it[/]")

    def run_turn(self, text: str) -> None:
        """Send one request; Ctrl-C stops the step and the conversation goes on."""
        from agent.chat.conversation import close_dangling
        from agent.cli.chatrender import ChatPrinter
        from agent.errors import AgentError

        self._warn_mentions(text)
        self.printer = ChatPrinter(self.console, self.conv.config.chat.fold_lines, self.results)
        conv = self.conv
        started = (time.monotonic(), conv.tokens_in, conv.tokens_out, conv.cost_usd, conv.tokens_cached)
        conv.ws.on_output = self.printer.on_output  # the live tail of shell and test commands
        try:
            with esc_interrupts() as self.step_keys:
                if self.step_keys is not None:
                    self.printer.ticker.typed = self.step_keys.preview
                result = self.conv.turn(text, self.printer)
        except KeyboardInterrupt:
            close_dangling(self.conv.messages)
            self.printer.end()
            self.console.print("[yellow]interrupted[/] — the conversation goes on")
            return
        except AgentError as exc:
            self.printer.end()
            self.console.print(f"[red]error:[/] {exc}")
            return
        finally:
            conv.ws.on_output = None
            self.printer.end()
            self.typeahead += self.step_keys.text() if self.step_keys is not None else ""
            self.step_keys = None
        self._report(result)
        self._turn_line(*started)
        self._propose_notes(text)

    def _propose_notes(self, text: str) -> None:
        """Offer each rule the user stated in `text` as a note (agent.memory.corrections): yes, edit or no."""
        from rich.markup import escape

        from agent.errors import StoreError
        from agent.memory.corrections import proposals

        store = self.conv.ws.memory
        if store is None or not self.conv.config.memory.propose_notes:
            return
        for proposal in proposals(text):
            question = HTML(f"<ansicyan>remember</ansicyan> <b>{_html(proposal)}</b>? [y]es / [e]dit / [n]o: ")
            try:
                answer = self.asker.prompt(question).strip().lower()
                if answer in ("e", "edit"):
                    proposal = self.asker.prompt(HTML("note: "), default=proposal).strip()
            except (EOFError, KeyboardInterrupt):
                return
            if answer not in ("y", "yes", "e", "edit") or not proposal:
                continue
            try:
                note_id = store.remember(proposal, [], ["preference"], source="user")
            except StoreError as exc:
                self.console.print(f"[red]not saved:[/] {escape(str(exc))}")
                continue
            self.console.print(f"saved note [bold]{escape(note_id)}[/]")

    def _warn_mentions(self, text: str) -> None:
        """Say which @mentions name no file (they go to the model as plain text)."""
        from rich.markup import escape

        from agent.chat.conversation import MENTION

        known = set(self.conv.ws.files())
        for mention in dict.fromkeys(m.rstrip(".,;:") for m in MENTION.findall(text)):
            folder = mention.rstrip("/") + "/"
            if mention in known:
                continue
            if any(f.startswith(folder) for f in known):
                self.console.print(f"[dim]@{escape(mention)} is a folder: /add {escape(folder)} adds its files[/]")
            elif "." in mention or "/" in mention:
                self.console.print(f"[yellow]@{escape(mention)}: no such file in the repository (sent as text)[/]")

    def _turn_line(self, t0: float, tokens_in: int, tokens_out: int, cost: float, cached: int) -> None:
        """One dim line per turn: tokens in (and cached) and out, cost and time of this turn."""
        conv = self.conv
        hits = conv.tokens_cached - cached
        self.console.print(
            f"[dim]{conv.tokens_in - tokens_in:,} tokens in{f' ({hits:,} cached)' if hits else ''} · "
            f"{conv.tokens_out - tokens_out:,} out · "
            f"${conv.cost_usd - cost:.4f} · {time.monotonic() - t0:.1f} s[/]"
        )

    def _keep_typeahead(self) -> None:
        """Move what was typed during the step out of the input queue: it goes to the next prompts, as typed."""
        self.typeahead += self.step_keys.text() if self.step_keys is not None else ""
        text = ESCAPES.sub("", drain_stdin()).replace("\r\n", "\n").replace("\r", "\n")
        for ch in text:
            if ch in "\x7f\b":  # the terminal does not edit the line during a step: backspace here
                self.typeahead = self.typeahead[:-1] if not self.typeahead.endswith("\n") else self.typeahead
            elif ch == "\n" or ch.isprintable():
                self.typeahead += ch

    def _report(self, result: Any) -> None:
        from rich.markup import escape

        if result.status == "interrupted":
            self.console.print("[yellow]interrupted[/] — the conversation goes on")
        elif result.status != "done":
            self.console.print(f"[red]{result.status}:[/] {escape(result.summary)}")
        elif result.summary.strip() and result.summary.strip() not in self.printer.streamed:
            from rich.markdown import Markdown

            self.console.print(Markdown(result.summary))
        elif not result.summary.strip() and not self.printer.streamed.strip():
            self.console.print("[dim](the model gave an empty reply)[/]")
        if result.files_changed:
            self.console.print(
                f"[dim]changed {escape(', '.join(result.files_changed))} · /undo reverts · /diff shows[/]"
            )
        if result.by_commands:
            self.console.print(
                f"[dim]changed while its commands ran: {escape(', '.join(result.by_commands))}"
                " (/undo leaves these: they may be yours)[/]"
            )

    # -- approvals and status ------------------------------------------------------------------

    def approve(self, kind: str, detail: str, for_model: bool = False) -> bool:
        """Ask yes / no / always (this action, or a pattern; saved to the user's config with `s`).

        `for_model` (a tool call's approval): any other answer is a no with a message the model sees as the
        reason, and can do that instead. Otherwise (a slash command asking) any other answer is a no.
        """
        pattern = command_pattern(detail) if kind == "shell" else None
        if (kind, detail) in self.always or (pattern and any(fnmatch.fnmatchcase(detail, p) for p in self.patterns)):
            return True
        if self.printer is not None:
            self.printer.end()
        keys = self.step_keys
        if keys is not None:
            keys.pause()  # the question reads the terminal now
        try:
            self._keep_typeahead()  # text typed during the step is never taken as the answer
            if self.typeahead:
                _write(f"\x1b[2m(kept for your next message: {_preview(self.typeahead)})\x1b[0m\n")
            answer = self._ask(kind, detail, pattern, for_model)
        finally:
            if keys is not None:
                keys.resume()
        choice = APPROVAL_ANSWERS.get(answer.lower())
        if choice is None and pattern and answer.lower() in ("p", "s"):
            self.patterns.add(pattern)
            if answer.lower() == "s":
                _write(f"\x1b[2msaved: permissions.shell_allow += {pattern!r} in {save_shell_allow(pattern)}\x1b[0m\n")
            return True
        if choice is None and for_model:  # "no, do this instead"
            raise _declined(kind, detail, answer)
        if choice == "always":
            self.always.add((kind, detail))
        return choice in ("yes", "always")

    def approve_tool(self, kind: str, detail: str) -> bool:
        """The tool chain's approver: a no tells the model the user declined (never a headless refusal text)."""
        if not self.approve(kind, detail, for_model=True):
            raise _declined(kind, detail, "")
        return True

    def _ask(self, kind: str, detail: str, pattern: str | None, for_model: bool) -> str:
        label = {"shell": "run", "dirty_file": "edit"}.get(kind, kind)
        why = approval_why(self.conv, kind, detail)
        extra = f" / [p] always <b>{_html(pattern)}</b> / [s] same, saved" if pattern else ""
        question = HTML(
            f"<ansiyellow>allow {label}</ansiyellow> <b>{_html(detail.rstrip('?'))}</b>?"
            + (f" <i>({_html(why)})</i>" if why else "")
            + f"\n  [y]es / [n]o / [a]lways{extra}" + (" / or say what to do instead: " if for_model else ": ")
        )
        while True:
            try:
                answer = self.asker.prompt(question).strip()
            except EOFError:  # Ctrl-D at the question: no
                return "n"
            if answer.lower() in APPROVAL_ANSWERS or len(answer) > 1 or (pattern and answer.lower() in "ps"):
                return answer

    def toolbar(self) -> Any:
        """The status line: model, context use, cost, notes recalled, files in context."""
        conv = self.conv
        if conv is None:
            return HTML(f" {_html(self.model_label)} · <i>{'error' if self.load_error else 'loading…'}</i>")
        used = conv.context_tokens()
        return HTML(
            f" {_html(conv.backend.name)} · {used:,}/{conv.limit:,} tokens ({used * 100 // max(conv.limit, 1)}%)"
            f" · ${conv.cost_usd:.4f} · {conv.notes_recalled} notes · {len(conv.files)} files"
        )

    def file_list(self) -> list[str]:
        """The repository's files for completion (cached for a few seconds)."""
        stamp, files = self._files
        if time.monotonic() - stamp > 5:
            proc = subprocess.run(
                ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
                cwd=self.root,
                capture_output=True,
                text=True,
            )
            files = proc.stdout.splitlines()
            self._files = (time.monotonic(), files)
        return files


def _history(root: Path) -> Any:
    try:
        from agent.chat.store import history_path

        return FileHistory(str(history_path(root)))
    except OSError:
        return InMemoryHistory()


def _declined(kind: str, detail: str, said: str) -> Exception:
    from agent.errors import PermissionDenied
    from agent.prompts import render

    return PermissionDenied(render("chat_declined", kind=kind, detail=detail, said=said).strip())


def _preview(text: str) -> str:
    """Typed-ahead text on one line."""
    from agent.cli.chatrender import clip

    return clip(text.replace("\n", " ⏎ "), 60)


def _html(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _write(text: str) -> None:
    sys.stdout.write(text)
    sys.stdout.flush()


def main(root: Path, overrides: dict[str, Any], resume: bool | str, model_label: str, first: str = "") -> int:
    """Run the REPL in this terminal; returns the exit code."""
    return Repl(root, overrides, resume, model_label, first).run()
