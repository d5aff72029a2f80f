"""Corrections and preferences a user states in chat, found so the REPL can propose them as notes.

Cheap and local: a sentence of the user's message is a candidate when it states a rule ("never ...",
"always ...", "don't ...", "we use ...", "use X instead of Y", "prefer ..."); questions and requests
about this one change are not. The user confirms, edits or declines each proposal; nothing is stored
without that.
"""

from __future__ import annotations

import re

MAX_PROPOSALS = 3
_SENTENCE = re.compile(r"(?<=[.!;])\s+|\n+")
_LEAD = re.compile(r"^(?:no|nope|wrong|actually|careful|note|remember|fyi|please|and|but|also)\b[,:!.\s-]*", re.I)
_RULE = re.compile(
    r"^(?:(?:we|i|you)\s+(?:always|never|usually|don'?t|do not|must|should|prefer|use|run|keep|avoid)\b"
    r"|(?:always|never|don'?t|do not|avoid|prefer|stop)\b"
    r"|use\b.+\b(?:instead of|not|rather than|for)\b"
    r"|(?:in this (?:repo|repository|project)|here),?\s+(?:we\s+)?(?:always|never|don'?t|use|run)\b"
    r"|(?:the )?tests? (?:run|are run) with\b"
    r"|run (?:the )?tests? with\b)",
    re.I,
)
_ONE_OFF = re.compile(r"\b(this time|for now|right now|just this|in this (?:change|commit|turn|file))\b", re.I)


def _clean(sentence: str) -> str:
    text = " ".join(sentence.split()).strip(" -*")
    while True:
        stripped = _LEAD.sub("", text, count=1).strip()
        if stripped == text:
            break
        text = stripped
    return text[:1].upper() + text[1:] if text else ""


def proposals(message: str) -> list[str]:
    """The sentences of a user's message that state a lasting rule or preference, cleaned, at most 3."""
    found: list[str] = []
    for raw in _SENTENCE.split(message):
        text = _clean(raw)
        if len(text) < 8 or text.endswith("?") or _ONE_OFF.search(text) or not _RULE.search(text):
            continue
        text = text.rstrip(" ;,:")
        if not text.endswith((".", "!")):
            text += "."
        if text not in found:
            found.append(text)
    return found[:MAX_PROPOSALS]
