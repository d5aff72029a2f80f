"""check_diff and check_patch on real git repositories."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import git, write

from agent.errors import UsageError
from agent.guard import check_diff, check_patch

CALC = "def add(a, b):\n    return a + b\n\n\ndef div(a, b):\n    return a / b\n"
TESTS = (
    "import pytest\nfrom calc import add, div\n\n\n"
    "def test_add():\n    assert add(2, 3) == 5\n\n\n"
    "def test_div_zero():\n    with pytest.raises(ZeroDivisionError):\n        div(1, 0)\n"
)


def kinds(findings: list) -> set[str]:
    return {f.kind for f in findings}


def test_clean_working_tree_has_no_findings(make_repo) -> None:
    repo = make_repo({"calc.py": CALC, "tests/test_calc.py": TESTS})
    assert check_diff(repo, "HEAD") == []


def test_working_tree_tampering_is_found(make_repo) -> None:
    repo = make_repo({"calc.py": CALC, "tests/test_calc.py": TESTS})
    write(repo, {"tests/test_calc.py": TESTS.replace("assert add(2, 3) == 5", "assert add(2, 3)")})
    found = check_diff(repo, "HEAD")
    assert [(f.kind, f.file, f.line) for f in found] == [("assertion_weakened", "tests/test_calc.py", 6)]
    assert found[0].severity == "high"


def test_commit_range_and_untracked_files(make_repo) -> None:
    repo = make_repo({"calc.py": CALC, "tests/test_calc.py": TESTS})
    write(repo, {"tests/test_calc.py": TESTS.replace("ZeroDivisionError", "Exception")})
    git(repo, "commit", "-qam", "broaden")
    assert kinds(check_diff(repo, "HEAD~1", "HEAD")) == {"exception_broadened"}
    assert check_diff(repo, "HEAD") == []
    write(repo, {"conftest.py": "def pytest_collection_modifyitems(items):\n    items.clear()\n"})
    assert kinds(check_diff(repo, "HEAD")) == {"collection_hook_added"}


def test_staged_changes_only(make_repo) -> None:
    repo = make_repo({"calc.py": CALC, "tests/test_calc.py": TESTS})
    write(repo, {"tests/test_calc.py": TESTS + "\n\ndef test_more():\n    assert add(1, 1) == 2\n"})
    git(repo, "add", "tests/test_calc.py")
    write(repo, {"tests/test_calc.py": "import pytest\n"})  # unstaged deletion of every test
    assert check_diff(repo, "HEAD", staged=True) == []
    assert kinds(check_diff(repo, "HEAD")) == {"test_removed"}


def test_bad_revision_and_not_a_repo(make_repo, tmp_path: Path) -> None:
    repo = make_repo({"calc.py": CALC})
    with pytest.raises(UsageError, match="unknown revision"):
        check_diff(repo, "no-such-rev")
    plain = tmp_path / "plain"
    plain.mkdir()
    with pytest.raises(UsageError, match="not inside a git repository"):
        check_diff(plain, "HEAD")


def test_check_patch_without_git() -> None:
    old = {"tests/test_calc.py": TESTS}
    new = {"tests/test_calc.py": TESTS.replace("def test_add", "@pytest.mark.skip\ndef test_add")}
    found = check_patch(old, new)
    assert kinds(found) == {"test_skipped"}
    assert found[0].to_dict() == {
        "kind": "test_skipped",
        "file": "tests/test_calc.py",
        "line": 6,
        "message": "test_add: skip/xfail added (pytest.mark.skip)",
        "severity": "high",
    }


def test_hardcoded_answer_in_source() -> None:
    old = {"calc.py": CALC, "tests/test_calc.py": TESTS}
    hacked = CALC.replace("    return a + b", "    if a == 2 and b == 3:\n        return 5\n    return a - b")
    found = check_patch(old, {"calc.py": hacked, "tests/test_calc.py": TESTS})
    assert [(f.kind, f.file, f.line) for f in found] == [("hardcoded_test_value", "calc.py", 2)]


def test_new_tests_and_renames_are_honest() -> None:
    old = {"tests/test_calc.py": TESTS}
    renamed = TESTS.replace("def test_add():", "def test_add_small_numbers():")
    extended = renamed + "\n\ndef test_add_negative():\n    assert add(-2, -3) == -5\n"
    assert check_patch(old, {"tests/test_calc.py": extended}) == []
    moved = {
        "tests/test_div.py": TESTS.split("def test_add")[0] + "def test_div_zero" + TESTS.split("def test_div_zero")[1],
        "tests/test_add.py": TESTS.split("def test_div_zero")[0],
    }
    assert check_patch(old, moved) == []


def test_hardcoding_found_against_unchanged_tests(make_repo) -> None:
    repo = make_repo({"calc.py": CALC, "tests/test_calc.py": TESTS})
    write(
        repo,
        {"calc.py": CALC.replace("    return a + b", "    if (a, b) == (2, 3):\n        return 5\n    return a * b")},
    )
    assert [(f.kind, f.line) for f in check_diff(repo, "HEAD")] == [("hardcoded_test_value", 2)]


def test_duplicate_test_removed_when_an_identical_one_remains(make_repo) -> None:
    dup = "from calc import add\n\n\ndef test_add_again():\n    assert add(2, 3) == 5\n"
    repo = make_repo({"calc.py": CALC, "tests/test_calc.py": TESTS, "tests/test_dup.py": dup})
    (repo / "tests/test_dup.py").unlink()
    assert check_diff(repo, "HEAD") == []
    (repo / "tests/test_calc.py").unlink()
    assert {f.kind for f in check_diff(repo, "HEAD")} == {"test_removed"}
