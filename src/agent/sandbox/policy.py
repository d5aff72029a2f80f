"""Which sandbox applies to a command, from the config; a one-line error when one is required but absent."""

from __future__ import annotations

import atexit
import functools
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
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


# What a command may read besides the repository, temp dir and writable caches: the system's trees...
SYSTEM_READABLE = (
    "/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc", "/opt", "/proc", "/sys", "/dev",
    "/run/systemd/resolve", "/nix", "/snap", "/gnu",
)
# macOS's own trees (the dyld shared cache lives under /System; /etc and /var are links into /private).
MACOS_READABLE = (
    "/System", "/Library", "/Applications", "/private/etc", "/private/var/db", "/private/var/select", "/usr/local",
)
# ... and these files of the user's (git's identity and settings), relative to HOME.
HOME_READABLE = (".gitconfig", ".config/git")


@dataclass(frozen=True)
class SandboxPolicy:
    """What a sandboxed command may do: write these trees, see the network or not, with these paths hidden."""

    writable: tuple[Path, ...]
    read_only: tuple[Path, ...] = ()
    hidden: tuple[Path, ...] = ()
    readable: tuple[Path, ...] | None = None  # None: reads unrestricted; else only these trees (and `writable`)
    network: bool = False
    tmpdir: Path | None = None
    uid: int = field(default_factory=os.getuid)
    gid: int = field(default_factory=os.getgid)


NO_SANDBOX_ENV = "AGENT_SANDBOX_UNAVAILABLE"  # "1": behave as on a machine without one (tests, demos)


@functools.cache
def available() -> str | None:
    """The mechanism this machine offers ('linux-userns+landlock', 'landlock', 'macos-seatbelt'), or None;
    probed once, with a real command."""
    if os.environ.get(NO_SANDBOX_ENV) == "1":
        return None
    if sys.platform == "darwin":
        from agent.sandbox import darwin

        def probe_policy(inside: Path, locked: Path, secret: Path, scratch: Path) -> SandboxPolicy:
            return SandboxPolicy(
                writable=(inside,), read_only=(locked,), hidden=(secret,), readable=readable_for(inside, [scratch])
            )

        return darwin.MECHANISM if darwin.probe(probe_policy) else None
    if not sys.platform.startswith("linux"):
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


def _tool_trees(home: Path) -> list[Path]:
    """The interpreter's prefixes and, for each PATH entry, its tree: under a home, the top folder (~/.pyenv)."""
    trees = [Path(sys.prefix), Path(sys.base_prefix), Path(sys.executable).resolve().parent]
    homes = {home, Path(os.path.expanduser(f"~{pwd.getpwuid(os.getuid()).pw_name}"))}
    for entry in os.environ.get("PATH", "").split(os.pathsep):
        path = Path(entry)
        if not path.is_absolute() or any(path in (h, *h.parents) for h in homes):
            continue
        under = next((h for h in homes if path.is_relative_to(h)), None)
        trees.append(path if under is None else under / path.relative_to(under).parts[0])
    return trees


def readable_for(root: Path, readable: list[str]) -> tuple[Path, ...]:
    """What a command in `root` may read: the repository, the system, the tools on PATH, git's settings, `readable`."""
    home = _home()
    system = (*SYSTEM_READABLE, *MACOS_READABLE) if sys.platform == "darwin" else SYSTEM_READABLE
    paths = [root, *map(Path, system), *(home / p for p in HOME_READABLE), *_tool_trees(home)]
    paths += [Path(os.path.expanduser(p)) for p in readable]
    seen: dict[Path, None] = {}
    for path in paths:
        if path.exists():
            seen.setdefault(path.resolve(), None)
    return tuple(seen)


def policy_for(
    root: Path, writable: list[str], hide: list[str], network: bool, readable: list[str] | None = None
) -> SandboxPolicy:
    """The policy for a command run in repository `root`; reads limited when `readable` is a list."""
    home = _home()
    extra = tuple(Path(os.path.expanduser(p)).resolve() for p in writable)
    hidden = [home / p for p in SECRET_PLACES] + [Path(os.path.expanduser(p)) for p in hide]
    git = root / ".git"
    return SandboxPolicy(
        writable=(root.resolve(), private_tmp(), *extra),
        read_only=(git,) if git.is_dir() else (),
        hidden=tuple(p for p in hidden if p.exists() or p.is_symlink()),
        readable=None if readable is None else readable_for(root.resolve(), readable),
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
            raise UsageError(
                "sandbox.mode = 'require' but this machine has no sandbox (user namespaces or Landlock; sandbox-exec)"
            )
        return None
    if mech == "macos-seatbelt":  # applied by wrapping the command (see child_setup), not in the child
        return None
    from agent.sandbox import linux

    return linux.preexec(policy, mech)


def sandboxed(box: Any) -> bool:
    """Whether commands under the [sandbox] config `box` run in an OS sandbox on this machine."""
    return box.mode != "off" and available() is not None


def _fields(box: Any) -> dict[str, Any]:
    return box.model_dump() if hasattr(box, "model_dump") else dict(vars(box))


def with_readable(box: Any, *paths: Path) -> Any:
    """A copy of the [sandbox] config `box` under which commands may also read `paths`."""
    fields = _fields(box)
    return SimpleNamespace(**{**fields, "readable": [*fields.get("readable", []), *map(str, paths)]})


def with_network(box: Any) -> Any:
    """A copy of the [sandbox] config `box` whose commands reach the network (one approved command)."""
    return SimpleNamespace(**{**_fields(box), "network": True})


def child_setup(
    box: Any, root: Path, argv: list[str] | str, extra_writable: tuple[Path, ...] = ()
) -> tuple[list[str] | str, Callable[[], None] | None, dict[str, str]]:
    """(argv, preexec_fn, environment additions) to run `argv` (a string: a shell command line) in `root` under the
    [sandbox] config `box`. Linux applies the sandbox in preexec_fn; macOS wraps argv in sandbox-exec (a string
    becomes a /bin/sh argv, so pass shell=isinstance(argv, str) on the returned argv).

    The child always dies with the agent (PR_SET_PDEATHSIG, Linux); inside the sandbox where there is one.
    """
    policy = policy_for(root, [*box.writable, *map(str, extra_writable)], box.hide, box.network, list(box.readable))
    sandbox = preexec_for(box.mode, policy)
    boxed = sandbox is not None or (box.mode != "off" and available() == "macos-seatbelt")
    env = {}
    if boxed and policy.tmpdir is not None:
        env = {"TMPDIR": str(policy.tmpdir), "TMP": str(policy.tmpdir), "TEMP": str(policy.tmpdir)}
    if sys.platform == "darwin" and boxed:
        from agent.sandbox import darwin

        return darwin.wrap(argv, policy), None, env
    if not sys.platform.startswith("linux"):
        return argv, sandbox, env
    from agent.sandbox import linux

    return argv, linux.with_deathsig(sandbox), env
