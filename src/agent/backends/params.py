"""What to send to a litellm model: its key, its limits and only the parameters it supports."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

from agent.config import BackendConfig
from agent.errors import UsageError

# The variable that holds each provider's key; a key is only ever sent to its own provider's endpoint.
KEY_VARS = {
    "openai": "OPENAI_API_KEY", "anthropic": "ANTHROPIC_API_KEY", "openrouter": "OPENROUTER_API_KEY",
    "gemini": "GEMINI_API_KEY", "mistral": "MISTRAL_API_KEY", "deepseek": "DEEPSEEK_API_KEY",
    "groq": "GROQ_API_KEY", "xai": "XAI_API_KEY", "together_ai": "TOGETHERAI_API_KEY",
}
KEYLESS = ("ollama", "ollama_chat", "lm_studio", "hosted_vllm", "llamafile")  # local servers
DEFAULT_REPLY_TOKENS = 4096  # a model whose limit litellm does not know
REPLY_TOKENS_CAP = 32000  # enough for any file written in one call; more only costs latency
DEFAULT_WINDOW = 32768
OLLAMA_NUM_CTX = 16384  # the model's window unknown (its server did not say)
OLLAMA_NUM_CTX_CAP = 32768  # the model's own window, up to this unless backend.num_ctx says otherwise (KV memory)
OLLAMA = ("ollama", "ollama_chat")


@dataclass
class ModelInfo:
    """What litellm knows of a model (None where it does not)."""

    provider: str
    max_output: int | None
    window: int | None
    reasoning: bool
    tool_calls: bool | None
    input_price: float | None
    vision: bool = False  # litellm.supports_vision: images may go in the messages

    @classmethod
    def lookup(cls, litellm: Any, model: str, provider: str, config: BackendConfig | None = None) -> ModelInfo:
        """Model info from litellm's local map (an unmapped model gets Nones); Ollama's from its own server."""
        if provider in OLLAMA:
            return cls.from_ollama(model, provider, config)
        try:
            info = litellm.get_model_info(model)
        except Exception:  # unmapped (a local server, a new model)
            info = {}
        price = info.get("input_cost_per_token")
        try:
            vision = bool(litellm.supports_vision(model=model, custom_llm_provider=provider))
        except Exception:  # unmapped: no images unless the config says so (backend.vision)
            vision = False
        return cls(provider, info.get("max_output_tokens") or None, info.get("max_input_tokens") or None,
                   bool(info.get("supports_reasoning")), info.get("supports_function_calling"),
                   (price or 0.0) if provider in KEYLESS else (price or None), vision)  # a local server costs nothing


    @classmethod
    def from_ollama(cls, model: str, provider: str, config: BackendConfig | None) -> ModelInfo:
        """The window and tool support the Ollama server reports (/api/show); none asked when context_tokens is set."""
        from agent.backends import ollama

        reply = None if config is None or config.context_tokens else ollama.show(config.api_base, model)
        window = ollama.context_length(reply) if reply else None
        return cls(provider, None, window, False, ollama.takes_tools(reply) if reply else None, 0.0)


def check_api_base(url: str) -> str:
    """`url` if it is an http(s) URL with a host, else a UsageError."""
    parsed = urlparse(url.strip())
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise UsageError(f"api_base {url!r} is not an http(s) URL (e.g. http://127.0.0.1:8000/v1)")
    return url.strip()


def resolve_key(config: BackendConfig, provider: str) -> str | None:
    """The key to send to `config.api_base`: --api-key-env NAME, else the provider's own variable.

    Without an api_base litellm reads the provider's own variable itself and sends it to that provider only.
    """
    if config.api_key_env:
        value = os.environ.get(config.api_key_env)
        if not value:
            raise UsageError(f"api_key_env names {config.api_key_env}, which is not set in the environment")
        return value
    if not config.api_base:
        return None
    own = KEY_VARS.get(provider)
    return (os.environ.get(own) if own else None) or "no-key"  # local servers usually take any key


def reply_tokens(config: BackendConfig, info: ModelInfo) -> int:
    """Output-token cap: the configured one, else the model's own limit (capped), else a default."""
    if config.max_reply_tokens:
        return config.max_reply_tokens
    if info.max_output:
        return min(info.max_output, REPLY_TOKENS_CAP)
    return DEFAULT_REPLY_TOKENS


def request_params(config: BackendConfig, info: ModelInfo, supported: list[str]) -> dict[str, Any]:
    """Sampling and reasoning parameters the model supports; litellm drops any others (drop_params)."""
    params: dict[str, Any] = {"max_tokens": reply_tokens(config, info), "drop_params": True}
    if "temperature" in supported and not info.reasoning and not config.thinking_tokens:
        params["temperature"] = config.temperature  # reasoning models accept only their default
    if config.reasoning_effort and "reasoning_effort" in supported:
        params["reasoning_effort"] = config.reasoning_effort
    if config.thinking_tokens and "thinking" in supported:
        params["thinking"] = {"type": "enabled", "budget_tokens": config.thinking_tokens}
        params["max_tokens"] = max(params["max_tokens"], config.thinking_tokens + 1024)
    if info.provider in OLLAMA:  # Ollama's own default window (2-4k) truncates silently
        params["num_ctx"] = ollama_num_ctx(config, info)
    return params


def ollama_num_ctx(config: BackendConfig, info: ModelInfo) -> int:
    """The window to ask Ollama for: context_tokens if configured, else the model's own (/api/show) up to
    backend.num_ctx (default 32768), else backend.num_ctx or 16384."""
    explicit = config.num_ctx or config.context_tokens
    if config.context_tokens or not info.window:
        return explicit or OLLAMA_NUM_CTX
    return min(info.window, explicit or OLLAMA_NUM_CTX_CAP)
