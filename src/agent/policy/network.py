"""Which command lines need the network: what the sandbox asks about before it lets one command reach it.

A guess from the words, not a proof: a line that reaches the network some other way (a script, `python -c`)
simply finds none inside the sandbox. The guess only decides when to ask.
"""

from __future__ import annotations

import os
from typing import Any

from agent.policy.shellparse import ShellSyntaxError, parse

# Programs whose only job is the network.
_ALWAYS = frozenset({
    "curl", "wget", "ssh", "scp", "sftp", "rsync", "nc", "ncat", "netcat", "telnet", "ftp", "http", "https",
    "aria2c", "ping", "dig", "nslookup", "host",
})
# program -> subcommands that fetch or publish.
_SUBCOMMANDS = {
    "git": frozenset({"fetch", "clone", "push", "pull", "ls-remote", "submodule"}),
    "pip": frozenset({"install", "download", "wheel", "index", "search"}),
    "uv": frozenset({"pip", "sync", "add", "lock", "run", "tool", "venv", "python"}),
    "poetry": frozenset({"install", "add", "update", "lock", "publish"}),
    "pipx": frozenset({"install", "run", "upgrade", "inject"}),
    "npm": frozenset({"install", "i", "ci", "add", "update", "publish", "view", "info", "audit", "exec"}),
    "npx": frozenset(), "pnpm": frozenset({"install", "i", "add", "update", "dlx", "publish"}),
    "yarn": frozenset({"install", "add", "upgrade", "publish", "dlx"}),
    "cargo": frozenset({"fetch", "install", "add", "update", "publish", "search"}),
    "go": frozenset({"get", "install", "mod"}),
    "gem": frozenset({"install", "update", "fetch", "push"}), "bundle": frozenset({"install", "update"}),
    "apt": frozenset({"install", "update", "upgrade", "download"}),
    "apt-get": frozenset({"install", "update", "upgrade", "download", "source"}),
    "docker": frozenset({"pull", "push", "login", "build", "run"}), "conda": frozenset({"install", "create", "update"}),
    "twine": frozenset({"upload"}), "gh": frozenset(), "hf": frozenset({"download", "upload"}),
}
_WRAPPERS = frozenset({"sudo", "env", "command", "exec", "nice", "time", "timeout", "nohup", "xargs"})


def needs_network(command: str) -> bool:
    """True when some simple command of the line is a download, upload or remote git operation."""
    try:
        pipelines = parse(command)
    except ShellSyntaxError:
        return False
    for cmd in (c for p in pipelines for c in p.commands):
        words = [w.text for w in cmd.words if "=" not in w.text or w.text.startswith("-")]
        if _needs(words) or any(needs_network(sub) for w in cmd.words for sub in w.subs):
            return True
    return False


def _needs(words: list[str]) -> bool:
    while words and (os.path.basename(words[0]) in _WRAPPERS or words[0].startswith("-")):
        words = words[1:]
    if not words:
        return False
    name, rest = os.path.basename(words[0]), [w for w in words[1:] if not w.startswith("-")]
    if name.startswith("python") and words[1:3] == ["-m", "pip"]:
        name, rest = "pip", [w for w in words[3:] if not w.startswith("-")]
    elif name.startswith("pip"):
        name = "pip"
    if name in _ALWAYS:
        return True
    if name not in _SUBCOMMANDS:
        return False
    subs = _SUBCOMMANDS[name]
    return not subs or bool(rest) and rest[0] in subs


def wants_network(box: Any, command: str) -> bool:
    """Whether `command` needs the network that the sandbox of the [sandbox] config `box` keeps from it."""
    from agent.sandbox import sandboxed

    return not box.network and sandboxed(box) and needs_network(command)
