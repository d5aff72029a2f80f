"""Plugins through entry points: a real (unpacked) distribution on sys.path registers a tool and a backend."""

from __future__ import annotations

import json
import os
from pathlib import Path

from conftest import agent_cli, init_repo

PLUGIN = '''
import json
import os
from pathlib import Path
from typing import Annotated

from pydantic import Field

from agent.protocols import Reply, ToolCall

Path(os.environ["PLUGIN_MARKER"]).write_text("imported")


def shout(ws, text: Annotated[str, Field(description="what to shout")]) -> str:
    """Repeat the text in capitals."""
    return text.upper() + "!"


class EchoBackend:
    """A model that calls shout once with its spec, then finishes."""

    def __init__(self, word):
        self.name, self.word, self.calls = f"echo:{word}", word, 0

    @classmethod
    def from_config(cls, config, rest):
        return cls(rest)

    def complete(self, messages, tools, on_text=None):
        self.calls += 1
        names = sorted(t["function"]["name"] for t in tools)
        if self.calls == 1:
            return Reply(tool_calls=[ToolCall("c1", "shout", {"text": self.word})], content=json.dumps(names))
        return Reply(tool_calls=[ToolCall("c2", "finish", {"summary": "echoed " + self.word})])
'''


def install_plugin(site: Path, body: str = PLUGIN, tool_target: str = "agent_demo_plugin:shout") -> None:
    """An unpacked distribution with entry points, found by importlib.metadata like any installed package."""
    (site / "agent_demo_plugin").mkdir(parents=True)
    (site / "agent_demo_plugin" / "__init__.py").write_text(body)
    info = site / "agent_demo_plugin-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: agent-demo-plugin\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(
        f"[agent.tools]\nshout = {tool_target}\n\n[agent.backends]\necho = agent_demo_plugin:EchoBackend\n")


def plugin_env(tmp_path: Path) -> dict[str, str]:
    site = tmp_path / "site"
    src = Path(__file__).parents[1] / "src"
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(src), str(site)]),
            "PLUGIN_MARKER": str(tmp_path / "marker")}


def user_config(home: Path) -> None:
    path = home / "config" / "agent" / "config.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("[memory]\nenabled = false\n[context]\nmap_tokens = 0\n")


def test_a_plugin_tool_and_backend_run_and_are_not_imported_for_help(tmp_path: Path, isolated_home: Path) -> None:
    install_plugin(tmp_path / "site")
    env = plugin_env(tmp_path)
    user_config(isolated_home)
    for args in (["--version"], ["--help"], ["mcp", "--help"]):
        assert agent_cli(*args, env=env).returncode == 0
    assert not (tmp_path / "marker").exists()  # discovery reads metadata only
    repo = init_repo(tmp_path / "repo", {"a.txt": "a\n"})
    proc = agent_cli("run", "shout", "--repo", str(repo), "--model", "echo:hello", "--json", env=env)
    assert proc.returncode == 0, proc.stderr
    events = [json.loads(line) for line in proc.stdout.splitlines()]
    first = next(e for e in events if e["type"] == "model_reply")
    assert "shout" in json.loads(first["content"]) and "read_file" in json.loads(first["content"])
    shout = next(e for e in events if e["type"] == "tool_result" and e["name"] == "shout")
    assert shout["ok"] is True and shout["output"] == "HELLO!"
    assert events[-1]["status"] == "done" and events[-1]["summary"] == "echoed hello"


def test_a_broken_plugin_is_one_line_and_the_agent_goes_on(tmp_path: Path, isolated_home: Path) -> None:
    install_plugin(tmp_path / "site", tool_target="agent_demo_plugin:missing")
    user_config(isolated_home)
    repo = init_repo(tmp_path / "repo", {"a.txt": "a\n"})
    finish = {"name": "finish", "arguments": {"summary": "ok"}}
    (tmp_path / "replies.json").write_text(json.dumps([{"tool_calls": [finish]}]))
    proc = agent_cli("run", "x", "--repo", str(repo), "--model", f"scripted:{tmp_path / 'replies.json'}", "--json",
                     env=plugin_env(tmp_path))
    assert proc.returncode == 0
    events = [json.loads(line) for line in proc.stdout.splitlines()]
    (warned,) = [e for e in events if e["type"] == "warning"]  # an event of the run, not a line on stderr
    assert warned["source"] == "plugin" and "plugin tool 'shout'" in warned["message"] and "left out" in warned[
        "message"]
    assert "Traceback" not in proc.stderr and "shout" not in proc.stderr
    (tmp_path / "site" / "agent_demo_plugin" / "__init__.py").write_text("raise ImportError('no such thing')\n")
    bad = agent_cli("run", "x", "--repo", str(repo), "--model", "echo:hi", env=plugin_env(tmp_path))
    assert bad.returncode == 2 and "backend plugin 'echo'" in bad.stderr and "Traceback" not in bad.stderr
