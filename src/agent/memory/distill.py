"""At the end of a run: ask the model for a few durable lessons and store them, deduplicated and secret-free."""

from __future__ import annotations

import json
import re
from typing import Any

from agent.errors import StoreError
from agent.protocols import Backend, Message

MAX_LESSONS = 5
MAX_TRANSCRIPT_CHARS = 16000
MAX_LESSON_CHARS = 600


def transcript(messages: list[Message], limit: int = MAX_TRANSCRIPT_CHARS) -> str:
    """A plain-text transcript of a run; the middle is cut when it is longer than `limit`."""
    parts = []
    for m in messages:
        text = str(m.get("content") or "")
        for call in m.get("tool_calls") or []:
            fn = call.get("function", call)
            args = fn.get("arguments", {})
            text += f"\n[calls {fn.get('name')}({args if isinstance(args, str) else json.dumps(args)})]"
        parts.append(f"{m.get('role', '?')}: {text.strip()}")
    joined = "\n\n".join(parts)
    if len(joined) <= limit:
        return joined
    half = limit // 2
    return f"{joined[:half]}\n\n[... {len(joined) - limit} characters left out ...]\n\n{joined[-half:]}"


def parse_lessons(content: str) -> list[str]:
    """The lessons in a reply: a JSON array of strings, else bullet or numbered lines."""
    match = re.search(r"\[.*\]", content, re.S)
    if match:
        try:
            data = json.loads(match.group(0))
            if isinstance(data, list):
                return [str(x).strip() for x in data if str(x).strip()]
        except ValueError:
            pass
    bullets = re.findall(r"^\s*(?:[-*•]|\d+[.)])\s+(.+)$", content, re.M)
    return [b.strip() for b in bullets if b.strip()]


def _clean(lessons: list[str]) -> list[str]:
    """Redact secrets; drop a lesson that still holds one after redaction."""
    from agent.memory.secretscan import find_secrets, redact
    from agent.redact import redact as redact_known

    lessons = [redact_known(" ".join(x.split())[:MAX_LESSON_CHARS]) for x in lessons][:MAX_LESSONS]
    redacted = [redact(x, found) for x, found in zip(lessons, find_secrets(lessons), strict=True)] if lessons else []
    still = find_secrets(redacted) if redacted else []
    return [x for x, found in zip(redacted, still, strict=True) if not found and x.strip()]


FAILED_PREFIX = "From a failed run: "


def distill(store: Any, backend: Backend, messages: list[Message], verified: bool = True) -> list[str]:
    """Ask the model for durable lessons from a finished run and store them; return the note ids.

    `verified` False (the run failed, or its tests did not pass): the model is told so, and each lesson
    is labelled as coming from a failed run (text prefix and the tag `failed-run`).
    """
    from agent.prompts import render

    prompt = render("distill", transcript=transcript(messages), max_lessons=MAX_LESSONS, verified=verified)
    reply = backend.complete([{"role": "user", "content": prompt}], [])
    tags = ["lesson"] if verified else ["lesson", "failed-run"]
    lessons = [x if verified or x.startswith(FAILED_PREFIX) else FAILED_PREFIX + x
               for x in _clean(parse_lessons(reply.content))]
    try:  # one batch: one embedding call (near-duplicates within it are merged by consolidate.after_run)
        found = store.remember_many([{"text": x, "tags": tags} for x in lessons], source="agent") if lessons else []
    except StoreError:  # e.g. one refused as a secret: store the others one by one, never fatal at the end of a run
        found = []
        for lesson in lessons:
            try:
                found.append(store.remember(lesson, [], tags, source="agent"))
            except StoreError:
                continue
    return list(dict.fromkeys(found))
