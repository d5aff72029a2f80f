"""Strategies and properties for fuzzing model output, shared by tests/test_fuzz.py and bench/fuzz.py.

Each `check_*` function is one property: it raises AssertionError (or lets an unexpected exception
escape) when the code under test crashes or corrupts a file, and returns quietly otherwise.
"""

from __future__ import annotations

import json
import subprocess
import tempfile
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from hypothesis import strategies as st

from agent.backends.litellm import _raw_call
from agent.backends.litellm import _tool_call as litellm_call
from agent.backends.llamacpp import parse_reply
from agent.backends.scripted import ScriptedBackend
from agent.backends.scripted import _tool_call as scripted_call
from agent.config import AgentConfig, PermissionsConfig
from agent.errors import ToolError
from agent.loop import Agent
from agent.policy.permissions import shell_verdict
from agent.tools import REGISTRY, load_tools
from agent.tools.edit import Edit, apply_edit, edit_file
from agent.workspace import Workspace

SEED_FILES = {
    "a.py": b"def add(a, b):\n    return a - b\n\n\ndef sub(a, b):\n    return a - b\n",
    "pkg/b.txt": b"line one\r\nline two\r\n\tindented\r\n",
    "latin1.txt": b"caf\xe9 \xff\xfe not utf-8\nsecond line\n",
    "empty.txt": b"",
}
PATHS = [
    "a.py",
    "pkg/b.txt",
    "latin1.txt",
    "empty.txt",
    "new.txt",
    "pkg/new.py",
    "../outside.txt",
    "/etc/hosts",
    ".git/config",
    "pkg",
    "",
    "a.py/x",
    "\x00",
    "~/x",
    "link_out",
]

scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=10,
)


@st.composite
def broken_json(draw: st.DrawFn, values: st.SearchStrategy[Any] = json_values) -> str:
    """Valid JSON, JSON cut short, JSON with junk spliced in, or deep nesting."""
    text = json.dumps(draw(values))
    how = draw(st.sampled_from(["keep", "cut", "splice", "nest", "text"]))
    if how == "cut":
        return text[: draw(st.integers(0, len(text)))]
    if how == "splice":
        at = draw(st.integers(0, len(text)))
        return text[:at] + draw(st.text(max_size=5)) + text[at:]
    if how == "nest":
        depth = draw(st.integers(1, 5000))
        return "[" * depth + text + "]" * draw(st.integers(0, depth))
    if how == "text":
        return draw(st.text(max_size=60))
    return text


texts = st.text(alphabet=st.characters(codec="utf-8"), max_size=80) | st.sampled_from(
    ["return a - b", "    return a - b", "line one\r\n", "caf", "def", "\n", "a - b", "x" * 200]
)
edits = st.builds(
    dict, path=st.sampled_from(PATHS) | st.text(max_size=10), old=texts, new=texts, replace_all=st.booleans()
)
TARGETS = [  # (path, old) pairs: most match once, some are ambiguous, missing or creating
    ("a.py", "def add(a, b):"),
    ("pkg/b.txt", "line two"),
    ("latin1.txt", "second line"),
    ("new.txt", ""),
    ("pkg/b.txt", "\tindented"),
    ("a.py", "def sub(a, b):\n    return a - b"),
    ("a.py", "return a - b"),
    ("a.py", "  def add(a, b):\n        return a - b  "),
    ("latin1.txt", "caf"),
    ("empty.txt", "x"),
    ("pkg/new.py", ""),
]
likely_edits = st.builds(
    lambda target, new, replace_all: {"path": target[0], "old": target[1], "new": new, "replace_all": replace_all},
    st.sampled_from(TARGETS),
    texts,
    st.booleans(),
)
edits = edits | likely_edits
edit_lists = st.lists(likely_edits, min_size=1, max_size=2) | st.lists(edits, min_size=1, max_size=4)
tool_names = st.sampled_from([*REGISTRY, "", "nope", "edit", "FINISH"]) | st.text(max_size=10)
arguments = st.one_of(
    st.dictionaries(
        st.sampled_from(["path", "content", "pattern", "edits", "command", "start_line", "summary", "x"]),
        json_values | st.lists(edits, max_size=3) | st.sampled_from(PATHS),
        max_size=4,
    ),
    st.builds(lambda e: {"edits": e}, st.lists(edits, min_size=1, max_size=3)),
    broken_json(),
    json_values,
)
raw_calls = st.fixed_dictionaries({"name": tool_names, "arguments": arguments}) | json_values
paths = st.sampled_from(PATHS) | st.text(max_size=10)
shaped_calls = st.one_of(  # calls that look right, so the loop really runs tools on them
    st.builds(
        lambda p, a, b: {"name": "read_file", "arguments": {"path": p, "start_line": a, "end_line": b}},
        paths,
        st.integers(-2, 9),
        st.none() | st.integers(-2, 9),
    ),
    st.builds(lambda p, c: {"name": "write_file", "arguments": {"path": p, "content": c}}, paths, texts),
    st.builds(lambda e: {"name": "edit_file", "arguments": {"edits": e}}, st.lists(edits, max_size=3)),
    st.builds(lambda p: {"name": "search", "arguments": {"pattern": p}}, texts),
    st.builds(lambda p: {"name": "list_files", "arguments": {"pattern": p}}, texts),
    st.builds(lambda s: {"name": "finish", "arguments": {"summary": s}}, texts),
)
shaped_replies = st.fixed_dictionaries({"tool_calls": st.lists(shaped_calls, min_size=1, max_size=3)})
replies = st.one_of(
    shaped_replies,
    shaped_replies,
    shaped_replies,
    st.fixed_dictionaries(
        {"content": st.text(max_size=20) | json_values},
        optional={"tool_calls": st.lists(shaped_calls | raw_calls, max_size=3) | json_values, "cost_usd": json_values},
    ),
    json_values,
)
SHELL_TOKENS = [
    *"rm -f~/.$(){}`'\"|&;<>*\n\\abcdeghlst",
    "rm -rf ",
    "bash -c ",
    "$(",
    "<<EOF\n",
    "EOF\n",
    "curl x | sh",
    " && ",
    "git reset --hard",
    "find / -exec ",
    "xargs ",
    "env ",
    "eval ",
    "$((",
    "${",
    "<(",
    "2>&1",
    "#",
]
shell_lines = st.lists(st.sampled_from(SHELL_TOKENS), max_size=25).map("".join) | st.text(max_size=40)


def check_scripted(raw: Any) -> None:
    """The scripted backend turns any raw call into a ToolCall (error set when malformed)."""
    call = scripted_call("c", raw)
    assert isinstance(call.name, str) and isinstance(call.arguments, dict)


def check_litellm(name: Any, args: Any, has_function: bool) -> None:
    """litellm tool-call parsing never raises, whatever the provider sends."""
    raw = SimpleNamespace(
        id=name if isinstance(name, str) else None,
        function=SimpleNamespace(name=name, arguments=args) if has_function else None,
    )
    call = litellm_call(_raw_call(raw))  # a provider's call object, as the non-streamed path reads it
    assert isinstance(call.name, str) and isinstance(call.arguments, dict)


def check_llamacpp(text: str, finish: str | None) -> None:
    """llama.cpp reply parsing never raises."""
    call, thought = parse_reply("c", text, finish)
    assert isinstance(call.arguments, dict) and isinstance(thought, str)
    assert call.error is not None or (call.name and isinstance(call.arguments, dict))


def check_shell(root: Path, command: str) -> None:
    """The shell policy gives a verdict for any text and never crashes."""
    verdict, reason = shell_verdict(PermissionsConfig(), command, root, "python -m pytest -q")
    assert verdict in ("allow", "ask", "deny") and reason


def check_apply_edit(text: str | None, edit: dict[str, Any]) -> None:
    """apply_edit returns text or raises ToolError; an exact unique match is a plain replacement."""
    try:
        result = apply_edit(text, Edit(**edit))
    except ToolError:
        return
    assert isinstance(result, str)
    if text is not None and edit["old"] and text.count(edit["old"]) == 1:
        assert result == text.replace(edit["old"], edit["new"])


class Sandbox:
    """A real git repository with seed files, a link pointing out and a canary outside it."""

    def __init__(self) -> None:
        self.tmp = Path(tempfile.mkdtemp(prefix="agent-fuzz-"))
        self.root = self.tmp / "repo"
        self.root.mkdir()
        subprocess.run(["git", "init", "-q"], cwd=self.root, check=True)
        self.canary = self.tmp / "outside.txt"
        self.canary.write_text("canary\n")
        (self.root / "link_out").symlink_to(self.canary)
        config = AgentConfig.model_validate(
            {"tools": {"shell_timeout_s": 2, "test_command": "true"}, "loop": {"max_steps": 4, "max_format_errors": 3}}
        )
        self.ws = Workspace(self.root, config)
        self.tools = load_tools()
        self.reset()

    def reset(self) -> None:
        """Put the seed files back and remove anything else the last case created."""
        for path in self.root.rglob("*"):
            rel = path.relative_to(self.root).as_posix()
            if path.is_file() and not path.is_symlink() and not rel.startswith(".git/") and rel not in SEED_FILES:
                path.unlink()
        for name, data in SEED_FILES.items():
            (self.root / name).parent.mkdir(parents=True, exist_ok=True)
            (self.root / name).write_bytes(data)

    def files(self) -> dict[str, bytes]:
        """Every file's bytes, .git excluded, plus the canary."""
        out = {
            p.relative_to(self.root).as_posix(): p.read_bytes()
            for p in self.root.rglob("*")
            if p.is_file() and not p.is_symlink() and ".git" not in p.relative_to(self.root).parts
        }
        return {**out, "<canary>": self.canary.read_bytes()}


def expected_after(sandbox: Sandbox, raw_edits: list[dict[str, Any]]) -> dict[str, bytes] | None:
    """What edit_file should leave, computed independently in memory; None if it must fail."""
    files = sandbox.files()
    current: dict[str, str | None] = {}
    try:
        for raw in raw_edits:
            real = sandbox.ws.resolve(raw["path"])
            key = sandbox.ws.rel(real)
            if key.split("/")[0] == ".git" or real.is_dir() or any(p.is_file() for p in real.parents):
                return None
            if key not in current:
                current[key] = files[key].decode("utf-8", "surrogateescape") if key in files else None
                if current[key] is not None and "\x00" in current[key][:8192]:
                    return None
            current[key] = apply_edit(current[key], Edit(**raw))
    except ToolError:
        return None
    for key, text in current.items():
        if text is not None and text.count("[REDACTED:") > (
            files.get(key, b"").decode("utf-8", "replace").count("[REDACTED:")
        ):
            return None
        files[key] = (text or "").encode("utf-8", "surrogateescape")
    return files


def check_edit_file(sandbox: Sandbox, raw_edits: list[dict[str, Any]]) -> None:
    """edit_file changes exactly what the edits say, or fails and leaves every byte as it was."""
    sandbox.reset()
    before = sandbox.files()
    expected = expected_after(sandbox, raw_edits)
    try:
        edit_file(sandbox.ws, [Edit(**e) for e in raw_edits])
    except ToolError:
        assert sandbox.files() == before, "a failed edit changed files"
        return
    assert expected is not None, "edit_file succeeded where it should have failed"
    assert sandbox.files() == expected


def check_loop(sandbox: Sandbox, script: list[Any]) -> dict[str, int]:
    """The loop turns any model output into observations and ends normally; nothing outside changes."""
    sandbox.reset()
    backend = ScriptedBackend([r if isinstance(r, dict) else {"content": json.dumps(r)} for r in script])
    seen = {"tool ok": 0, "tool error": 0, "format errors": 0}

    def on_event(event: dict[str, Any]) -> None:
        if event["type"] == "tool_result":
            seen["tool ok" if event["ok"] else "tool error"] += 1
        seen["format errors"] += event["type"] == "format_error"

    agent = Agent(backend, sandbox.tools, sandbox.ws, sandbox.ws.config.loop, on_event)
    outcome = agent.run([{"role": "system", "content": "fuzz"}, {"role": "user", "content": "go"}])
    assert outcome.status in ("done", "failed", "limits", "error"), outcome
    assert sandbox.canary.read_text() == "canary\n"
    return seen
