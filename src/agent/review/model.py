"""Findings and the review report: the data `agent review` prints and `--json` serialises."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

REPORT_FORMAT = 1
SEVERITIES = ("info", "low", "medium", "high", "critical")


def severity_rank(severity: str) -> int:
    """The position of a severity in SEVERITIES (unknown names count as `medium`)."""
    return SEVERITIES.index(severity) if severity in SEVERITIES else SEVERITIES.index("medium")


def finding_id(kind: str, file: str, content: str) -> str:
    """A stable id: the hash of the kind, the file and the text of the line (not its number)."""
    key = "\0".join((kind, file, " ".join(content.split())))
    return "rv-" + hashlib.sha256(key.encode("utf-8")).hexdigest()[:10]


@dataclass
class Finding:
    """One problem in the change, at file:line (line 0: the whole file)."""

    kind: str
    file: str
    line: int
    severity: str
    message: str
    source: str = "check"  # check | guard | model
    content: str = ""  # the text of the line; only its hash leaves this object (through `id`)
    id: str = ""

    def __post_init__(self) -> None:
        if self.severity not in SEVERITIES:
            self.severity = "medium"
        if not self.id:
            self.id = finding_id(self.kind, self.file, self.content)

    def to_dict(self) -> dict[str, Any]:
        """The stable JSON shape (see docs/review-json.md)."""
        return {
            "id": self.id,
            "kind": self.kind,
            "severity": self.severity,
            "file": self.file,
            "line": self.line,
            "message": self.message,
            "source": self.source,
        }


@dataclass
class ModelUsage:
    """What the model review spent, and whether it ran."""

    model: str | None = None
    status: str = "off"  # off | done | error | skipped
    tokens_in: int = 0
    tokens_out: int = 0
    cost_usd: float = 0.0
    duration_s: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """JSON shape of the `model` object."""
        return {
            "model": self.model,
            "status": self.status,
            "tokens_in": self.tokens_in,
            "tokens_out": self.tokens_out,
            "cost_usd": round(self.cost_usd, 6),
            "duration_s": round(self.duration_s, 3),
        }


@dataclass
class Report:
    """The outcome of one review."""

    mode: str  # staged | worktree
    files: list[str] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    dismissed: list[str] = field(default_factory=list)  # ids found again but dismissed earlier
    errors: list[str] = field(default_factory=list)  # infrastructure failures, one line each
    model: ModelUsage = field(default_factory=ModelUsage)
    duration_s: float = 0.0
    blocked: bool = False
    threshold: str | None = None  # the severity that blocks, in strict mode

    def sort(self) -> None:
        """Most severe first, then by file and line."""
        self.findings.sort(key=lambda f: (-severity_rank(f.severity), f.file, f.line, f.kind))

    def to_dict(self) -> dict[str, Any]:
        """The stable JSON document printed by `agent review --json`."""
        counts = {s: sum(1 for f in self.findings if f.severity == s) for s in SEVERITIES}
        return {
            "format": REPORT_FORMAT,
            "mode": self.mode,
            "files": self.files,
            "findings": [f.to_dict() for f in self.findings],
            "counts": counts,
            "dismissed": self.dismissed,
            "errors": self.errors,
            "model": self.model.to_dict(),
            "strict": self.threshold is not None,
            "threshold": self.threshold,
            "blocked": self.blocked,
            "duration_s": round(self.duration_s, 3),
        }
