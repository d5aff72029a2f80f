"""A session wires config, backend, tools, memory and trajectory around the loop, for any front end."""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agent.backends import bind_events, create_backend
from agent.backends.budget import check_budget
from agent.chat.compaction import RunCompactor
from agent.config import AgentConfig
from agent.errors import AgentError, ToolError, UsageError
from agent.git.commits import GitGuard
from agent.git.plumbing import changed_paths, secret_files, snapshot_commit
from agent.loop import Agent, Outcome
from agent.mcp import attach as attach_mcp
from agent.notices import Notices
from agent.plugins import plugin_tools
from agent.policy.protected import ConfigGuard
from agent.prompts import render
from agent.protocols import Approver, Backend, EventSink, Message, ToolHook
from agent.redact import learn_secret_files, redact_obj
from agent.toolchain import PermissionHook, ToolChain
from agent.tools import NEEDS_MEMORY, REGISTRY, load_tools
from agent.tools.tests import test_command
from agent.trajectory import Checkpoint, Trajectory, allocate_run_id, answer_unfinished, cap_event, load_checkpoint
from agent.workspace import Workspace, deny_all

INSTRUCTION_FILES = ("AGENTS.md", "CLAUDE.md")
EXIT_CODES = {"done": 0, "failed": 1, "error": 1, "limits": 3, "interrupted": 130}


@dataclass
class RunResult:
    """The final state of a run, as reported in the run_finished event."""

    run_id: str
    outcome: Outcome
    verified: bool
    files_changed: list[str]
    duration_s: float
    verification: dict[str, Any] = field(default_factory=dict)

    @property
    def exit_code(self) -> int:
        """Exit code per the CLI contract: done but unverified is a failure."""
        if self.outcome.usage_error:  # a configuration problem found mid-run (a refused key)
            return 2
        if self.outcome.status == "done" and self.verification.get("ran") and not self.verified:
            return 1
        return EXIT_CODES[self.outcome.status]


def project_instructions(root: Path, limit: int = 20000) -> str:
    """The user's own AGENTS.md (user config dir), then AGENTS.md (and CLAUDE.md) at the repo root, capped."""
    import platformdirs

    parts = []
    own = Path(platformdirs.user_config_dir("agent")) / "AGENTS.md"
    if own.is_file():
        parts.append(f"# AGENTS.md of the user (applies to every repository)\n{own.read_text(errors='replace')[:limit]}")
    for name in INSTRUCTION_FILES:
        path = root / name
        if path.is_file():
            parts.append(f"# {name}\n{path.read_text(errors='replace')[:limit]}")
    return "\n\n".join(parts)


def nested_instructions(root: Path, path: str) -> list[str]:
    """AGENTS.md / CLAUDE.md files in the folders between the repository root and `path` (nearest last)."""
    found, folder = [], Path(path).parent
    while folder.parts:
        for name in INSTRUCTION_FILES:
            if (root / folder / name).is_file():
                found.append((folder / name).as_posix())
        folder = folder.parent
    return found[::-1]


def first_messages(ws: Workspace, task: str, tool_names: list[str]) -> list[Message]:
    """The system prompt and the task, with project instructions and context."""
    policy = ws.config.permissions  # what nobody can approve headless is told up front, not learned by refusals
    system = render("system", tools=tool_names, shell_timeout_s=ws.config.tools.shell_timeout_s,
                    shell_free=policy.approve_all or policy.shell == "allow",
                    test_edits_free=policy.approve_all or policy.test_edits == "allow")
    user = render("task", task=task, instructions=project_instructions(ws.root), context=gather_context(ws, task))
    return [{"role": "system", "content": system}, {"role": "user", "content": user}]


def gather_context(ws: Workspace, task: str) -> str:
    """The repo map and recalled notes for the task, within their budgets."""
    parts = []
    if ws.config.context.map_tokens:
        from agent.repomap import build_map

        parts.append(build_map(ws.root, query=task, budget=ws.config.context.map_tokens).text)
    if ws.memory is not None and ws.config.context.memory_tokens:
        from agent.memory import prompt_notes

        parts.append(prompt_notes(ws.memory, task, ws.config.context.memory_tokens))
    return "\n\n".join(p for p in parts if p.strip())


class Session:
    """Runs tasks against one repository with one configuration."""

    def __init__(self, root: Path, config: AgentConfig, backend: Backend | None = None, approve: Approver = deny_all):
        self.root, self.config = root, config
        warn_unsandboxed(config)
        self.backend = backend or create_backend(config.backend)
        check_budget(config, self.backend)  # an unknown price cannot hold a --budget-usd
        self.ws = Workspace(root, config, approve, memory=_open_memory(root, config))
        learn_secret_files(secret_files(root))  # .env, keys: their values are redacted in any form from the start
        self.tools = load_tools([n for n in REGISTRY if n not in NEEDS_MEMORY or self.ws.memory is not None])
        self.notices = Notices()  # warnings of plugins and MCP servers, held until a front end binds its stream
        self.tools.update(plugin_tools(self.tools, self.notices.of("plugin")))  # entry points agent.tools
        self.mcp = attach_mcp(config, root, self.tools, self.notices.of("mcp"))  # agent.mcp; stopped after a run
        self.hooks: list[ToolHook] = []  # extra hooks for every front end, run after the built-in ones
        # puts back any change a call makes to the agent's, git's or the tests' configuration (agent.policy.protected)
        self.protect = ConfigGuard(root, tests_too=config.permissions.test_edits != "allow")
        if self.ws.memory is not None:  # notes come back with the tool results that touch their code
            from agent.memory.recall import RecallHook

            m = config.memory
            self.hooks.append(RecallHook(self.ws.memory, m.recall_tokens, m.recall_min_score))

    def chain(self, guard: GitGuard, *front_end: ToolHook) -> ToolChain:
        """The tool chain of a run or a chat: permissions, the front end's own hooks, git safety, the protected
        configuration (its `after` runs before git safety commits), then `hooks`."""
        self.protect.emit = guard.emit
        return ToolChain(self.tools, [PermissionHook(), *front_end, guard, self.protect, *self.hooks], self.ws.approve)

    def run(self, task: str, on_event: EventSink, *, run_id: str | None = None, log_root: Path | None = None,
            resume: bool = False) -> RunResult:
        """Run one task headless; every event goes to the trajectory and to `on_event`.

        `log_root`: the repository whose .agent/runs holds the log (a worktree run logs to the user's
        checkout); `resume`: go on from the run's checkpoint, appending to its log.
        """
        started = time.monotonic()
        log_root = log_root or self.root
        log = Trajectory(log_root, run_id or allocate_run_id(log_root), append=resume)
        state: dict[str, Any] = {"finished": False, "emit": lambda e: on_event(log.stamp(e))}
        try:
            return self._run_logged(task, on_event, log, resume, state, started)
        except (Exception, KeyboardInterrupt) as exc:  # every exit path of a run ends with run_finished
            if state["finished"] or (os.environ.get("AGENT_DEBUG") and not isinstance(exc, KeyboardInterrupt)):
                raise
            interrupted = isinstance(exc, KeyboardInterrupt)
            why = "interrupted" if interrupted else (str(exc) if isinstance(exc, AgentError) else
                                                     f"internal error: {type(exc).__name__}: {exc}")
            agent = state.get("agent")
            outcome = Outcome("interrupted" if interrupted else "error", why, getattr(agent, "steps", 0),
                              getattr(agent, "tokens_in", 0), getattr(agent, "tokens_out", 0),
                              getattr(agent, "cost_usd", 0.0))
            outcome.usage_error = isinstance(exc, UsageError)
            with contextlib.suppress(Exception):
                self.mcp.close()
            result = RunResult(log.run_id, outcome, False, [], time.monotonic() - started)
            final = finished_event(result)
            state["emit"](final)
            log.finish({**final, "task": task})
            return result

    def _run_logged(self, task: str, on_event: EventSink, log: Trajectory, resume: bool, state: dict[str, Any],
                    started: float) -> RunResult:
        run_id = log.run_id
        saved = load_checkpoint(log.dir) if resume and (log.dir / "checkpoint.json").exists() else None
        # git safety (agent.git.commits): commits each edit, guards the user's dirty files, snapshots before shell
        guard = GitGuard(self.root, self.config.git, run_id, task, lambda e: emit(e))
        observers: list[EventSink] = [guard.observe]
        emit = state["emit"] = _tee(log, on_event, observers)
        tally = bind_events(self.backend, emit)  # hosted: retry events, cache-token totals for run_finished
        observers.append(tally.observe)
        start = (saved or {}).get("start_commit") or snapshot_commit(
            self.root, f"agent: work tree at the start of run {run_id}")
        guard.unborn_start = unborn_start(self.root, start)
        guard.intent = log.dir / "intent.json"  # the action in flight: recovered (committed) on --resume
        emit({"type": "run_resumed" if saved else "run_started", "format": 1, "task": task, "model": self.backend.name,
              "repo": str(self.root), "start_commit": start})
        self.notices.bind(emit)  # the warnings held since the session was built, then any later ones
        if saved:
            guard.recover()  # an edit or command the kill caught before its commit is the agent's, not the user's
        messages = saved["messages"] if saved else first_messages(self.ws, task, list(self.tools))
        if saved:
            answer_unfinished(messages, guard.in_flight)  # stopped within a step: its calls are not run again
        agent = state["agent"] = Agent(self.backend, self.chain(guard), self.ws, self.config.loop, emit)
        agent.compactor = RunCompactor.for_run(self.config, self.backend)  # compaction headless, as in chat
        shown = self.ws.memory.shown if self.ws.memory is not None else None
        checkpoint = Checkpoint(log.dir, messages, agent, {"start_commit": start}, shown)
        if saved:
            checkpoint.restore(saved, self.backend)
        observers.append(checkpoint.on_event)
        outcome = agent.run(messages)
        self.mcp.close()
        result = self._conclude(run_id, start, outcome, messages, emit)
        result.duration_s = time.monotonic() - started
        final = {**finished_event(result), **tally.totals()}
        state["finished"] = True
        emit(final)
        self.notices.bind(None)
        log.finish({**final, "task": task})
        return result

    def _conclude(
        self, run_id: str, start: str, outcome: Outcome, messages: list[Message], emit: EventSink
    ) -> RunResult:
        """What changed, whether the original tests pass on it, and the lessons to keep."""
        files = changed_paths(self.root, start, snapshot_commit(self.root, f"agent: end of run {run_id}"))
        verification = self.verify(emit, start, outcome.status == "done")
        high = any(f["severity"] == "high" for f in verification["findings"])
        verified = bool(verification.get("passed")) and not high
        if outcome.status in ("done", "failed") and self.ws.memory is not None and self.config.memory.distill:
            ok = outcome.status == "done" and (verified or not verification.get("ran"))  # no tests: not refuted
            spent = list(getattr(self.backend, "spent", []))  # hosted: each call's cost (agent.backends.litellm)
            self._distill(messages, emit, ok)
            outcome.cost_usd += sum(getattr(self.backend, "spent", [])[len(spent):])  # the distillation counts
        if self.ws.memory is not None and self.config.memory.consolidate:
            self._consolidate(files, emit)
        return RunResult(run_id, outcome, verified, files, 0.0, verification)

    def _distill(self, messages: list[Message], emit: EventSink, verified: bool) -> None:
        """Store what the run taught as notes; a model or store failure is reported, never fatal."""
        from agent.memory import distill

        try:
            emit({"type": "memory_distilled", "notes": distill(self.ws.memory, self.backend, messages, verified)})
        except AgentError as exc:
            emit({"type": "memory_distill_skipped", "reason": str(exc)})

    def _consolidate(self, files: list[str], emit: EventSink) -> None:
        """Tidy the notes this run wrote and those anchored to what it changed (memory.consolidate.after_run)."""
        from agent.memory.consolidate import after_run

        store = self.ws.memory
        try:
            done = after_run(store, sorted(getattr(store, "written", ())), files)
        except AgentError:
            return  # a store problem must not change how the run ends
        if any(done.values()):
            emit({"type": "memory_consolidated", **done})

    def verify(self, emit: EventSink, start: str, done: bool) -> dict[str, Any]:
        """Name any test tampering since `start`; if the run is done, run the ORIGINAL tests on its source."""
        from agent.guard import check_diff, verify

        found = check_diff(self.root, start)
        if found:
            emit({"type": "guard_findings", "findings": [f.to_dict() for f in found]})
        findings = [f.to_dict() for f in [*self.protect.findings, *found]]
        if not done:
            return {"ran": False, "reason": "run not done", "findings": findings}
        try:
            command = test_command(self.ws)
        except ToolError as exc:
            return {"ran": False, "reason": str(exc), "findings": findings}
        emit({"type": "verification_started", "command": command})
        checked = verify(self.root, start, command, self.config.tools.shell_timeout_s, sandbox=self.config.sandbox)
        findings += [f.to_dict() for f in checked.findings]  # the test ledger: base vs change, from pytest's report
        result = {"ran": True, "command": command, "passed": checked.passed, "timed_out": checked.timed_out,
                  "tests_restored": checked.restored, "output_tail": checked.output[-2000:]}
        emit({"type": "verification_finished", **result})
        return {**result, "findings": findings}


def finished_event(result: RunResult) -> dict[str, Any]:
    """The run_finished event, with the fields of the CLI contract."""
    o = result.outcome
    return {
        "type": "run_finished", "status": o.status, "verified": result.verified, "files_changed": result.files_changed,
        "tokens_in": o.tokens_in, "tokens_out": o.tokens_out, "cost_usd": round(o.cost_usd, 6),
        "duration_s": round(result.duration_s, 3), "steps": o.steps, "summary": o.summary,
        "guard_findings": result.verification.get("findings", []),
        "verification": {k: v for k, v in result.verification.items() if k not in ("output_tail", "findings")},
    }


def _tee(log: Trajectory, on_event: EventSink, observers: list[EventSink]) -> EventSink:
    def emit(event: dict[str, Any]) -> None:
        stamped = log.stamp(event)
        clean = redact_obj(cap_event(stamped))  # what leaves the process: events.jsonl, `--json` stdout, the renderer
        if stamped["type"] != "text_delta":
            log.write(clean, redacted=True)
        for observe in observers:
            observe(stamped)
        on_event(clean)

    return emit


def unborn_start(root: Path, start: str) -> str | None:
    """The start snapshot's tree when the repository had no commit at the start (the snapshot has no parent)."""
    from agent.git.commits import git

    parents = git(root, "rev-list", "--parents", "-n", "1", start).split()
    return git(root, "rev-parse", f"{start}^{{tree}}").strip() if len(parents) == 1 else None


def warn_unsandboxed(config: AgentConfig) -> None:
    """Say once, as one line on stderr, that commands run without an OS sandbox, and what that changes."""
    from agent.sandbox import sandboxed

    if sandboxed(config.sandbox):
        return
    off = config.sandbox.mode == "off"
    missing = "sandbox-exec missing or refused" if sys.platform == "darwin" else "no user namespaces, no Landlock"
    why = "sandbox.mode = 'off'" if off else f"no OS sandbox on this machine ({missing})"
    line = (f"agent: warning: {why}: commands run unconfined, so any command that is not provably read-only "
            "(the test command too) needs approval; a headless run refuses them unless --yes")
    if line not in _WARNED:
        _WARNED.add(line)
        logging.getLogger("agent.sandbox").warning(line)


_WARNED: set[str] = set()


def _open_memory(root: Path, config: AgentConfig) -> Any:
    from agent.extras import MissingExtra, degrade

    try:
        from agent.memory import open_store

        return open_store(root, config)
    except MissingExtra as exc:  # a light install: the run goes on without memory, and says so once
        degrade(exc, "running without memory")
        return None
