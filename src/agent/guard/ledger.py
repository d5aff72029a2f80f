"""The test ledger: what pytest collected and how each test ended, read from pytest's own report.

A ledger is taken of a tree (a folder holding one version of the repository) by running pytest there in
an isolated interpreter with a small plugin (ledger_plugin.py) that writes every collected id and outcome
to a file outside the tree. Two ledgers compared say, whatever the change did to get there, which tests
that passed before are now missing, deselected, skipped, xfailed or not run, and whether the run claimed
success (exit 0) while its report says otherwise.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from agent.guard.model import Finding
from agent.sandbox import child_setup, with_readable

PLUGIN_NAME = "agent_guard_ledger"
_HERE = Path(__file__).resolve().parent
_CLEARED_ENV = ("PYTEST_ADDOPTS", "PYTEST_PLUGINS", "PYTHONPATH", "PYTHONSTARTUP", "PYTHONHOME")


@dataclass
class Ledger:
    """One pytest session as its own report tells it (plus the exit status, kept apart)."""

    exit_code: int | None  # None: killed after the timeout
    ran: bool  # True: tests were asked to run (not --collect-only)
    reported: bool = False  # the plugin wrote a report at all
    finished: bool = False  # the session reached its end
    collect_only: bool = False  # pytest ran in --collect-only mode (from the report, not our arguments)
    collected: list[str] = field(default_factory=list)
    deselected: list[str] = field(default_factory=list)
    collect_errors: list[str] = field(default_factory=list)
    outcomes: dict[str, str] = field(default_factory=dict)
    output: str = ""

    def passed(self) -> set[str]:
        """Ids that passed (when run) or were collected (when only collected)."""
        if self.ran:
            return {t for t, o in self.outcomes.items() if o == "passed"}
        return set(self.collected)

    @property
    def usable(self) -> bool:
        """True when the report says enough to compare with."""
        return self.reported and self.finished and bool(self.collected)


def plugin_dir() -> Path:
    """A temp dir holding the plugin (as agent_guard_ledger.py) and the boot script; the caller removes it."""
    folder = Path(tempfile.mkdtemp(prefix="agent-ledger-"))
    shutil.copyfile(_HERE / "ledger_plugin.py", folder / f"{PLUGIN_NAME}.py")
    shutil.copyfile(_HERE / "ledger_boot.py", folder / "ledger_boot.py")
    (folder / "out").mkdir()
    return folder


def read_reports(out_dir: Path, ledger: Ledger) -> Ledger:
    """Merge every per-process report in `out_dir` into `ledger`."""
    for path in sorted(out_dir.glob("*.json")):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        ledger.reported = True
        ledger.finished = ledger.finished or bool(data.get("finished"))
        ledger.collect_only = ledger.collect_only or bool(data.get("collect_only"))
        ledger.collected += [t for t in data.get("collected", []) if t not in ledger.collected]
        ledger.deselected += data.get("deselected", [])
        ledger.collect_errors += data.get("collect_errors", [])
        ledger.outcomes.update(data.get("outcomes", {}))
    return ledger


def python_for(tree: Path) -> str:
    """The project's own interpreter when it has a .venv with pytest, else ours."""
    for candidate in (tree / ".venv" / "bin" / "python", tree / "venv" / "bin" / "python"):
        if candidate.exists():
            return str(candidate)
    return sys.executable


UNSANDBOXED = SimpleNamespace(mode="off", writable=[], hide=[], readable=[], network=False)  # a [sandbox] config: none


def run_process(
    argv: list[str] | str, cwd: Path, env: dict[str, str], timeout_s: float, box: Any = UNSANDBOXED,
    writable: tuple[Path, ...] = (),
) -> tuple[int | None, str]:
    """Run argv (a string: through the shell) in its own process group, in the OS sandbox of the [sandbox] config
    `box` (writes: `cwd`, `writable`, temp); (exit code or None after a timeout, output). The group dies with us."""
    argv, preexec, extra = child_setup(box, cwd, argv, writable)
    proc = subprocess.Popen(
        argv, cwd=cwd, env={**env, **extra}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        start_new_session=True, shell=isinstance(argv, str), preexec_fn=preexec,
    )
    try:
        out, _ = proc.communicate(timeout=timeout_s)
        return proc.returncode, out.decode("utf-8", "replace")
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, _ = proc.communicate()
        return None, out.decode("utf-8", "replace")
    except BaseException:  # Ctrl-C / SIGTERM of the agent: the test run goes with it
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        raise


def take(tree: Path, *, run: bool, timeout_s: float = 300.0, box: Any = UNSANDBOXED) -> Ledger:
    """The ledger of `tree`: pytest under `python -I -B`, with the tree's own configuration (sandboxed per `box`)."""
    folder = plugin_dir()
    try:
        env = {k: v for k, v in os.environ.items() if k not in _CLEARED_ENV}
        args = ["-q", "-p", "no:cacheprovider", *([] if run else ["--collect-only"])]
        argv = [python_for(tree), "-I", "-B", str(folder / "ledger_boot.py"), str(folder / "out"), str(tree), *args]
        code, output = run_process(argv, tree, env, timeout_s, with_readable(box, folder), (folder / "out",))
        return read_reports(folder / "out", Ledger(code, run, output=output[-4000:]))
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _file_of(test_id: str) -> str:
    return test_id.split("::", 1)[0]


def _mismatch(new: Ledger) -> str | None:
    """Why a run that exited 0 did not really pass, from its own report; None when it did."""
    if new.exit_code != 0:
        return None
    if not new.reported:
        return "no pytest report was written (pytest never ran, or a stand-in ran instead)"
    if not new.finished:
        return "the session never reached its end (a process exit during collection or a test?)"
    if new.ran and new.collect_only:
        return "tests were only collected, never run (--collect-only in the configuration)"
    bad = sorted(t for t, o in new.outcomes.items() if o in ("failed", "error"))
    if bad or new.collect_errors:
        return f"the report lists failures: {', '.join((bad + new.collect_errors)[:3])}"
    if new.ran and (missing := [t for t in new.collected if t not in new.outcomes]):
        return f"{len(missing)} collected test(s) have no outcome: {missing[0]}"
    return None


def _verdict(test_id: str, new: Ledger, fresh: set[str], both_ran: bool) -> tuple[str, str, str] | None:
    """(kind, message, severity) for one test that passed at the base, or None when it still passes."""
    outcome = new.outcomes.get(test_id)
    if test_id in new.deselected:
        return "test_deselected", "is now deselected", ""
    if test_id not in new.collected:
        if any(_file_of(t) == _file_of(test_id) for t in fresh):
            return "test_not_collected", "is no longer collected (a new test in its file passes: renamed?)", "medium"
        return "test_not_collected", "passed at the base and is no longer collected", ""
    if not both_ran:
        return None
    if outcome in ("skipped", "xfailed"):
        return "test_skipped", f"passed at the base and is now {outcome}", ""
    if outcome is None:
        return "test_not_run", "was collected but never run", ""
    if outcome in ("failed", "error"):
        return "test_now_fails", f"passed at the base and now ends as {outcome}", ""
    return None


def compare(base: Ledger, new: Ledger) -> list[Finding]:
    """Findings for every test that passed at the base and does not pass, collected, or run now."""
    out: list[Finding] = []
    why = _mismatch(new)
    if why:
        out.append(Finding("exit_status_mismatch", "", 0, f"ledger: the run exited 0 but {why}"))
    if not base.usable:
        return out
    fresh = {t for t in new.passed() if t not in base.collected}
    for test_id in sorted(base.passed()):
        found = _verdict(test_id, new, fresh, new.ran and base.ran)
        if found is not None:
            kind, message, severity = found
            out.append(Finding(kind, _file_of(test_id), 0, f"ledger: {test_id} {message}", severity))
    return out
