"""What an Ollama server says of a model (`/api/show`): its context length and whether it takes tools.

litellm's own lookup asks localhost:11434 (or OLLAMA_API_BASE) whatever the api_base, so this asks the
server the run talks to. Any failure means "unknown": the caller falls back to its defaults.
"""

from __future__ import annotations

import os
from typing import Any

DEFAULT_BASE = "http://localhost:11434"
SHOW_TIMEOUT_S = 5.0


def show(api_base: str | None, model: str, timeout_s: float = SHOW_TIMEOUT_S) -> dict[str, Any] | None:
    """The server's /api/show reply for `model` (ollama/ or ollama_chat/ prefix or not), or None."""
    import httpx  # litellm's own dependency, so present wherever this backend is

    base = (api_base or os.environ.get("OLLAMA_API_BASE") or DEFAULT_BASE).rstrip("/")
    base = base.removesuffix("/api/chat").removesuffix("/api/generate")
    name = model.split("/", 1)[1] if model.startswith(("ollama/", "ollama_chat/")) else model
    try:
        response = httpx.post(f"{base}/api/show", json={"model": name}, timeout=timeout_s)
        response.raise_for_status()
        data = response.json()
    except (httpx.HTTPError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def context_length(reply: dict[str, Any]) -> int | None:
    """model_info["<architecture>.context_length"] (the model's trained window), or None."""
    info = reply.get("model_info")
    if not isinstance(info, dict):
        return None
    arch = info.get("general.architecture")
    value = info.get(f"{arch}.context_length") if arch else None
    if value is None:  # an older server without general.architecture
        value = next((v for k, v in info.items() if k.endswith(".context_length")), None)
    return value if isinstance(value, int) and value > 0 else None


def takes_tools(reply: dict[str, Any]) -> bool | None:
    """Whether the model's template takes tools (`capabilities`, Ollama 0.6+); None when the server does not say."""
    capabilities = reply.get("capabilities")
    return "tools" in capabilities if isinstance(capabilities, list) else None
