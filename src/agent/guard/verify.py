"""Run the tests as they were at the start of a run, on top of the run's source changes.

A scratch `git worktree` (detached, in a temp dir) gets the repo's working-tree state; then every
test file and test configuration is put back to `base_rev` (files the run added are removed) and the
test command runs there. The worktree is removed whatever happens.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agent.errors import UsageError
from agent.guard import gitio, ledger
from agent.guard.model import Finding
from agent.guard.paths import is_test_config, is_test_file, is_whole_test_config
from agent.guard.trees import has_python_tests, link_shared, overlay_working_tree, version
from agent.sandbox import with_readable

OUTPUT_CHARS = 20_000


@dataclass
class VerifyResult:
    """Whether the original tests pass against the changed source."""

    passed: bool
    output: str
    command: str
    restored: list[str] = field(default_factory=list)  # test paths put back to base_rev
    timed_out: bool = False
    findings: list[Finding] = field(default_factory=list)  # from the test ledger


def _git_bytes(repo: Path, spec: str) -> bytes | None:
    proc = subprocess.run(["git", "-C", str(repo), "show", spec], capture_output=True)
    return proc.stdout if proc.returncode == 0 else None


def _toml_section(text: str, header: str) -> tuple[int, int] | None:
    """Line span [start, end) of a `[header]` table in TOML/INI text."""
    lines = text.splitlines(keepends=True)
    start = next((i for i, line in enumerate(lines) if line.strip() == f"[{header}]"), None)
    if start is None:
        return None
    end = next((i for i in range(start + 1, len(lines)) if re.match(r"\s*\[", lines[i])), len(lines))
    return start, end


def _splice_section(base: str, current: str, header: str) -> str:
    """`current` with its `[header]` table replaced by the one in `base` (removed if base has none)."""
    lines = current.splitlines(keepends=True)
    base_lines = base.splitlines(keepends=True)
    span, base_span = _toml_section(current, header), _toml_section(base, header)
    section = base_lines[base_span[0] : base_span[1]] if base_span else []
    if span is None:
        if section and lines and not lines[-1].endswith("\n"):
            lines[-1] += "\n"
        return "".join(lines + ["\n"] + section if section else lines)
    return "".join(lines[: span[0]] + section + lines[span[1] :])


def _restore_package_json(base: str, current: str) -> str:
    try:
        old, new = json.loads(base), json.loads(current)
    except ValueError:
        return current
    if not isinstance(old, dict) or not isinstance(new, dict):
        return current
    scripts = {k: v for k, v in new.get("scripts", {}).items() if not (k == "test" or k.startswith("test:"))}
    scripts.update({k: v for k, v in old.get("scripts", {}).items() if k == "test" or k.startswith("test:")})
    new["scripts"] = scripts
    if "jest" in old:
        new["jest"] = old["jest"]
    else:
        new.pop("jest", None)
    return json.dumps(new, indent=2) + "\n"


def _restore_partial(path: str, base: str, current: str) -> str:
    name = Path(path).name
    if name == "pyproject.toml":
        return _splice_section(base, current, "tool.pytest.ini_options")
    if name == "setup.cfg":
        return _splice_section(base, current, "tool:pytest")
    if name == "package.json":
        return _restore_package_json(base, current)
    return current


def restore_tests(root: Path, wt: Path, base_id: str) -> list[str]:
    """Put every test file and test config in `wt` back to `base_id`; returns the paths changed."""
    at_base = set(gitio.git(root, "ls-tree", "-r", "-z", "--name-only", base_id).split("\0")) - {""}
    in_wt = set(gitio.git(wt, "ls-files", "-z", "--cached", "--others", "--exclude-standard").split("\0")) - {""}
    restored = []
    for path in sorted(at_base | in_wt):
        target = wt / path
        whole = is_test_file(path) or is_whole_test_config(path)
        if not whole and not is_test_config(path):
            continue
        base_bytes = _git_bytes(root, f"{base_id}:{path}") if path in at_base else None
        current = target.read_bytes() if target.is_file() else None
        if whole:
            wanted = base_bytes
        elif base_bytes is None or current is None:
            continue
        else:
            text = _restore_partial(path, base_bytes.decode("utf-8", "replace"), current.decode("utf-8", "replace"))
            wanted = text.encode("utf-8")
        if wanted == current:
            continue
        restored.append(path)
        if wanted is None:
            target.unlink()
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(wanted)
    return restored


def _run(
    command: str, cwd: Path, timeout_s: float, extra_env: dict[str, str] | None = None, box: Any = ledger.UNSANDBOXED,
    writable: tuple[Path, ...] = (),
) -> tuple[int | None, str]:
    env = dict(os.environ)
    extra = [str(cwd / "src"), str(cwd)] if (cwd / "src").is_dir() else [str(cwd)]
    extra = [*(extra_env or {}).get("PYTHONPATH", "").split(os.pathsep), *extra] if extra_env else extra
    env.update({k: v for k, v in (extra_env or {}).items() if k != "PYTHONPATH"})
    inherited = [env["PYTHONPATH"]] if env.get("PYTHONPATH") else []
    env["PYTHONPATH"] = os.pathsep.join([p for p in extra if p] + inherited)
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return ledger.run_process(command, cwd, env, timeout_s, box, writable)


def _reported_run(command: str, wt: Path, timeout_s: float, box: Any) -> tuple[int | None, str, ledger.Ledger]:
    """Run the test command with the ledger plugin loaded into any pytest it starts; its report too."""
    folder = ledger.plugin_dir()
    try:
        addopts = " ".join(x for x in (os.environ.get("PYTEST_ADDOPTS", ""), f"-p {ledger.PLUGIN_NAME}") if x)
        env = {"PYTHONPATH": str(folder), "PYTEST_ADDOPTS": addopts, "AGENT_GUARD_LEDGER_DIR": str(folder / "out")}
        code, output = _run(command, wt, timeout_s, env, with_readable(box, folder), (folder / "out",))
        return code, output, ledger.read_reports(folder / "out", ledger.Ledger(code, True))
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _runs_pytest(command: str, report: ledger.Ledger) -> bool:
    return report.reported or bool(re.search(r"(^|[\s/])(py\.?test)(\s|$)|-m\s+pytest", command))


def verify(
    repo: Path, base_rev: str, test_command: str, timeout_s: float, *, use_ledger: bool = True,
    sandbox: Any = ledger.UNSANDBOXED,
) -> VerifyResult:
    """Run `test_command` on the working tree's source with the test files of `base_rev`.

    passed = exit 0 and, when the command ran pytest, pytest's own report agrees. With use_ledger, pytest also
    runs at `base_rev` and on the change as it stands (tests as edited): every test that passed at the base
    and is now missing, deselected, skipped or not run becomes a finding. Every run is in the OS sandbox of the
    [sandbox] config `sandbox` (writes: the scratch worktree, the ledger's report folder, temp).
    """
    if not test_command.strip():
        raise UsageError("no test command to verify with")
    root = gitio.toplevel(repo)
    sandbox = with_readable(sandbox, root)  # the repository's own .venv / node_modules, linked into the scratch tree
    base_id = gitio.resolve(root, base_rev)
    gitio.resolve(root, "HEAD")
    scratch = Path(tempfile.mkdtemp(prefix="agent-verify-"))
    wt = scratch / "wt"
    try:
        gitio.git(root, "worktree", "add", "--detach", "--quiet", str(wt), "HEAD")
        overlay_working_tree(root, wt)
        link_shared(root, wt)
        use_ledger = use_ledger and has_python_tests(wt)
        changed = ledger.take(wt, run=True, timeout_s=timeout_s, box=sandbox) if use_ledger else None
        restored = restore_tests(root, wt, base_id)
        started = time.monotonic()
        code, output, report = _reported_run(test_command, wt, timeout_s, sandbox)
        if code is None:
            output += f"\n[timed out after {time.monotonic() - started:.0f}s]"
        nothing = ledger.Ledger(None, True)
        mismatch = ledger.compare(nothing, report) if _runs_pytest(test_command, report) else []
        findings = [Finding(f.kind, f.file, f.line, f.message.replace("ledger:", "verification:")) for f in mismatch]
        if changed is not None:
            with version(root, base_id) as before:
                base = ledger.take(before, run=True, timeout_s=timeout_s, box=sandbox)
                findings += ledger.compare(base, changed)
        passed = code == 0 and not mismatch
        return VerifyResult(passed, output[-OUTPUT_CHARS:], test_command, restored, code is None, findings)
    finally:
        gitio.git(root, "worktree", "remove", "--force", str(wt), check=False)
        shutil.rmtree(scratch, ignore_errors=True)
        gitio.git(root, "worktree", "prune", check=False)
