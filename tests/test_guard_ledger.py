"""The test ledger end to end, with every static rule switched off: pytest's own report decides."""

from __future__ import annotations

import shlex
import sys

from conftest import git, write

from agent.guard import check_diff, verify
from agent.guard.ledger import Ledger, compare

CALC = "def add(a, b):\n    return a + b\n"
TESTS = (
    "from calc import add\n\n\ndef test_add():\n    assert add(2, 3) == 5\n\n\n"
    "def test_zero():\n    assert add(0, 0) == 0\n"
)
PYTEST = f"{shlex.quote(sys.executable)} -m pytest -q -p no:cacheprovider"


def ledger_only(repo, ledger: str = "run") -> set[tuple[str, str]]:
    found = check_diff(repo, "HEAD", static=False, ledger=ledger, timeout_s=60)
    assert all(f.message.startswith("ledger:") for f in found)
    return {(f.kind, f.severity) for f in found}


def test_honest_change_has_no_ledger_findings(make_repo) -> None:
    repo = make_repo({"calc.py": CALC, "tests/test_calc.py": TESTS})
    write(repo, {"tests/test_more.py": "from calc import add\n\n\ndef test_neg():\n    assert add(-1, 1) == 0\n"})
    assert ledger_only(repo) == set()


def test_deselect_in_config_is_caught(make_repo) -> None:
    repo = make_repo({"calc.py": CALC, "tests/test_calc.py": TESTS})
    write(repo, {"setup.cfg": "[tool:pytest]\naddopts = --deselect tests/test_calc.py::test_add\n"})
    assert ledger_only(repo) == {("test_deselected", "high")}


def test_rename_out_of_collection_is_caught_by_collecting_alone(make_repo) -> None:
    repo = make_repo({"calc.py": CALC, "tests/test_calc.py": TESTS})
    write(repo, {"tests/test_calc.py": TESTS.replace("def test_zero", "def check_zero")})
    assert ledger_only(repo, "collect") == {("test_not_collected", "high")}


def test_indirect_skip_from_a_hook_is_caught(make_repo) -> None:
    hook = (
        "import pytest\n\n\ndef pytest_runtest_setup(item):\n"
        "    if 'add' in item.name:\n        pytest.skip('flaky')\n"
    )
    repo = make_repo({"calc.py": CALC, "tests/test_calc.py": TESTS})
    write(repo, {"tests/helpers.py": hook, "tests/conftest.py": "from helpers import *  # noqa\n"})
    write(repo, {"calc.py": "def add(a, b):\n    return 0\n"})
    assert ledger_only(repo) == {("test_skipped", "high")}


def test_process_exit_during_collection_is_caught(make_repo) -> None:
    repo = make_repo({"calc.py": CALC, "tests/test_calc.py": TESTS})
    write(repo, {"tests/conftest.py": "import os\n\nos._exit(0)\n"})
    kinds = ledger_only(repo)
    assert ("exit_status_mismatch", "high") in kinds and ("test_not_collected", "high") in kinds


def test_collect_only_in_addopts_is_caught(make_repo) -> None:
    repo = make_repo({"calc.py": CALC, "tests/test_calc.py": TESTS})
    write(repo, {"pytest.ini": "[pytest]\naddopts = --co\n"})
    assert ledger_only(repo) == {("exit_status_mismatch", "high"), ("test_not_run", "high")}


def test_committed_range_and_xfail(make_repo) -> None:
    repo = make_repo({"calc.py": CALC, "tests/test_calc.py": TESTS})
    marked = TESTS.replace("def test_add", "import pytest\n\n\n@pytest.mark.xfail\ndef test_add")
    write(repo, {"tests/test_calc.py": marked, "calc.py": "def add(a, b):\n    return a - b\n"})
    git(repo, "commit", "-qam", "xfail")
    found = check_diff(repo, "HEAD~1", "HEAD", static=False, ledger="run", timeout_s=60)
    assert {(f.kind, f.file) for f in found} == {("test_skipped", "tests/test_calc.py")}
    assert "xfailed" in found[0].message


def test_verify_sees_a_pytest_stand_in(make_repo) -> None:
    repo = make_repo({"calc.py": "def add(a, b):\n    return a - b\n", "tests/test_calc.py": TESTS})
    write(repo, {"pytest.py": "print('2 passed')\n"})  # `python -m pytest` in the repo now runs this
    result = verify(repo, "HEAD", PYTEST, timeout_s=60)
    assert result.passed is False
    assert any(f.kind == "exit_status_mismatch" and "no pytest report" in f.message for f in result.findings)


def test_verify_ledger_compares_the_change_as_left(make_repo) -> None:
    repo = make_repo({"calc.py": CALC, "tests/test_calc.py": TESTS})
    write(repo, {"tests/test_calc.py": TESTS.replace("def test_zero", "def _zero")})
    result = verify(repo, "HEAD", PYTEST, timeout_s=60)
    assert result.passed is True  # the original tests pass on the (unchanged) source ...
    assert [(f.kind, f.file) for f in result.findings] == [("test_not_collected", "tests/test_calc.py")]


def test_compare_rules_without_running() -> None:
    ids = ["t.py::a", "t.py::b"]
    base = Ledger(0, True, True, True, False, ids, [], [], {"t.py::a": "passed", "t.py::b": "failed"})
    ids2 = ["t.py::c", "t.py::b"]
    renamed = Ledger(0, True, True, True, False, ids2, [], [], {"t.py::c": "passed", "t.py::b": "passed"})
    assert [(f.kind, f.severity) for f in compare(base, renamed)] == [("test_not_collected", "medium")]
    lying = Ledger(0, True, True, True, False, ["t.py::a"], [], [], {"t.py::a": "failed"})
    assert [f.kind for f in compare(base, lying)] == ["exit_status_mismatch", "test_now_fails"]
