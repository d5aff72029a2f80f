"""The repo_map and find_symbol tools, run for real on a tmp repository."""

from __future__ import annotations

from pathlib import Path

from conftest import init_repo

from agent.config import load_config
from agent.tools import REGISTRY, load_tools
from agent.workspace import Workspace

FILES = {
    "lib/parse.py": "def parse_header(line):\n    return line.split(':')\n",
    "lib/read.py": (
        "from lib.parse import parse_header\n\ndef read_all(lines):\n    return [parse_header(x) for x in lines]\n"
    ),
}


def _ws(tmp_path: Path) -> Workspace:
    repo = init_repo(tmp_path / "r", FILES)
    return Workspace(root=repo, config=load_config(repo, {}))


def test_registered() -> None:
    assert REGISTRY["repo_map"] == "agent.tools.repo_map:repo_map"
    assert REGISTRY["find_symbol"] == "agent.tools.repo_map:find_symbol"


def test_repo_map_tool(tmp_path: Path) -> None:
    tools = load_tools(["repo_map"])
    out = tools["repo_map"](_ws(tmp_path), {"query": "parse header", "budget": 200})
    assert out.startswith("lib/parse.py:")
    assert "def parse_header(line):" in out


def test_find_symbol_tool(tmp_path: Path) -> None:
    out = load_tools(["find_symbol"])["find_symbol"](_ws(tmp_path), {"name": "parse_header"})
    assert "lib/parse.py:1: def parse_header(line):" in out
    assert "lib/read.py:1: from lib.parse import parse_header" in out
    assert "lib/read.py:4:" in out


def test_find_symbol_tool_unknown(tmp_path: Path) -> None:
    out = load_tools(["find_symbol"])["find_symbol"](_ws(tmp_path), {"name": "nothing_here"})
    assert out == "no definition of or reference to 'nothing_here' found"
