"""A proposed commit message for the staged change: from the model when one is configured, else a summary."""

from __future__ import annotations

import threading
from pathlib import Path, PurePosixPath

from agent.atomic import atomic_write_text
from agent.config import AgentConfig
from agent.errors import AgentError
from agent.review.changes import git, unified_diff

SUBJECT_CHARS = 72
_VERBS = {"A": "add", "M": "update", "D": "remove", "T": "update"}


def staged_stats(root: Path) -> list[tuple[str, str, str, str]]:
    """(status, path, lines added, lines removed) of every staged file."""
    from agent.review.changes import base_rev

    base = base_rev(root)
    status = (
        git(root, "diff", "--cached", "--name-status", "--no-renames", "-z", base)
        .decode("utf-8", "replace")
        .split("\0")
    )
    numstat = (
        git(root, "diff", "--cached", "--numstat", "--no-renames", "-z", base).decode("utf-8", "replace").split("\0")
    )
    counts = {}
    for row in numstat:
        parts = row.split("\t")
        if len(parts) == 3:
            counts[parts[2]] = (parts[0], parts[1])
    return [(s[0], p, *counts.get(p, ("-", "-"))) for s, p in zip(status[0::2], status[1::2], strict=False) if p]


def summary_message(stats: list[tuple[str, str, str, str]]) -> str:
    """A deterministic message: a subject naming what changed, and a body with one line per file."""
    groups: dict[str, list[str]] = {}
    for status, path, _, _ in stats:
        groups.setdefault(_VERBS.get(status, "update"), []).append(PurePosixPath(path).name)
    parts = [f"{verb} {', '.join(names)}" for verb, names in groups.items()]
    subject = "; ".join(parts)
    subject = subject[0].upper() + subject[1:] if subject else "Empty commit"
    if len(subject) > SUBJECT_CHARS:
        counted = ", ".join(f"{verb} {len(names)}" for verb, names in groups.items())
        subject = f"Change {len(stats)} files ({counted})"
    body = [
        f"- {path} (+{added} -{removed})" if added != "-" else f"- {path} (binary)" for _, path, added, removed in stats
    ]
    return subject + ("\n\n" + "\n".join(body) if len(stats) > 1 else "")


def model_message(root: Path, config: AgentConfig, spec: str) -> str:
    """Ask the model for a message (prompts/commit_message.j2), within the review's time and token caps."""
    from agent.backends import create_backend
    from agent.prompts import render
    from agent.redact import redact
    from agent.review.llm import CHARS_PER_TOKEN

    diff = unified_diff(root, staged=True)[: config.review.max_tokens * CHARS_PER_TOKEN]
    prompt = render("commit_message", diff=redact(diff), subject_chars=SUBJECT_CHARS)  # the model sees no secret
    backend = create_backend(config.backend.model_copy(update={"model": spec, "max_reply_tokens": 300}))
    box: dict[str, str] = {}

    def work() -> None:
        try:
            box["text"] = backend.complete([{"role": "user", "content": prompt}], []).content
        except Exception as exc:  # any backend failure: fall back to the summary
            box["error"] = str(exc)

    thread = threading.Thread(target=work, daemon=True)
    thread.start()
    thread.join(config.review.max_seconds)
    text = box.get("text", "").strip().strip("`").strip()
    if not text:
        raise AgentError(box.get("error") or "the model gave no message in time")
    return redact(text)  # the commit message holds no secret the model wrote


def propose(root: Path, config: AgentConfig, message_file: Path, source: str = "") -> bool:
    """Fill an empty commit message file with a proposal; True when it wrote one. Messages given by the user stay."""
    if source:  # -m, -F, a template, a merge, a squash or an amend: the user already has a message
        return False
    current = message_file.read_text(encoding="utf-8", errors="replace")
    if any(line.strip() and not line.startswith("#") for line in current.splitlines()):
        return False
    stats = staged_stats(root)
    if not stats:
        return False
    text = ""
    if config.review.model:
        try:
            text = model_message(root, config, config.review.model)
        except AgentError:
            text = ""
    text = text or summary_message(stats)
    atomic_write_text(message_file, text + "\n" + current)
    return True
