"""`agent runs list|show|diff|apply|rm`, and the worktree / detached / parallel / resume modes of `agent run`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from agent.cli.options import RepoOption

app = typer.Typer(help="Inspect, apply and clean up runs (worktree runs on branches agent/<id>).", no_args_is_help=True)
IdArg = Annotated[str, typer.Argument(help="The run id (see `agent runs list`).")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]


def _guarded(action: Any) -> Any:
    """Call `action()`, turning AgentError into one line on stderr and an exit code."""

    return action()


def _root(repo: Path) -> Path:
    from agent.workspace import find_repo_root

    return find_repo_root(repo)


def read_tasks(path: Path) -> list[str]:
    """Tasks from a file: one per line, or JSON Lines objects with a "task" field; blank and # lines skipped."""
    from agent.errors import UsageError

    try:
        lines = path.read_text().splitlines()
    except OSError as exc:
        raise UsageError(f"cannot read tasks file {path}: {exc}") from exc
    tasks = []
    for n, line in enumerate(lines, 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("{"):
            try:
                line = str(json.loads(line)["task"]).strip()
            except (ValueError, KeyError, TypeError) as exc:
                raise UsageError(f'{path}:{n}: expected a JSON object with a "task" field') from exc
        tasks.append(line)
    if not tasks:
        raise UsageError(f"{path}: no tasks")
    return tasks


def start(repo: Path, task: str | None, overrides: dict[str, Any], opts: dict[str, Any]) -> int:
    """`agent run` with --worktree, --detach, --tasks or --resume; returns the exit code."""
    from agent.cli.sink import event_sink
    from agent.config import load_config
    from agent.errors import UsageError
    from agent.runs import registry

    def go() -> int:
        root = _root(repo)
        load_config(root, overrides)  # a bad flag fails before anything starts
        if opts["resume"]:
            return _resume(root, opts["resume"], overrides, opts)
        if opts["tasks"]:
            tasks = read_tasks(opts["tasks"])
            ids = registry.run_many(root, tasks, overrides, opts["parallel"], _report(opts["json"]))
            return 0 if all(registry.status(root, i) == "done" for i in ids) else 1
        if not (task or "").strip():
            raise UsageError("the task is empty")
        info = registry.prepare(root, task or "", overrides, worktree=True)
        if opts["detach"]:
            registry.launch(root, info.id)
            typer.echo(
                json.dumps({"run_id": info.id, "branch": info.branch, "worktree": info.workdir})
                if opts["json"]
                else info.id
            )
            return 0
        registry.stop_on_sigterm()
        return int(registry.execute(root, info.id, event_sink(opts["json"])).exit_code)

    return int(_guarded(go))


def _resume(root: Path, run_id: str, overrides: dict[str, Any], opts: dict[str, Any]) -> int:
    from agent.cli.sink import event_sink
    from agent.config import merge_layers
    from agent.errors import UsageError
    from agent.runs import registry

    state = registry.status(root, run_id)
    if state in ("running", "done"):
        raise UsageError(f"run {run_id} is {state}; only a stopped run can be resumed")
    info = registry.load_info(root, run_id)
    info.overrides = merge_layers(info.overrides, overrides)
    registry.save_info(root, info)
    if opts["detach"]:
        registry.launch(root, run_id, resume=True)
        typer.echo(run_id)
        return 0
    registry.stop_on_sigterm()
    return int(registry.execute(root, run_id, event_sink(opts["json"]), resume=True).exit_code)


def _report(as_json: bool) -> Any:
    def report(event: dict[str, Any]) -> None:
        typer.echo(json.dumps(event) if as_json else f"{event['run_id']}  {event['status']}")

    return report



@app.command("list")
def list_cmd(repo: RepoOption = Path("."), as_json: JsonOpt = False) -> None:
    """List runs with their status (running, done, failed, limits, error, interrupted)."""
    from agent.runs import registry

    rows = _guarded(lambda: registry.list_runs(_root(repo)))
    if as_json:
        typer.echo(json.dumps(rows))
        return
    for r in rows:
        task = " ".join(r["task"].split())
        applied = " applied" if r["applied"] else ""
        typer.echo(f"{r['id']}  {r['status']:<11} {r['branch'] or '(in place)'}{applied}  {task[:60]}")


@app.command("show")
def show_cmd(run_id: IdArg, repo: RepoOption = Path("."), as_json: JsonOpt = False) -> None:
    """Show a run: its record, status and event log."""
    from agent.runs import registry

    data = _guarded(lambda: registry.show(_root(repo), run_id))
    if as_json:
        typer.echo(json.dumps(data, default=str))
        return
    from agent.cli.render import EventPrinter

    typer.echo(f"run {data['id']}: {data['status']}  branch={data['branch'] or '(in place)'}  task: {data['task']}")
    printer = EventPrinter()
    for event in data["events"]:
        printer(event)


@app.command("diff")
def diff_cmd(run_id: IdArg, repo: RepoOption = Path(".")) -> None:
    """Print the run's changes as a diff."""
    from agent.runs import registry

    typer.echo(_guarded(lambda: registry.diff(_root(repo), run_id)), nl=False)


@app.command("apply")
def apply_cmd(run_id: IdArg, repo: RepoOption = Path(".")) -> None:
    """Apply a worktree run's commits onto the current branch (all or nothing; conflicts reported)."""
    from agent.runs import registry

    typer.echo(_guarded(lambda: registry.apply(_root(repo), run_id)))


@app.command("rm")
def rm_cmd(run_id: IdArg, repo: RepoOption = Path(".")) -> None:
    """Remove a run: its worktree, branch, snapshots and log."""
    from agent.runs import registry

    typer.echo(_guarded(lambda: registry.remove(_root(repo), run_id)))
