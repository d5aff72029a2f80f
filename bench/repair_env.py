"""Repair benchmark plumbing: tasks, repositories, environments, network isolation and test evaluation.

A task is one line of a SWE-bench-style JSONL file (see /work/shared/bench/README.md). The repository is
cloned from a local mirror, the environment built with the task's recorded install command, and the tests
run with the recorded test command, which isolates them from the network with `unshare -n`.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ISOLATE = "unshare -n sh -c 'ip link set lo up && exec \"$@\"' sh"
PRIVATE_PATHS = (".venv", ".agent")  # harness-owned paths, never part of the model's patch
ENV_MARKER = ".git/repair-install"  # the install command the .venv was built with
TEST_PATH = re.compile(r"(^|/)(tests?|testing)/|(^|/)test_[^/]*\.py$|_test\.py$|(^|/)conftest\.py$")


_UNSHARE = "unshare -n"  # set by check_isolation to the variant that works here


class HarnessError(Exception):
    """A task cannot be prepared or evaluated; the message says why."""


@dataclass
class Task:
    """One benchmark task (the fields the harness uses; the rest is kept in `raw`)."""

    instance_id: str
    repo: str
    base_commit: str
    problem_statement: str
    patch: str
    test_patch: str
    fail_to_pass: list[str]
    pass_to_pass: list[str]
    install: str
    test_cmd: str
    raw: dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Task:
        """Build a Task from one JSONL record; missing fields raise HarnessError."""
        try:
            return cls(
                data["instance_id"], data["repo"], data["base_commit"], data["problem_statement"], data["patch"],
                data["test_patch"], list(data["FAIL_TO_PASS"]), list(data["PASS_TO_PASS"]), data["install"],
                data["test_cmd"], data,
            )
        except KeyError as exc:
            raise HarnessError(f"task {data.get('instance_id', '?')}: missing field {exc}") from None


def load_tasks(path: Path, only: list[str] | None = None) -> list[Task]:
    """Read a tasks JSONL file, keeping the ids in `only` (in file order) when given."""
    tasks = [Task.from_json(json.loads(line)) for line in path.read_text().splitlines() if line.strip()]
    if only:
        missing = sorted(set(only) - {t.instance_id for t in tasks})
        if missing:
            raise HarnessError(f"unknown task ids: {', '.join(missing)}")
        tasks = [t for t in tasks if t.instance_id in only]
    return tasks


def run(cmd: list[str] | str, cwd: Path, timeout: float = 3600, env: dict[str, str] | None = None) -> tuple[int, str]:
    """Run a command (a string goes to sh), return (exit code, stdout+stderr); 124 on timeout."""
    shell = isinstance(cmd, str)
    try:
        proc = subprocess.run(
            cmd, cwd=cwd, shell=shell, capture_output=True, text=True, timeout=timeout, env=env,
            stdin=subprocess.DEVNULL, errors="replace",
        )
    except subprocess.TimeoutExpired as exc:
        out = exc.stdout.decode(errors="replace") if isinstance(exc.stdout, bytes) else (exc.stdout or "")
        return 124, out + f"\n[timed out after {timeout:g}s]"
    return proc.returncode, proc.stdout + proc.stderr


def git(cwd: Path, *args: str, env: dict[str, str] | None = None) -> str:
    """Run git, return stdout; raise HarnessError with git's message on failure."""
    proc = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        raise HarnessError(f"git {' '.join(args[:2])} failed in {cwd}: {proc.stderr.strip()}")
    return proc.stdout


def check_isolation() -> str:
    """Find a working `unshare` network isolation (`-n` as root, else `-rn` in a user namespace) or fail loudly.

    Task tests never run unisolated: some suites aim connect-timeout tests at non-routable addresses.
    """
    global _UNSHARE
    if shutil.which("unshare") is None:
        raise HarnessError("`unshare` is not installed: refusing to run task tests without network isolation")
    errors = []
    for variant in ("unshare -n", "unshare -rn"):
        code, out = run(f"{variant} sh -c 'ip link set lo up && exec \"$@\"' sh true", Path.cwd(), timeout=30)
        if code == 0:
            _UNSHARE = variant
            return variant
        errors.append(f"{variant}: {out.strip()[-300:]}")
    raise HarnessError(
        "network isolation does not work here (`unshare -n` needs root, `unshare -rn` user namespaces; both need "
        "`ip`): refusing to run task tests without it.\n" + "\n".join(errors)
    )


def isolate_prefix() -> str:
    """The command prefix that runs what follows in a fresh network namespace with only loopback up."""
    return ISOLATE.replace("unshare -n", _UNSHARE, 1)


def isolated(test_cmd: str) -> str:
    """The test command in network isolation: its own `unshare -n` (adapted to what works here), else wrapped."""
    stripped = test_cmd.lstrip()
    if stripped.startswith("unshare -n "):
        return _UNSHARE + stripped.removeprefix("unshare -n")
    return f"{isolate_prefix()} {test_cmd}"


def agent_test_command(test_cmd: str) -> str:
    """The recorded test command without `-rA` and the trailing test paths: the whole suite, isolated.

    Collection errors elsewhere in an old suite (a newer pytest) must not hide the results of the rest.
    """
    words = shlex.split(isolated(test_cmd))
    while words and not words[-1].startswith("-") and ("/" in words[-1] or words[-1].endswith(".py")):
        words.pop()
    words = [w for w in words if w != "-rA"]
    if "pytest" in words:
        words.append("--continue-on-collection-errors")
    return shlex.join(words)


def find_mirror(mirrors: Path, repo: str) -> Path:
    """The local clone of `owner/name` under `mirrors` (layouts: owner+name/repo, owner+name, owner/name, name)."""
    owner, _, name = repo.partition("/")
    for candidate in (f"{owner}+{name}/repo", f"{owner}+{name}", f"{owner}/{name}", name, f"{name}.git"):
        path = mirrors / candidate
        if path.is_dir() and run(["git", "rev-parse", "--git-dir"], path)[0] == 0:
            return path
    raise HarnessError(
        f"no local clone of {repo} under {mirrors}; create one with "
        f"`git clone --mirror <{repo} repository URL> {mirrors / (owner + '+' + name)}/repo`"
    )


def prepare_checkout(task: Task, mirrors: Path, dest: Path) -> Path:
    """A clean checkout of the task's base commit at `dest` (cloned once, reset on reuse; the venv is kept)."""
    if not (dest / ".git").exists():
        dest.parent.mkdir(parents=True, exist_ok=True)
        source = find_mirror(mirrors, task.repo)
        git(dest.parent, "clone", "-q", "--no-checkout", "--shared", str(source), str(dest))
    git(dest, "-c", "advice.detachedHead=false", "checkout", "-q", "-f", task.base_commit)
    git(dest, "clean", "-q", "-f", "-d", *[x for p in PRIVATE_PATHS for x in ("-e", p)])
    shutil.rmtree(dest / ".agent", ignore_errors=True)
    exclude = dest / ".git" / "info" / "exclude"
    exclude.parent.mkdir(parents=True, exist_ok=True)
    exclude.write_text("".join(f"/{p}\n" for p in PRIVATE_PATHS))
    return dest


def build_env(task: Task, checkout: Path, timeout: float = 1800) -> dict[str, Any]:
    """Run the recorded install command in the checkout once (reused while the command is unchanged)."""
    marker = checkout / ENV_MARKER
    venv = checkout / ".venv"
    if marker.exists() and marker.read_text() == task.install and venv.exists():
        return {"built": False, "seconds": 0.0}
    marker.unlink(missing_ok=True)
    if venv.is_symlink():
        venv.unlink()
    shutil.rmtree(venv, ignore_errors=True)
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    env.pop("VIRTUAL_ENV", None)
    started = time.monotonic()
    code, out = run(task.install, checkout, timeout, env)
    if code != 0 or not (checkout / ".venv").exists():
        raise HarnessError(f"{task.instance_id}: install failed (exit {code}):\n{out[-3000:]}")
    marker.write_text(task.install)
    return {"built": True, "seconds": round(time.monotonic() - started, 1)}


def env_drift(task: Task, checkout: Path) -> list[str]:
    """Installed distributions that differ from the task's recorded `env_freeze` (`name==have (want)`)."""
    want = dict(line.split("==", 1) for line in task.raw.get("env_freeze", []) if "==" in line)
    if not want:
        return []
    script = ("import importlib.metadata as m\n"
              "for d in m.distributions(): print(f\"{d.metadata['Name']}=={d.version}\")")
    code, out = run([str(checkout / ".venv" / "bin" / "python"), "-c", script], checkout, 120)
    if code != 0:
        return [f"cannot list the environment: {out.strip()[-200:]}"]
    have = {n.lower().replace("_", "-"): v for n, _, v in (line.partition("==") for line in out.splitlines())}
    drift = []
    for name, version in sorted(want.items()):
        got = have.get(name.lower().replace("_", "-"))
        if got != version:
            drift.append(f"{name}=={got or 'missing'} (want {version})")
    return drift


def working_diff(checkout: Path, base: str) -> str:
    """The work tree (untracked files too, private paths excluded) against `base`, as a patch."""
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "GIT_INDEX_FILE": str(Path(tmp) / "index")}
        git(checkout, "read-tree", base, env=env)
        git(checkout, "add", "-A", "--", ".", env=env)
        return git(checkout, "diff", "--cached", "--binary", base, env=env)


def patch_paths(patch: str) -> list[str]:
    """The paths a unified diff touches (both sides of renames)."""
    paths = set()
    for line in patch.splitlines():
        if line.startswith(("--- a/", "+++ b/")):
            paths.add(line[6:])
    return sorted(paths)


def reset_paths(checkout: Path, base: str, paths: list[str]) -> None:
    """Put `paths` back to their content at `base` (removing those that did not exist there)."""
    for path in paths:
        if run(["git", "cat-file", "-e", f"{base}:{path}"], checkout)[0] == 0:
            git(checkout, "checkout", "-q", base, "--", path)
        else:
            (checkout / path).unlink(missing_ok=True)


def apply_test_patch(task: Task, checkout: Path, model_patch: str) -> list[str]:
    """Reset the test files the model touched and those of the test patch, then apply the test patch."""
    touched = [p for p in patch_paths(model_patch) if TEST_PATH.search(p)]
    reset_paths(checkout, task.base_commit, sorted(set(touched) | set(patch_paths(task.test_patch))))
    with tempfile.NamedTemporaryFile("w", suffix=".patch", delete=False) as fh:
        fh.write(task.test_patch)
    try:
        code, out = run(["git", "apply", "--whitespace=nowarn", fh.name], checkout)
    finally:
        os.unlink(fh.name)
    if code != 0:
        raise HarnessError(f"{task.instance_id}: test patch does not apply: {out.strip()}")
    return touched


def parse_pytest_report(output: str) -> dict[str, str]:
    """Outcomes by node id from pytest's `-rA` short summary (PASSED/FAILED/ERROR/SKIPPED/XFAIL/XPASS lines)."""
    outcomes: dict[str, str] = {}
    for line in output.splitlines():
        word, _, rest = line.partition(" ")
        if word in ("PASSED", "XPASS", "XFAIL") and rest:
            outcomes[rest.strip()] = word
        elif word in ("FAILED", "ERROR") and rest:
            outcomes[rest.split(" - ")[0].strip()] = word
    return outcomes


def grade(task: Task, outcomes: dict[str, str]) -> dict[str, Any]:
    """Resolved means every FAIL_TO_PASS and PASS_TO_PASS test passed."""
    def passed(ids: list[str]) -> list[str]:
        return [i for i in ids if outcomes.get(i) in ("PASSED", "XPASS")]

    f2p, p2p = passed(task.fail_to_pass), passed(task.pass_to_pass)
    return {
        "resolved": len(f2p) == len(task.fail_to_pass) and len(p2p) == len(task.pass_to_pass),
        "f2p_passed": len(f2p), "f2p_total": len(task.fail_to_pass),
        "p2p_passed": len(p2p), "p2p_total": len(task.pass_to_pass),
        "f2p_failing": [i for i in task.fail_to_pass if i not in f2p][:10],
        "p2p_failing": [i for i in task.pass_to_pass if i not in p2p][:10],
    }


def evaluate(task: Task, checkout: Path, timeout: float = 1800) -> dict[str, Any]:
    """Save the model's patch, apply the test patch, run the tests isolated and grade them."""
    model_patch = working_diff(checkout, task.base_commit)
    reset_tests = apply_test_patch(task, checkout, model_patch)
    started = time.monotonic()
    code, output = run(isolated(task.test_cmd), checkout, timeout)
    result = grade(task, parse_pytest_report(output))
    result.update({
        "model_patch": model_patch, "reset_test_files": reset_tests, "test_exit_code": code,
        "test_seconds": round(time.monotonic() - started, 1), "test_output_tail": output[-3000:],
    })
    return result
