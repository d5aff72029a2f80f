"""Which files are tests, test configuration or source: every heuristic lives here."""

from __future__ import annotations

import re
from pathlib import PurePosixPath

TEST_DIRS = {"tests", "test", "testing", "__tests__", "testdata", "spec", "specs"}
_TEST_NAME = re.compile(
    r"""(
        ^test_.*\.py$ | ^.*_test\.py$ | ^conftest\.py$           # Python
      | ^.*\.(test|spec)\.(js|jsx|ts|tsx|mjs|cjs|mts|cts)$        # JavaScript / TypeScript
      | ^.*_test\.go$                                              # Go
      | ^.*(Test|Tests|IT)\.(java|kt)$                             # JVM
      | ^test_.*\.rs$ | ^.*_test\.rs$                              # Rust (outside tests/)
    )""",
    re.VERBOSE,
)
# Files whose content decides which tests run (the whole file, or a section of it).
TEST_CONFIG_NAMES = {
    "conftest.py",
    "pytest.ini",
    ".pytest.ini",
    "pytest.toml",
    ".pytest.toml",
    "tox.ini",
    "setup.cfg",
    "pyproject.toml",
    "package.json",
    "noxfile.py",
}
_TEST_CONFIG_PATTERN = re.compile(r"^(jest|vitest|karma|ava|playwright)\.config\.\w+$|^\.mocharc(\.\w+)?$")
# Of those, the ones at a repository's root that say how pytest names and finds tests (read as context).
ROOT_TEST_CONFIG = {"pytest.ini", ".pytest.ini", "pytest.toml", ".pytest.toml", "tox.ini", "setup.cfg", "pyproject.toml"}
# Of those, the ones that are purely test configuration and may be restored whole.
WHOLE_CONFIG_NAMES = {
    "conftest.py", "pytest.ini", ".pytest.ini", "pytest.toml", ".pytest.toml", "tox.ini", "noxfile.py"
}

LANGUAGES = {
    ".py": "python",
    ".js": "javascript",
    ".jsx": "javascript",
    ".mjs": "javascript",
    ".cjs": "javascript",
    ".ts": "typescript",
    ".mts": "typescript",
    ".cts": "typescript",
    ".tsx": "tsx",
    ".go": "go",
    ".rs": "rust",
}


def language_of(path: str) -> str | None:
    """The language of a file from its extension, or None when the guard does not parse it."""
    return LANGUAGES.get(PurePosixPath(path).suffix)


def is_test_file(path: str) -> bool:
    """True for test code and test data: test_*.py, *_test.go, *.spec.ts, anything under tests/ ..."""
    p = PurePosixPath(path)
    if _TEST_NAME.match(p.name):
        return True
    if any(part in TEST_DIRS for part in p.parts[:-1]):
        return True
    # Maven / Gradle layout: src/test/...
    return "src" in p.parts and "test" in p.parts


def is_test_config(path: str) -> bool:
    """True for files that configure test collection: conftest.py, pytest.ini, package.json, jest.config.js ..."""
    name = PurePosixPath(path).name
    if path == ".agent/config.toml" or path.endswith("/.agent/config.toml"):
        return True  # holds the agent's own test_command
    return name in TEST_CONFIG_NAMES or bool(_TEST_CONFIG_PATTERN.match(name))


def is_whole_test_config(path: str) -> bool:
    """True when the file only configures tests, so restoring all of it loses no source change."""
    name = PurePosixPath(path).name
    return name in WHOLE_CONFIG_NAMES or bool(_TEST_CONFIG_PATTERN.match(name))


# Data a package ships and its code reads (translations, tables, templates): a change to one can explain
# a changed expected value as well as a code change does.
DATA_SUFFIXES = {
    ".po", ".pot", ".json", ".yaml", ".yml", ".csv", ".tsv", ".xml", ".html", ".jinja", ".j2", ".txt", ".dat"
}
_NOT_DATA_DIRS = {"docs", "doc", "changelog.d", "changes", "newsfragments"}  # and every hidden folder


def is_data_file(path: str) -> bool:
    """True for a non-test data file the project's code may read (a .po translation, a .json table...)."""
    p = PurePosixPath(path)
    if p.suffix.lower() not in DATA_SUFFIXES or is_test_file(path) or is_test_config(path):
        return False
    if any(part in _NOT_DATA_DIRS or part.startswith(".") for part in p.parts[:-1]):
        return False
    return not re.match(r"(readme|changelog|changes|history|news|authors|license|requirements)", p.name, re.I)


def is_source_file(path: str) -> bool:
    """True for code that is neither a test nor test configuration."""
    return language_of(path) is not None and not is_test_file(path) and not is_test_config(path)
