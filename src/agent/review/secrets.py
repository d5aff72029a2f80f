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


# detect-secrets' KeywordDetector.DENYLIST (a test keeps the copy equal): importing the plugin costs about 0.4 s
DENYLIST = (
    "api_?key",
    "auth_?key",
    "service_?key",
    "account_?key",
    "db_?key",
    "database_?key",
    "priv_?key",
    "private_?key",
    "client_?key",
    "db_?pass",
    "database_?pass",
    "key_?pass",
    "password",
    "passwd",
    "pwd",
    "secret",
    "contraseña",
    "contrasena",
)
# Lines a default plugin could flag: a long token that is not a plain identifier, a denylisted keyword, a key
# block, credentials in a URL, an IP. Meant as a superset of what the plugins match (a test checks each kind),
# so detect-secrets (about 1 ms a line) sees only these lines, and is not imported for a change without them.
_OTHER = re.compile(r"PRIVATE KEY|://[^\s/]*@|\d{1,3}(?:\.\d{1,3}){3}|" + "|".join(DENYLIST), re.I)
_TOKEN = re.compile(r"[A-Za-z0-9+/=_\-]{11,}")
_IDENTIFIER = re.compile(
    r"[a-z][a-z0-9]{0,11}(?:_[a-z0-9]{1,12})*"  # snake_case, short words
    r"|[A-Za-z][a-z0-9]{0,11}(?:[A-Z][a-z0-9]{1,11})*"  # camelCase / PascalCase
    r"|[A-Z][A-Z0-9]{0,11}(?:_[A-Z0-9]{1,12})+"  # CONSTANT_CASE
)


def is_candidate(line: str) -> bool:
    """True when a detect-secrets plugin could find something on this line."""
    if _OTHER.search(line):
        return True
    return any(not _IDENTIFIER.fullmatch(m.group(0).strip("_-")) for m in _TOKEN.finditer(line))


def _is_hash(kind: str, value: str | None, line: str) -> bool:
    return (
        kind == "Hex High Entropy String"
        and value is not None
        and len(value) in (40, 64)
        and bool(_HASH_CONTEXT.search(line))
    )


def find_secrets(changes: list[FileChange]) -> list[Finding]:
    """One finding per added line that holds a secret; the secret itself is never repeated."""
    todo = [(c, [(n, t) for n, t in c.added if is_candidate(t)]) for c in changes if c.added and not c.binary]
    todo = [(c, lines) for c, lines in todo if lines]
    if not todo:
        return []
    from detect_secrets import SecretsCollection
    from detect_secrets.settings import default_settings

    findings: list[Finding] = []
    with tempfile.TemporaryDirectory(prefix="agent-review-") as tmp, default_settings():
        for n, (change, lines) in enumerate(todo):
            # the same file name (plugins look at the extension), holding only the candidate lines
            folder = os.path.join(tmp, str(n))
            os.mkdir(folder)
            path = os.path.join(folder, PurePosixPath(change.path).name)
            with open(path, "w", encoding="utf-8") as fh:
                fh.write("\n".join(text for _, text in lines) + "\n")
            collection = SecretsCollection(root=folder)
            collection.scan_file(path)
            kinds: dict[int, list[str]] = {}
            for name in collection.files:
                for secret in collection[name]:
                    number, text = lines[secret.line_number - 1]
                    if not _is_hash(secret.type, secret.secret_value, text):
                        kinds.setdefault(secret.line_number, []).append(secret.type)
            for index, types in sorted(kinds.items()):
                number, text = lines[index - 1]
                named = sorted(t for t in types if "High Entropy" not in t) or sorted(types)
                findings.append(
                    Finding("secret", change.path, number, "high", f"possible secret ({named[0]})", content=text)
                )
    return findings
