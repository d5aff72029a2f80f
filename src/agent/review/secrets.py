"""Secrets in added lines, found by detect-secrets (its default plugins and filters)."""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import PurePosixPath

from agent.review.changes import FileChange
from agent.review.model import Finding

# a 40/64-hex value next to one of these words is a commit id or a checksum (pre-commit's `rev:`, lock files)
_HASH_CONTEXT = re.compile(r"\b(rev|sha\w*|commit|hash|digest|checksum|integrity|ref)\b", re.I)


def _is_hash(kind: str, value: str | None, line: str) -> bool:
    return (kind == "Hex High Entropy String" and value is not None and len(value) in (40, 64)
            and bool(_HASH_CONTEXT.search(line)))


def find_secrets(changes: list[FileChange]) -> list[Finding]:
    """One finding per added line that holds a secret; the secret itself is never repeated."""
    from detect_secrets import SecretsCollection
    from detect_secrets.settings import default_settings

    todo = [c for c in changes if c.added and not c.binary]
    if not todo:
        return []
    findings: list[Finding] = []
    with tempfile.TemporaryDirectory(prefix="agent-review-") as tmp, default_settings():
        for n, change in enumerate(todo):
            # same file name (plugins look at the extension), added lines in place, the rest blank
            folder = os.path.join(tmp, str(n))
            os.mkdir(folder)
            path = os.path.join(folder, PurePosixPath(change.path).name)
            lines = [""] * (change.added[-1][0])
            for line, text in change.added:
                lines[line - 1] = text
            with open(path, "w", encoding="utf-8") as fh:
                fh.write("\n".join(lines) + "\n")
            collection = SecretsCollection(root=folder)
            collection.scan_file(path)
            texts = dict(change.added)
            seen: set[int] = set()
            for name in collection.files:
                for secret in sorted(collection[name], key=lambda s: s.line_number):
                    line = texts.get(secret.line_number, "")
                    if secret.line_number in seen or _is_hash(secret.type, secret.secret_value, line):
                        continue
                    seen.add(secret.line_number)
                    findings.append(Finding("secret", change.path, secret.line_number, "high",
                                            f"possible secret ({secret.type})", content=line))
    return findings
