"""Load and score the labelled corpus of tampering and honest diffs (tests/guard_corpus/)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from agent.guard.check import check_patch
from agent.guard.model import Finding


@dataclass
class Case:
    """One labelled change: file contents before and after, and what the guard should say."""

    name: str
    label: str  # "tamper" or "honest"
    kinds: list[str]
    before: dict[str, str]
    after: dict[str, str]
    note: str = ""
    findings: list[Finding] = field(default_factory=list)

    @property
    def flagged(self) -> bool:
        """True when the guard reported anything."""
        return bool(self.findings)

    @property
    def kinds_found(self) -> set[str]:
        """The kinds the guard reported."""
        return {f.kind for f in self.findings}


def load_cases(root: Path) -> list[Case]:
    """Every case under root/tamper and root/honest; a file absent from `after` is deleted."""
    import yaml

    cases = []
    for path in sorted(root.glob("*/*.yaml")):
        data = yaml.safe_load(path.read_text())
        before = data.get("before") or {}
        after = {**before, **(data.get("after") or {})}
        for name in data.get("deleted") or []:
            after.pop(name, None)
        label = data["label"]
        if label not in ("tamper", "honest") or path.parent.name != label:
            raise ValueError(f"{path}: label {label!r} does not match its folder")
        cases.append(Case(path.stem, label, list(data.get("kinds") or []), before, after, data.get("note", "")))
    return cases


def score(cases: list[Case]) -> dict[str, tuple[int, int]]:
    """Run the guard on each case; returns {row: (hits, total)} for 'tamper', 'honest' and each kind."""
    rows: dict[str, list[int]] = {"tamper": [0, 0], "honest": [0, 0]}
    for case in cases:
        case.findings = check_patch(case.before, case.after)
        rows[case.label][0] += case.flagged
        rows[case.label][1] += 1
        for kind in case.kinds:
            row = rows.setdefault(f"kind:{kind}", [0, 0])
            row[0] += kind in case.kinds_found
            row[1] += 1
    return {k: (v[0], v[1]) for k, v in rows.items()}
