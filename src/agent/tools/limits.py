"""Output caps shared by the tools: every observation fits `tools.output_chars`, with a note of what was left out."""

from __future__ import annotations

NOTE_SLACK = 600  # room for the note that says how to get the rest


def fit(rows: list[str], budget: int) -> list[str]:
    """The leading rows whose lines together fit `budget` characters (at least one row, if any)."""
    out: list[str] = []
    used = 0
    for row in rows:
        if out and used + len(row) + 1 > budget:
            break
        out.append(row)
        used += len(row) + 1
    return out


def cut_line(text: str, limit: int) -> str:
    """One line cut to `limit` characters, saying how many were left out."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]} [... {len(text) - limit:,} more characters on this line]"


def cap_text(text: str, limit: int) -> str:
    """Any observation kept under `limit` (+ the note): its head and tail, with a note of the characters cut."""
    if len(text) <= limit + NOTE_SLACK:
        return text
    half = limit // 2
    return (f"{text[:half]}\n[... {len(text) - 2 * half:,} characters of this output cut to fit the context; "
            f"ask for a narrower result to see them ...]\n{text[-half:]}")
