"""What each part of a shell command line would do: the built-in verdicts behind the shell policy.

`analyze(command, ctx)` parses the line (agent.policy.shellparse), unwraps `env`, `xargs`, `timeout`,
`bash -c`, `eval`, `find -exec`, here-documents and pipes into shells, and gives every simple
command its own Part with a verdict: deny for destructive or out-of-repository actions, allow for
read-only commands and the test command, and the configured default for the rest. A destructive part
cannot hide behind a harmless one: the policy takes the strictest part.
"""

from __future__ import annotations

import fnmatch
import os
import re
from dataclasses import dataclass, field, replace

from agent.policy.shellparse import Command, Pipeline, ShellSyntaxError, Word, parse
from agent.policy.shellwords import (
    DEVICES,
    DOWNLOADERS,
    GIT_READ_ONLY,
    NO_PATH_ARGS,
    PRIVILEGED,
    READ_ONLY,
    SHELLS,
    SYSTEM,
    WRAPPERS,
    WRITERS,
    git_danger,
    is_interpreter,
    short_flags,
)

RANK = {"allow": 0, "ask": 1, "deny": 2}
# Environment variables that make a command run other code or read elsewhere (`BASH_ENV=x.sh bash -c true`).
CODE_VARS = {
    "BASH_ENV", "ENV", "PYTHONSTARTUP", "PYTHONINSPECT", "PERL5OPT", "PERL5LIB", "RUBYOPT", "NODE_OPTIONS",
    "PROMPT_COMMAND", "SHELLOPTS", "BASHOPTS", "PS4", "LESSOPEN", "LESSCLOSE", "PAGER", "GIT_PAGER", "EDITOR",
    "VISUAL", "GIT_EDITOR", "GIT_EXTERNAL_DIFF", "GIT_SSH", "GIT_SSH_COMMAND", "GIT_DIR", "GIT_WORK_TREE",
    "GIT_EXEC_PATH", "GIT_ASKPASS", "SSH_ASKPASS", "CDPATH", "IFS", "PATH",
}
MAX_DEPTH = 6
UNKNOWN = Word("<unknown>", dynamic=True)
# `name | name` with a bounded name: linear in the line (an unbounded `(\S+)...\1` was quadratic).
_SELF_PIPE = re.compile(r"(?<![^\s;&|(){}])([^\s;&|(){}]{1,64})\s*\|&?\s*\1(?![^\s;&|(){}])")
MAX_COMMAND_CHARS = 16_384  # longer lines are refused before any parsing: put the code in a script file
# Names inside .git that a `find . -delete` filter must not match (a sample: enough to catch `-name '*'`).
_GIT_NAMES = (".git", "HEAD", "index", "config", "description", "packed-refs", "ORIG_HEAD", "FETCH_HEAD",
              "COMMIT_EDITMSG", "hooks", "objects", "refs", "info", "logs", "pack", "main", "master", "exclude",
              "pre-commit.sample", "0123456789abcdef0123456789abcdef012345", "pack-0123abcd.pack", "pack-0123abcd.idx")
WRITE_OPS = {">", ">>", ">|", "&>", "&>>", "<>", ">&"}


@dataclass
class Part:
    """One checked piece of a command line."""

    text: str
    verdict: str
    reason: str


@dataclass
class Context:
    """Where the command runs and what it may touch."""

    root: str
    allowed: list[str] = field(default_factory=list)  # extra roots outside the repository
    test_words: list[str] | None = None
    default: str = "ask"
    cwd: str | None = None
    depth: int = 0

    def __post_init__(self) -> None:
        if self.cwd is None and self.depth == 0:
            self.cwd = self.root

    def where(self, word: Word) -> str:
        """Classify a path argument: inside | root | ancestor | outside | unknown | device."""
        if word.dynamic:
            return "unknown"
        text = os.path.expanduser(word.text) if word.text.startswith("~") else word.text
        if text.startswith("~"):
            return "unknown"
        if text in DEVICES or text.startswith("/dev/fd/"):
            return "device"
        literal, wild = [], None
        for comp in text.split("/"):
            if any(ch in comp for ch in "*?["):
                wild = comp
                break
            literal.append(comp)
        path = "/".join(literal) or ("/" if text.startswith("/") else ".")
        if not os.path.isabs(path):
            if self.cwd is None:
                return "unknown"
            path = os.path.join(self.cwd, path)
        where = self.place(os.path.realpath(path))
        if wild is not None and wild not in ("*", ".*", "*.*", "**") and where == "root":
            return "inside"  # e.g. *.pyc: some files in the folder, not the folder itself
        return where

    def place(self, real: str) -> str:
        """Classify a resolved absolute path."""
        if real in (self.root, os.path.join(self.root, ".git")):
            return "root"
        if real == "/" or self.root.startswith(real.rstrip("/") + "/"):
            return "ancestor"
        if real.startswith(self.root + "/"):
            return "inside"
        if any(real == a or real.startswith(a.rstrip("/") + "/") for a in self.allowed):
            return "inside"
        return "outside"


def analyze(command: str, ctx: Context) -> list[Part]:
    """Split a command line into checked parts (at least one)."""
    if len(command) > MAX_COMMAND_CHARS:
        return [Part(command[:80] + "...", "deny", too_long(command))]
    if ctx.depth > MAX_DEPTH:
        return [Part(command, "ask", "the command nests shells too deeply to check")]
    try:
        pipelines = parse(command)
    except ShellSyntaxError as exc:
        return [Part(command, "ask", f"the command could not be parsed ({exc})")]
    parts = [Part(command, "deny", "fork bomb")] if fork_bomb(command) else []
    for pipeline in pipelines:
        parts += _pipeline(pipeline, ctx)
    return parts or [Part(command, ctx.default, "empty command")]


def too_long(command: str) -> str:
    """The refusal for a command line over MAX_COMMAND_CHARS."""
    return (f"the command line is {len(command)} characters long; the limit is {MAX_COMMAND_CHARS}: "
            "write the code to a script file with write_file and run that")


def fork_bomb(command: str) -> bool:
    """True when a function defined on the line pipes itself into itself (`:(){ :|:& };:`)."""
    names = list(dict.fromkeys(m.group(1) for m in _SELF_PIPE.finditer(command)))[:32]
    return any(re.search(re.escape(n) + r"\s*\(\s*\)", command) for n in names)


def _nested(code: str, ctx: Context) -> list[Part]:
    return analyze(code, replace(ctx, depth=ctx.depth + 1))


def has_download(code: str, depth: int = 0) -> bool:
    """True when the code runs a downloader anywhere (substitutions included)."""
    try:
        pipelines = parse(code)
    except ShellSyntaxError:
        return False
    for pipeline in pipelines:
        for cmd in pipeline.commands:
            words, _, _ = unwrap(cmd.words, Context("/", depth=MAX_DEPTH))
            if words and not words[0].dynamic and _name(words[0]) in DOWNLOADERS:
                return True
            subs = [s for w in cmd.words + [t for _, t in cmd.redirects] for s in w.subs]
            if depth < MAX_DEPTH and any(has_download(s, depth + 1) for s in subs):
                return True
    return False


def _name(word: Word) -> str:
    return word.text.rsplit("/", 1)[-1]


def _pipeline(pipeline: Pipeline, ctx: Context) -> list[Part]:
    parts: list[Part] = []
    downloaded = False
    prev: tuple[list[Word], Command] | None = None
    for cmd in pipeline.commands:
        for word in cmd.words + [t for _, t in cmd.redirects]:
            for sub in word.subs:
                parts += _nested(sub, ctx)
        words, unknown, wrapped = unwrap(cmd.words, ctx)
        text = cmd.text()
        parts += [Part(text, v, r) for v, r in wrapped]
        parts += [Part(text, v, r) for v, r in _redirects(cmd, ctx)]
        if words and not words[0].dynamic:
            name = _name(words[0])
            if is_interpreter(name) and _reads_stdin(name, words):
                parts += _stdin_script(name, cmd, prev, downloaded, ctx, pipeline.text())
            downloaded = downloaded or name in DOWNLOADERS
        parts += [Part(text, v, r) for v, r in simple(words, unknown, cmd, ctx)]
        prev = (words, cmd)
    return parts


def unwrap(words: list[Word], ctx: Context) -> tuple[list[Word], bool, list[tuple[str, str]]]:
    """Strip assignments and wrappers (env, xargs, timeout, sudo...): (argv, args-unknown, findings)."""
    unknown = False
    found: list[tuple[str, str]] = []
    while True:
        while words and re.match(r"[A-Za-z_][A-Za-z0-9_]*=", words[0].text):
            var = words[0].text.split("=", 1)[0]
            if var in CODE_VARS or var.startswith(("GIT_CONFIG_", "LD_")):
                found.append((ctx.default, f"sets {var}, which makes the command run or read other code"))
            words = words[1:]
        if not words or words[0].dynamic:
            return words, unknown, found
        name = _name(words[0])
        if name in PRIVILEGED:
            found.append(("deny", f"{name} runs commands with elevated privileges"))
        elif name not in WRAPPERS:
            return words, unknown, found
        i, early = _options(name, words, ctx)
        if early is not None:
            return [], unknown, found + early
        if name == "timeout" and i < len(words):
            i += 1  # the duration
        if name == "watch":
            code = " ".join(w.text for w in words[i:])
            return [], unknown, found + [(p.verdict, p.reason) for p in _nested(code, ctx)]
        unknown = unknown or name == "xargs"
        words = words[i:]


def _options(name: str, words: list[Word], ctx: Context) -> tuple[int, list[tuple[str, str]] | None]:
    """Skip a wrapper's options: (index of the wrapped command, findings if the wrapper ends the analysis)."""
    takes_arg = WRAPPERS.get(name, set())
    i = 1
    while i < len(words) and words[i].text.startswith("-") and words[i].text != "-":
        flag = words[i].text
        if flag == "--":
            return i + 1, None
        if name == "env" and (flag in ("-S", "--split-string") or flag.startswith("--split-string=")):
            code = flag.split("=", 1)[1] if "=" in flag else (words[i + 1].text if i + 1 < len(words) else "")
            return i, [(p.verdict, p.reason) for p in _nested(code, ctx)]
        if name == "command" and flag in ("-v", "-V"):
            return i, []
        if name == "env" and (flag in ("-C", "--chdir") or flag.startswith(("--chdir=", "-C"))):
            return i, [(ctx.default, "env -C runs the command in another folder")]
        i += 2 if flag in takes_arg else 1
    return i, None


def _redirects(cmd: Command, ctx: Context) -> list[tuple[str, str]]:
    out = []
    for op, target in cmd.redirects:
        if op == ">&" and (target.text.isdigit() or target.text == "-"):
            continue
        where = ctx.where(target)
        if op in WRITE_OPS and where in ("outside", "ancestor", "root"):
            out.append(("deny", f"writes outside the repository ({target.text})"))
        elif op in WRITE_OPS and where == "unknown":
            out.append(("ask", f"writes to a path known only at run time ({target.text})"))
        elif op == "<" and where in ("outside", "ancestor", "unknown"):
            out.append(("ask", f"reads outside the repository ({target.text})"))
    return out


def _reads_stdin(name: str, words: list[Word]) -> bool:
    args = [w.text for w in words[1:]]
    if name in SHELLS:
        return not any(a.startswith("-") and not a.startswith("--") and "c" in a for a in args) and (
            not [a for a in args if not a.startswith(("-", "+"))] or "-s" in args
        )
    return not [a for a in args if not a.startswith("-")] or "-" in args


def _stdin_script(
    name: str, cmd: Command, prev: tuple[list[Word], Command] | None, downloaded: bool, ctx: Context, text: str
) -> list[Part]:
    """What a shell or interpreter reading its script from stdin would run."""
    if downloaded:
        return [Part(text, "deny", f"pipes a download into {name}")]
    if prev and prev[0] and _name(prev[0][0]) == "cat" and len(prev[0]) == 1:
        return _stdin_script(name, prev[1], None, False, ctx, text)  # `cat <<EOF | sh`
    for op, target in cmd.redirects:
        if op in ("<<", "<<-") and target.heredoc is not None:
            return (
                _nested(target.heredoc, ctx)
                if name in SHELLS
                else [Part(text, ctx.default, f"{name} runs a here-document")]
            )
        if op == "<<<":
            if any(has_download(s) for s in target.subs):
                return [Part(text, "deny", "runs downloaded code")]
            return (
                _nested(target.text, ctx)
                if name in SHELLS and not target.dynamic
                else [Part(text, ctx.default, f"{name} runs inline code")]
            )
    words = prev[0] if prev else []
    if words and name in SHELLS and _name(words[0]) in ("echo", "printf") and not any(w.dynamic for w in words):
        return _nested(" ".join(w.text for w in words[1:]), ctx)
    if prev:
        return [Part(text, ctx.default, f"{name} runs code produced by another command")]
    return []


def simple(words: list[Word], unknown: bool, cmd: Command, ctx: Context) -> list[tuple[str, str]]:
    """The built-in verdicts for one unwrapped simple command."""
    if not words:
        return []
    if words[0].dynamic:
        return [(ctx.default, "the command name is computed at run time")]
    name, args = _name(words[0]), words[1:]
    if unknown:
        args = args + [UNKNOWN]
    if name in ("cd", "pushd", "popd"):
        _cd(args, ctx)
        return [("allow", "changes directory")]
    if name in SYSTEM:
        return [("deny", f"{name} acts on the whole system")]
    rule = RULES.get(name) or (_interpreter if is_interpreter(name) or name in ("eval", "source", ".") else None)
    if rule is not None:
        found = rule(name, args, ctx)
        if found:
            return found
    if ctx.test_words and [w.text for w in words[: len(ctx.test_words)]] == ctx.test_words:
        return [("allow", "the test command")]
    ok = _read_only(name, args, cmd, ctx)
    if ok:
        return [("allow", "read-only command")]
    return [(ctx.default, "reads outside the repository" if ok is None else "shell command needs approval")]


def _cd(args: list[Word], ctx: Context) -> None:
    targets = [a for a in args if not a.text.startswith("-")]
    if not targets:
        ctx.cwd = os.path.expanduser("~")
    elif targets[0].dynamic or targets[0].text == "-":
        ctx.cwd = None
    else:
        text = os.path.expanduser(targets[0].text)
        ctx.cwd = os.path.realpath(os.path.join(ctx.cwd or "", text)) if ctx.cwd or os.path.isabs(text) else None


def _positional(args: list[Word]) -> list[Word]:
    out, ended = [], False
    for a in args:
        if not ended and a.text == "--":
            ended = True
        elif ended or not a.text.startswith("-") or a.text == "-" or a.dynamic:
            out.append(a)
    return out


def _rm(name: str, args: list[Word], ctx: Context) -> list[tuple[str, str]]:
    recursive = any(
        a.text in ("--recursive",) or ("r" in short_flags(a.text) or "R" in short_flags(a.text)) for a in args
    )
    targets = _positional(args)
    places = [(ctx.where(t), t.text) for t in targets]
    if recursive and (hit := next((t.text for t in targets if _may_match_git(t, ctx)), None)):
        return [("deny", f"recursive rm of a pattern that can match .git ({hit})")]
    for where, text in places:
        if where in ("root", "ancestor"):
            return [("deny", f"would delete the repository or a folder that holds it ({text})")]
        if where == "outside":
            return [("deny", f"deletes outside the repository ({text})")]
        if where == "unknown" and recursive:
            return [("deny", f"recursive rm of a path that cannot be checked before it runs ({text})")]
    return []


def _may_match_git(word: Word, ctx: Context) -> bool:
    """True for a glob or brace pattern that the shell could expand to the repository's .git."""
    text = word.text
    if word.dynamic or not any(ch in text for ch in "*?[{"):
        return False
    head, _, last = text.rstrip("/").rpartition("/")
    if any(ch in head for ch in "*?[{"):
        return True  # a pattern in a folder part: cannot be bounded cheaply
    folder = os.path.realpath(os.path.join(ctx.cwd or ctx.root, head or "."))
    if folder != ctx.root:
        return False
    if "{" in last:
        return True
    return fnmatch.fnmatchcase(".git", last)


def _find_delete(worst: tuple[str, Word], texts: list[str], ctx: Context) -> tuple[str, str]:
    """find -delete: outside or from the repository root without a filter that spares .git: deny."""
    where, start = worst
    if where != "inside":
        return "deny", f"find -delete outside the repository ({start.text})"
    at_root = ctx.where(start) == "root" or os.path.realpath(os.path.join(ctx.cwd or ctx.root, start.text)) == ctx.root
    if at_root:
        names = [texts[k + 1] for k, t in enumerate(texts[:-1]) if t in ("-name", "-iname")]
        loose = {"-o", "-or", "!", "-not", "-path", "-wholename", "-regex", "-iregex"} & set(texts)
        if len(names) != 1 or loose or any(fnmatch.fnmatch(n, names[0]) for n in _GIT_NAMES):
            return "deny", ("find -delete from the repository root reaches .git; "
                            "start it in a subfolder or filter with -name")
    return ctx.default, "find -delete needs approval"


def _writer(name: str, args: list[Word], ctx: Context) -> list[tuple[str, str]]:
    targets = _positional(args)
    if name in ("chmod", "chown", "chgrp") and targets:
        targets = targets[1:]
    if name == "sed":
        if not any("i" in short_flags(a.text) or a.text.startswith("--in-place") for a in args):
            return []
        targets = targets[1:]
    reads: list[Word] = []
    if name in ("cp", "rsync", "install", "scp", "ln") and targets:
        reads, targets = targets[:-1], targets[-1:]
    for t in targets:
        where = ctx.where(t)
        if where == "outside" or (where in ("root", "ancestor") and name in ("mv", "shred", "rmdir", "rsync")):
            return [("deny", f"{name} modifies a path outside the repository ({t.text})")]
        if where == "ancestor":
            return [("deny", f"{name} modifies a folder that holds the repository ({t.text})")]
    if any(ctx.where(r) in ("outside", "ancestor") for r in reads):
        return [("ask", f"{name} reads outside the repository")]
    return []


def _git(name: str, args: list[Word], ctx: Context) -> list[tuple[str, str]]:
    i = 0
    while i < len(args) and args[i].text.startswith("-"):
        i += 2 if args[i].text in ("-C", "-c", "--git-dir", "--work-tree", "--namespace") else 1
    if i >= len(args):
        return []
    why = git_danger(args[i].text, [a.text for a in args[i + 1 :]])
    return [("deny", why)] if why else []


def _find(name: str, args: list[Word], ctx: Context) -> list[tuple[str, str]]:
    texts = [a.text for a in args]
    roots = [a for a in args[: next((k for k, t in enumerate(texts) if t.startswith(("-", "(", "!"))), len(args))]]
    places = [(ctx.where(r), r) for r in roots] or [(ctx.place(ctx.cwd) if ctx.cwd else "unknown", Word("."))]
    places = [("inside" if where == "root" else where, r) for where, r in places]
    worst = next((p for p in places if p[0] != "inside"), places[0])
    found: list[tuple[str, str]] = []
    if "-delete" in texts:
        found.append(_find_delete(worst, texts, ctx))
    if {"-L", "-H", "-follow"} & set(texts):
        found.append((ctx.default, "find follows symbolic links, out of the repository too"))
    match = Word(worst[1].text.rstrip("/") + "/{}", worst[1].dynamic)  # what {} stands for: paths under the root
    for k, t in enumerate(texts):
        if t in ("-exec", "-execdir", "-ok", "-okdir"):
            end = next((j for j in range(k + 1, len(texts)) if texts[j] in (";", "+")), len(texts))
            inner = [match if a.text == "{}" else a for a in args[k + 1 : end]]
            words, unknown, wrapped = unwrap(inner, ctx)
            found += wrapped + simple(words, unknown, Command(words), ctx)
        elif t.startswith(("-fprint", "-fls")):
            found.append((ctx.default, "find writes a file"))
    return found or (
        [("allow", "read-only command")] if worst[0] == "inside" else [(ctx.default, "reads outside the repository")]
    )


def _dd(name: str, args: list[Word], ctx: Context) -> list[tuple[str, str]]:
    for a in args:
        if a.text.startswith("of=") and ctx.where(Word(a.text[3:], a.dynamic)) not in ("inside", "device"):
            return [("deny", f"dd writes outside the repository ({a.text})")]
    return []


def _interpreter(name: str, args: list[Word], ctx: Context) -> list[tuple[str, str]]:
    if any(has_download(s) for a in args for s in a.subs):
        return [("deny", f"{name} runs downloaded code")]
    if name in SHELLS:
        for k, a in enumerate(args):
            if a.text.startswith("-") and not a.text.startswith("--") and "c" in a.text:
                script = next((s for s in args[k + 1 :] if not s.text.startswith("-")), None)
                if script is None:
                    return []
                if script.dynamic:
                    return [(ctx.default, f"{name} -c runs a script built at run time")]
                return [(p.verdict, p.reason) for p in _nested(script.text, ctx)]
    if name == "eval":
        if any(a.dynamic for a in args):
            return [(ctx.default, "eval of text built at run time")]
        return [(p.verdict, p.reason) for p in _nested(" ".join(a.text for a in args), ctx)]
    return []


_GIT_CODE_OPTIONS = ("-c", "--config-env", "--exec-path", "--git-dir", "--work-tree", "--super-prefix")


def _git_read_only(args: list[Word], ctx: Context) -> bool | None:
    i = 0
    while i < len(args) and args[i].text.startswith("-"):
        if args[i].text == "-C" and i + 1 < len(args) and ctx.where(args[i + 1]) not in ("inside", "root"):
            return None
        if args[i].text.split("=", 1)[0] in _GIT_CODE_OPTIONS:
            return False  # configuration or a repository named on the line: it can run code or read elsewhere
        i += 2 if args[i].text in ("-C", "--namespace") else 1
    if i >= len(args) or args[i].text not in GIT_READ_ONLY:
        return False
    rest = args[i + 1 :]
    if any(a.text == "--no-index" for a in rest) and any(ctx.where(p) not in ("inside", "root", "device")
                                                          for p in _positional(rest)):
        return None
    return not any(a.text.startswith(("--output", "--open-files-in-pager", "-O")) for a in args)


# Options of read-only commands that run code, write, follow links out of the repository or read a named file.
_NOT_READ_ONLY = {
    "sort": ("-o", "--output", "--compress-program"), "xxd": ("-r", "--revert"), "tree": ("-o",),
    "file": ("-C", "--compile"), "grep": ("-R", "--dereference-recursive"), "egrep": ("-R",), "fgrep": ("-R",),
    "rg": ("-L", "--follow", "--pre"), "find": ("-L", "-follow", "-H"),
}
_FILE_OPTIONS = {"date": ("-f", "--file"), "grep": ("-f", "--file"), "rg": ("-f", "--file")}


def _option_problem(name: str, args: list[Word], ctx: Context) -> bool | None:
    """False when an option makes the command more than a read inside the repository, None when it reads outside."""
    for k, a in enumerate(args):
        text = a.text
        if any(text == o or (text.startswith(o) and (o.startswith("--") or len(o) == 2)) for o in
               _NOT_READ_ONLY.get(name, ())):
            return False
        for o in _FILE_OPTIONS.get(name, ()):
            if text == o or text.startswith(o + "="):
                value = text.split("=", 1)[1] if "=" in text else (args[k + 1].text if k + 1 < len(args) else "")
                if ctx.where(Word(value, a.dynamic)) not in ("inside", "root", "device"):
                    return None
    return True


def _gives_pattern(arg: str) -> bool:
    """True for a grep option that supplies the pattern (-e PAT, -ePAT, -rf FILE, --regexp=...)."""
    if arg.startswith(("--regexp", "--file")):
        return True
    return arg[:2] in ("-e", "-f") or bool(set("ef") & set(short_flags(arg)))


def _read_only(name: str, args: list[Word], cmd: Command, ctx: Context) -> bool | None:
    """True if the command only reads inside the repository; None if it reads outside; else False."""
    if any(op in WRITE_OPS and ctx.where(t) != "device" for op, t in cmd.redirects if not t.text.isdigit()):
        return False
    if name == "git":
        return _git_read_only(args, ctx)
    if name not in READ_ONLY:
        return False
    if (problem := _option_problem(name, args, ctx)) is not True:
        return problem
    if name in NO_PATH_ARGS:
        return True
    paths = _positional(args)
    if name in ("grep", "egrep", "fgrep", "rg") and not any(_gives_pattern(a.text) for a in args):
        paths = paths[1:]
    if not paths:
        return True if ctx.cwd is not None and ctx.place(ctx.cwd) in ("inside", "root") else None
    return True if all(ctx.where(p) in ("inside", "root", "device") for p in paths) else None


RULES = {"rm": _rm, "git": _git, "find": _find, "dd": _dd, **{w: _writer for w in WRITERS}}
