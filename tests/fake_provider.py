"""A fake model provider on 127.0.0.1: OpenAI Chat Completions and Anthropic Messages, streaming (SSE) and not.

Tests queue what each request gets (`push`), then assert on `requests` (path, headers, JSON body, and how many
connections were open when it came):

    {"text": "...", "calls": [{"name": ..., "arguments": {...}, "id": None}], "thinking": "..."}   a reply
    {"finish": "length"}              cut reply: OpenAI finish_reason=length / Anthropic stop_reason=max_tokens
    {"error": 429, "retry_after": 1}  429 (also 500, 529 overloaded, 401 bad key) with the provider's real body
    {"overflow": True}                the provider's real context-length error (HTTP 400)
    {"reset_after": 2}                streaming: 2 events, then a TCP reset (non-streaming: reset at once)
    {"stall": 2.0}                    streaming: 2 s of silence after the first event; {"delay": s} per event
    {"usage": {...}}                  override the usage numbers
OpenAI requests with an image part in a non-user message get OpenAI's own 400 (tool messages take text only).
Ollama's /api/chat is served too (`ollama_url`), from the same queue (text and calls only), and /api/show as
Ollama answers it, with `ollama_context` as the model's context length (None: a model_info without one) and
`ollama_tools` saying whether its template takes tools; the bodies of /api/show requests go to `shows`.

A request without tools takes from `push_side`'s queue first (summaries).
With an empty queue a request gets `default` (a finish call). Usage is realistic: input tokens are the request's
characters / 4; Anthropic reads and writes its cache at the request's cache_control breakpoints, OpenAI caches
the common prefix with earlier requests in 128-token blocks from 1,024 tokens, as the real services do.
"""

from __future__ import annotations

import hashlib
import json
import socket
import struct
import threading
import time
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

FINISH = {"calls": [{"name": "finish", "arguments": {"summary": "ok"}}], "text": "Done."}

OPENAI_ERRORS: dict[int, dict[str, Any]] = {
    429: {"message": "Rate limit reached for gpt-4o in organization org-test on tokens per min (TPM): Limit 30000, "
                     "Used 30000, Requested 1200. Please try again in 2.4s. Visit https://platform.openai.com/account/"
                     "rate-limits to learn more.", "type": "tokens", "param": None, "code": "rate_limit_exceeded"},
    500: {"message": "The server had an error while processing your request. Sorry about that!",
          "type": "server_error", "param": None, "code": None},
    503: {"message": "The engine is currently overloaded, please try again later.", "type": "server_error",
          "param": None, "code": None},
    401: {"message": "Incorrect API key provided: sk-bad. You can find your API key at "
                     "https://platform.openai.com/account/api-keys.", "type": "invalid_request_error", "param": None,
          "code": "invalid_api_key"},
    400: {"message": "This model's maximum context length is 128000 tokens. However, your messages resulted in "
                     "131072 tokens. Please reduce the length of the messages.", "type": "invalid_request_error",
          "param": "messages", "code": "context_length_exceeded"},
}
ANTHROPIC_ERRORS: dict[int, dict[str, Any]] = {
    429: {"type": "rate_limit_error", "message": "This request would exceed the rate limit for your organization of "
                                                 "30,000 input tokens per minute."},
    500: {"type": "api_error", "message": "Internal server error"},
    529: {"type": "overloaded_error", "message": "Overloaded"},
    401: {"type": "authentication_error", "message": "invalid x-api-key"},
    400: {"type": "invalid_request_error", "message": "prompt is too long: 208310 tokens > 200000 maximum"},
}


def _tokens(text: str) -> int:
    return max(1, len(text) // 4)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Clients that drop connections (the resets the tests inject) are no error here."""


class FakeProvider:
    """Context manager serving both APIs on one free loopback port."""

    def __init__(self, default: dict[str, Any] | None = None):
        self.default = default or FINISH
        self.script: deque[dict[str, Any]] = deque()
        self.side: deque[dict[str, Any]] = deque()  # for requests without tools (summaries), whenever they come
        self.requests: list[dict[str, Any]] = []
        self.usages: list[dict[str, Any]] = []  # the usage object each reply carried
        self.cache: set[str] = set()  # Anthropic prompt-cache entries (prefix hashes)
        self.last_prompt = ""  # OpenAI automatic caching compares with the previous prompt
        self.connections = 0  # connections open now (each request records how many were open when it came)
        self.ollama_context: int | None = None
        self.ollama_tools = True
        self.shows: list[dict[str, Any]] = []
        self.lock = threading.Lock()

    def push(self, *steps: dict[str, Any]) -> FakeProvider:
        """Queue what the next requests get, in order."""
        self.script.extend(steps)
        return self

    def push_side(self, *steps: dict[str, Any]) -> FakeProvider:
        """Queue what the next requests that carry no tools get (a compaction's summary, a distillation)."""
        self.side.extend(steps)
        return self

    @property
    def openai_url(self) -> str:
        """The api_base for openai/ models."""
        return f"{self.base}/v1"

    @property
    def ollama_url(self) -> str:
        """The api_base for ollama_chat/ models (litellm appends /api/chat)."""
        return self.base

    @property
    def anthropic_url(self) -> str:
        """The api_base for anthropic/ models (litellm appends /v1/messages)."""
        return self.base

    def __enter__(self) -> FakeProvider:
        provider = self

        class Handler(_Handler):
            fake = provider

        self.server = _Server(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def next_step(self, record: dict[str, Any]) -> dict[str, Any]:
        """Record a request and pop what it gets."""
        with self.lock:
            self.requests.append({**record, "connections": self.connections})
            if self.side and not record.get("body", {}).get("tools"):
                return self.side.popleft()
            return self.script.popleft() if self.script else self.default

    def anthropic_usage(self, body: dict[str, Any], out: int) -> dict[str, Any]:
        """Input, cache-read and cache-write tokens as Anthropic counts them, from the cache_control breakpoints."""
        blocks = _anthropic_blocks(body)
        total, running, prefixes = 0, hashlib.sha256(), []
        for block in blocks:  # the cache key is the content: where the breakpoints sit does not change it
            plain = {k: v for k, v in block.items() if k != "cache_control"} if isinstance(block, dict) else block
            text = json.dumps(plain, sort_keys=True, default=str)
            running.update(text.encode())
            total += _tokens(text)
            if isinstance(block, dict) and block.get("cache_control"):
                prefixes.append((total, running.copy().hexdigest()))
        with self.lock:
            read = max((n for n, h in prefixes if h in self.cache), default=0)
            write = max((n for n, _ in prefixes), default=0) - read
            self.cache.update(h for n, h in prefixes if n >= 1024)  # shorter prefixes are never cached
        if max((n for n, _ in prefixes), default=0) < 1024:
            read = write = 0
        return {"input_tokens": total - read - max(write, 0), "output_tokens": out,
                "cache_creation_input_tokens": max(write, 0), "cache_read_input_tokens": read}

    def openai_usage(self, body: dict[str, Any], out: int) -> dict[str, Any]:
        """prompt_tokens with prompt_tokens_details.cached_tokens: the prefix shared with the previous request."""
        prompt = json.dumps([body.get("tools"), body.get("messages")], default=str)
        with self.lock:
            common = 0
            for a, b in zip(prompt, self.last_prompt, strict=False):
                if a != b:
                    break
                common += 1
            self.last_prompt = prompt
        cached = (_tokens(prompt[:common]) // 128) * 128 if common >= 4096 else 0
        total = _tokens(prompt)
        return {"prompt_tokens": total, "completion_tokens": out, "total_tokens": total + out,
                "prompt_tokens_details": {"cached_tokens": min(cached, total)}}


def _image_outside_user(body: dict[str, Any]) -> int | None:
    """The index of the first non-user message with an image part (OpenAI Chat Completions refuses it)."""
    for i, message in enumerate(body.get("messages") or []):
        content = message.get("content")
        if message.get("role") != "user" and isinstance(content, list) and any(
                isinstance(p, dict) and p.get("type") == "image_url" for p in content):
            return i
    return None


def _anthropic_blocks(body: dict[str, Any]) -> list[Any]:
    """The request as Anthropic caches it: tools, then system, then messages, block by block."""
    blocks: list[Any] = list(body.get("tools") or [])
    system = body.get("system")
    blocks += system if isinstance(system, list) else ([{"type": "text", "text": system}] if system else [])
    for message in body.get("messages") or []:
        content = message.get("content")
        parts = content if isinstance(content, list) else [{"type": "text", "text": content}]
        blocks += [{"role": message.get("role"), **p} if isinstance(p, dict) else p for p in parts]
    return blocks


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    fake: FakeProvider

    def log_message(self, *args: Any) -> None:
        pass

    def setup(self) -> None:
        super().setup()
        with self.fake.lock:
            self.fake.connections += 1

    def finish(self) -> None:
        with self.fake.lock:
            self.fake.connections -= 1
        super().finish()

    def do_POST(self) -> None:  # noqa: N802
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        body = json.loads(raw or b"{}")
        anthropic = self.path.rstrip("/").endswith("/messages")
        if self.path == "/api/show":  # what the server knows of the model (its window): not a completion
            return self._ollama_show(body)
        step = self.fake.next_step({"path": self.path, "headers": {k.lower(): v for k, v in self.headers.items()},
                                    "body": body, "api": "anthropic" if anthropic else "openai"})
        if self.path.startswith("/api/"):  # Ollama's own API (/api/chat; /api/generate is only recorded)
            return self._ollama(step, body)
        if not anthropic and (where := _image_outside_user(body)) is not None:  # as OpenAI refuses it
            role = body["messages"][where]["role"]
            return self._json(400, {"error": {**OPENAI_ERRORS[400], "code": None, "param": f"messages.[{where}]",
                                              "message": f"Invalid 'messages[{where}]'. Image URLs are only allowed "
                                                         "for messages with role 'user', but this message with role "
                                                         f"'{role}' contains an image URL."}})
        if "error" in step or step.get("overflow"):
            return self._error(step, anthropic)
        if "reset_after" in step and not body.get("stream"):
            return self._reset()
        reply = _Reply(step, body, anthropic, self.fake)
        if body.get("stream"):
            return self._stream(reply.events(), step)
        return self._json(200, reply.message())

    def _ollama(self, step: dict[str, Any], body: dict[str, Any]) -> None:
        """/api/chat as Ollama answers it: a message with structured tool calls; NDJSON lines when streaming."""
        calls = [{"function": {"name": c["name"], "arguments": c.get("arguments", {})}} for c in step.get("calls", [])]
        message = {"role": "assistant", "content": step.get("text", ""), **({"tool_calls": calls} if calls else {})}
        counts = {"prompt_eval_count": _tokens(json.dumps(body.get("messages"))), "eval_count": 5}
        head = {"model": body.get("model"), "created_at": "2026-01-01T00:00:00Z"}
        final = {**head, "message": message, "done": True, "done_reason": "stop", **counts}
        if not body.get("stream"):
            return self._json(200, final)
        last = {**head, "message": {"role": "assistant", "content": ""}, "done": True, "done_reason": "stop", **counts}
        return self._stream([json.dumps({**head, "message": message, "done": False}) + "\n", json.dumps(last) + "\n"],
                            step)

    def _ollama_show(self, body: dict[str, Any]) -> None:
        fake = self.fake
        with fake.lock:
            fake.shows.append(body)
        info: dict[str, Any] = {"general.architecture": "qwen2", "general.parameter_count": 7615616512}
        if fake.ollama_context is not None:
            info["qwen2.context_length"] = fake.ollama_context
        self._json(200, {"modelfile": "FROM qwen2.5-coder", "parameters": "", "template": "{{ .Prompt }}",
                         "details": {"family": "qwen2", "parameter_size": "7.6B", "quantization_level": "Q4_K_M"},
                         "model_info": info, "capabilities": ["completion", "tools"] if fake.ollama_tools else
                         ["completion"]})

    def _json(self, status: int, data: dict[str, Any], headers: dict[str, str] | None = None) -> None:
        raw = json.dumps(data).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(raw)

    def _error(self, step: dict[str, Any], anthropic: bool) -> None:
        status = 400 if step.get("overflow") else int(step["error"])
        headers = {"retry-after": str(step["retry_after"])} if "retry_after" in step else {}
        if anthropic:
            body = {"type": "error", "error": ANTHROPIC_ERRORS.get(status, ANTHROPIC_ERRORS[500])}
            headers["request-id"] = "req_011CTest"
        else:
            body = {"error": OPENAI_ERRORS.get(status, OPENAI_ERRORS[500])}
        self._json(status, body, headers)

    def _reset(self) -> None:
        """Close the connection with a TCP RST, as a dropped connection looks to the client."""
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.connection.close()
        self.close_connection = True

    def _stream(self, events: list[str], step: dict[str, Any]) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        for i, event in enumerate(events):
            if i == step.get("reset_after"):
                return self._reset()
            data = event.encode()
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
            self.wfile.flush()
            time.sleep(step.get("delay", 0) + (step.get("stall", 0) if i == 0 else 0))
        self.wfile.write(b"0\r\n\r\n")


class _Reply:
    """One reply in either API's shape, whole or as SSE events."""

    def __init__(self, step: dict[str, Any], body: dict[str, Any], anthropic: bool, fake: FakeProvider):
        self.step, self.body, self.anthropic = step, body, anthropic
        self.text = step.get("text", "")
        self.calls = [dict(c) for c in step.get("calls", [])]
        for i, call in enumerate(self.calls):
            call.setdefault("id", f"toolu_0{i}" if anthropic else f"call_{i}")
            args = call.get("arguments", {})
            call["json"] = args if isinstance(args, str) else json.dumps(args)
        if step.get("finish") == "length":  # a cut reply: the last call's arguments end mid-string
            for call in self.calls[-1:]:
                call["json"] = call["json"][: max(1, len(call["json"]) // 2)]
        out = _tokens(self.text + "".join(c["json"] for c in self.calls) + step.get("thinking", "")) + 5
        usage = fake.anthropic_usage(body, out) if anthropic else fake.openai_usage(body, out)
        self.usage = {**usage, **step.get("usage", {})}
        fake.usages.append(self.usage)

    def finish_reason(self) -> str:
        if self.step.get("finish") == "length":
            return "max_tokens" if self.anthropic else "length"
        if self.calls:
            return "tool_use" if self.anthropic else "tool_calls"
        return "end_turn" if self.anthropic else "stop"

    def message(self) -> dict[str, Any]:
        """The non-streaming response body."""
        if self.anthropic:
            return {"id": "msg_01Test", "type": "message", "role": "assistant", "model": self.body.get("model"),
                    "content": self._blocks(), "stop_reason": self.finish_reason(), "stop_sequence": None,
                    "usage": self.usage}
        message: dict[str, Any] = {"role": "assistant", "content": self.text or None}
        if self.step.get("thinking"):
            message["reasoning_content"] = self.step["thinking"]
        if self.calls:
            message["tool_calls"] = [self._openai_call(c) for c in self.calls]
        return {"id": "chatcmpl-test", "object": "chat.completion", "created": 1, "model": self.body.get("model"),
                "choices": [{"index": 0, "message": message, "finish_reason": self.finish_reason()}],
                "usage": self.usage}

    def _openai_call(self, call: dict[str, Any]) -> dict[str, Any]:
        out = {"type": "function", "function": {"name": call["name"], "arguments": call["json"]}}
        return {"id": call["id"], **out} if call["id"] is not None else out

    def _blocks(self) -> list[dict[str, Any]]:
        blocks: list[dict[str, Any]] = []
        if self.step.get("thinking"):
            blocks.append({"type": "thinking", "thinking": self.step["thinking"], "signature": "sig-" + "A" * 40})
        if self.text:
            blocks.append({"type": "text", "text": self.text})
        for call in self.calls:
            try:
                args = json.loads(call["json"])
            except ValueError:
                args = {}
            blocks.append({"type": "tool_use", "id": call["id"], "name": call["name"], "input": args})
        return blocks

    def events(self) -> list[str]:
        """The SSE events of a streamed reply."""
        return self._anthropic_events() if self.anthropic else self._openai_events()

    def _openai_events(self) -> list[str]:
        base = {"id": "chatcmpl-test", "object": "chat.completion.chunk", "created": 1, "model": self.body.get("model")}
        deltas: list[dict[str, Any]] = [{"role": "assistant", "content": ""}]
        if self.step.get("thinking"):
            deltas.append({"reasoning_content": self.step["thinking"]})
        deltas += [{"content": self.text[i:i + 8]} for i in range(0, len(self.text), 8)]
        for index, call in enumerate(self.calls):
            head = self._openai_call({**call, "json": ""})
            deltas.append({"tool_calls": [{"index": index, **head}]})
            for i in range(0, len(call["json"]), 16):
                deltas.append({"tool_calls": [{"index": index, "function": {"arguments": call["json"][i:i + 16]}}]})
        chunks = [{**base, "choices": [{"index": 0, "delta": d, "finish_reason": None}]} for d in deltas]
        chunks.append({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": self.finish_reason()}]})
        if (self.body.get("stream_options") or {}).get("include_usage"):
            chunks.append({**base, "choices": [], "usage": self.usage})
        return [f"data: {json.dumps(c)}\n\n" for c in chunks] + ["data: [DONE]\n\n"]

    def _anthropic_events(self) -> list[str]:
        start_usage = {**self.usage, "output_tokens": 1}
        events: list[tuple[str, dict[str, Any]]] = [("message_start", {"type": "message_start", "message": {
            "id": "msg_01Test", "type": "message", "role": "assistant", "model": self.body.get("model"), "content": [],
            "stop_reason": None, "stop_sequence": None, "usage": start_usage}})]
        for index, block in enumerate(self._blocks()):
            events += self._anthropic_block(index, block)
        events.append(("message_delta", {"type": "message_delta", "delta": {
            "stop_reason": self.finish_reason(), "stop_sequence": None},
            "usage": {"output_tokens": self.usage["output_tokens"]}}))
        events.append(("message_stop", {"type": "message_stop"}))
        return [f"event: {name}\ndata: {json.dumps(data)}\n\n" for name, data in events]

    def _anthropic_block(self, index: int, block: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
        kind = block["type"]
        empty = {"text": {"type": "text", "text": ""}, "thinking": {"type": "thinking", "thinking": ""},
                 "tool_use": {**block, "input": {}}}[kind]
        out: list[tuple[str, dict[str, Any]]] = [
            ("content_block_start", {"type": "content_block_start", "index": index, "content_block": empty})]
        if kind == "text":
            deltas = [{"type": "text_delta", "text": block["text"][i:i + 8]} for i in range(0, len(block["text"]), 8)]
        elif kind == "thinking":
            deltas = [{"type": "thinking_delta", "thinking": block["thinking"]},
                      {"type": "signature_delta", "signature": block["signature"]}]
        else:
            raw = next(c["json"] for c in self.calls if c["id"] == block["id"])
            deltas = [{"type": "input_json_delta", "partial_json": raw[i:i + 16]} for i in range(0, len(raw), 16)]
        out += [("content_block_delta", {"type": "content_block_delta", "index": index, "delta": d}) for d in deltas]
        out.append(("content_block_stop", {"type": "content_block_stop", "index": index}))
        return out
