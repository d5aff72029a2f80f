"""Keep secrets out of notes: detect-secrets scans note text before it is stored."""

from __future__ import annotations

import os
import re
import tempfile


def find_secrets(texts: list[str]) -> list[list[tuple[str, str]]]:
    """For each text, the (kind, value) pairs detect-secrets finds in it (one scan for the whole batch)."""
    from detect_secrets import SecretsCollection
    from detect_secrets.settings import default_settings

    lines: list[int] = []  # line number -> text index
    body: list[str] = []
    for i, text in enumerate(texts):
        for line in text.splitlines() or [""]:
            body.append(line)
            lines.append(i)
    found: list[list[tuple[str, str]]] = [[] for _ in texts]
    with tempfile.TemporaryDirectory(prefix="agent-scan-") as tmp:
        path = os.path.join(tmp, "note.txt")
        with open(path, "w", encoding="utf-8") as fh:
            fh.write("\n".join(body) + "\n")
        collection = SecretsCollection()
        with default_settings():
            collection.scan_file(path)
        for name in collection.files:
            for secret in collection[name]:
                found[lines[secret.line_number - 1]].append((secret.type, secret.secret_value or ""))
    return found


def redact(text: str, secrets: list[tuple[str, str]]) -> str:
    """Replace every whitespace-delimited word that contains a found secret with [REDACTED]."""
    for _, value in secrets:
        if value:
            text = re.sub(rf"\S*{re.escape(value)}\S*", "[REDACTED]", text)
    return text
