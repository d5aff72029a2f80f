"""/add and /drop patterns: git's :(glob) rules, checked against `git ls-files` itself."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import git, init_repo

from agent.chat.globs import matches

PATHS = ["a.py", "README.md", "calc/ops.py", "calc/x.txt", "calc/sub/deep.py", "tests/test_a.py", "x.py/in.txt"]


@pytest.mark.parametrize("pattern", ["*.py", "**/*.py", "calc/*.py", "calc/**", "**", "c*", "*", "[ab].py",
                                     "a?py", "ops.py", "calc/**/*.py", "*.md", "**/deep.py"])
def test_globs_match_what_git_glob_pathspecs_match(tmp_path: Path, pattern: str) -> None:
    repo = init_repo(tmp_path / "repo", {p: "x\n" for p in PATHS})
    listed = git(repo, "ls-files", "-z", "--", f":(glob){pattern}").split("\0")
    assert sorted(matches(PATHS, pattern)) == sorted(p for p in listed if p)


def test_a_path_or_a_folder_names_itself_and_its_files_only() -> None:
    assert matches(PATHS, "calc/ops.py") == ["calc/ops.py"]
    assert matches(PATHS, "calc") == matches(PATHS, "calc/") == ["calc/ops.py", "calc/x.txt", "calc/sub/deep.py"]
    assert matches(PATHS, "ops.py") == matches(PATHS, "cal") == matches(PATHS, "/") == []
