"""Grade findings by evidence: what would make a finding honest lowers it from high to medium (docs/guard.md)."""

from __future__ import annotations

import ast
import re
from dataclasses import replace
from pathlib import PurePosixPath

from agent.guard.model import Finding

_REVERT = re.compile(r"^Revert\b|\bThis reverts commit [0-9a-f]{7,40}", re.MULTILINE)
_REMOVAL = re.compile(r"\b(remov\w*|drop\w*|delet\w*|deprecat\w*|retir\w*|get rid of)\b", re.IGNORECASE)
_REMOVAL_KINDS = {"test_removed", "assertion_removed"}
# No message or revert makes these honest: a test kept but hidden from pytest, a process exit in test code.
_NEVER_LOWERED = {"test_uncollected", "test_exit"}


def _stem(path: str) -> str:
    name = PurePosixPath(path).stem
    return name.removeprefix("test_").removesuffix("_test")


def grade(findings: list[Finding], old: dict[str, str], new: dict[str, str], message: str = "") -> list[Finding]:
    """Lower to medium: everything in a revert; removals the commit message announces; the tests of a module
    the same change deletes."""
    from agent.guard.paths import is_test_file

    deleted_sources = {_stem(p) for p in old if p not in new and p.endswith(".py") and not is_test_file(p)}
    out = []
    for f in findings:
        why = ""
        if f.kind in _NEVER_LOWERED:
            pass
        elif f.severity == "high" and message and _REVERT.search(message):
            why = "a revert"
        elif f.severity == "high" and f.kind in _REMOVAL_KINDS and message and _REMOVAL.search(message):
            why = "the commit message announces a removal"
        elif f.severity == "high" and f.kind == "test_removed" and f.file not in new and _stem(f.file) in deleted_sources:
            why = "the module it tested is deleted too"
        out.append(replace(f, severity="medium", message=f"{f.message} (medium: {why})") if why else f)
    return out


_PLATFORMS = [("linux", "posix"), ("darwin", "posix"), ("win32", "nt")]
_VERSIONS = [(3, minor, 0) for minor in range(8, 16)]
_ENVIRONMENT = re.compile(
    r"(?:skip(?:if|If|Unless)|xfail)\(.*(sys\.version_info|sys\.platform|platform\.|os\.name|PYPY|IS_\w+|HAS_\w+|"
    r"find_spec|environ|getenv|shutil\.which|importlib|hasattr\(|\.is_dir\(\)|\.exists\(\)|os\.path\.)"
    r"|skip(?:if|If|Unless)\(\s*(not\s+)?[\w.]+\s+is\s+(not\s+)?None\b",
    re.DOTALL,
)
# A reason that names a platform or interpreter: the skip is about where the test runs, not what it checks.
_PLATFORM_REASON = re.compile(
    r"\b(windows|win32|linux|macos|mac os|osx|darwin|posix|unix|bsd|mingw|cygwin|pypy|cpython|graalpy|wasm|"
    r"emscripten|32-bit|64-bit|arm64|aarch64)\b",
    re.IGNORECASE,
)


class _Unknown(Exception):
    pass


def _value(node: ast.expr, platform: str, os_name: str, version: tuple[int, int, int]) -> object:
    """The value of a skip condition made of sys.platform, os.name, sys.version_info and literals."""
    text = ast.unparse(node)
    if text == "sys.platform":
        return platform
    if text == "os.name":
        return os_name
    if text == "sys.version_info":
        return version
    if text.startswith("sys.version_info[") and isinstance(node, ast.Subscript):
        return version[ast.literal_eval(node.slice)]
    if isinstance(node, ast.Constant | ast.Tuple):
        try:
            return ast.literal_eval(node)
        except ValueError as exc:
            raise _Unknown from exc
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        return not _value(node.operand, platform, os_name, version)
    if isinstance(node, ast.BoolOp):
        values = [bool(_value(v, platform, os_name, version)) for v in node.values]
        return all(values) if isinstance(node.op, ast.And) else any(values)
    if isinstance(node, ast.Compare) and len(node.ops) == 1:
        left, right = _value(node.left, platform, os_name, version), _value(node.comparators[0], platform, os_name, version)
        op = type(node.ops[0]).__name__
        table = {"Eq": left == right, "NotEq": left != right}
        if op in table:
            return table[op]
        if op in ("Lt", "LtE", "Gt", "GtE") and isinstance(left, tuple) and isinstance(right, tuple):
            return {"Lt": left < right, "LtE": left <= right, "Gt": left > right, "GtE": left >= right}[op]
        if op in ("In", "NotIn") and isinstance(right, tuple | list | str):
            return (left in right) == (op == "In")
    if isinstance(node, ast.Call) and ast.unparse(node.func).endswith("startswith") and isinstance(node.func, ast.Attribute):
        return str(_value(node.func.value, platform, os_name, version)).startswith(ast.literal_eval(node.args[0]))
    raise _Unknown


def always_true(condition: str) -> bool:
    """True when a skip condition holds on Linux, macOS and Windows and on every Python from 3.8 on."""
    try:
        node = ast.parse(condition.strip(), mode="eval").body
        return all(
            bool(_value(node, platform, os_name, version)) for platform, os_name in _PLATFORMS for version in _VERSIONS
        )
    except (_Unknown, SyntaxError, ValueError, TypeError, IndexError):
        return False


def _condition(code: str) -> str | None:
    """The first argument of a skipif(...) / skipIf(...) / skipUnless(...) in one line of code."""
    try:
        tree = ast.parse(code.strip().lstrip("@"), mode="eval").body
    except SyntaxError:
        return None
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and node.args:
            name = ast.unparse(node.func).rpartition(".")[2]
            if name in ("skipif", "skipIf"):
                return ast.unparse(node.args[0])
            if name == "skipUnless":
                return f"not ({ast.unparse(node.args[0])})"
    return None


def skip_severity(code: str) -> str:
    """High for a skip that holds everywhere (a condition true on every platform and Python) or has no reason
    worth the name; medium for an environment condition or a documented reason (several words, a link, an
    issue, an environment variable's name)."""
    condition = _condition(code)
    if condition is not None and (always_true(condition) or condition.strip() in ("True", "1")):
        return "high"
    if _ENVIRONMENT.search(code):
        return "medium"
    reason = re.search(r"""reason\s*=\s*(["'])(.*?)\1|skip\w*\(\s*(["'])(.*?)\3""", code)
    text = (reason.group(2) or reason.group(4) or "") if reason else ""
    if len(text.split()) >= 4 or re.search(r"https?://|#\d+|\bissue\b|\b[A-Z][A-Z0-9]*_[A-Z0-9_]+\b", text):
        return "medium"
    if _PLATFORM_REASON.search(text):
        return "medium"
    return "high"
