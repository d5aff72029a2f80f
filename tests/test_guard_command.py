"""`agent guard` through typer, on real git repositories."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from conftest import git, write
from typer.testing import CliRunner

from agent.cli.commands import guard as guard_cmd

app = typer.Typer()
app.command("guard", help=guard_cmd.HELP)(guard_cmd.guard)


@app.callback()
def _root() -> None:
    """Keep `guard` a subcommand, as in agent.cli."""


TESTS = "from calc import add\n\n\ndef test_add():\n    assert add(2, 3) == 5\n"
CALC = "def add(a, b):\n    return a + b\n"


def invoke(*args: str):
    return CliRunner().invoke(app, ["guard", *args])


def test_clean_tree_exits_zero(make_repo) -> None:
    repo = make_repo({"calc.py": CALC, "tests/test_calc.py": TESTS})
    result = invoke("--repo", str(repo))
    assert result.exit_code == 0
    assert "no findings" in result.output


def test_range_with_findings_json(make_repo) -> None:
    repo = make_repo({"calc.py": CALC, "tests/test_calc.py": TESTS})
    write(
        repo, {"tests/test_calc.py": TESTS.replace("def test_add", "import pytest\n@pytest.mark.xfail\ndef test_add")}
    )
    git(repo, "commit", "-qam", "xfail")
    result = invoke("HEAD~1..HEAD", "--repo", str(repo), "--json")
    assert result.exit_code == 1
    payload = json.loads(result.stdout)
    assert payload["base"] == "HEAD~1" and payload["head"] == "HEAD"
    assert [(f["kind"], f["file"], f["severity"]) for f in payload["findings"]] == [
        ("test_skipped", "tests/test_calc.py", "high")
    ]
    assert set(payload["findings"][0]) == {"kind", "file", "line", "message", "severity"}


def test_staged_text_output(make_repo) -> None:
    repo = make_repo({"calc.py": CALC, "tests/test_calc.py": TESTS})
    write(repo, {"tests/test_calc.py": "from calc import add\n"})
    assert invoke("--staged", "--repo", str(repo)).exit_code == 0
    git(repo, "add", "-A")
    result = invoke("--staged", "--repo", str(repo))
    assert result.exit_code == 1
    assert "tests/test_calc.py:4: high test_removed: test removed: test_add" in result.output


def test_bad_input_exits_two(make_repo, tmp_path: Path) -> None:
    repo = make_repo({"calc.py": CALC})
    result = invoke("nope..HEAD", "--repo", str(repo))
    assert result.exit_code == 2
    assert "agent: error: unknown revision: nope" in result.output
    plain = tmp_path / "plain"
    plain.mkdir()
    assert invoke("--repo", str(plain)).exit_code == 2
    assert invoke("HEAD..HEAD", "--staged", "--repo", str(repo)).exit_code == 2
