"""Files that configure the agent, git or the test run: no tool call of the model may change them.

ConfigGuard takes a fingerprint of them before every edit, shell and test call and compares it after the
call; whatever changed is put back (the file's bytes before the call, a new file removed), the call fails,
and a finding goes to the log and to run_finished. What counts:

- the agent's own configuration: everything under `.agent/` except the agent's run logs, sessions, caches
  and worktrees, and any `[tool.agent]` table in pyproject.toml;
- git's configuration and hooks: `.git/config`, `.git/config.worktree`, `.git/hooks/*`, `.git/info/attributes`;
- test configuration, unless test edits are allowed (`--allow-test-edits`): pytest.ini, .pytest.ini,
  pytest.toml, .pytest.toml, the root and tests/ conftest.py, tox.ini [pytest], setup.cfg [tool:pytest],
  pyproject.toml [tool.pytest.ini_options] / [tool.pytest]. Edit tools already ask before touching these
  (permissions.test_edits), so only shell and test commands are checked for them.

The OS sandbox keeps `.git` read-only for commands anyway; this check is what holds without one, and for the
files the sandbox leaves writable.
"""

from __future__ import annotations

import configparser
import hashlib
import subprocess
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agent.guard.model import Finding
from agent.protocols import Decision, EventSink, ToolCall, ToolResult

if TYPE_CHECKING:
    from agent.toolchain import CallContext

AGENT_LOCAL = ("runs", "cache", "sessions", "worktrees")  # the agent's own output under .agent/
WHOLE_TEST_CONFIGS = ("pytest.ini", ".pytest.ini", "pytest.toml", ".pytest.toml", "conftest.py", "tests/conftest.py")
SECTIONS = {"tox.ini": ("ini", "pytest"), "setup.cfg": ("ini", "tool:pytest")}
GIT_FILES = ("config", "config.worktree", "info/attributes")

Print = dict[str, Any]  # path -> a digest of what matters in it (None: absent)


def _digest(data: bytes | None) -> str | None:
    return None if data is None else hashlib.sha256(data).hexdigest()


def _read(path: Path) -> bytes | None:
    try:
        return path.read_bytes() if path.is_file() or path.is_symlink() else None
    except OSError:
        return None


def _toml_tables(data: bytes | None, *keys: tuple[str, ...]) -> str | None:
    """The named tables of a TOML file as canonical text ('' when none; the raw digest when unparsable)."""
    if data is None:
        return None
    try:
        doc = tomllib.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError):
        return "unparsable:" + str(_digest(data))
    found = []
    for key in keys:
        node: Any = doc
        for part in key:
            node = node.get(part) if isinstance(node, dict) else None
        found.append(repr(node))
    return "|".join(found)


def _ini_section(data: bytes | None, section: str) -> str | None:
    if data is None:
        return None
    parser = configparser.RawConfigParser(strict=False, interpolation=None)
    try:
        parser.read_string(data.decode("utf-8", "replace"))
    except configparser.Error:
        return "unparsable:" + str(_digest(data))
    return repr(sorted(parser.items(section))) if parser.has_section(section) else ""


def git_dir(root: Path) -> Path | None:
    """The repository's git directory (the common one for a linked worktree), or None outside git."""
    if (root / ".git").is_dir():
        return root / ".git"
    proc = subprocess.run(
        ["git", "rev-parse", "--path-format=absolute", "--git-common-dir"], cwd=root, capture_output=True, text=True
    )
    return Path(proc.stdout.strip()) if proc.returncode == 0 and proc.stdout.strip() else None


@dataclass
class ConfigGuard:
    """The tool-chain hook that puts back any change a call made to the files that configure the agent."""

    root: Path
    tests_too: bool = True  # False with --allow-test-edits: test configuration may change
    emit: EventSink | None = None
    findings: list[Finding] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.git = git_dir(self.root)

    def files(self) -> dict[str, tuple[Path, str]]:
        """Every protected item: a display name -> (its file, what of it counts: whole | toml:TABLE | ini:SECTION)."""
        out: dict[str, tuple[Path, str]] = {}
        agent = self.root / ".agent"
        if agent.is_dir():  # the agent's own logs and caches are not walked: they can be large
            tops = [p for p in agent.iterdir() if p.name not in AGENT_LOCAL]
            for path in [*tops, *(q for t in tops if t.is_dir() and not t.is_symlink() for q in t.rglob("*"))]:
                if not path.is_dir():
                    out[f".agent/{path.relative_to(agent).as_posix()}"] = (path, "whole")
        if self.git is not None:
            for name in GIT_FILES:
                out[f".git/{name}"] = (self.git / name, "whole")
            hooks = self.git / "hooks"
            if hooks.is_dir():
                out.update({f".git/hooks/{p.name}": (p, "whole+mode") for p in hooks.iterdir() if not p.is_dir()})
        out["pyproject.toml [tool.agent]"] = (self.root / "pyproject.toml", "toml:agent")
        if self.tests_too:
            out.update({name: (self.root / name, "whole") for name in WHOLE_TEST_CONFIGS})
            out.update({f"{name} [{sect}]": (self.root / name, f"ini:{sect}") for name, (_, sect) in SECTIONS.items()})
            out["pyproject.toml [tool.pytest]"] = (self.root / "pyproject.toml", "toml:pytest")
        return out

    def fingerprint(self) -> tuple[Print, dict[str, bytes | None]]:
        """(what matters in each protected item, the bytes of its file to put back)."""
        prints: Print = {}
        saved: dict[str, bytes | None] = {}
        for name, (path, what) in self.files().items():
            data = _read(path)
            saved[name] = data
            if what.startswith("toml:"):
                prints[name] = _toml_tables(data, ("tool", what[5:]))
            elif what.startswith("ini:"):
                prints[name] = _ini_section(data, what[4:])
            elif what == "whole+mode" and data is not None:
                prints[name] = f"{_digest(data)}:{path.lstat().st_mode:o}"
            else:
                prints[name] = _digest(data)
        return prints, saved

    def before(self, call: ToolCall, ctx: CallContext) -> Decision:
        """Fingerprint the protected files before a call that can change files."""
        if ctx.kind in ("edit", "shell", "test"):
            ctx.scratch["protected"] = self.fingerprint()
        return Decision.allow()

    def after(self, call: ToolCall, ctx: CallContext, result: ToolResult) -> ToolResult:
        """Put back what the call changed; the call then fails, saying what and why."""
        if "protected" not in ctx.scratch:
            return result
        before, saved = ctx.scratch["protected"]
        after, _ = self.fingerprint()
        changed = sorted(n for n in set(before) | set(after) if before.get(n) != after.get(n))
        if ctx.kind == "edit":  # test configuration through edit tools is permissions.test_edits' to judge
            changed = [n for n in changed if not self._test_config(n)]
        if not changed:
            return result
        for name in changed:
            self._put_back(name, saved.get(name))
            if name.startswith(".git/hooks/") and saved.get(name) is not None:
                mode = before[name].rsplit(":", 1)[1]
                (self.git / name.removeprefix(".git/")).chmod(int(mode, 8) & 0o7777)  # type: ignore[operator]
        names = ", ".join(changed)
        message = (f"{call.name} changed {names}, which configures the agent, git or the test run; the model may "
                   "not change that, so it was put back as it was before the call")
        found = [Finding("agent_config_changed", n, 0, f"protected: {message}", "high") for n in changed]
        self.findings += found
        if self.emit is not None:
            self.emit({"type": "guard_findings", "findings": [f.to_dict() for f in found]})
        return ToolResult(f"{result.output}\nrefused: {message}.", ok=False, crashed=result.crashed)

    def _test_config(self, name: str) -> bool:
        return name.split(" ", 1)[0] in (*WHOLE_TEST_CONFIGS, *SECTIONS) or name.endswith("[tool.pytest]")

    def _put_back(self, name: str, data: bytes | None) -> None:
        if name.startswith(".git/"):
            if self.git is None:
                return
            path = self.git / name.removeprefix(".git/")
        else:
            path = self.root / name.split(" ", 1)[0]
        if data is None:
            if path.is_file() or path.is_symlink():
                path.unlink()
            return
        if path.is_symlink():
            path.unlink()
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
