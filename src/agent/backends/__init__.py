"""Model backends, found by name through a registry of dotted paths (imported on first use)."""

from __future__ import annotations

import importlib
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agent.errors import BackendError, UsageError

if TYPE_CHECKING:
    from agent.config import BackendConfig
    from agent.protocols import Backend, Event, EventSink


class ContextOverflow(BackendError):
    """The prompt did not fit the model's window; `window` is the size the provider named, if it did."""

    def __init__(self, message: str, window: int | None):
        super().__init__(message)
        self.window = window


REGISTRY = {
    "scripted": "agent.backends.scripted:ScriptedBackend",
    "llamacpp": "agent.backends.llamacpp:LlamaCppBackend",
    "litellm": "agent.backends.litellm:LitellmBackend",
}

PROVIDER_KEYS = ["ANTHROPIC_API_KEY", "OPENAI_API_KEY", "GEMINI_API_KEY", "MISTRAL_API_KEY", "DEEPSEEK_API_KEY",
                 "OPENROUTER_API_KEY", "GROQ_API_KEY", "XAI_API_KEY"]


def default_model() -> str:
    """`local` unless a provider key is set, then that provider's default model."""
    if os.environ.get("ANTHROPIC_API_KEY"):
        return "anthropic/claude-sonnet-4-5"
    if os.environ.get("OPENAI_API_KEY"):
        return "openai/gpt-4.1"
    return "local"


def _load(kind: str) -> Any:
    module, _, attr = REGISTRY[kind].partition(":")
    return getattr(importlib.import_module(module), attr)


def create_backend(config: BackendConfig) -> Backend:
    """Build the backend a model spec names; bad specs raise UsageError before anything runs."""
    spec = (config.model or default_model()).strip()
    if not spec:
        raise UsageError("empty model name")
    from agent.extras import require_model

    require_model(spec)  # one line naming the extra to install, before any backend module is imported
    if spec.startswith("scripted:"):
        path = Path(spec.removeprefix("scripted:")).expanduser()
        return _load("scripted").from_file(path, vision=bool(config.vision))
    if spec == "local" or spec.startswith("gguf:"):
        return _load("llamacpp").from_config(config, None if spec == "local" else spec.removeprefix("gguf:"))
    if ":" in spec.split("/", 1)[0]:  # NAME:REST may name a backend plugin (entry point agent.backends)
        from agent.plugins import plugin_backend

        if (backend := plugin_backend(spec, config)) is not None:
            return backend
    return _load("litellm").from_config(config, spec)


class UsageTally:
    """Cache-token totals over a run's model_reply events, for run_finished."""

    def __init__(self) -> None:
        self.read = self.write = 0

    def observe(self, event: Event) -> None:
        """Add one event's cache tokens."""
        if event.get("type") == "model_reply":
            self.read += event.get("cache_read_tokens") or 0
            self.write += event.get("cache_write_tokens") or 0

    def totals(self) -> dict[str, int]:
        """The fields run_finished carries."""
        return {"cache_read_tokens": self.read, "cache_write_tokens": self.write}


def bind_events(backend: Backend, emit: EventSink) -> UsageTally:
    """Let a backend report its own events (retries) to the run's stream; returns the run's usage tally."""
    if hasattr(backend, "on_event"):
        backend.on_event = emit
    return UsageTally()
