"""macOS sandbox: the command runs under `sandbox-exec` with a Seatbelt profile (SBPL) made from the policy.

Seatbelt is deny-by-default here and the last matching rule wins, so the profile lists what is allowed, then the
exceptions that must hold whatever was allowed before them (`.git` read-only, the secret places hidden).
Unlike the Linux sandbox there is no private network namespace: with the network off, only loopback addresses are
reachable (a test's local server works; so does a service the user runs on localhost).

Not run on macOS by this project's CI (no macOS machine); the profile text is tested on every platform, and
`available()` probes sandbox-exec with a real command before trusting it, so a broken profile means the
documented fallback (asks instead of allows), never an unconfined command that looks confined.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # policy imports this module lazily; only the annotation is needed here
    from agent.sandbox.policy import SandboxPolicy

# (writable, read-only inside it, hidden, scratch root) -> the policy to probe with; policy.py passes its own
# constructor so this module never imports policy (that would be an import cycle)
ProbePolicy = Callable[[Path, Path, Path, Path], "SandboxPolicy"]

SANDBOX_EXEC = "/usr/bin/sandbox-exec"
MECHANISM = "macos-seatbelt"

# What every process needs to start and run on macOS: exec and fork, its own signals, sysctls, Mach services
# (the dynamic loader, DNS, keychain-less TLS), shared memory, ttys, and metadata of any path (path resolution).
_BASE = """\
(version 1)
(deny default)
(allow process-exec process-fork)
(allow signal (target same-sandbox))
(allow sysctl-read)
(allow mach-lookup)
(allow ipc-posix-shm* ipc-posix-sem)
(allow iokit-open)
(allow pseudo-tty)
(allow file-ioctl)
(allow file-read-metadata)
(allow file-read* file-write* (literal "/dev/null") (literal "/dev/zero") (literal "/dev/tty")
  (literal "/dev/random") (literal "/dev/urandom") (regex #"^/dev/fd/") (regex #"^/dev/ttys[0-9]+$"))
"""


def quote(path: Path | str) -> str:
    """An SBPL string literal for `path` (backslashes and double quotes escaped)."""
    text = str(path).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{text}"'


def _real(path: Path) -> Path:
    """The path Seatbelt sees: symlinks resolved (/tmp is /private/tmp on macOS)."""
    return Path(os.path.realpath(path))


def _subpaths(paths: tuple[Path, ...]) -> str:
    return " ".join(f"(subpath {quote(_real(p))})" for p in paths)


def profile(policy: SandboxPolicy) -> str:
    """The Seatbelt profile enforcing `policy`."""
    rules = [_BASE]
    if policy.readable is None:
        rules.append("(allow file-read*)")
    else:
        rules.append(f'(allow file-read* (literal "/") {_subpaths((*policy.readable, *policy.writable))})')
    if policy.writable:
        rules.append(f"(allow file-write* {_subpaths(policy.writable)})")
    if policy.network:
        rules.append("(allow network*)")
    else:
        rules.append('(allow network* (local ip "localhost:*") (remote ip "localhost:*"))')
    # Exceptions last: they win over the allows above.
    if policy.read_only:
        rules.append(f"(deny file-write* {_subpaths(policy.read_only)})")
    if policy.hidden:
        rules.append(f"(deny file-read* file-write* {_subpaths(policy.hidden)})")
    return "\n".join(rules) + "\n"


def wrap(argv: list[str] | str, policy: SandboxPolicy) -> list[str]:
    """`argv` (a string: a /bin/sh command line) run under sandbox-exec with the policy's profile."""
    command = ["/bin/sh", "-c", argv] if isinstance(argv, str) else list(argv)
    return [SANDBOX_EXEC, "-p", profile(policy), *command]


def probe(make_policy: ProbePolicy) -> bool:
    """Whether sandbox-exec really confines a command here, under a profile using every kind of rule: a write to
    the writable folder succeeds, a write to a read-only one inside it fails, a hidden file cannot be read. False
    inside another sandbox (sandbox_apply is refused), where sandbox-exec is missing, or where the profile is not
    understood: then the caller falls back to running unsandboxed, with asks."""
    if not Path(SANDBOX_EXEC).exists():
        return False
    with tempfile.TemporaryDirectory(prefix="agent-probe-") as scratch:
        inside, locked, secret = Path(scratch, "in"), Path(scratch, "in", "locked"), Path(scratch, "secret")
        locked.mkdir(parents=True)
        secret.mkdir()
        (secret / "key").write_text("x")
        policy = make_policy(inside, locked, secret, Path(scratch))
        script = (
            f'echo x > "{inside}/ok" && ! (echo x > "{locked}/no") 2>/dev/null'
            f' && ! cat "{secret}/key" 2>/dev/null'
        )
        try:
            proc = subprocess.run(wrap(script, policy), capture_output=True, timeout=10, check=False)
        except (OSError, subprocess.SubprocessError):
            return False
        return proc.returncode == 0 and (inside / "ok").exists() and not (locked / "no").exists()
