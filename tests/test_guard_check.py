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


def _high(old: dict[str, str], new: dict[str, str]) -> list[tuple[str, str]]:
    return [(f.kind, f.severity) for f in check_patch(old, new) if f.severity == "high"]


def test_identity_check_is_not_a_weakening() -> None:
    old = {"tests/test_t.py": "def test_t():\n    assert type(f()) == dict\n    assert g()\n"}
    new = {"tests/test_t.py": "def test_t():\n    assert type(f()) is dict\n    assert g() is marker\n"}
    assert check_patch(old, new) == []
    weaker = {"tests/test_t.py": "def test_t():\n    assert type(f()) != list\n    assert g()\n"}
    assert _high(old, weaker) == [("assertion_weakened", "high")]


def test_expected_value_explained_by_a_changed_translation_file() -> None:
    tests = (
        "import pytest\n\n\n@pytest.mark.parametrize('x, out', [(5, '5e'), (1, 'one')])\n"
        "def test_o(x, out):\n    assert o(x) == out\n"
    )
    edited = {"tests/test_o.py": tests.replace("'5e'", "'5 e'")}
    po_old = 'msgid "e"\nmsgstr "e"\n'
    base = {"tests/test_o.py": tests, "pkg/locale/fr/LC_MESSAGES/pkg.po": po_old}
    assert _high(base, {**base, **edited}) == [("expected_value_changed", "high")]
    with_po = {**base, **edited, "pkg/locale/fr/LC_MESSAGES/pkg.po": po_old.replace('msgstr "e"', 'msgstr " e"')}
    assert _high(base, with_po) == []
    # a README is not data the code reads
    with_readme = {**base, **edited, "README.md": "5 e\n"}
    assert _high({**base, "README.md": ""}, with_readme) == [("expected_value_changed", "high")]


def test_pytest9_native_table_and_testpaths_that_cover_every_test() -> None:
    legacy = '[tool.pytest.ini_options]\ntestpaths = ["tests"]\n'
    native = '[tool.pytest]\ntestpaths = ["tests"]\n'
    tests = {"tests/test_a.py": "def test_a():\n    assert a() == 1\n"}
    assert check_patch({**tests, "pyproject.toml": legacy}, {**tests, "pyproject.toml": native}) == []
    narrowed = '[tool.pytest]\ntestpaths = ["docs"]\n'
    assert _high({**tests, "pyproject.toml": legacy}, {**tests, "pyproject.toml": narrowed}) == [
        ("test_selection_narrowed", "high")
    ]
    inside = {"pkg/tests/test_a.py": "def test_a():\n    assert a() == 1\n"}
    added = '[tool.pytest.ini_options]\ntestpaths = ["pkg"]\n'
    assert check_patch({**inside, "pyproject.toml": ""}, {**inside, "pyproject.toml": added}) == []
    benches = {**inside, "bench/test_speed.py": "def test_speed():\n    run()\n"}
    found = check_patch({**benches, "pyproject.toml": ""}, {**benches, "pyproject.toml": added})
    assert [(f.kind, f.severity) for f in found] == [("test_selection_narrowed", "medium")]
    elsewhere = '[tool.pytest.ini_options]\ntestpaths = ["pkg/sub"]\n'
    assert _high({**inside, "pyproject.toml": ""}, {**inside, "pyproject.toml": elsewhere}) == [
        ("test_selection_narrowed", "high")
    ]


def test_check_moved_into_match_and_duplicate_case_dropped() -> None:
    old = (
        "import pytest\n\n\ndef test_e():\n    with pytest.raises(Exception) as exc:\n        go()\n"
        "    assert str(exc.value) == MSG\n\n\n"
        "@pytest.mark.parametrize('x', [1, 2, 1])\ndef test_p(x):\n    assert f(x) == x\n"
    )
    moved = old.replace("raises(Exception)", "raises(Exception, match=MSG)").replace(
        "    assert str(exc.value) == MSG\n", ""
    ).replace("[1, 2, 1]", "[1, 2]")
    assert check_patch({"tests/test_e.py": old}, {"tests/test_e.py": moved}) == []
    dropped = old.replace("    assert str(exc.value) == MSG\n", "").replace("[1, 2, 1]", "[1]")
    assert sorted(_high({"tests/test_e.py": old}, {"tests/test_e.py": dropped})) == [
        ("assertion_removed", "high"),
        ("test_removed", "high"),
    ]


def test_case_rebuilt_with_the_same_literals_and_check_of_a_deleted_message() -> None:
    old = (
        "import pytest\n\n\n@pytest.mark.parametrize('s, d', [('01:23', tz.localize(dt(2013, 1, 23)))])\n"
        "def test_d(s, d):\n    assert parse(s) == d\n"
    )
    rebuilt = old.replace("tz.localize(dt(2013, 1, 23))", "dt(2013, 1, 23, tzinfo=tz)")
    assert _high({"tests/test_d.py": old}, {"tests/test_d.py": rebuilt}) == []
    bumped = old.replace("tz.localize(dt(2013, 1, 23))", "tz.localize(dt(2013, 1, 24))")
    assert _high({"tests/test_d.py": old}, {"tests/test_d.py": bumped}) == [("expected_value_changed", "high")]
    src = "def run():\n    warn('Remove the old processor from your chain')\n    return 1\n"
    test = (
        "def test_w():\n    run()\n"
        "    assert w.message == 'Remove the old processor from your chain'\n    assert run() == 1\n"
    )
    fewer = test.replace("    assert w.message == 'Remove the old processor from your chain'\n", "")
    base = {"pkg/run.py": src, "tests/test_w.py": test}
    removed_too = {"pkg/run.py": "def run():\n    return 1\n", "tests/test_w.py": fewer}
    assert _high(base, removed_too) == []
    assert _high(base, {**base, "tests/test_w.py": fewer}) == [("assertion_removed", "high")]


def test_environment_skips_are_medium_and_a_bare_skip_stays_high() -> None:
    old = {"tests/test_s.py": "import pytest\n\n\ndef test_s():\n    assert s() == 1\n"}
    for mark in (
        "@pytest.mark.skipif(not hasattr(itertools, 'batched'), reason='NotFound')",
        "@pytest.mark.skipif(not Path('/proc/self/fd').is_dir(), reason='no fd view')",
        "@pytest.mark.skip(reason='windows-only')",
    ):
        new = {"tests/test_s.py": old["tests/test_s.py"].replace("def test_s", f"{mark}\ndef test_s")}
        assert [(f.kind, f.severity) for f in check_patch(old, new)] == [("test_skipped", "medium")], mark
    bare = {"tests/test_s.py": old["tests/test_s.py"].replace("def test_s", "@pytest.mark.skip(reason='flaky')\ndef test_s")}
    assert _high(old, bare) == [("test_skipped", "high")]


def test_patching_the_stdlib_through_the_project_is_not_replacing_the_unit() -> None:
    conftest = "import pytest\n\n\n@pytest.fixture(autouse=True)\ndef fx(mocker):\n    mocker.patch({!r}, side_effect=f)\n"
    tests = {
        "filelock/_api.py": "import os\n\n\ndef acquire():\n    return 1\n",
        "tests/test_lock.py": "from filelock import acquire\n\n\ndef test_a(h):\n    assert acquire() == 1\n    h.close()\n",
    }
    base = {**tests, "tests/conftest.py": "import pytest\n"}
    stdlib = {**tests, "tests/conftest.py": conftest.format("filelock._api.os.close")}
    assert _high(base, stdlib) == []
    unit = {**tests, "tests/conftest.py": conftest.format("filelock._api.acquire")}
    assert _high(base, unit) == [("test_outcome_patched", "high")]
    # a project module that shares a standard-library name is still the project's code
    own_types = {**tests, "filelock/types.py": "def close():\n    return 1\n"}
    patched = {**own_types, "tests/conftest.py": conftest.format("filelock.types.close")}
    assert _high({**own_types, "tests/conftest.py": "import pytest\n"}, patched) == [("test_outcome_patched", "high")]


def test_the_repository_python_files_setting_is_read_as_context(make_repo) -> None:
    config = '[tool.pytest.ini_options]\npython_files = ["tests_*.py"]\n'
    body = "def test_{0}():\n    assert {0}() == 1\n"
    repo = make_repo({"pyproject.toml": config, "tests/tests_a.py": body.format("a") + "\n\n" + body.format("b")})
    write(repo, {"tests/tests_a.py": body.format("a"), "tests/tests_b.py": body.format("b")})
    assert check_diff(repo, "HEAD") == []  # test_b moved to a file pytest collects under this config
    write(repo, {"tests/tests_a.py": body.format("a"), "tests/tests_b.py": "", "tests/b_check.py": body.format("b")})
    assert "test_uncollected" in kinds(check_diff(repo, "HEAD"))
