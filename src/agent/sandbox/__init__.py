"""OS sandbox for the commands the agent runs (run_shell, run_tests).

Linux: in the child, before exec: a user + mount (+ network) namespace, the user's secret places hidden
under empty mounts, `.git` bind-mounted read-only, then Landlock limiting writes to the repository, the
temp dir and allowed caches, and TCP connect/bind denied when the network is off. See `linux.py`.
"""

from __future__ import annotations

from agent.sandbox.policy import (
    SandboxPolicy,
    available,
    child_setup,
    policy_for,
    preexec_for,
    sandboxed,
    with_network,
    with_readable,
)

__all__ = [
    "SandboxPolicy", "available", "child_setup", "policy_for", "preexec_for", "sandboxed", "with_network",
    "with_readable",
]
