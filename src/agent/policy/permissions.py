"""The permission policy: allow, ask or deny an action before a tool performs it.

Kinds of action: "read" and "edit" (a repository path), "shell" (a command line), "test" (the test
command) and "tool" (any tool by name, from `permissions.tools`). Shell commands are split into
their parts by agent.policy.shellrules; the strictest part decides, after the user's patterns:
shell_deny > shell_allow > shell_ask > built-in rules (destructive: deny; read-only and the test
command: allow; anything else: `permissions.shell`). Tools: `permissions.tools` by name or fnmatch
pattern; MCP tools (mcp__SERVER__TOOL) ask unless allowed there.
"""

from __future__ import annotations

import fnmatch
import os
import shlex
from typing import TYPE_CHECKING, Any

from agent.guard.paths import is_test_file, is_whole_test_config
from agent.policy.network import wants_network
from agent.policy.provable import provably_read_only
from agent.policy.shellrules import RANK, Context, Part, analyze
from agent.sandbox import sandboxed

if TYPE_CHECKING:
    from agent.config import PermissionsConfig, Verdict
    from agent.workspace import Workspace

HOW_TO_ALLOW = "permissions.shell_allow"


def allowed_roots(policy: PermissionsConfig) -> list[str]:
    """The resolved extra paths (outside the repository) that tools may use."""
    return [os.path.realpath(os.path.expanduser(p)) for p in policy.extra_paths]


def _matches(text: str, patterns: list[str]) -> str | None:
    return next((p for p in patterns if fnmatch.fnmatchcase(text, p)), None)


def _apply_patterns(policy: PermissionsConfig, whole: str, parts: list[Part]) -> list[Part]:
    """Let the user's patterns override the built-in verdict of each part."""
    out = []
    for part in parts:
        for text in {whole, part.text}:
            if pat := _matches(text, policy.shell_deny):
                return [Part(part.text, "deny", f"denied by permissions.shell_deny pattern {pat!r}")]
        if pat := _matches(part.text, policy.shell_allow):
            out.append(Part(part.text, "allow", f"allowed by permissions.shell_allow pattern {pat!r}"))
        elif (pat := _matches(part.text, policy.shell_ask)) and RANK[part.verdict] < RANK["ask"]:
            out.append(Part(part.text, "ask", f"permissions.shell_ask pattern {pat!r}"))
        else:
            out.append(part)
    return out


def shell_verdict(
    policy: PermissionsConfig, command: str, root: str | os.PathLike[str], test_command: str | None = None
) -> tuple[Verdict, str]:
    """Decide on one command line run in `root`; the reason names the part that decided."""
    whole = command.strip()
    try:
        test_words = shlex.split(test_command) if test_command else None
    except ValueError:
        test_words = None
    ctx = Context(os.path.realpath(root), allowed_roots(policy), test_words, policy.shell)
    parts = _apply_patterns(policy, whole, analyze(whole, ctx))
    worst = max(parts, key=lambda p: RANK[p.verdict])
    if worst.verdict == "allow":
        return "allow", worst.reason
    where = f" in `{worst.text}`" if worst.text != whole else ""
    if worst.verdict == "deny":
        hint = "" if "shell_deny" in worst.reason else f"; to permit it add a pattern to {HOW_TO_ALLOW}"
        return "deny", f"{worst.reason}{where}{hint}"
    return worst.verdict, f"{worst.reason}: `{whole}`" + (f" (part `{worst.text}`)" if where else "")  # type: ignore[return-value]


def tool_verdict(policy: PermissionsConfig, name: str) -> tuple[Verdict, str]:
    """A tool's verdict from permissions.tools: its name, else the longest matching fnmatch pattern.

    Built-in tools are allowed by default; tools of MCP servers (mcp__SERVER__TOOL) ask.
    """
    if name in policy.tools:
        return policy.tools[name], f"tool {name} (permissions.tools)"
    patterns = sorted((p for p in policy.tools if fnmatch.fnmatchcase(name, p)), key=len, reverse=True)
    if patterns:
        return policy.tools[patterns[0]], f"tool {name} (permissions.tools pattern {patterns[0]!r})"
    if name.startswith("mcp__"):
        server = name.split("__")[1]
        how = f'permissions.tools "mcp__{server}__*" = "allow"'
        return "ask", f"tool {name} of MCP server {server!r} (to allow: {how})"
    return "allow", f"tool {name}"


def _edit_verdict(policy: PermissionsConfig, detail: str) -> tuple[Verdict, str]:
    first = detail.replace("\\", "/").lstrip("/").split("/", 1)[0]
    if first == ".git":
        return "deny", f"edit {detail}: the .git directory belongs to git; use git commands"
    if first == ".agent":
        return "deny", f"edit {detail}: the agent's own configuration is the user's to change (.agent/ is the agent's)"
    if policy.edit == "allow" and (is_test_file(detail) or is_whole_test_config(detail)):
        if policy.test_edits == "deny":  # the setting decides, no approval: name it, not a flag
            return "deny", (f"{detail} is a test file, and tests may not be changed here "
                            '(permissions.test_edits = "deny" in the configuration)')
        how = "agent run --allow-test-edits, or permissions.test_edits = \"allow\""
        return policy.test_edits, f"{detail} is a test file: changing tests needs approval ({how})"
    return policy.edit, f"edit {detail}"


UNSANDBOXED = "no OS sandbox holds commands on this machine"


def unsandboxed_verdict(
    policy: PermissionsConfig, kind: str, detail: str, root: str, reason: str
) -> tuple[Verdict, str]:
    """Without an OS sandbox an allowed command stays allowed only when provably read-only (or the user said so)."""
    if kind == "test":
        if "test" in policy.model_fields_set:
            return "allow", reason
        return "ask", f"{UNSANDBOXED}: the test command runs the repository's code: `{detail}`"
    if "shell_allow" in reason or provably_read_only(detail, Context(os.path.realpath(root), allowed_roots(policy))):
        return "allow", reason
    return "ask", f"{UNSANDBOXED}: `{detail}` is not provably read-only"


def network_verdict(policy: PermissionsConfig, verdict: Verdict, detail: str, reason: str) -> tuple[Verdict, str]:
    """A command that needs the network: permissions.network decides, never looser than the command's own verdict."""
    if policy.network == "deny":
        return "deny", f'`{detail}` needs the network, and commands get none here (permissions.network = "deny")'
    if policy.network == "allow":
        return verdict, reason
    how = 'to allow: --yes, or permissions.network = "allow"'
    return "ask", f"`{detail}` needs the network: allow network for this command? ({how})"


def decide(policy: PermissionsConfig, kind: str, detail: str, ws: Workspace) -> tuple[Verdict, str]:
    """Return (verdict, reason) for an action of `kind` on `detail`."""
    verdict, reason = _decide(policy, kind, detail, ws)
    if verdict == "allow" and kind in ("shell", "test") and not sandboxed(ws.config.sandbox):
        verdict, reason = unsandboxed_verdict(policy, kind, detail, str(ws.root), reason)
    elif verdict != "deny" and kind == "shell" and wants_network(ws.config.sandbox, detail):
        verdict, reason = network_verdict(policy, verdict, detail, reason)
    if verdict == "ask" and policy.approve_all:
        return "allow", "approved by configuration"
    return verdict, reason


def _decide(policy: PermissionsConfig, kind: str, detail: str, ws: Workspace) -> tuple[Verdict, str]:
    if kind == "shell":
        from agent.tools.tests import detect_test_command

        test = ws.config.tools.test_command or detect_test_command(ws.root)
        verdict, reason = shell_verdict(policy, detail, ws.root, test)
    elif kind == "edit":
        verdict, reason = _edit_verdict(policy, detail)
    elif kind in ("read", "test"):
        verdict, reason = getattr(policy, kind), f"{kind} {detail}"
    elif kind == "tool":
        verdict, reason = tool_verdict(policy, detail)
    else:
        verdict, reason = "ask", f"{kind} {detail}"
    return verdict, reason
