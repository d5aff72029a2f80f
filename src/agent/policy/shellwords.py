"""Tables of shell commands the policy knows: read-only, destructive, wrappers, interpreters."""

from __future__ import annotations

import re

READ_ONLY = {
    "ls",
    "cat",
    "head",
    "tail",
    "wc",
    "grep",
    "egrep",
    "fgrep",
    "rg",
    "find",
    "pwd",
    "echo",
    "printf",
    "true",
    "false",
    "diff",
    "cmp",
    "file",
    "stat",
    "tree",
    "du",
    "df",
    "which",
    "type",
    "basename",
    "dirname",
    "realpath",
    "readlink",
    "date",
    "whoami",
    "uname",
    "nl",
    "cut",
    "tr",
    "sort",
    "md5sum",
    "sha1sum",
    "sha256sum",
    "test",
    "[",
    "env",
    "printenv",
    "id",
    "hostname",
    "column",
    "less",
    "more",
    "od",
    "hexdump",
    "xxd",
    "strings",
    ":",
}
NO_PATH_ARGS = {
    "echo",
    "printf",
    "pwd",
    "true",
    "false",
    "date",
    "whoami",
    "uname",
    "which",
    "type",
    "basename",
    "dirname",
    "test",
    "[",
    "env",
    "printenv",
    "id",
    "hostname",
    "tr",
    ":",
}
GIT_READ_ONLY = {
    "status",
    "diff",
    "log",
    "show",
    "blame",
    "ls-files",
    "ls-tree",
    "grep",
    "rev-parse",
    "describe",
    "shortlog",
    "show-ref",
    "cat-file",
    "rev-list",
    "merge-base",
    "reflog",
    "whatchanged",
    "annotate",
    "count-objects",
    "version",
}
# Commands that change files named by their arguments.
WRITERS = {
    "mv",
    "cp",
    "ln",
    "install",
    "tee",
    "touch",
    "chmod",
    "chown",
    "chgrp",
    "mkdir",
    "rmdir",
    "truncate",
    "shred",
    "unlink",
    "rsync",
    "scp",
    "sed",
}
DEVICES = {"/dev/null", "/dev/stdout", "/dev/stderr", "/dev/stdin", "/dev/tty"}  # not /dev/zero: endless reads
PRIVILEGED = {"sudo", "doas", "su", "pkexec", "runas"}
SYSTEM = {
    "shutdown",
    "reboot",
    "halt",
    "poweroff",
    "mkfs",
    "fdisk",
    "sfdisk",
    "parted",
    "wipefs",
    "mkswap",
    "swapoff",
    "init",
    "systemctl",
    "launchctl",
    "crontab",
    "useradd",
    "userdel",
    "passwd",
    "visudo",
    "iptables",
} | {f"mkfs.{fs}" for fs in ("ext2", "ext3", "ext4", "xfs", "btrfs", "vfat", "fat", "ntfs")}
DOWNLOADERS = {"curl", "wget", "fetch", "aria2c", "http", "https", "xh", "nc", "ncat", "socat", "lwp-download"}
SHELLS = {"sh", "bash", "zsh", "dash", "ksh", "mksh", "ash", "fish", "csh", "tcsh", "busybox"}
_INTERPRETER = re.compile(
    r"(python[\d.]*|pypy[\d.]*|perl[\d.]*|ruby|node|nodejs|php[\d.]*|lua[\d.]*|deno|bun|Rscript|pwsh|tclsh)$"
)
# wrapper -> its options that take a separate argument; the wrapped command follows the options.
WRAPPERS: dict[str, set[str]] = {
    "env": {"-u", "--unset", "-C", "--chdir"},
    "xargs": {"-I", "-i", "-n", "-P", "-d", "-L", "-s", "-a", "-E", "-e", "--max-args", "--delimiter", "--arg-file"},
    "timeout": {"-s", "--signal", "-k", "--kill-after"},
    "nice": {"-n", "--adjustment"},
    "ionice": {"-c", "-n", "-t", "-p"},
    "stdbuf": {"-i", "-o", "-e"},
    "nohup": set(),
    "setsid": set(),
    "exec": {"-a"},
    "command": set(),
    "builtin": set(),
    "time": set(),
    "chronic": set(),
    "unbuffer": set(),
    "caffeinate": set(),
    "watch": {"-n", "--interval", "-d"},
    "sudo": {"-u", "-g", "-C", "-h", "-p", "-r", "-t", "-U"},
    "doas": {"-u", "-C"},
    "pkexec": {"--user"},
    "su": {"-c", "-s", "-g", "-G"},
    "runas": set(),
}


def is_interpreter(name: str) -> bool:
    """True for shells and script interpreters that run code given on the command line or stdin."""
    return name in SHELLS or bool(_INTERPRETER.match(name))


def short_flags(word: str) -> str:
    """The letters of a short-option cluster (`-rf` -> "rf"); empty for anything else."""
    return word[1:] if word.startswith("-") and not word.startswith("--") and word[1:].isalpha() else ""


def _push_danger(rest: list[str]) -> str | None:
    for a in rest:
        if a in ("--force", "--mirror", "--delete", "--prune") or a.startswith("--force-with-lease"):
            return f"git push {a} rewrites or deletes remote history"
        if "f" in short_flags(a) or "d" in short_flags(a):
            return f"git push {a} rewrites or deletes remote history"
        if not a.startswith("-") and (a.startswith("+") or (a.startswith(":") and len(a) > 1)):
            return f"git push {a} rewrites or deletes a remote branch"
    return None


def _discard_danger(sub: str, rest: list[str]) -> str | None:
    if {".", ":/", "-f", "--force", "--discard-changes"} & set(rest):
        return f"git {sub} {' '.join(rest)} discards uncommitted changes"
    return None


def _clean_danger(sub: str, rest: list[str]) -> str | None:
    if {"-n", "--dry-run"} & set(rest) or any("n" in short_flags(a) for a in rest):
        return None
    return "git clean deletes untracked files"


def _simple_danger(sub: str, rest: list[str]) -> str | None:
    flags, first = set(rest), rest[:1]
    checks = {
        "reset": ({"--hard", "--merge"} & flags, "git reset --hard discards uncommitted work"),
        "stash": (first in (["drop"], ["clear"]), f"git stash {' '.join(first)} deletes stashed work"),
        "filter-branch": (True, "git filter-branch rewrites history"),
        "filter-repo": (True, "git filter-repo rewrites history"),
        "reflog": (first in (["expire"], ["delete"]), "git reflog expire/delete drops the safety net of the reflog"),
        "gc": (any(a.startswith("--prune") for a in rest), "git gc --prune deletes unreachable commits"),
        "update-ref": ("-d" in flags, "git update-ref -d deletes a ref"),
        "config": (
            {"--global", "--system"} & flags,
            "git config --global/--system changes configuration outside the repository",
        ),
        "branch": (
            "-D" in flags or bool({"-d", "--delete"} & flags and {"-f", "--force"} & flags),
            "git branch -D deletes an unmerged branch",
        ),
    }
    hit, why = checks.get(sub, (False, ""))
    return why if hit else None


# Long options the danger checks look at, per subcommand: git accepts any unambiguous prefix (`--har`).
_LONG = {
    "push": ("--force", "--mirror", "--delete", "--prune", "--force-with-lease", "--force-if-includes"),
    "reset": ("--hard", "--merge", "--mixed", "--soft", "--keep"),
    "clean": ("--dry-run", "--force"),
    "checkout": ("--force", "--discard-changes"), "restore": ("--force",), "switch": ("--force", "--discard-changes"),
    "branch": ("--delete", "--force"), "config": ("--global", "--system"), "gc": ("--prune",),
}


def _expand(sub: str, rest: list[str]) -> list[str]:
    """`rest` with abbreviated long options spelled out (`--har` -> `--hard`) where the prefix is unambiguous."""
    known = _LONG.get(sub, ())
    out = []
    for a in rest:
        name, eq, value = a.partition("=")
        hits = [k for k in known if name.startswith("--") and len(name) > 2 and k.startswith(name)]
        out.append(hits[0] + eq + value if len(hits) == 1 or name in hits else a)
    return out


def git_danger(sub: str, rest: list[str]) -> str | None:
    """Why a git subcommand destroys work or history, or None."""
    rest = _expand(sub, rest)
    if sub == "push":
        return _push_danger(rest)
    if sub == "clean":
        return _clean_danger(sub, rest)
    if sub in ("checkout", "restore", "switch"):
        return _discard_danger(sub, rest)
    return _simple_danger(sub, rest)
