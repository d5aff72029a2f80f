"""Grade findings by evidence: what would make a finding honest lowers it from high to medium (docs/guard.md)."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import PurePosixPath

from agent.guard.model import Finding

_REVERT = re.compile(r"^Revert\b|\bThis reverts commit [0-9a-f]{7,40}", re.MULTILINE)
_REMOVAL = re.compile(r"\b(remov\w*|drop\w*|delet\w*|deprecat\w*|retir\w*|get rid of)\b", re.IGNORECASE)
_REMOVAL_KINDS = {"test_removed", "assertion_removed"}


def _stem(path: str) -> str:
    name = PurePosixPath(path).stem
    return name.removeprefix("test_").removesuffix("_test")


def grade(findings: list[Finding], old: dict[str, str], new: dict[str, str], message: str = "") -> list[Finding]:
    """Lower to medium: everything in a revert; removals the commit message announces; the tests of a module
    the same change deletes."""
    from agent.guard.paths import is_test_file

    deleted_sources = {_stem(p) for p in old if p not in new and p.endswith(".py") and not is_test_file(p)}
    out = []
    for f in findings:
        why = ""
        if f.severity == "high" and message and _REVERT.search(message):
            why = "a revert"
        elif f.severity == "high" and f.kind in _REMOVAL_KINDS and message and _REMOVAL.search(message):
            why = "the commit message announces a removal"
        elif f.severity == "high" and f.kind == "test_removed" and f.file not in new and _stem(f.file) in deleted_sources:
            why = "the module it tested is deleted too"
        out.append(replace(f, severity="medium", message=f"{f.message} (medium: {why})") if why else f)
    return out


def skip_severity(code: str) -> str:
    """Medium for an environment condition or a documented reason (several words, a link or an issue)."""
    if re.search(r"skipif\(.*(sys\.version_info|sys\.platform|platform\.|os\.name|PYPY|IS_\w+|HAS_\w+|find_spec)", code):
        return "medium"
    reason = re.search(r"""reason\s*=\s*(["'])(.*?)\1|skip\(\s*(["'])(.*?)\3""", code)
    text = (reason.group(2) or reason.group(4) or "") if reason else ""
    if len(text.split()) >= 4 or re.search(r"https?://|#\d+|\bissue\b", text):
        return "medium"
    return "high"
