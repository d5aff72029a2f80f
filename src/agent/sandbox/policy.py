"""Which sandbox applies to a command, from the config; a one-line error when one is required but absent."""

from __future__ import annotations

import atexit
import functools
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agent.errors import UsageError

# The user's secret places, relative to HOME: hidden (empty) inside the sandbox.
SECRET_PLACES = (
    ".ssh",
    ".aws",
    ".config/gcloud",
    ".gnupg",
    ".netrc",
    ".git-credentials",
    ".pypirc",
    ".kube",
    ".docker/config.json",
    ".config/gh",
    ".local/share/keyrings",
    ".azure",
    ".npmrc",
)


@dataclass(frozen=True)
class SandboxPolicy:
    """What a sandboxed command may do: write these trees, see the network or not, with these paths hidden."""

    writable: tuple[Path, ...]
    read_only: tuple[Path, ...] = ()
    hidden: tuple[Path, ...] = ()
    network: bool = False
    tmpdir: Path | None = None
    uid: int = field(default_factory=os.getuid)
    gid: int = field(default_factory=os.getgid)


NO_SANDBOX_ENV = "AGENT_SANDBOX_UNAVAILABLE"  # "1": behave as on a machine without one (tests, demos)


@functools.cache
def available() -> str | None:
    """The mechanism this machine offers ('linux-userns+landlock', 'landlock'), or None; probed once."""
    if not sys.platform.startswith("linux") or os.environ.get(NO_SANDBOX_ENV) == "1":
        return None
    from agent.sandbox import linux

    for mech in ("linux-userns+landlock", "landlock"):
        probe = SandboxPolicy(writable=(Path(tempfile.gettempdir()),))
        try:
            proc = subprocess.run(
                ["true"], preexec_fn=linux.preexec(probe, mech), capture_output=True, timeout=10, check=False
            )
        except (OSError, subprocess.SubprocessError):
            continue
        if proc.returncode == 0:
            return mech
    return None


@functools.cache
def private_tmp() -> Path:
    """This process's own temp dir for sandboxed commands (the shared /tmp holds other people's files)."""
    path = Path(tempfile.mkdtemp(prefix="agent-sandbox-")).resolve()
    atexit.register(shutil.rmtree, path, True)
    return path


def _home() -> Path:
    return Path(os.environ.get("HOME") or Path.home())


def policy_for(root: Path, writable: list[str], hide: list[str], network: bool) -> SandboxPolicy:
    """The policy for a command run in repository `root`."""
    home = _home()
    extra = tuple(Path(os.path.expanduser(p)).resolve() for p in writable)
    hidden = [home / p for p in SECRET_PLACES] + [Path(os.path.expanduser(p)) for p in hide]
    git = root / ".git"
    return SandboxPolicy(
        writable=(root.resolve(), private_tmp(), *extra),
        read_only=(git,) if git.is_dir() else (),
        hidden=tuple(p for p in hidden if p.exists() or p.is_symlink()),
        network=network,
        tmpdir=private_tmp(),
    )


def preexec_for(mode: str, policy: SandboxPolicy) -> Callable[[], None] | None:
    """The child set-up for `mode` ('auto', 'require', 'off'): None when unsandboxed; UsageError if required."""
    if mode == "off":
        return None
    mech = available()
    if mech is None:
        if mode == "require":
            raise UsageError("sandbox.mode = 'require' but this machine has no sandbox (user namespaces or Landlock)")
        return None
    from agent.sandbox import linux

    return linux.preexec(policy, mech)


def sandboxed(box: Any) -> bool:
    """Whether commands under the [sandbox] config `box` run in an OS sandbox on this machine."""
    return box.mode != "off" and available() is not None


def child_setup(
    box: Any, root: Path, extra_writable: tuple[Path, ...] = ()
) -> tuple[Callable[[], None] | None, dict[str, str]]:
    """(preexec_fn, environment additions) for a command the agent runs in `root` under the [sandbox] config `box`.

    The child always dies with the agent (PR_SET_PDEATHSIG, Linux); inside the sandbox where there is one.
    """
    policy = policy_for(root, [*box.writable, *map(str, extra_writable)], box.hide, box.network)
    sandbox = preexec_for(box.mode, policy)
    env = {}
    if sandbox is not None and policy.tmpdir is not None:
        env = {"TMPDIR": str(policy.tmpdir), "TMP": str(policy.tmpdir), "TEMP": str(policy.tmpdir)}
    if not sys.platform.startswith("linux"):
        return sandbox, env
    from agent.sandbox import linux

    return linux.with_deathsig(sandbox), env
