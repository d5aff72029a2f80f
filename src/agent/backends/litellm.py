"""LitellmBackend: hosted models and OpenAI-compatible servers through litellm (imported lazily)."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from typing import Any

from agent.config import BackendConfig
from agent.errors import BackendError, UsageError
from agent.protocols import Capabilities, Message, Reply, ToolCall


def _litellm() -> Any:
    from agent.extras import require

    require("llm", "hosted models (litellm)")
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # never fetch the cost map
    os.environ.setdefault("LITELLM_TELEMETRY", "False")
    import litellm

    litellm.telemetry = False
    litellm.suppress_debug_info = True
    return litellm


class LitellmBackend:
    """Any model litellm knows, with native tool calling, streaming, usage and cost."""

    def __init__(self, model: str, config: BackendConfig, api_key: str | None = None):
        self.name = model
        self.model = model
        self.config = config
        self.api_key = api_key
        self.litellm = _litellm()

    def capabilities(self) -> Capabilities:
        """From litellm's model table when it knows the model (unknown: window None)."""
        try:
            info = self.litellm.get_model_info(self.model)
        except Exception:  # litellm raises plain Exception for unknown models
            return Capabilities(streaming=True)
        window = info.get("max_input_tokens") or info.get("max_tokens")
        return Capabilities(
            int(window) if window else None, int(info["max_output_tokens"]) if info.get("max_output_tokens") else None,
            native_tools=bool(info.get("supports_function_calling", True)), streaming=True,
            caching=bool(info.get("supports_prompt_caching")),
        )

    @classmethod
    def from_config(cls, config: BackendConfig, model: str) -> LitellmBackend:
        """Check the model name and its credentials up front; raise UsageError if unusable."""
        litellm = _litellm()
        try:
            litellm.get_llm_provider(model, api_base=config.api_base)
        except Exception as exc:  # litellm raises BadRequestError for unknown providers
            raise UsageError(f"unknown model {model!r} (use local, gguf:PATH, scripted:PATH or provider/model)") from exc
        api_key = None
        if config.api_base:
            api_key = os.environ.get("OPENAI_API_KEY") or "no-key"  # local servers usually take any key
        else:
            missing = litellm.validate_environment(model=model).get("missing_keys") or []
            if missing:
                raise UsageError(f"model {model} needs {', '.join(missing)} in the environment")
        return cls(model, config, api_key)

    def complete(
        self, messages: list[Message], tools: list[dict[str, Any]], on_text: Callable[[str], None] | None = None
    ) -> Reply:
        """One completion; streams text deltas to `on_text` when given."""
        kwargs: dict[str, Any] = {
            "model": self.model, "messages": messages, "tools": tools or None, "temperature": self.config.temperature,
            "max_tokens": self.config.max_reply_tokens, "timeout": self.config.timeout_s, "api_base": self.config.api_base,
        }
        if self.api_key:
            kwargs["api_key"] = self.api_key
        try:
            if on_text is None:
                response = self.litellm.completion(**kwargs)
            else:
                response = self._stream(kwargs, messages, on_text)
        except Exception as exc:
            raise BackendError(f"{self.model}: {type(exc).__name__}: {exc}") from exc
        return self._reply(response)

    def _stream(self, kwargs: dict[str, Any], messages: list[Message], on_text: Callable[[str], None]) -> Any:
        chunks = []
        for chunk in self.litellm.completion(**kwargs, stream=True, stream_options={"include_usage": True}):
            chunks.append(chunk)
            delta = chunk.choices[0].delta.content if chunk.choices else None
            if delta:
                on_text(delta)
        return self.litellm.stream_chunk_builder(chunks, messages=messages)

    def _reply(self, response: Any) -> Reply:
        message = response.choices[0].message
        calls = [_tool_call(c) for c in (message.tool_calls or [])]
        usage = getattr(response, "usage", None)
        try:
            cost = float(self.litellm.completion_cost(completion_response=response) or 0.0)
        except Exception:  # unknown price (local server, new model): report 0 rather than fail
            cost = 0.0
        return Reply(
            content=message.content or "", tool_calls=calls,
            tokens_in=getattr(usage, "prompt_tokens", 0) or 0, tokens_out=getattr(usage, "completion_tokens", 0) or 0,
            cost_usd=cost,
        )


def _tool_call(raw: Any) -> ToolCall:
    """Turn a provider's tool call into a ToolCall; anything malformed sets `error` instead of raising."""
    function = getattr(raw, "function", None)
    name = getattr(function, "name", None)
    name = name if isinstance(name, str) else ""
    call_id = getattr(raw, "id", None)
    call_id = call_id if isinstance(call_id, str) and call_id else name or "call"
    arguments = getattr(function, "arguments", None)
    if function is None:
        return ToolCall(call_id, name, {}, "the tool call has no function")
    if isinstance(arguments, str | bytes | bytearray) or arguments is None:
        try:
            arguments = json.loads(arguments or "{}")
        except (ValueError, RecursionError) as exc:
            return ToolCall(call_id, name, {}, f"arguments are not valid JSON: {exc}")
    if not isinstance(arguments, dict):
        return ToolCall(call_id, name, {}, "arguments must be a JSON object")
    return ToolCall(call_id, name, arguments)
