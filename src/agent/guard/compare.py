"""Compare the old and new tests of a diff and name each change that weakens them."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable

from agent.guard.grading import skip_severity
from agent.guard.model import LOOSE, Assertion, FileTests, Finding, TestFn

_LITERAL_TOKEN = re.compile(r"""-?\d+(?:\.\d+)?(?:e-?\d+)?|"[^"]*"|'[^']*'|`[^`]*`""")
Broader = Callable[[str, str], bool]


def literal_tokens(text: str) -> set[str]:
    """Numbers and string literals in a piece of code, quotes stripped."""
    return {t.strip("\"'`") for t in _LITERAL_TOKEN.findall(text)} - {""}


def _literal_list(texts: list[str]) -> list[str]:
    """Every number and string literal in some code, repeats kept, in a stable order."""
    return sorted(t.strip("\"'`") for text in texts for t in _LITERAL_TOKEN.findall(text))


def _phrases(text: str) -> set[str]:
    """String literals long enough to name one behaviour (a message, a format), quotes stripped."""
    return {t.strip("\"'`").strip() for t in re.findall(r""""[^"\n]{12,}"|'[^'\n]{12,}'""", text)}


class TestDiff:
    """Everything known about the tests before and after one diff."""

    def __init__(
        self,
        old: dict[str, FileTests],
        new: dict[str, FileTests],
        source_added: str = "",
        changed_defs: set[str] | None = None,
        removed_defs: set[str] | None = None,
        unchanged: dict[str, FileTests] | None = None,
        collected: Callable[[str], bool] | None = None,
        source_changed: bool = True,
        added_test_text: str = "",
        source_removed: str = "",
    ) -> None:
        self.added_literals = literal_tokens(added_test_text)
        self.old, self.new = old, new
        self.source_changed = source_changed
        self.collected = collected or (lambda path: True)
        self.after = {**(unchanged or {}), **new}  # every test that exists after the change
        self.source_literals = literal_tokens(source_added)
        self.removed_phrases = _phrases(source_removed) - _phrases(source_added)
        self.changed_defs, self.removed_defs = changed_defs or set(), removed_defs or set()
        self.findings: list[Finding] = []
        # cases each test gained: a case that one test lost and another gained has moved, not gone
        self.new_cases: Counter[str] = Counter()
        for path, ft in new.items():
            before = old.get(path, FileTests()).tests
            for name, t in ft.tests.items():
                self.new_cases += Counter(t.cases) - Counter(before[name].cases if name in before else [])
        self.added: list[TestFn] = [
            t
            for path, ft in new.items()
            if self.collected(path)
            for name, t in ft.tests.items()
            if not any(name in o.tests for o in old.values())
        ]

    def report(self, kind: str, path: str, line: int, message: str) -> None:
        """Record one finding."""
        self.findings.append(Finding(kind, path, line, message))

    def run(self, broader: dict[str, Broader]) -> list[Finding]:
        """Compare every file present before the diff with its new version."""
        for path, old_ft in self.old.items():
            new_ft = self.new.get(path, FileTests())
            if old_ft.parse_error or new_ft.parse_error:
                continue
            self._module(path, old_ft, new_ft)
            for name, old_t in old_ft.tests.items():
                new_t = new_ft.tests.get(name)
                if new_t is None:
                    self._removed(path, old_t, name)
                else:
                    _TestPair(self, path, old_t, new_t, broader.get(path, _default_broader)).compare()
        return self.findings

    def _module(self, path: str, old_ft: FileTests, new_ft: FileTests) -> None:
        old_marks = {text for _, text in old_ft.module_skips}
        for line, text in new_ft.module_skips:
            if text not in old_marks and new_ft.tests:
                self.report("test_skipped", path, line, f"module-level skip added: {text}")

    def _removed(self, path: str, old_t: TestFn, name: str) -> None:
        if any(name in ft.tests for p, ft in self.after.items() if self.collected(p)):
            return  # moved to another file
        if old_t.body_key and any(
            t.body_key == old_t.body_key for p, ft in self.after.items() if self.collected(p) for t in ft.tests.values()
        ):
            return  # an identical test still runs (renamed, or a duplicate removed)
        hidden = self._hidden(old_t, name)
        if hidden:
            self.report("test_uncollected", path, old_t.line, f"{name} still exists but is no longer collected: {hidden}")
            return
        if old_t.calls & self.removed_defs:
            return  # the code it tested was removed in the same change
        for cand in self.added:
            same_body = cand.body_key == old_t.body_key and old_t.body_key
            shared = old_t.calls & cand.calls - {"len", "str", "int", "list", "dict", "set", "range", "print"}
            if same_body or (shared and len(cand.assertions) + len(cand.cases) > 0 and not cand.skips):
                return  # renamed, or merged into a new test that checks the same code
        where = "test file deleted" if path not in self.new else "test removed"
        rewritten = sorted(old_t.calls & self.changed_defs)
        if rewritten:
            message = f"{where}: {name} (medium: the change also rewrites {rewritten[0]}, which it tested)"
            self.findings.append(Finding("test_removed", path, old_t.line, message, "medium"))
            return
        self.report("test_removed", path, old_t.line, f"{where}: {name}")

    def _hidden(self, old_t: TestFn, name: str) -> str:
        """Where a removed test's code still lives out of pytest's reach: a file it does not collect, or a
        function or class it does not collect (renamed without the test prefix); "" when nowhere."""
        for p, ft in self.after.items():
            if self.collected(p):
                continue
            if name in ft.tests or (old_t.body_key and any(t.body_key == old_t.body_key for t in ft.tests.values())):
                return f"moved to {p}, which pytest does not collect"
        if not old_t.body_key or old_t.body_key.count("\n") < 1 and len(old_t.body_key) < 80:
            return ""  # a one-line body (`pass`, a bare call) proves nothing
        for p, ft in {**self.new, **self.after}.items():
            helper = ft.helpers.get(old_t.body_key)
            if helper:
                return f"renamed to {helper} in {p}"
        return ""


def _mark_kind(mark: str) -> str:
    return re.sub(r"\(.*", "", mark, flags=re.DOTALL).strip()


def _default_broader(old: str, new: str) -> bool:
    return old != new and (new == "" or old in new and new != old)


def _wraps(new: str, old: str) -> bool:
    """True when the new check looks only at a property of the old value: len(x), x.length, type(x)..."""
    if not old or new == old:
        return False
    return new in (f"len({old})", f"type({old})", f"bool({old})", f"{old}.length", f"{old}.size", f"len({old}) > 0")


def _unmatched(items: list[Assertion], others: list[Assertion]) -> list[Assertion]:
    budget = Counter(a.text for a in others)
    out = []
    for a in items:
        if budget[a.text] > 0:
            budget[a.text] -= 1
        else:
            out.append(a)
    return out


class _TestPair:
    """One test present before and after the diff."""

    def __init__(self, diff: TestDiff, path: str, old: TestFn, new: TestFn, broader: Broader) -> None:
        self.diff, self.path, self.old, self.new, self.broader = diff, path, old, new, broader
        rewritten = sorted(old.calls & diff.changed_defs)
        self.rewritten = rewritten[0] if rewritten else ""
        # a check of a message or format the same change deletes from the source: the behaviour went on purpose
        gone = " ".join(a.text for a in _unmatched(old.assertions, new.assertions))
        deleted = sorted(p for p in diff.removed_phrases if p in gone) if diff.removed_phrases else []
        self.deleted = deleted[0] if deleted else ""

    def report(self, kind: str, line: int, message: str) -> None:
        """Record one finding about this test; a weakening is medium when the same change rewrites the code
        the test calls (the behaviour it checked may have changed on purpose)."""
        if self.rewritten and kind in ("assertion_removed", "assertion_weakened", "test_removed"):
            message = f"{message} (medium: the change also rewrites {self.rewritten}, which this test calls)"
            self.diff.findings.append(Finding(kind, self.path, line, f"{self.new.name}: {message}", "medium"))
            return
        if self.deleted and kind in ("assertion_removed", "test_removed"):
            deleted = repr(self.deleted[:40])
            message = f"{message} (medium: the change also deletes {deleted} from the source, which this checked)"
            self.diff.findings.append(Finding(kind, self.path, line, f"{self.new.name}: {message}", "medium"))
            return
        self.diff.report(kind, self.path, line, f"{self.new.name}: {message}")

    def _only_expectations(self) -> bool:
        """True when every statement of the test that changed is a check: its set-up and inputs are as before."""
        if not self._helpers_unchanged():
            return False  # a helper or set-up method the tests share changed too
        old_stmts, new_stmts = set(self.old.body_key.split("\n")), self.new.body_key.split("\n")
        touched = [s for s in new_stmts if s not in old_stmts]
        return bool(touched) and all(s.startswith("Assert(") or "attr='assert" in s[:200] for s in touched)

    def compare(self) -> None:
        """Report every way the new version checks less than the old one."""
        old, new = self.old, self.new
        unmatched_old = list((Counter(old.skips) - Counter(new.skips)).elements())
        old_kinds = Counter(_mark_kind(m) for m in unmatched_old)
        for mark in (Counter(new.skips) - Counter(old.skips)).elements():
            if old_kinds[_mark_kind(mark)] > 0:
                old_kinds[_mark_kind(mark)] -= 1  # the same mark, perhaps reworded: not a new skip
                continue
            self.diff.findings.append(
                Finding("test_skipped", self.path, new.line, f"{new.name}: skip/xfail added ({mark})", skip_severity(mark))
            )
        for mark in [m for m in new.focus if m not in old.focus]:
            self.report("test_focused", new.line, f"focus added ({mark}): other tests stop running")
        if new.early_return and not old.early_return:
            self.report("test_skipped", new.line, "early return added: the rest of the test never runs")
        if new.swallows > old.swallows:
            self.report("exception_swallowed", new.line, "try/except added that catches failures without failing")
        self._cases()
        self._assertions()

    def _cases(self) -> None:
        old_cases, new_cases = Counter(self.old.cases), Counter(self.new.cases)
        fresh = list((new_cases - old_cases).elements())
        own = literal_tokens(" ".join(fresh))  # what this test's own edited cases hold is not "written elsewhere"
        gone = [  # a duplicate case dropped while a copy remains checks nothing less
            c
            for c in (old_cases - new_cases).elements()
            if new_cases[c] == 0 and self.diff.new_cases[c] <= 0 and not self._moved(c, own)
        ]
        if len(gone) > len(fresh):
            self.report("test_removed", self.new.line, f"{len(gone) - len(fresh)} test case(s) removed: {gone[0]}")
        elif gone and not self._explained(" ".join(fresh), " ".join(self.new.calls)):
            message = f"{self.new.name}: test case changed: {gone[0]} -> {fresh[0]}"
            if len(gone) == len(fresh) and _literal_list(gone) == _literal_list(fresh):
                message += " (medium: every literal value is as before; only how the values are built changed)"
                found = Finding("expected_value_changed", self.path, self.new.line, message, "medium")
                self.diff.findings.append(found)
            elif not self.diff.source_changed and self.old.body_key == self.new.body_key and self._helpers_unchanged():
                message += " (high: only the case's expected value changed, and no source change explains it)"
                self.diff.findings.append(Finding("expected_value_changed", self.path, self.new.line, message, "high"))
            else:
                self.diff.report("expected_value_changed", self.path, self.new.line, message)

    def _moved(self, case: str, own: set[str]) -> bool:
        """A case whose literals the change writes again in another test (a case turned into a test of its own)."""
        wanted = {t for t in literal_tokens(case) if len(t) >= 4}
        return bool(wanted) and wanted <= self.diff.added_literals - own

    def _helpers_unchanged(self) -> bool:
        old_file, new_file = self.diff.old.get(self.path), self.diff.new.get(self.path)
        return old_file is not None and new_file is not None and set(old_file.helpers) == set(new_file.helpers)

    def _explained(self, new_text: str, subject: str) -> bool:
        """True when the change also rewrote the code under test, or added the new literals to the source."""
        called = set(re.findall(r"(\w+)\s*\(", subject)) | set(subject.split())
        if called & self.diff.changed_defs:
            return True
        wanted = literal_tokens(new_text)
        return bool(wanted) and wanted <= self.diff.source_literals

    def _assertions(self) -> None:
        gone = _unmatched(self.old.assertions, self.new.assertions)
        fresh = _unmatched(self.new.assertions, self.old.assertions)
        for o in gone:
            n = self._partner(o, fresh)
            if n is None:
                self._gone(o)
            else:
                fresh.remove(n)
                self._changed(o, n)

    def _partner(self, old: Assertion, fresh: list[Assertion]) -> Assertion | None:
        for n in fresh:
            if (n.raises is None) == (old.raises is None) and n.subject == old.subject:
                return n
        return next((n for n in fresh if (n.raises is None) == (old.raises is None)), None)

    def _gone(self, old: Assertion) -> None:
        line = self.new.line
        if old.raises is not None:
            if self.new.swallows > 0:
                self.report("exception_swallowed", line, f"expected exception now caught: {old.text}")
            else:
                self.report("assertion_removed", line, f"exception check removed: {old.text}")
            return
        if any(n.match and n.match in old.text for n in self.new.assertions if n.raises is not None):
            return  # the check moved into the exception check's match=
        self.report("assertion_removed", line, f"assertion removed: {old.text}")

    def _changed(self, old: Assertion, new: Assertion) -> None:
        if old.raises is not None and new.raises is not None:
            if self.broader(old.raises, new.raises):
                self.report(
                    "exception_broadened",
                    new.line,
                    f"expected exception broadened: {old.raises} -> {new.raises or 'any'}",
                )
            elif old.match and not new.match:
                self.report("exception_broadened", new.line, f"message match dropped from {old.text}")
            return
        if new.strength < old.strength or _wraps(new.subject, old.subject):
            self.report("assertion_weakened", new.line, f"`{old.text}` weakened to `{new.text}`")
        elif new.strength == LOOSE == old.strength and (new.tolerance or 0) > (old.tolerance or 0) > 0:
            self.report("assertion_weakened", new.line, f"tolerance loosened: `{old.text}` -> `{new.text}`")
        elif (
            new.subject == old.subject
            and old.expected is not None
            and new.expected is not None
            and new.expected != old.expected
            and not self._explained(new.expected, new.subject)
        ):
            message = f"{self.new.name}: expected value changed: {old.expected} -> {new.expected}"
            if not self.diff.source_changed and self._only_expectations():
                message += " (high: only the expected value changed, and no source change explains it)"
                self.diff.findings.append(Finding("expected_value_changed", self.path, new.line, message, "high"))
            else:
                self.diff.report("expected_value_changed", self.path, new.line, message)
