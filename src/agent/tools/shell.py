"""run_shell: run a command in the repository with a timeout and capped output."""

from __future__ import annotations

import os
import signal
import subprocess
from typing import Annotated

from pydantic import Field

from agent.errors import ToolError
from agent.git.plumbing import without_quiet_git
from agent.policy.network import wants_network
from agent.sandbox import child_setup, with_network
from agent.tools import effect
from agent.workspace import Workspace


def cap(text: str, limit: int) -> str:
    """Keep the head and tail of long output, saying how much was cut."""
    if len(text) <= limit:
        return text
    half = limit // 2
    return f"{text[:half]}\n... [{len(text) - limit} characters cut] ...\n{text[-half:]}"


def execute(ws: Workspace, command: str, timeout_s: float) -> tuple[int | None, str]:
    """Run `command` with bash in the repo root; return (exit code or None on timeout, output)."""
    box = ws.config.sandbox
    if wants_network(box, command) and ws.config.permissions.network != "deny":  # approved by the chain, or allowed
        box = with_network(box)
    argv, preexec, extra = child_setup(box, ws.root, ["bash", "-c", command])
    env = {**without_quiet_git(dict(os.environ)), "GIT_TERMINAL_PROMPT": "0", "PAGER": "cat", "GIT_PAGER": "cat"}
    env.update(extra)
    try:
        proc = subprocess.Popen(
            argv,
            cwd=ws.root,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
            preexec_fn=preexec,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        raise ToolError(f"cannot start command: {exc}") from exc
    if ws.on_output is not None:  # chat shows the live tail
        from agent.tools.liveoutput import communicate_live

        return communicate_live(proc, timeout_s, ws.on_output)
    try:
        out, _ = proc.communicate(timeout=timeout_s)
        return proc.returncode, out.decode(errors="replace")
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, _ = proc.communicate()
        return None, out.decode(errors="replace")
    except BaseException:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        raise


def format_result(code: int | None, output: str, timeout_s: float, limit: int) -> str:
    """Render an exit code and output as an observation."""
    head = f"timed out after {timeout_s:g}s" if code is None else f"exit code {code}"
    return f"{head}\n{cap(output, limit)}".rstrip()


@effect("shell", detail=lambda ws, a: a.command)
def run_shell(
    ws: Workspace,
    command: Annotated[str, Field(min_length=1, description="bash command, run in the repository root")],
    timeout_s: Annotated[float | None, Field(description="seconds before the command is killed (at most 3600)")] = None,
) -> str:
    """Run a bash command in the repository root, in a fresh shell each call (`cd` and variables do not carry over,
    no input); it is stopped after timeout_s (default: the configured 120 s). Returns its exit code and output
    (head and tail kept when long)."""
    limit = min(max(timeout_s, 1.0), 3600.0) if timeout_s else ws.config.tools.shell_timeout_s
    code, output = execute(ws, command, limit)
    return format_result(code, output, limit, ws.config.tools.output_chars)
