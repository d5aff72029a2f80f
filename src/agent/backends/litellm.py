"""LitellmBackend: hosted models and OpenAI-compatible servers through litellm (imported lazily)."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable
from typing import Any

from agent.backends import ContextOverflow, outgoing, textcalls
from agent.backends.params import ModelInfo, check_api_base, request_params, resolve_key
from agent.backends.retry import RetryPolicy, with_retries
from agent.backends.stream import close_stream, read_stream
from agent.config import BackendConfig
from agent.errors import BackendError, UsageError
from agent.prompts import render
from agent.protocols import Capabilities, EventSink, Message, Reply, ToolCall


def _litellm() -> Any:
    from agent.extras import require

    require("llm", "hosted models (litellm)")
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # never fetch the cost map
    os.environ.setdefault("LITELLM_TELEMETRY", "False")
    import litellm

    litellm.telemetry = False
    litellm.suppress_debug_info = True
    litellm.num_retries = 0  # retries are ours (agent.backends.retry), so the counts shown are the real ones
    return litellm


class LitellmBackend:
    """Any model litellm knows, with native tool calling, streaming, retries, usage and cost."""

    def __init__(self, model: str, config: BackendConfig, api_key: str | None = None, info: ModelInfo | None = None):
        self.name = model
        self.model = model
        self.config = config
        self.api_key = api_key
        self.litellm = _litellm()
        provider = self.litellm.get_llm_provider(model, api_base=config.api_base)[1]
        self.info = info or ModelInfo.lookup(self.litellm, model, provider, config)
        self.params = request_params(config, self.info, _supported(self.litellm, model, provider))
        # Ollama: the num_ctx it is sent (its server's window for this run); None: learned from an overflow
        self.window = config.context_tokens or self.params.get("num_ctx") or self.info.window
        # USD per input token (None: unknown, so --budget-usd is refused; agent.backends.budget)
        self.input_price = config.input_price / 1e6 if config.input_price is not None else self.info.input_price
        fmt = config.tool_format  # text: calls as fenced blocks (agent.backends.textcalls)
        self.text_tools = fmt == "text" or (fmt == "auto" and self.info.tool_calls is False)
        self.policy = RetryPolicy(config.retries, config.retry_base_s, config.retry_max_s)
        self.spent: list[float] = []  # each call's cost, the compaction's and distillation's included
        self.on_event: EventSink | None = None  # the session binds this to its event stream (retry events)

    def capabilities(self) -> Capabilities:
        """From litellm's model table (ModelInfo) and what overflow errors taught (window None: unknown)."""
        info = self.info
        vision = info.vision if self.config.vision is None else self.config.vision
        return Capabilities(self.window, self.params.get("max_tokens") or info.max_output,
                            native_tools=not self.text_tools, streaming=True,
                            caching=info.provider in ("anthropic", "bedrock", "vertex_ai", "openai", "deepseek"),
                            vision=vision and not self.text_tools)  # text tool calls carry text only

    @classmethod
    def from_config(cls, config: BackendConfig, model: str) -> LitellmBackend:
        """Check the model name, its endpoint and its credentials up front; raise UsageError if unusable."""
        litellm = _litellm()
        if model.startswith("ollama/"):  # /api/generate pastes tools into the prompt; /api/chat has real tool calls
            model = "ollama_chat/" + model.removeprefix("ollama/")
        if config.api_base:
            config = config.model_copy(update={"api_base": check_api_base(config.api_base)})
        try:
            provider = litellm.get_llm_provider(model, api_base=config.api_base)[1]
        except Exception as exc:  # litellm raises BadRequestError for unknown providers
            hint = "use local, gguf:PATH, scripted:PATH or provider/model"
            raise UsageError(f"unknown model {model!r} ({hint})") from exc
        api_key = resolve_key(config, provider)
        if not config.api_base and not config.api_key_env:
            missing = litellm.validate_environment(model=model).get("missing_keys") or []
            if missing:
                raise UsageError(f"model {model} needs {', '.join(missing)} in the environment")
        return cls(model, config, api_key, ModelInfo.lookup(litellm, model, provider, config))

    def complete(
        self, messages: list[Message], tools: list[dict[str, Any]], on_text: Callable[[str], None] | None = None
    ) -> Reply:
        """One completion, retried on rate limits, overload and dropped streams; streams text to `on_text`."""
        provider, cache = self.info.provider, self.config.prompt_cache
        sent = textcalls.to_text(messages, tools) if self.text_tools else messages
        vision = self.capabilities().vision  # tool results' images in the provider's format, else left out
        kwargs: dict[str, Any] = {
            **self.params, "model": self.model, "messages": outgoing.prepare(sent, self.model, provider, cache, vision),
            "tools": None if self.text_tools else outgoing.prepare_tools(tools, self.model, provider, cache) or None,
            "timeout": self.config.stream_idle_s if on_text else self.config.timeout_s,
            "api_base": self.config.api_base, "num_retries": 0, "max_retries": 0,
        }
        if self.api_key:
            kwargs["api_key"] = self.api_key
        try:
            return with_retries(lambda: self._attempt(kwargs, messages, on_text), self.policy, self._emit)
        except BackendError:
            raise
        except Exception as exc:
            raise self._translate(exc) from exc

    def _attempt(self, kwargs: dict[str, Any], messages: list[Message], on_text: Callable[[str], None] | None) -> Reply:
        if on_text is None:
            response = self.litellm.completion(**kwargs)
            calls = [_raw_call(c) for c in (response.choices[0].message.tool_calls or [])]
            message = response.choices[0].message
            return self._reply(response, calls, response.choices[0].finish_reason or "", _thinking(message))
        stream = self.litellm.completion(**kwargs, stream=True, stream_options={"include_usage": True})
        try:
            got = read_stream(stream, on_text)
        finally:
            close_stream(stream)  # never left to the garbage collector (see close_stream)
        return self._reply(self.litellm.stream_chunk_builder(got.chunks, messages=messages), got.calls, got.finish,
                           got.thinking)

    def _emit(self, event: dict[str, Any]) -> None:
        if self.on_event is not None:
            self.on_event(event)

    def _translate(self, exc: Exception) -> Exception:
        """A provider error as the one line the user sees; bad keys and overflow get their own types."""
        names = {cls.__name__ for cls in type(exc).__mro__}
        text = " ".join(str(exc).split())
        if "ContextWindowExceededError" in names:
            self.window = _window_from(text) or self.window  # learned: capabilities() reports it from now on
            return ContextOverflow(f"{self.model}: the prompt does not fit the model's window: {text[:300]}",
                                   _window_from(text))
        if names & {"AuthenticationError", "PermissionDeniedError"}:
            return UsageError(f"{self.model}: the provider refused the API key: {text[:200]}")
        return BackendError(f"{self.model}: {type(exc).__name__}: {text[:500]}")

    def _reply(self, response: Any, calls: list[dict[str, Any]], finish: str,
               thinking: list[dict[str, Any]] | None) -> Reply:
        message = response.choices[0].message
        usage = getattr(response, "usage", None)
        details = getattr(usage, "prompt_tokens_details", None)
        cache_read = getattr(usage, "cache_read_input_tokens", None) or getattr(details, "cached_tokens", None) or 0
        reply = Reply(
            content=message.content or "", tool_calls=[_tool_call(c) for c in calls],
            tokens_in=getattr(usage, "prompt_tokens", 0) or 0, tokens_out=getattr(usage, "completion_tokens", 0) or 0,
            cost_usd=self._cost(response, usage), finish_reason=finish,
            thinking_blocks=thinking, cache_read_tokens=int(cache_read),
            cache_write_tokens=int(getattr(usage, "cache_creation_input_tokens", 0) or 0),
        )
        if self.text_tools:
            reply.content, reply.tool_calls = textcalls.parse(reply.content, f"call_{len(self.spent)}")
        self.spent.append(reply.cost_usd)
        seen: set[str] = set()
        for call in reply.tool_calls:  # two parallel calls may share an id; each result needs its own
            if call.id in seen:
                call.id = f"{call.id}_{len(seen)}"
            seen.add(call.id)
        if finish == "length":
            _explain_cut(reply, self.params["max_tokens"])
        return reply

    def _cost(self, response: Any, usage: Any) -> float:
        if self.config.input_price is not None or self.config.output_price is not None:
            return ((getattr(usage, "prompt_tokens", 0) or 0) * (self.config.input_price or 0.0)
                    + (getattr(usage, "completion_tokens", 0) or 0) * (self.config.output_price or 0.0)) / 1e6
        try:
            return float(self.litellm.completion_cost(completion_response=response) or 0.0)
        except Exception:  # unknown price: a budget is refused for such a model up front (agent.backends.budget)
            return 0.0


def _supported(litellm: Any, model: str, provider: str) -> list[str]:
    try:
        return list(litellm.get_supported_openai_params(model=model, custom_llm_provider=provider) or [])
    except Exception:  # an unknown provider route: send the basics, litellm drops the rest
        return ["temperature", "max_tokens", "tools"]


def _window_from(text: str) -> int | None:
    """The window an overflow error names (OpenAI: "maximum context length is N"; Anthropic: "> N maximum")."""
    found = re.search(r"maximum context length is (\d+)", text) or re.search(r">\s*(\d+)\s*maximum", text)
    return int(found.group(1)) if found else None


def _thinking(message: Any) -> list[dict[str, Any]] | None:
    blocks = getattr(message, "thinking_blocks", None)
    if not blocks:
        return None
    return [dict(b) if not isinstance(b, dict) else b for b in blocks]


def _explain_cut(reply: Reply, limit: int) -> None:
    """A reply cut at the output limit: its last call is replaced by the note the model gets (agent.loop)."""
    if reply.tool_calls:
        last = reply.tool_calls[-1]
        reply.tool_calls[-1] = ToolCall(last.id, last.name, {}, render("truncated", limit=limit, in_call=True))


def _raw_call(raw: Any) -> dict[str, Any]:
    function = getattr(raw, "function", None)
    return {"id": getattr(raw, "id", None) or "", "name": getattr(function, "name", None) or "",
            "arguments": getattr(function, "arguments", None), "missing": function is None}


def _tool_call(raw: dict[str, Any]) -> ToolCall:
    """Turn a provider's tool call into a ToolCall; anything malformed sets `error` instead of raising."""
    name = raw["name"] if isinstance(raw.get("name"), str) else ""
    raw_id = raw.get("id")
    call_id: str = raw_id if isinstance(raw_id, str) and raw_id else name or "call"
    arguments = raw.get("arguments")
    if raw.get("missing"):
        return ToolCall(call_id, name, {}, "the tool call has no function")
    if isinstance(arguments, str | bytes | bytearray) or arguments is None:
        try:
            arguments = json.loads(arguments or "{}")
        except (ValueError, RecursionError) as exc:
            return ToolCall(call_id, name, {}, f"arguments are not valid JSON: {exc}")
    if not isinstance(arguments, dict):
        return ToolCall(call_id, name, {}, "arguments must be a JSON object")
    return ToolCall(call_id, name, arguments)
