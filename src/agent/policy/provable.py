"""Provably read-only command lines: what runs without asking where no OS sandbox holds commands.

Stricter than the policy's read-only rule (agent.policy.shellrules): plain read-only commands on paths inside
the repository, and nothing that could make them do more.
"""

from __future__ import annotations

from agent.policy.shellparse import ShellSyntaxError, parse
from agent.policy.shellrules import Context, _cd, _read_only
from agent.policy.shellwords import READ_ONLY

# Options that make a "read-only" command write, run code or read where its arguments do not say.
_UNSAFE_OPTIONS = {
    "xxd": ("-r",), "tree": ("-o",), "file": ("-C", "-m"),
    "sort": ("-o", "--output", "--compress-program", "-T", "--temp"),
    "date": ("-f", "--file", "-s", "--set"), "grep": ("-R", "--dereference-recursive", "-f", "--file"),
    "rg": ("-L", "--follow", "--pre", "-f", "--file"),
    "find": ("-L", "-follow", "-exec", "-ok", "-fprint", "-fls", "-delete"),
    "hostname": ("",), "less": ("",), "more": ("",), "env": ("",),
}
_GIT_UNSAFE = ("--ext-diff", "--textconv", "--no-index", "-O", "--output", "--open-files-in-pager")


def provably_read_only(command: str, ctx: Context) -> bool:
    """True only for a line of plain read-only commands on paths inside the repository: no assignments, wrappers,
    substitutions, redirections to files, options that run code or follow links, git global options. What an
    unsandboxed machine allows without asking."""
    try:
        pipelines = parse(command)
    except ShellSyntaxError:
        return False
    for cmd in (c for p in pipelines for c in p.commands):
        words = cmd.words
        if not words or any(w.dynamic or w.subs for w in words) or "=" in words[0].text:
            return False
        if any(not (op == ">&" and t.text.isdigit()) and ctx.where(t) != "device" for op, t in cmd.redirects):
            return False
        name, args = words[0].text, words[1:]
        if name == "cd" and len(args) == 1 and not args[0].text.startswith("-"):
            _cd(args, ctx)
            if ctx.cwd is None or ctx.place(ctx.cwd) not in ("inside", "root"):
                return False
            continue
        if "/" in name or not _safe_options(name, [a.text for a in args]):
            return False
        if _read_only(name, args, cmd, ctx) is not True:
            return False
    return bool(pipelines)


def _safe_options(name: str, args: list[str]) -> bool:
    if name == "git":
        return bool(args) and not args[0].startswith("-") and not any(a.startswith(_GIT_UNSAFE) for a in args)
    if name not in READ_ONLY or name in ("cd", "pushd", "popd"):
        return False
    unsafe = _UNSAFE_OPTIONS.get(name, ())  # "cd" is judged by provably_read_only itself
    if "" in unsafe:
        return not args
    return not any(a.startswith(unsafe) or (a.startswith("-") and not a.startswith("--") and
                                            any(u[1:] in a[1:] for u in unsafe if len(u) == 2)) for a in args)
