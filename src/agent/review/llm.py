"""The model review: one call, capped in tokens, time and cost, answering through `report_findings`."""

from __future__ import annotations

import json
import re
import threading
import time
from pathlib import Path
from typing import Any

from agent.config import AgentConfig
from agent.errors import AgentError
from agent.review.changes import FileChange
from agent.review.memory import recall_notes
from agent.review.model import SEVERITIES, Finding, ModelUsage

MAX_FINDINGS = 20
CHARS_PER_TOKEN = 4

REPORT_TOOL: dict[str, Any] = {
    "type": "function",
    "function": {
        "name": "report_findings",
        "description": "Report the problems found in the staged change (an empty list when there are none).",
        "parameters": {
            "type": "object",
            "properties": {
                "findings": {
                    "type": "array",
                    "maxItems": MAX_FINDINGS,
                    "items": {
                        "type": "object",
                        "properties": {
                            "file": {"type": "string", "description": "path of a changed file"},
                            "line": {
                                "type": "integer",
                                "minimum": 0,
                                "description": "line in the new file (0: whole file)",
                            },
                            "severity": {"type": "string", "enum": list(SEVERITIES)},
                            "message": {"type": "string", "maxLength": 300},
                        },
                        "required": ["file", "line", "severity", "message"],
                    },
                }
            },
            "required": ["findings"],
        },
    },
}


class ModelReviewError(Exception):
    """The model review could not run or finish (infrastructure, never a finding)."""


def _fit(text: str, tokens: int) -> tuple[str, bool]:
    limit = max(tokens, 0) * CHARS_PER_TOKEN
    if len(text) <= limit:
        return text, False
    return text[:limit].rsplit("\n", 1)[0], True


def _repo_map(root: Path, files: list[str], budget: int) -> str:
    from agent.repomap import build_map

    try:
        return str(build_map(root, " ".join(files), files, budget).text)
    except AgentError:
        return ""


def build_prompt(root: Path, changes: list[FileChange], diff: str, config: AgentConfig) -> str:
    """The review prompt (prompts/review.j2) within the token cap: map and notes first cut, then the diff."""
    from agent.prompts import render

    cap = config.review.max_tokens
    files = [c.path for c in changes]
    repo_map, _ = _fit(_repo_map(root, files, max(cap // 4, 64)), cap // 4)
    notes: list[str] = []
    try:
        notes = [n for n in recall_notes(root, config, " ".join(files) + "\n" + diff[:2000])][:5]
    except AgentError:
        notes = []
    notes_text, _ = _fit("\n".join(notes), cap // 8)
    frame = render(
        "review",
        files=changes,
        diff="",
        truncated=False,
        repo_map=repo_map,
        notes=notes_text.splitlines(),
        severities=SEVERITIES,
        max_findings=MAX_FINDINGS,
    )
    body, truncated = _fit(diff, cap - len(frame) // CHARS_PER_TOKEN - 16)
    return render(
        "review",
        files=changes,
        diff=body,
        truncated=truncated,
        repo_map=repo_map,
        notes=notes_text.splitlines(),
        severities=SEVERITIES,
        max_findings=MAX_FINDINGS,
    )


def estimate_cost(spec: str, tokens_in: int, tokens_out: int) -> float | None:
    """The litellm price of a call, when litellm knows the model; None otherwise (local models: free)."""
    if spec == "local" or spec.startswith(("gguf:", "scripted:")):
        return 0.0
    try:
        import litellm

        prompt, completion = litellm.cost_per_token(model=spec, prompt_tokens=tokens_in, completion_tokens=tokens_out)
        return float(prompt + completion)
    except Exception:  # unknown model or no price table: the cap is checked after the call
        return None


def _parse(reply: Any) -> list[dict[str, Any]]:
    for call in reply.tool_calls:
        if call.name == "report_findings" and not call.error:
            items = call.arguments.get("findings", [])
            return [i for i in items if isinstance(i, dict)] if isinstance(items, list) else []
    match = re.search(r"\{.*\}|\[.*\]", reply.content or "", re.S)
    if match:
        try:
            data = json.loads(match.group(0))
        except ValueError:
            data = None
        items = data.get("findings") if isinstance(data, dict) else data
        if isinstance(items, list):
            return [i for i in items if isinstance(i, dict)]
    raise ModelReviewError("the model's reply held no report_findings call")


def to_findings(items: list[dict[str, Any]], changes: list[FileChange]) -> list[Finding]:
    """Findings from the model's report; entries about files outside the change are dropped."""
    texts = {c.path: (c.text("new") or "").splitlines() for c in changes}
    out = []
    for item in items[:MAX_FINDINGS]:
        file, message = str(item.get("file", "")).strip(), " ".join(str(item.get("message", "")).split())
        if file not in texts or not message:
            continue
        try:
            line = max(int(item.get("line", 0)), 0)
        except (TypeError, ValueError):
            line = 0
        lines = texts[file]
        content = lines[line - 1] if 0 < line <= len(lines) else ""
        out.append(
            Finding(
                "model_review",
                file,
                line,
                str(item.get("severity", "medium")).lower(),
                message[:300],
                source="model",
                content=content or message,
            )
        )
    return out


def _call(config: AgentConfig, spec: str, prompt: str, usage: ModelUsage) -> Any:
    from agent.backends import create_backend

    backend_config = config.backend.model_copy(
        update={
            "model": spec,
            "max_reply_tokens": config.review.max_reply_tokens,
            "timeout_s": min(config.backend.timeout_s, config.review.max_seconds),
        }
    )
    backend = create_backend(backend_config)
    reply = backend.complete([{"role": "user", "content": prompt}], [REPORT_TOOL])
    usage.tokens_in, usage.tokens_out, usage.cost_usd = reply.tokens_in, reply.tokens_out, reply.cost_usd
    return reply


def model_review(
    root: Path, changes: list[FileChange], diff: str, config: AgentConfig, spec: str
) -> tuple[list[Finding], ModelUsage]:
    """Run the model review; ModelReviewError (with the usage so far in .usage) when it cannot finish in its caps."""
    review = config.review
    usage = ModelUsage(model=spec, status="error")
    start = time.monotonic()
    outcome: dict[str, Any] = {}

    def work() -> None:
        try:
            prompt = build_prompt(root, changes, diff, config)
            cost = estimate_cost(spec, len(prompt) // CHARS_PER_TOKEN, review.max_reply_tokens)
            if cost is not None and cost > review.budget_usd:
                raise ModelReviewError(f"estimated cost ${cost:.4f} is over the ${review.budget_usd:.4f} cap")
            outcome["items"] = _parse(_call(config, spec, prompt, usage))
        except (AgentError, ModelReviewError) as exc:
            outcome["error"] = str(exc)
        except Exception as exc:  # a backend library failing in a way we did not foresee is still infrastructure
            outcome["error"] = f"{type(exc).__name__}: {exc}"

    thread = threading.Thread(target=work, name="agent-review-model", daemon=True)
    thread.start()
    thread.join(review.max_seconds)
    usage.duration_s = time.monotonic() - start
    if thread.is_alive():
        raise _failed(f"timed out after {review.max_seconds:g}s", usage)
    if "error" in outcome:
        raise _failed(outcome["error"], usage)
    usage.status = "done"
    return to_findings(outcome["items"], changes), usage


def _failed(message: str, usage: ModelUsage) -> ModelReviewError:
    error = ModelReviewError(message)
    error.usage = usage  # type: ignore[attr-defined]
    return error
