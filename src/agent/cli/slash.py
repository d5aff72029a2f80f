"""Slash commands of `agent chat`: parse the line, call the conversation or a helper, print the result."""

from __future__ import annotations

import difflib
import shlex
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.markup import escape
from rich.table import Table

from agent.errors import AgentError, UsageError

HELP: dict[str, tuple[str, str]] = {
    "/help": ("", "this list"),
    "/add": ("PATH|GLOB ...", "put files into the chat (*.py: top folder, **/*.py: all folders)"),
    "/drop": ("[PATH|GLOB ...]", "take files out of the chat (all without arguments)"),
    "/files": ("", "the files in the chat"),
    "/map": ("[QUERY]", "the repository map, ranked for QUERY"),
    "/search": ("REGEX", "search the repository"),
    "/memory": ("search Q | add TEXT | forget ID", "durable notes"),
    "/undo": ("", "take back what the agent's last turn wrote (your own changes are kept)"),
    "/diff": ("", "what the agent's edits changed in this session"),
    "/test": ("", "run the tests; a failure goes into the next message"),
    "/run": ("COMMAND", "run a shell command; its output goes into the next message"),
    "/model": ("[SPEC]", "show or switch the model"),
    "/mcp": ("", "MCP servers: state and tools"),
    "/tokens": ("", "context use and cost"),
    "/compact": ("", "summarise older turns now"),
    "/clear": ("", "forget the conversation (files stay)"),
    "/resume": ("[N|ID]", "list saved sessions, or continue one"),
    "/show": ("[N]", "print tool result N of this session whole (default: the last)"),
    "/init": ("", "ask the agent to write AGENTS.md for this repository"),
    "/commands": ("", "the custom commands (.agent/commands/*.md and the user's)"),
    "/exit": ("", "leave (Ctrl-D too)"),
}
MANY_FILES = 25  # /add of more files than this asks first
ALIASES = {"/quit": "/exit", "/q": "/exit", "/?": "/help"}


def dispatch(repl: Any, line: str) -> bool:
    """Run one slash command, `!command` or `#note` line; True means exit."""
    line = line.strip()
    if line[:1] in ("!", "#"):
        name, arg = ("/!" if line[0] == "!" else "/#"), line[1:]
    else:
        name, _, arg = line.partition(" ")
    name = ALIASES.get(name, name)
    if name == "/exit":
        return True
    handler = _handler(repl, name)
    if handler is None:
        names = list(HELP) + list(ALIASES) + list(custom_commands(repl.conv.root))
        close = difflib.get_close_matches(name, names, n=1, cutoff=0.5)
        hint = f" — did you mean {close[0]}?" if close else " — /help lists the commands"
        repl.console.print(f"[red]unknown command {escape(name)}[/]{hint}")
        return False
    try:
        handler(repl, arg.strip())
    except KeyboardInterrupt:
        repl.console.print("[yellow]interrupted[/]")
    except AgentError as exc:
        repl.console.print(f"[red]error:[/] {escape(str(exc))}")
    return False


def _handler(repl: Any, name: str) -> Callable[[Any, str], None] | None:
    if name == "/!":
        return cmd_bang
    if name == "/#":
        return cmd_note
    if name in HELP:
        return globals().get("cmd_" + name[1:])
    if name.startswith("/mcp__"):  # a server's prompt (agent.mcp)
        return lambda r, arg: r.run_turn(r.conv.session.mcp.prompt(name, shlex.split(arg)))
    template = custom_commands(repl.conv.root).get(name)
    if template is None:
        return None
    return lambda r, arg: r.run_turn(template.read_text(errors="replace").replace("$ARGUMENTS", arg))


def custom_commands(root: Path) -> dict[str, Path]:
    """`/name` -> its Markdown prompt template: the user's commands, then the repository's (which win)."""
    import platformdirs

    found: dict[str, Path] = {}
    for folder in (Path(platformdirs.user_config_dir("agent")) / "commands", root / ".agent" / "commands"):
        if folder.is_dir():
            for path in sorted(folder.glob("*.md")):
                if ("/" + path.stem) not in HELP:  # a custom command never hides a built-in one
                    found["/" + path.stem] = path
    return found


def _words(arg: str) -> list[str]:
    """Split arguments like a shell; an unbalanced quote is part of a name, not an error."""
    try:
        return shlex.split(arg)
    except ValueError:
        return arg.split()


def cmd_help(repl: Any, arg: str) -> None:
    table = Table(show_header=False, box=None, padding=(0, 2))
    for name, (args, text) in HELP.items():
        table.add_row(f"[cyan]{name}[/] {escape(args)}", text)
    for name, path in custom_commands(repl.conv.root).items():
        table.add_row(f"[cyan]{escape(name)}[/] {escape('[ARGS]')}", f"[dim]custom: {escape(str(path))}[/]")
    repl.console.print(table)
    repl.console.print(
        "[dim]!cmd runs a shell command (its output goes with your next message) · #text saves a note to memory[/]"
    )
    repl.console.print(
        "[dim]Enter sends · Alt-Enter or a trailing \\ adds a line · Ctrl-C or Esc stops a step · Ctrl-D quits[/]"
    )


def cmd_add(repl: Any, arg: str) -> None:
    from agent.chat.globs import matches_any

    if not arg:
        raise UsageError("/add needs a path or glob")
    conv, patterns = repl.conv, _words(arg)
    known = conv.ws.files()
    matches = matches_any(known, patterns)
    if len(matches) > MANY_FILES and not repl.approve("add", f"{len(matches)} files matching {' '.join(patterns)}"):
        repl.console.print("[dim]nothing added[/]")
        return
    already = [p for p in patterns if p in conv.files]
    before = set(conv.files)
    added = conv.add(patterns)
    for path in added:
        repl.console.print(f"added [bold]{escape(path)}[/]")
    for path in already:
        repl.console.print(f"[dim]{escape(path)} is already in the chat[/]")
    binary = [f for f in matches if f not in before and f not in added]
    if binary:
        repl.console.print(f"[dim]skipped {len(binary)} binary file(s): {escape(', '.join(binary[:5]))}[/]")


def cmd_drop(repl: Any, arg: str) -> None:
    gone = repl.conv.drop(_words(arg))
    repl.conv.save()
    repl.console.print("dropped " + escape(", ".join(gone)) if gone else "[dim]nothing to drop[/]")


def cmd_files(repl: Any, arg: str) -> None:
    conv = repl.conv
    if not conv.files:
        repl.console.print("[dim]no files in the chat: /add PATH or @path[/]")
    from agent.chat.conversation import FILE_CHAR_LIMIT

    for path in conv.files:
        size = _sent_size(conv.root / path)
        cut = f" (cut to its first {FILE_CHAR_LIMIT:,} characters)" if size < _size(conv.root / path) else ""
        repl.console.print(f"  {escape(path)} [dim]~{size // 4:,} tokens{cut}[/]")


def _size(path: Path) -> int:
    return path.stat().st_size if path.is_file() else 0


def _sent_size(path: Path) -> int:
    """How much of a file in the chat is sent (Conversation cuts at FILE_CHAR_LIMIT)."""
    from agent.chat.conversation import FILE_CHAR_LIMIT

    return min(_size(path), FILE_CHAR_LIMIT)


def cmd_map(repl: Any, arg: str) -> None:
    from agent.repomap import build_map

    budget = repl.conv.config.context.map_tokens or 1024
    text = build_map(repl.conv.root, query=arg, budget=budget).text
    repl.console.print(escape(text) if text.strip() else "[dim]the map is empty: no source files with symbols[/]")


def cmd_search(repl: Any, arg: str) -> None:
    if not arg:
        raise UsageError("/search needs a regular expression")
    from agent.tools.search import search

    repl.console.print(escape(search(repl.conv.ws, pattern=arg)))


def cmd_memory(repl: Any, arg: str) -> None:
    store = repl.conv.ws.memory
    if store is None:
        if repl.conv.ws.config.memory.enabled:  # enabled, yet not opened: a light install
            from agent.extras import require

            require("memory")
        raise AgentError("memory is disabled (memory.enabled = false)")
    action, _, rest = arg.partition(" ")
    rest = rest.strip()
    if action == "search" and rest:
        hits = store.recall(rest, 8)
        for hit in hits:
            repl.console.print(
                f"- [dim]{escape(hit.get('status', ''))}[/] [bold]{escape(hit['id'])}[/] {escape(str(hit['text']))}"
            )
        if not hits:
            repl.console.print("[dim]no notes found[/]")
    elif action == "add" and rest:
        repl.console.print(f"saved note [bold]{escape(store.remember(rest, [], [], source='user'))}[/]")
    elif action == "forget" and rest:
        store.forget(rest)
        repl.console.print(f"forgot {escape(rest)}")
    else:
        raise UsageError("usage: /memory search QUERY | add TEXT | forget ID")


def cmd_undo(repl: Any, arg: str) -> None:
    paths = repl.conv.undo()
    repl.console.print("[green]undone:[/] restored " + escape(", ".join(paths)) if paths else
                       "[green]undone:[/] the turn's commits (files changed by its commands are left as they are)")


def cmd_diff(repl: Any, arg: str) -> None:
    from agent.cli.chatrender import diff_text

    diff = repl.conv.session_diff()
    if not diff.strip():
        repl.console.print("[dim]the agent's edits have changed nothing in this session[/]")
        return
    repl.console.print(diff_text(diff))


def cmd_test(repl: Any, arg: str) -> None:
    from agent.tools.tests import test_command

    _run(repl, test_command(repl.conv.ws), only_failures=True)


def cmd_run(repl: Any, arg: str) -> None:
    if not arg:
        raise UsageError("/run needs a command")
    _run(repl, arg, only_failures=False)


def cmd_bang(repl: Any, arg: str) -> None:
    """`!command`: the user runs a shell command themselves (no approval); its output goes with the next message."""
    if not arg:
        raise UsageError("!command needs a command, e.g. !git status")
    _run(repl, arg, only_failures=False)


def cmd_note(repl: Any, arg: str) -> None:
    """`#text`: save a note to memory, as the user's."""
    if not arg:
        raise UsageError("#text needs the note's text, e.g. #always run tests with make test")
    cmd_memory(repl, "add " + arg)


def cmd_show(repl: Any, arg: str) -> None:
    results = repl.results
    if not results:
        repl.console.print("[dim]no tool results yet[/]")
        return
    if arg and not arg.isdigit():
        raise UsageError("usage: /show [N]")
    n = int(arg) if arg else len(results)
    if not 1 <= n <= len(results):
        raise UsageError(f"no tool result {n}: there are {len(results)}")
    name, output = results[n - 1]
    repl.console.print(f"[cyan]● {escape(name)}[/] [dim]result {n}[/]")
    repl.console.print(escape(output), highlight=False)


def cmd_resume(repl: Any, arg: str) -> None:
    from agent.chat.store import describe, find_session, list_sessions, read_session, restore

    conv = repl.conv
    others = [p for p in reversed(list_sessions(conv.root)) if p.stem != conv.id]
    if not arg:
        for i, path in enumerate(others[:20], 1):
            repl.console.print(f"  [cyan]{i:>2}[/] {escape(describe(path))}")
        repl.console.print("[dim]/resume N continues one[/]" if others else "[dim]no other saved sessions[/]")
        return
    path = others[int(arg) - 1] if arg.isdigit() and 0 < int(arg) <= len(others) else find_session(conv.root, arg)
    if conv.turn_starts:
        conv.save()
    restore(conv, read_session(path))
    repl.console.print(f"[green]resumed[/] {escape(describe(path))}")
    show_recap(repl)


def show_recap(repl: Any) -> None:
    """Print the last turns of the conversation (after a resume)."""
    from rich.markdown import Markdown

    from agent.chat.store import recap

    for role, text in recap(repl.conv.messages):
        if role == "user":
            repl.console.print(f"[bold]›[/] {escape(text)}")
        else:
            repl.console.print(Markdown(text))


def cmd_init(repl: Any, arg: str) -> None:
    from agent.prompts import render

    exists = (repl.conv.root / "AGENTS.md").exists()
    if exists and not repl.approve("revise", "AGENTS.md (it exists already)"):
        return
    repl.run_turn(render("chat_init", extra=arg))


def cmd_commands(repl: Any, arg: str) -> None:
    found = custom_commands(repl.conv.root)
    if not found:
        repl.console.print(
            "[dim]no custom commands: put Markdown prompts in .agent/commands/NAME.md ($ARGUMENTS is replaced)[/]"
        )
    for name, path in found.items():
        repl.console.print(f"  [cyan]{escape(name)}[/] [dim]{escape(str(path))}[/]")


def _run(repl: Any, command: str, only_failures: bool) -> None:
    from agent.cli.chatterm import esc_interrupts
    from agent.prompts import render
    from agent.tools.shell import cap, execute

    conv = repl.conv
    repl.console.print(f"[dim]$ {escape(command)}[/]")
    conv.ws.on_output = _echo  # shown as it comes, as in a shell; Esc or Ctrl-C stops it
    keys = None
    try:
        with esc_interrupts() as keys:
            code, output = execute(conv.ws, command, conv.config.tools.shell_timeout_s)
    finally:
        conv.ws.on_output = None
        repl.typeahead += keys.text() if keys is not None else ""
    if output and not output.endswith("\n"):
        _echo("\n")
    ok = code == 0
    repl.console.print(f"[{'green' if ok else 'red'}]exit {code if code is not None else 'timeout'}[/]")
    if not (ok and only_failures):
        conv.pending.append(
            render("chat_output", command=command, code=code, output=cap(output, conv.config.tools.output_chars))
        )
        repl.console.print("[dim]the output goes with your next message[/]")


def _echo(text: str) -> None:
    sys.stdout.write(text)
    sys.stdout.flush()


def cmd_model(repl: Any, arg: str) -> None:
    conv = repl.conv
    if arg:
        from agent.backends import create_backend
        conv.use_backend(create_backend(conv.config.backend.model_copy(update={"model": arg})))
    repl.console.print(f"model [bold]{escape(conv.backend.name)}[/] · context {conv.limit:,} tokens")


def cmd_mcp(repl: Any, arg: str) -> None:
    rows = repl.conv.session.mcp.status()
    if not rows:
        repl.console.print("[dim]no MCP servers configured: add [mcp.servers.NAME] to your config[/]")
    for row in rows:
        error = f" [red]{escape(row['error'])}[/]" if row["error"] else ""
        repl.console.print(f"[bold]{escape(row['name'])}[/] {row['state']}{error}")
        for name in row["tools"]:
            repl.console.print(f"  {escape(name)}")
    if rows:
        repl.console.print("[dim]resources: @SERVER:URI in a message · prompts: /mcp__SERVER__PROMPT [ARGS][/]")


def cmd_tokens(repl: Any, arg: str) -> None:
    from agent.chat.compaction import estimate_tokens

    conv = repl.conv
    table = Table(show_header=False, box=None, padding=(0, 2))
    files = sum(_sent_size(conv.root / p) // 4 for p in conv.files)
    table.add_row("system prompt", f"{estimate_tokens(conv.messages[:1]):,}")
    table.add_row("tool schemas", f"{conv.schema_tokens:,}")
    table.add_row("history", f"{estimate_tokens(conv.messages[1:]):,}")
    table.add_row("files in chat", f"{files:,} [dim](sent when new or changed)[/]")
    used = conv.context_tokens()
    table.add_row("[bold]context[/]", f"[bold]{used:,} / {conv.limit:,}[/] ({used * 100 // max(conv.limit, 1)}%)")
    table.add_row("tokens so far", f"{conv.tokens_in:,} in ({conv.tokens_cached:,} cached) · {conv.tokens_out:,} out")
    table.add_row("cost so far", f"${conv.cost_usd:.4f}")
    repl.console.print(table)


def cmd_compact(repl: Any, arg: str) -> None:
    from agent.cli.chatrender import print_compaction

    conv = repl.conv
    done = conv.compact()
    if not done.dropped and done.tokens_after >= done.tokens_before:
        turns, keep = len(conv.turn_starts), conv.config.chat.keep_turns
        repl.console.print(f"[dim]nothing to compact: {turns} turn(s) so far, and the last {keep} stay whole[/]")
        return
    print_compaction(repl.console, done.as_event())


def cmd_clear(repl: Any, arg: str) -> None:
    repl.conv.clear()
    repl.conv.save()
    repl.console.print("[dim]conversation cleared; files stay in the chat[/]")
