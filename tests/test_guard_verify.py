"""verify: the original tests run against the changed source, in a scratch worktree."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

import pytest
from conftest import git, write

from agent.errors import UsageError
from agent.guard import verify

BUGGY = "def add(a, b):\n    return a - b\n"
FIXED = "def add(a, b):\n    return a + b\n"
TESTS = "from calc import add\n\n\ndef test_add():\n    assert add(2, 3) == 5\n"
PYTEST = f"{shlex.quote(sys.executable)} -m pytest -q -p no:cacheprovider"


def worktrees(repo: Path) -> list[str]:
    return [line for line in git(repo, "worktree", "list", "--porcelain").splitlines() if line.startswith("worktree ")]


def test_edited_test_passes_only_with_the_edit(make_repo) -> None:
    repo = make_repo({"calc.py": BUGGY, "tests/test_calc.py": TESTS})
    write(repo, {"tests/test_calc.py": TESTS.replace("== 5", "== -1")})
    result = verify(repo, "HEAD", PYTEST, timeout_s=60)
    assert result.passed is False
    assert "1 failed" in result.output
    assert result.restored == ["tests/test_calc.py"]
    assert (repo / "tests/test_calc.py").read_text() == TESTS.replace("== 5", "== -1")  # the repo is untouched
    assert len(worktrees(repo)) == 1


def test_honest_fix_passes_even_when_committed(make_repo) -> None:
    repo = make_repo({"calc.py": BUGGY, "tests/test_calc.py": TESTS})
    base = git(repo, "rev-parse", "HEAD").strip()
    write(repo, {"calc.py": FIXED})
    git(repo, "commit", "-qam", "fix add")
    write(repo, {"tests/test_extra.py": "from calc import add\n\n\ndef test_extra():\n    assert add(1, 1) == 2\n"})
    result = verify(repo, base, PYTEST, timeout_s=60)
    assert result.passed is True, result.output
    assert result.command == PYTEST
    assert result.restored == ["tests/test_extra.py"]  # new test files are not part of the original tests


def test_deleted_tests_and_conftest_hooks_are_undone(make_repo) -> None:
    repo = make_repo({"calc.py": BUGGY, "tests/test_calc.py": TESTS})
    (repo / "tests/test_calc.py").unlink()
    write(repo, {"conftest.py": "collect_ignore_glob = ['tests/*']\n"})
    result = verify(repo, "HEAD", PYTEST, timeout_s=60)
    assert result.passed is False
    assert sorted(result.restored) == ["conftest.py", "tests/test_calc.py"]


def test_pyproject_pytest_section_is_restored_but_source_config_kept(make_repo) -> None:
    pyproject = '[project]\nname = "calc"\n\n[tool.pytest.ini_options]\naddopts = "-q"\n'
    repo = make_repo({"calc.py": BUGGY, "tests/test_calc.py": TESTS, "pyproject.toml": pyproject})
    narrowed = pyproject.replace('addopts = "-q"', 'addopts = "-q --deselect tests/test_calc.py::test_add"')
    write(repo, {"pyproject.toml": narrowed.replace('name = "calc"', 'name = "calc2"')})
    assert verify(repo, "HEAD", PYTEST, timeout_s=60).passed is False
    write(repo, {"calc.py": FIXED})
    result = verify(repo, "HEAD", PYTEST, timeout_s=60)
    assert result.passed is True
    assert result.restored == ["pyproject.toml"]


def test_timeout_fails_and_cleans_up(make_repo) -> None:
    repo = make_repo({"calc.py": FIXED, "tests/test_calc.py": TESTS})
    result = verify(repo, "HEAD", f"{shlex.quote(sys.executable)} -c 'import time; time.sleep(30)'", timeout_s=1)
    assert result.passed is False and result.timed_out is True
    assert len(worktrees(repo)) == 1


def test_bad_input(make_repo, tmp_path: Path) -> None:
    repo = make_repo({"calc.py": FIXED})
    with pytest.raises(UsageError):
        verify(repo, "nope", PYTEST, timeout_s=5)
    with pytest.raises(UsageError):
        verify(repo, "HEAD", "  ", timeout_s=5)
    assert len(worktrees(repo)) == 1
