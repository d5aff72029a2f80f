"""Human rendering of loop events with rich (front ends only)."""

from __future__ import annotations

import json
import sys
from typing import Any

from rich.console import Console
from rich.markup import escape


def retry_line(e: dict[str, Any]) -> str:
    """A retry event as the user reads it: "rate limited, retrying in 8 s (2/6)"."""
    return f"{e['reason']}, retrying in {e['delay_s']:g} s ({e['attempt']}/{e['of']})"


def short(value: Any, limit: int = 100) -> str:
    """A one-line preview of a value."""
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def image_note(e: dict[str, Any]) -> str:
    """" (+2 images)" for a tool_result that carried images (dim markup), else ""."""
    images = e.get("images") or []
    if not images:
        return ""
    shown = "sent" if all(i["shown"] for i in images) else "not shown"
    return f" [dim](+{len(images)} image{'s' if len(images) > 1 else ''}, {shown})[/]"


class EventPrinter:
    """Prints each event as one or a few compact lines."""

    def __init__(self, console: Console | None = None):
        self.console = console or Console(highlight=False)

    def __call__(self, event: dict[str, Any]) -> None:
        """Render one event."""
        handler = getattr(self, f"on_{event['type']}", None)
        if handler:
            handler(event)

    def on_run_started(self, e: dict[str, Any]) -> None:
        self.console.print(f"[bold]run {e['run_id']}[/] · {escape(e['model'])} · {escape(e['repo'])}")

    def on_model_reply(self, e: dict[str, Any]) -> None:
        if e["content"].strip():
            self.console.print(f"[dim]{escape(short(e['content'], 300))}[/]")

    def on_tool_call(self, e: dict[str, Any]) -> None:
        self.console.print(f"[cyan]→ {escape(e['name'])}[/] {escape(short(e['arguments']))}")

    def on_tool_result(self, e: dict[str, Any]) -> None:
        mark = "[green]✓[/]" if e["ok"] else "[red]✗[/]"
        self.console.print(f"  {mark} {escape(short(e['output']))}{image_note(e)}")

    def on_retry(self, e: dict[str, Any]) -> None:
        self.console.print(f"  [yellow]{escape(retry_line(e))}[/]")

    def on_warning(self, e: dict[str, Any]) -> None:
        sys.stderr.write(f"agent: warning: {e['message']}\n")  # where a human looks for warnings, as before
        sys.stderr.flush()

    def on_format_error(self, e: dict[str, Any]) -> None:
        self.console.print(f"  [yellow]! {escape(short(e['error'], 200))}[/]")

    def on_guard_findings(self, e: dict[str, Any]) -> None:
        for f in e["findings"]:
            self.console.print(f"[bold red]guard[/] {f['severity']} {f['kind']} {escape(f['file'])}:{f['line']} {escape(f['message'])}")

    def on_verification_finished(self, e: dict[str, Any]) -> None:
        verdict = "[green]passed[/]" if e["passed"] else "[red]failed[/]"
        self.console.print(f"original tests {verdict}: {escape(e['command'])}")

    def on_run_finished(self, e: dict[str, Any]) -> None:
        colour = "green" if e["status"] == "done" and (e["verified"] or not e["verification"].get("ran")) else "red"
        self.console.print(
            f"[bold {colour}]{e['status']}[/] verified={e['verified']} steps={e['steps']} "
            f"tokens={e['tokens_in']}+{e['tokens_out']} cost=${e['cost_usd']:.4f} {e['duration_s']:.1f}s"
        )
        if e["files_changed"]:
            self.console.print("changed: " + escape(", ".join(e["files_changed"])))
        if e["summary"]:
            self.console.print(escape(e["summary"]))
