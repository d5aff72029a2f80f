"""The guard's data model: findings, and the language-neutral view of a test file."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

# Stable finding kinds and their severities ("high": tampering beyond doubt once seen,
# "medium": usually tampering, sometimes a legitimate change the task asked for).
KINDS: dict[str, str] = {
    "test_removed": "high",
    "test_uncollected": "high",
    "test_exit": "high",
    "assertion_removed": "high",
    "assertion_weakened": "high",
    "exception_broadened": "high",
    "exception_swallowed": "high",
    "test_skipped": "high",
    "test_focused": "high",
    "expected_value_changed": "medium",
    "test_selection_narrowed": "high",
    "collection_hook_added": "high",
    "test_outcome_patched": "high",
    "hardcoded_test_value": "high",
    "reads_test_files": "high",
    "detects_test_run": "high",
    "runner_shadowed": "high",
    # from the test ledger (pytest's own report, base vs change)
    "exit_status_mismatch": "high",
    "test_not_collected": "high",
    "test_deselected": "high",
    "test_not_run": "high",
    "test_now_fails": "medium",
}
# Kinds only the test ledger reports (it runs pytest; the static rules never do).
LEDGER_KINDS = {"exit_status_mismatch", "test_not_collected", "test_deselected", "test_not_run", "test_now_fails"}


@dataclass(frozen=True)
class Finding:
    """One suspected act of test tampering."""

    kind: str
    file: str
    line: int
    message: str
    severity: str = ""

    def __post_init__(self) -> None:
        if not self.severity:
            object.__setattr__(self, "severity", KINDS.get(self.kind, "medium"))

    def to_dict(self) -> dict[str, Any]:
        """The stable JSON shape: kind, file, line, message, severity."""
        return asdict(self)


# Strength of an assertion, compared between the old and new version of one test.
TRIVIAL, TRUTHY, LOOSE, EXACT = 0, 1, 2, 3


@dataclass
class Assertion:
    """One check inside a test, normalised so that languages compare alike."""

    line: int
    text: str  # normalised full text: equal texts are the same check
    strength: int = EXACT
    subject: str = ""  # the value under test
    expected: str | None = None  # the expected value, when it is a literal
    raises: str | None = None  # for exception checks: the exception expected ("" = any)
    match: str | None = None  # for exception checks: the message pattern, if any
    tolerance: float | None = None  # for approximate checks


@dataclass
class TestFn:
    """One test function (or `it`/`test` block) and what it checks."""

    name: str
    line: int
    body_key: str = ""  # normalised body, to recognise a renamed or moved test
    calls: set[str] = field(default_factory=set)
    assertions: list[Assertion] = field(default_factory=list)
    skips: list[str] = field(default_factory=list)  # skip / xfail / ignore markers, as text
    focus: list[str] = field(default_factory=list)  # `.only` / `fit` markers
    swallows: int = 0  # try/except (or suppress) blocks that catch failures without failing
    early_return: bool = False  # a `return` before the end of the test body
    cases: list[str] = field(default_factory=list)  # parametrize / table cases, as text


@dataclass
class FileTests:
    """The tests found in one version of one file."""

    tests: dict[str, TestFn] = field(default_factory=dict)
    module_skips: list[tuple[int, str]] = field(default_factory=list)
    parse_error: bool = False
    helpers: dict[str, str] = field(default_factory=dict)  # body_key -> name of each function pytest won't collect
