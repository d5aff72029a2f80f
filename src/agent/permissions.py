"""The permission policy: allow, ask or deny an action before a tool performs it."""

from __future__ import annotations

import fnmatch
import re
import shlex
from typing import TYPE_CHECKING

from agent.guard.paths import is_test_config, is_test_file

if TYPE_CHECKING:
    from agent.config import PermissionsConfig, Verdict
    from agent.workspace import Workspace

# Commands that destroy work or reach outside: denied unless a shell_allow pattern names them.
DESTRUCTIVE = [
    (re.compile(r"\bgit\s+reset\b.*--hard"), "git reset --hard discards work"),
    (re.compile(r"\bgit\s+clean\b"), "git clean deletes untracked files"),
    (re.compile(r"\bgit\s+push\b.*(--force|-f\b|--force-with-lease)"), "force push rewrites remote history"),
    (re.compile(r"\bgit\s+checkout\s+(--\s+)?\.(\s|$)"), "git checkout . discards changes"),
    (re.compile(r"\b(curl|wget)\b[^|]*\|\s*(sudo\s+)?(ba|z|da|k)?sh\b"), "piping a download into a shell"),
    (re.compile(r"\bsudo\b"), "sudo"),
    (re.compile(r"\bmkfs(\.\w+)?\b|\bdd\s+if="), "raw disk writes"),
    (re.compile(r":\(\)\s*\{"), "fork bomb"),
]

READ_ONLY = {"ls", "cat", "head", "tail", "wc", "grep", "rg", "find", "pwd", "echo", "true", "diff", "file", "stat", "tree"}
GIT_READ_ONLY = {"status", "diff", "log", "show", "blame", "branch", "ls-files", "grep", "rev-parse"}


def _rm_outside(words: list[str]) -> bool:
    """True for an `rm -r...` whose target is absolute, in home, or climbs out with `..`."""
    if not words or words[0] != "rm" or not any(w.startswith("-") and "r" in w.lower() for w in words[1:]):
        return False
    targets = [w for w in words[1:] if not w.startswith("-")]
    return any(t.startswith(("/", "~", "$")) or ".." in t.split("/") or t in {"*", "."} for t in targets)


def _is_read_only(command: str) -> bool:
    if any(ch in command for ch in ";&|><`$"):
        return False
    try:
        words = shlex.split(command)
    except ValueError:
        return False
    if not words:
        return False
    if words[0] == "git":
        return len(words) > 1 and words[1] in GIT_READ_ONLY
    return words[0] in READ_ONLY and not (words[0] == "find" and any(w in {"-delete", "-exec"} for w in words))


def shell_verdict(policy: PermissionsConfig, command: str, test_command: str | None) -> tuple[Verdict, str]:
    """Decide on one shell command."""
    stripped = command.strip()
    if any(fnmatch.fnmatch(stripped, pat) for pat in policy.shell_deny):
        return "deny", f"denied by shell_deny pattern: {stripped}"
    if any(fnmatch.fnmatch(stripped, pat) for pat in policy.shell_allow):
        return "allow", "allowed by shell_allow"
    for pattern, why in DESTRUCTIVE:
        if pattern.search(stripped):
            return "deny", f"destructive command denied ({why}); allow it in permissions.shell_allow"
    try:
        words = shlex.split(stripped)
    except ValueError:
        words = stripped.split()
    if _rm_outside(words):
        return "deny", "recursive rm outside the repository denied"
    if test_command and stripped == test_command.strip():
        return "allow", "the test command"
    if _is_read_only(stripped):
        return "allow", "read-only command"
    return policy.shell, f"shell command needs approval: {stripped}"


def decide(policy: PermissionsConfig, kind: str, detail: str, ws: Workspace) -> tuple[Verdict, str]:
    """Return (verdict, reason) for an action of `kind` ("read", "edit", "shell")."""
    if kind == "shell":
        verdict, reason = shell_verdict(policy, detail, ws.config.tools.test_command)
    elif kind == "edit" and (is_test_file(detail) or is_test_config(detail)):
        verdict = policy.test_edits if policy.edit == "allow" else policy.edit
        reason = f"{detail} is a test file: changing tests needs approval (--allow-test-edits)"
    elif kind in ("read", "edit"):
        verdict, reason = getattr(policy, kind), f"{kind} {detail}"
    else:
        verdict, reason = "ask", f"{kind} {detail}"
    if verdict == "ask" and policy.approve_all:
        return "allow", "approved by configuration"
    return verdict, reason
