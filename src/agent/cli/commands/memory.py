"""`agent memory ...`: add, search, list, show, forget, stale, consolidate, reindex and export durable notes."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from agent.cli.options import RepoOption

HELP = "Durable notes: add, search, list, show, forget, stale, consolidate, reindex, export."

app = typer.Typer(help=HELP, no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)

AsJson = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]


def _with_store(repo: Path, body: Callable[[Any], None]) -> None:
    """Open the repo's store, run `body`, print warnings; a store error once it is open is the user's (exit 2)."""
    from agent.config import load_config
    from agent.errors import StoreError, UsageError
    from agent.memory.store import MemoryStore
    from agent.workspace import find_repo_root

    store = None
    try:
        root = find_repo_root(repo)
        store = MemoryStore(root, load_config(root).memory)
        _warn(store)
        body(store)
    except StoreError as exc:
        if store is None:
            raise
        raise UsageError(str(exc)) from exc
    _warn(store)


def _warn(store: Any) -> None:
    for line in dict.fromkeys(store.warnings):
        typer.echo(f"agent: warning: {line}", err=True)
    store.warnings = []


def _dump(data: Any) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False) + "\n")


def _line(item: dict[str, Any]) -> str:
    from agent.memory.context import format_hit

    line = format_hit(item)
    return f"{line}  ({item['score']:.2f})" if "score" in item else line


@app.command("add")
def add(
    text: Annotated[str, typer.Argument(help="The note's text.")],
    scope: Annotated[str, typer.Option("--scope", help="repo (in the repository) or user (every repo).")] = "repo",
    anchor: Annotated[list[str] | None, typer.Option("--anchor", "-a", help="PATH or PATH:SYMBOL it is about.")] = None,
    tag: Annotated[list[str] | None, typer.Option("--tag", "-t", help="A topic tag.")] = None,
    repo: RepoOption = Path("."),
) -> None:
    """Add a note (a near-duplicate of an existing note updates it instead)."""
    _with_store(repo, lambda s: typer.echo(s.remember(text, anchor or [], tag or [], source="user", scope=scope)))


@app.command("search")
def search(
    query: Annotated[str, typer.Argument(help="What to look for, in plain words.")],
    k: Annotated[int, typer.Option("-k", min=1, max=100, help="How many notes.")] = 5,
    as_json: AsJson = False,
    repo: RepoOption = Path("."),
) -> None:
    """Find the notes most relevant to QUERY, best first."""

    def body(store: Any) -> None:
        hits = store.recall(query, k)
        if as_json:
            _dump(hits)
        else:
            typer.echo("\n".join(_line(h) for h in hits) if hits else "no notes")

    _with_store(repo, body)


def _listing(repo: Path, as_json: bool, only_stale: bool) -> None:
    def body(store: Any) -> None:
        items = [store.describe(n) for n in store.notes()]
        if only_stale:
            items = [i for i in items if i["status"] != "fresh"]
        if as_json:
            _dump(items)
        elif items:
            typer.echo("\n".join(_line(i) for i in items))
        else:
            typer.echo("no stale notes" if only_stale else "no notes")

    _with_store(repo, body)


@app.command("list")
def list_notes(as_json: AsJson = False, repo: RepoOption = Path(".")) -> None:
    """List every note with its scope and status."""
    _listing(repo, as_json, only_stale=False)


@app.command("stale")
def stale(as_json: AsJson = False, repo: RepoOption = Path(".")) -> None:
    """List the notes whose anchored code changed (stale) or is gone (orphaned)."""
    _listing(repo, as_json, only_stale=True)


NoteId = Annotated[str, typer.Argument(metavar="ID", help="The note id.")]


@app.command("show")
def show(note_id: NoteId, repo: RepoOption = Path(".")) -> None:
    """Show one note's file and status."""

    def body(store: Any) -> None:
        note = store.get(note_id)
        typer.echo(f"# {note.path} ({note.scope}, {store.status(note)})")
        typer.echo(note.path.read_text(encoding="utf-8").rstrip())

    _with_store(repo, body)


@app.command("forget")
def forget(note_id: NoteId, repo: RepoOption = Path(".")) -> None:
    """Delete a note."""

    def body(store: Any) -> None:
        store.forget(note_id)
        typer.echo(f"forgot {note_id}")

    _with_store(repo, body)


@app.command("consolidate")
def consolidate(
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Confirm every contradiction and retirement.")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Only list what would change.")] = False,
    repo: RepoOption = Path("."),
) -> None:
    """Merge duplicates, re-anchor moved code; ask about contradictions (keeps the newer) and orphaned notes."""
    from agent.memory.consolidate import apply, plan

    def body(store: Any) -> None:
        changes = plan(store)
        for change in changes:
            drop = f" (removes {', '.join(change.drop)})" if change.drop else ""
            typer.echo(f"{change.kind} {change.keep}{drop}\n  " + change.detail.replace("\n", "\n  "))
            if dry_run:
                continue
            if change.needs_confirm and not yes and not _confirm(change.kind):
                typer.echo("  kept as it is")
                continue
            apply(store, change)
        typer.echo(f"{len(changes)} change(s) found" if changes else "nothing to consolidate")

    _with_store(repo, body)


def _confirm(kind: str) -> bool:
    question = "  keep the newer and remove the older?" if kind == "contradiction" else "  remove this note?"
    try:
        return typer.confirm(question, default=False)
    except typer.Abort:  # end of input: no
        return False


@app.command("reindex")
def reindex(repo: RepoOption = Path(".")) -> None:
    """Rebuild the index from the note files."""
    _with_store(repo, lambda s: typer.echo(f"indexed {s.reindex()} notes"))


@app.command("export")
def export(repo: RepoOption = Path(".")) -> None:
    """Print every note as JSON Lines."""

    def body(store: Any) -> None:
        for note in store.notes():
            _dump(store.describe(note))

    _with_store(repo, body)
