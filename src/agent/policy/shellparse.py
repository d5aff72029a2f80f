"""A small bash lexer and parser, enough to find every command a command line would run.

It splits `a && b; c | d`, subshells and groups, keeps quoting straight, and collects the code of
command substitutions (`$(...)`, backticks, `<(...)`), here-documents and here-strings, so the
permission policy can inspect each part. It never runs anything. Anything it cannot read raises
ShellSyntaxError, and the policy then asks instead of guessing.
"""

from __future__ import annotations

from dataclasses import dataclass, field

OPERATORS = sorted(
    [
        "&&",
        "||",
        ";;",
        "|&",
        "&>>",
        "&>",
        ">>",
        "<<<",
        "<<-",
        "<<",
        ">|",
        ">&",
        "<&",
        "<>",
        ";",
        "&",
        "|",
        "(",
        ")",
        "<",
        ">",
        "\n",
    ],
    key=len,
    reverse=True,
)
REDIRECTS = {">", ">>", "<", "<<", "<<-", "<<<", ">|", ">&", "<&", "<>", "&>", "&>>"}
SEPARATORS = {"&&", "||", ";", ";;", "&", "(", ")", "\n"}
PIPES = {"|", "|&"}
RESERVED = {"{", "}", "!", "if", "then", "else", "elif", "fi", "do", "done", "while", "until", "time", "in", "esac"}
_STOP = set(" \t\n;&|()<>")
_NAME = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")


class ShellSyntaxError(ValueError):
    """The command line could not be parsed (unbalanced quotes or parentheses)."""


@dataclass
class Word:
    """One shell word, unquoted; `dynamic` when its value depends on an expansion."""

    text: str
    dynamic: bool = False
    subs: list[str] = field(default_factory=list)  # code of command substitutions inside it
    heredoc: str | None = None  # for the delimiter word of `<<`: the document's body


@dataclass
class Command:
    """A simple command: its words and its redirections."""

    words: list[Word] = field(default_factory=list)
    redirects: list[tuple[str, Word]] = field(default_factory=list)

    def text(self) -> str:
        """The command as one readable line."""
        parts = [w.text for w in self.words] + [f"{op} {w.text}" for op, w in self.redirects]
        return " ".join(parts)


@dataclass
class Pipeline:
    """Commands joined by `|`."""

    commands: list[Command]

    def text(self) -> str:
        """The pipeline as one readable line."""
        return " | ".join(c.text() for c in self.commands)


def balanced(src: str, start: int) -> tuple[str, int]:
    """Return the text up to the `)` that closes an opening at `start - 1`, and the index after it."""
    depth, i = 1, start
    while i < len(src):
        c = src[i]
        if c == "\\":
            i += 2
            continue
        if c == "'":
            end = src.find("'", i + 1)
            if end < 0:
                raise ShellSyntaxError("unterminated single quote")
            i = end + 1
            continue
        if c == '"':
            i = _skip_dquote(src, i + 1)
            continue
        if c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
            if depth == 0:
                return src[start:i], i + 1
        i += 1
    raise ShellSyntaxError("unbalanced parenthesis")


def _skip_dquote(src: str, i: int) -> int:
    while i < len(src):
        if src[i] == "\\":
            i += 2
        elif src[i] == '"':
            return i + 1
        elif src.startswith("$(", i):
            i = balanced(src, i + 2)[1]
        else:
            i += 1
    raise ShellSyntaxError("unterminated double quote")


def _dollar(src: str, i: int, word: Word) -> tuple[str, int]:
    """Read an expansion starting at `$`; record substitutions; return (its text, index after)."""
    j = i + 1
    if j < len(src) and src[j] not in _NAME and src[j] not in "({@*#?$!-":
        return "$", j  # a literal dollar sign
    word.dynamic = True
    if src.startswith("$((", i):
        body, end = balanced(src, i + 2)
        scan_expansions(body, word)
        return src[i:end], end
    if src.startswith("$(", i):
        body, end = balanced(src, i + 2)
        word.subs.append(body)
        return src[i:end], end
    if src.startswith("${", i):
        end = src.find("}", i)
        if end < 0:
            raise ShellSyntaxError("unterminated ${")
        scan_expansions(src[i + 2 : end], word)
        return src[i : end + 1], end + 1
    if j < len(src) and src[j] in "@*#?$!-0123456789":
        return src[i : j + 1], j + 1
    while j < len(src) and src[j] in _NAME:
        j += 1
    if j == i + 1:
        word.dynamic = bool(word.subs)
        return "$", j
    return src[i:j], j


def _backtick(src: str, i: int, word: Word) -> tuple[str, int]:
    end = i + 1
    while end < len(src) and src[end] != "`":
        end += 2 if src[end] == "\\" else 1
    if end >= len(src):
        raise ShellSyntaxError("unterminated backquote")
    word.dynamic = True
    word.subs.append(src[i + 1 : end].replace("\\`", "`"))
    return src[i : end + 1], end + 1


def scan_expansions(text: str, word: Word) -> None:
    """Collect the substitutions in text that undergoes expansion (double quotes, here-documents)."""
    i = 0
    while i < len(text):
        if text[i] == "\\":
            i += 2
        elif text[i] == "$":
            i = _dollar(text, i, word)[1]
        elif text[i] == "`":
            i = _backtick(text, i, word)[1]
        else:
            i += 1


def _dquote(src: str, i: int, word: Word) -> tuple[str, int]:
    out: list[str] = []
    while i < len(src):
        c = src[i]
        if c == '"':
            return "".join(out), i + 1
        if c == "\\" and src[i + 1 : i + 2] in ('"', "\\", "$", "`", "\n"):
            out.append(src[i + 1] if src[i + 1] != "\n" else "")
            i += 2
        elif c == "$":
            text, i = _dollar(src, i, word)
            out.append(text)
        elif c == "`":
            text, i = _backtick(src, i, word)
            out.append(text)
        else:
            out.append(c)
            i += 1
    raise ShellSyntaxError("unterminated double quote")


def _word(src: str, i: int) -> tuple[Word, int]:
    word = Word("")
    out = []
    while i < len(src) and src[i] not in _STOP:
        c = src[i]
        if c == "\\":
            out.append(src[i + 1 : i + 2] if src[i + 1 : i + 2] != "\n" else "")
            i += 2
        elif c == "'":
            end = src.find("'", i + 1)
            if end < 0:
                raise ShellSyntaxError("unterminated single quote")
            out.append(src[i + 1 : end])
            i = end + 1
        elif c == '"':
            text, i = _dquote(src, i + 1, word)
            out.append(text)
        elif c == "$":
            text, i = _dollar(src, i, word)
            out.append(text)
        elif c == "`":
            text, i = _backtick(src, i, word)
            out.append(text)
        else:
            out.append(c)
            i += 1
    word.text = "".join(out)
    return word, i


def _heredoc_body(src: str, i: int, delimiter: str, strip_tabs: bool) -> tuple[str, int]:
    lines: list[str] = []
    while i <= len(src):
        end = src.find("\n", i)
        end = len(src) if end < 0 else end
        line = src[i:end]
        if (line.lstrip("\t") if strip_tabs else line) == delimiter:
            return "\n".join(lines), end + 1
        lines.append(line)
        i = end + 1
    return "\n".join(lines), len(src)


def _after_operator(src: str, i: int, op: str, tokens: list[str | Word], pending: list[tuple[Word, bool, bool]]) -> int:
    """Handle here-documents: read the delimiter after `<<`, the bodies after the next newline."""
    if op == "\n" and pending:
        for delim, strip, expand in pending:
            delim.heredoc, i = _heredoc_body(src, i, delim.text, strip)
            if expand:
                scan_expansions(delim.heredoc, delim)
        pending.clear()
    elif op in ("<<", "<<-"):
        while i < len(src) and src[i] in " \t":
            i += 1
        start = i
        delim, i = _word(src, i)
        quoted = any(q in src[start:i] for q in "'\"\\")
        delim.dynamic, delim.subs = False, []
        tokens.append(delim)
        pending.append((delim, op == "<<-", not quoted))
    return i


def tokenize(src: str) -> list[str | Word]:
    """Split a command line into operator strings and Words."""
    tokens: list[str | Word] = []
    pending: list[tuple[Word, bool, bool]] = []  # here-doc delimiters waiting for the next newline
    i = 0
    while i < len(src):
        c = src[i]
        if c in " \t":
            i += 1
        elif c == "\\" and src[i + 1 : i + 2] == "\n":
            i += 2
        elif c == "#" and (not tokens or isinstance(tokens[-1], str) or src[i - 1] in " \t"):
            while i < len(src) and src[i] != "\n":
                i += 1
        elif src.startswith(("<(", ">("), i):
            body, i = balanced(src, i + 2)
            tokens.append(Word(f"{c}({body})", dynamic=True, subs=[body]))
        elif op := next((o for o in OPERATORS if src.startswith(o, i)), None):
            tokens.append(op)
            i = _after_operator(src, i + len(op), op, tokens, pending)
        else:
            word, i = _word(src, i)
            if word.text.isdigit() and not word.dynamic and src[i : i + 1] in ("<", ">"):
                continue  # a file descriptor number before a redirection
            tokens.append(word)
    for delim, _, _ in pending:
        delim.heredoc = ""
    return tokens


def parse(src: str) -> list[Pipeline]:
    """Parse a command line into pipelines of simple commands (subshells and groups flattened)."""
    pipelines: list[Pipeline] = []
    current: list[Command] = []
    cmd = Command()
    tokens = tokenize(src)
    k = 0
    while k < len(tokens):
        tok = tokens[k]
        k += 1
        if isinstance(tok, Word):
            if not cmd.words and not cmd.redirects and tok.text in RESERVED and not tok.dynamic:
                continue
            cmd.words.append(tok)
        elif tok in REDIRECTS:
            if k >= len(tokens) or not isinstance(tokens[k], Word):
                raise ShellSyntaxError(f"redirection {tok!r} without a target")
            target = tokens[k]
            assert isinstance(target, Word)
            cmd.redirects.append((tok, target))
            k += 1
        else:
            if cmd.words or cmd.redirects:
                current.append(cmd)
            cmd = Command()
            if tok in SEPARATORS and current:
                pipelines.append(Pipeline(current))
                current = []
    if cmd.words or cmd.redirects:
        current.append(cmd)
    if current:
        pipelines.append(Pipeline(current))
    return pipelines
