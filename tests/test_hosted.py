"""Hosted models through the real CLI against the fake provider: retries, cut replies, keys, reasoning, caching."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import pytest
from conftest import ROOT, agent_cli, init_repo
from fake_provider import FakeProvider

FAST = {"AGENT_BACKEND__RETRY_BASE_S": "0.05", "AGENT_MEMORY__ENABLED": "false", "AGENT_CONTEXT__MAP_TOKENS": "0"}
CLAUDE = "anthropic/claude-sonnet-4-5"


def run(repo: Path, fp: FakeProvider, model: str, *args: str,
        env: dict[str, str] | None = None) -> tuple[Any, list[dict[str, Any]]]:
    """`agent run --json` against the fake provider; returns the process and its events."""
    base = fp.anthropic_url if model.startswith("anthropic/") else fp.openai_url
    full_env = {**os.environ, "OPENAI_API_KEY": "sk-openai-dummy", **FAST, **(env or {})}
    proc = agent_cli("run", "do the task", "--repo", str(repo), "--model", model, "--api-base", base, "--json", *args,
                     env=full_env, timeout=120)
    events = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    return proc, events


def of_type(events: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [e for e in events if e["type"] == kind]


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return init_repo(tmp_path / "repo", {"a.py": "x = 1\n"})


def test_openai_429_500_and_reset_are_retried_with_events(repo: Path) -> None:
    with FakeProvider() as fp:
        fp.push({"error": 429, "retry_after": 1}, {"error": 500}, {"reset_after": 3})
        proc, events = run(repo, fp, "openai/x")
    assert proc.returncode == 0, proc.stderr
    retries = of_type(events, "retry")
    assert [r["reason"] for r in retries] == ["rate limited", "server error", "stream dropped"]
    assert [(r["attempt"], r["of"]) for r in retries] == [(1, 6), (2, 6), (3, 6)]
    assert 1.0 <= retries[0]["delay_s"] <= 1.2  # Retry-After honoured
    assert retries[1]["delay_s"] <= 0.1  # exponential from retry_base_s, with jitter
    assert len(fp.requests) == 4  # the SDK's own hidden retries are off: every request is one of ours
    assert of_type(events, "run_finished")[0]["status"] == "done"


def test_anthropic_overloaded_twice_then_done_with_its_own_key(repo: Path) -> None:
    with FakeProvider() as fp:
        fp.push({"error": 529}, {"error": 529})
        proc, events = run(repo, fp, CLAUDE, env={"ANTHROPIC_API_KEY": "sk-ant-real"})
    assert proc.returncode == 0, proc.stderr
    assert [r["reason"] for r in of_type(events, "retry")] == ["overloaded", "overloaded"]
    headers = [r["headers"] for r in fp.requests]
    assert all(h.get("x-api-key") == "sk-ant-real" and "authorization" not in h for h in headers)
    assert all("sk-openai-dummy" not in json.dumps(h) for h in headers)  # the OpenAI key stays home


def test_retries_run_out_and_the_run_ends_error(repo: Path) -> None:
    with FakeProvider() as fp:
        fp.push(*[{"error": 429, "retry_after": 0}] * 3)
        proc, events = run(repo, fp, "openai/x", env={"AGENT_BACKEND__RETRIES": "2"})
    assert len(fp.requests) == 3 and len(of_type(events, "retry")) == 2
    assert of_type(events, "run_finished")[0]["status"] == "error" and proc.returncode == 1


def test_stalled_stream_hits_the_idle_timeout_and_is_retried(repo: Path) -> None:
    with FakeProvider() as fp:
        fp.push({"stall": 5, "text": "never mind"})
        proc, events = run(repo, fp, "openai/x", env={"AGENT_BACKEND__STREAM_IDLE_S": "0.5"})
    assert proc.returncode == 0, proc.stderr
    assert of_type(events, "retry")[0]["reason"] in ("timed out", "stream dropped", "connection failed")
    assert len(fp.requests) == 2


def test_bad_key_is_one_line_exit_2_and_never_retried(repo: Path) -> None:
    with FakeProvider() as fp:
        fp.push({"error": 401})
        proc, events = run(repo, fp, "openai/x")
    assert len(fp.requests) == 1 and not of_type(events, "retry")
    assert proc.returncode == 2
    assert "refused the API key" in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    assert "Traceback" not in proc.stderr


def test_cut_reply_is_explained_and_the_model_goes_on(repo: Path) -> None:
    big = {"path": "big.py", "content": "print('line')\n" * 400}
    with FakeProvider() as fp:
        fp.push({"finish": "length", "calls": [{"name": "write_file", "arguments": big}]})
        proc, events = run(repo, fp, "openai/x")
    assert proc.returncode == 0, proc.stderr
    assert fp.requests[0]["body"]["max_tokens"] == 4096  # an unmapped model: not the old fixed 1,024
    told = json.dumps(fp.requests[1]["body"]["messages"])
    assert "cut off at the output limit (4096 tokens)" in told and "in parts" in told
    assert of_type(events, "model_reply")[0]["finish_reason"] == "length"
    assert not (repo / "big.py").exists()  # the cut call is never run


@pytest.mark.parametrize("api_base", ["not a url", "ftp://host/v1", "http://"])
def test_api_base_not_a_url(repo: Path, api_base: str) -> None:
    proc = agent_cli("run", "t", "--repo", str(repo), "--model", "openai/x", "--api-base", api_base,
                     env={**os.environ, **FAST})
    assert proc.returncode == 2 and "is not an http(s) URL" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_api_key_env_sends_that_key_and_a_missing_one_is_refused(repo: Path) -> None:
    with FakeProvider() as fp:
        proc, _ = run(repo, fp, "openai/x", "--api-key-env", "MY_SERVER_KEY", env={"MY_SERVER_KEY": "sk-mine"})
        assert proc.returncode == 0, proc.stderr
        assert fp.requests[0]["headers"]["authorization"] == "Bearer sk-mine"
        proc, _ = run(repo, fp, "openai/x", "--api-key-env", "UNSET_KEY_XYZ")
        assert proc.returncode == 2 and "UNSET_KEY_XYZ" in proc.stderr and len(fp.requests) == 1


def test_repo_config_pointing_elsewhere_sends_nothing(repo: Path) -> None:
    with FakeProvider() as fp:
        (repo / ".agent").mkdir()
        (repo / ".agent" / "config.toml").write_text(f'[backend]\nmodel = "openai/x"\napi_base = "{fp.openai_url}"\n')
        proc = agent_cli("run", "t", "--repo", str(repo), env={**os.environ, **FAST, "OPENAI_API_KEY": "sk-secret"})
    assert proc.returncode == 2 and "backend.api_base" in proc.stderr
    assert fp.requests == []


def test_reasoning_model_gets_no_temperature_and_its_effort(repo: Path) -> None:
    with FakeProvider() as fp:
        proc, _ = run(repo, fp, "openai/o4-mini", "--reasoning-effort", "high")
    assert proc.returncode == 0, proc.stderr
    body = fp.requests[0]["body"]
    assert "temperature" not in body and body["reasoning_effort"] == "high"


def test_claude_thinking_kept_verbatim_caching_and_no_placeholder(repo: Path) -> None:
    with FakeProvider() as fp:
        read = {"name": "read_file", "arguments": {"path": "a.py"}}
        fp.push({"thinking": "Let me look at a.py first.", "calls": [read]}, {"calls": [read]})
        proc, events = run(repo, fp, CLAUDE, "--thinking-tokens", "2048", env={"ANTHROPIC_API_KEY": "k"})
    assert proc.returncode == 0, proc.stderr
    first, second = (r["body"] for r in fp.requests[:2])
    assert first["thinking"] == {"type": "enabled", "budget_tokens": 2048} and "temperature" not in first
    assistant = next(m for m in second["messages"] if m["role"] == "assistant")
    assert assistant["content"][0] == {"type": "thinking", "thinking": "Let me look at a.py first.",
                                       "signature": "sig-" + "A" * 40}
    assert "Empty message content" not in json.dumps([r["body"] for r in fp.requests])
    # cache breakpoints: the last tool, the system prompt, and the latest message
    assert first["tools"][-1].get("cache_control") == {"type": "ephemeral"}
    assert first["system"][-1].get("cache_control") == {"type": "ephemeral"}
    assert second["messages"][-1]["content"][-1]["type"] == "tool_result"
    assert second["messages"][-1]["content"][-1].get("cache_control") == {"type": "ephemeral"}
    finished = of_type(events, "run_finished")[0]
    replies = of_type(events, "model_reply")
    assert replies[0]["cache_write_tokens"] > 0 and replies[1]["cache_read_tokens"] > 0
    assert finished["cache_read_tokens"] == sum(r["cache_read_tokens"] for r in replies) > 0


def test_parallel_calls_without_ids_each_get_their_result(repo: Path) -> None:
    with FakeProvider() as fp:
        fp.push({"calls": [{"name": "read_file", "arguments": {"path": "a.py"}, "id": None},
                           {"name": "read_file", "arguments": {"path": "a.py"}, "id": None}]})
        proc, events = run(repo, fp, "openai/x")
    assert proc.returncode == 0, proc.stderr
    results = of_type(events, "tool_result")
    assert len(results) >= 2 and results[0]["ok"] and results[1]["ok"] and results[0]["id"] != results[1]["id"]
    tool_ids = [m["tool_call_id"] for m in fp.requests[1]["body"]["messages"] if m["role"] == "tool"]
    assert len(set(tool_ids)) == 2


def test_a_budget_on_a_model_without_a_price_is_refused_and_nothing_sent(repo: Path) -> None:
    with FakeProvider() as fp:
        proc, _ = run(repo, fp, "openai/my-vllm-model", "--budget-usd", "0.000001")
        assert proc.returncode == 2 and "has no known price" in proc.stderr and fp.requests == []
        assert len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr
        priced = {"AGENT_BACKEND__INPUT_PRICE": "1", "AGENT_BACKEND__OUTPUT_PRICE": "2"}
        proc, events = run(repo, fp, "openai/my-vllm-model", "--budget-usd", "1", env=priced)
    assert proc.returncode == 0, proc.stderr
    assert of_type(events, "run_finished")[0]["cost_usd"] > 0


def test_a_step_whose_prompt_alone_would_cross_the_budget_is_not_started(repo: Path) -> None:
    pricey = {"AGENT_BACKEND__INPUT_PRICE": "1000", "AGENT_BACKEND__OUTPUT_PRICE": "1000"}  # $0.001 a token
    with FakeProvider() as fp:
        proc, events = run(repo, fp, "openai/my-vllm-model", "--budget-usd", "0.5", env=pricey)
    finished = of_type(events, "run_finished")[0]
    assert proc.returncode == 3 and finished["status"] == "limits" and fp.requests == []
    assert "the next step's prompt alone" in finished["summary"]


def test_ollama_as_the_readme_shows_it_uses_api_chat_with_num_ctx_and_real_tool_calls(repo: Path) -> None:
    with FakeProvider() as fp:
        fp.push({"calls": [{"name": "read_file", "arguments": {"path": "a.py"}}]})
        proc = agent_cli("run", "do the task", "--repo", str(repo), "--model", "ollama/qwen2.5-coder", "--api-base",
                         fp.ollama_url, "--json", env={**os.environ, **FAST}, timeout=120)
    assert proc.returncode == 0, proc.stderr
    events = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    assert [r["path"] for r in fp.requests] == ["/api/chat", "/api/chat"]  # never /api/generate
    body = fp.requests[0]["body"]
    assert body["options"]["num_ctx"] == 16384 and body["tools"][0]["function"]["name"] == "read_file"
    assert "'type': 'function'" not in json.dumps(body["messages"])  # tools are not pasted into the prompt as text
    assert of_type(events, "tool_result")[0]["output"].startswith("a.py (lines 1-1 of 1)")
    assert of_type(events, "run_finished")[0]["status"] == "done"


def test_text_tool_calls_for_a_model_without_native_ones(repo: Path) -> None:
    block = '```json\n{"name": "read_file", "arguments": {"path": "a.py"}}\n```'
    with FakeProvider() as fp:
        fp.push({"text": f"I will read it.\n{block}"},
                {"text": '```json\n{"name": "read_file", "arguments": [1]}\n```'}, {"text": "```json\n{not json\n```"},
                {"text": 'Done.\n```json\n{"name": "finish", "arguments": {"summary": "read a.py"}}\n```'})
        proc, events = run(repo, fp, "openai/x", env={"AGENT_BACKEND__TOOL_FORMAT": "text"})
    assert proc.returncode == 0, proc.stderr
    assert all("tools" not in r["body"] for r in fp.requests)
    system = fp.requests[0]["body"]["messages"][0]["content"]
    assert "fenced blocks" in system and '"path"' in system  # the tools and their schemas, described as text
    assert of_type(events, "tool_result")[0]["output"].startswith("a.py (lines 1-1 of 1)")
    assert [e["in_a_row"] for e in of_type(events, "format_error")] == [1, 2]  # strict parsing, the same feedback
    second = fp.requests[1]["body"]["messages"]
    assert {m["role"] for m in second} == {"system", "user", "assistant"}  # results come back as user turns
    assert block in second[2]["content"] and "x = 1" in second[3]["content"]
    assert of_type(events, "run_finished")[0]["status"] == "done"


def test_each_streamed_reply_releases_its_connection(repo: Path) -> None:
    # litellm leaves an Anthropic stream's response open; the garbage collector closing it inside the next
    # request deadlocked httpcore's pool (a 40-step run hung at a random step): each reply is closed when read
    reads = [{"calls": [{"name": "read_file", "arguments": {"path": "a.py"}}]}] * 8
    with FakeProvider() as fp:
        fp.push(*reads)
        proc, events = run(repo, fp, CLAUDE, env={"ANTHROPIC_API_KEY": "k"})
    assert proc.returncode == 0, proc.stderr
    assert len(fp.requests) == 9 and of_type(events, "run_finished")[0]["status"] == "done"
    assert max(r["connections"] for r in fp.requests) <= 3, [r["connections"] for r in fp.requests]  # was 1..9


def chat_over(repo: Path, fp: FakeProvider, loop: dict[str, Any], env: dict[str, str] | None = None) -> Any:
    """A chat (the conversation object the REPL drives) over an unmapped, priced model on the fake provider."""
    from agent.chat.conversation import Conversation
    from agent.config import load_config
    from agent.session import Session

    layers = {"context": {"map_tokens": 0}, "memory": {"enabled": False}, "loop": loop,
              "backend": {"model": "openai/my-vllm-model", "api_base": fp.openai_url, "input_price": 1.0,
                          "output_price": 100.0}}
    return Conversation(Session(repo, load_config(repo, layers, environ=env or {}), approve=lambda k, d: False))


def test_chat_budgets_hold_for_the_whole_session_not_each_turn(repo: Path) -> None:
    from agent.errors import UsageError

    with FakeProvider() as fp:
        fp.push({"text": "one"}, {"text": "two"}, {"text": "three"})
        conv = chat_over(repo, fp, {})
        first = conv.turn("hello", lambda e: None)
        cost = conv.cost_usd  # one reply: the prompt at $1/M and the answer at $100/M
        assert first.summary == "one" and cost > 0
        conv = chat_over(repo, fp, {"budget_usd": cost * 1.5})
        assert conv.turn("hello", lambda e: None).status == "done"  # the first turn fits
        second = conv.turn("and again", lambda e: None)  # its prompt alone would take the session past the budget
        assert second.status == "limits" and "would take the run past" in second.summary
        assert len(fp.requests) == 2
        conv = chat_over(repo, fp, {"budget_usd": cost * 0.9})
        assert conv.turn("hello", lambda e: None).status == "done"  # spent while answering: over the budget now
        with pytest.raises(UsageError, match=r"^this chat session's cost budget is spent \(\$0\.\d+ of \$"):
            conv.turn("more", lambda e: None)
        assert len(fp.requests) == 3 and conv.turn_starts == [1]  # refused before anything was sent or kept
        conv = chat_over(repo, fp, {"max_tokens": 10})
        assert conv.turn("hello", lambda e: None).status == "done"
        with pytest.raises(UsageError, match=r"^this chat session's token budget is spent \([\d,]+ of 10\)"):
            conv.turn("more", lambda e: None)
        assert len(fp.requests) == 4


def test_chat_max_steps_bounds_each_request(repo: Path) -> None:
    read = {"calls": [{"name": "read_file", "arguments": {"path": "a.py"}}]}
    with FakeProvider() as fp:
        fp.push(read, {"text": "one"}, read, {"text": "two"}, read, read)
        conv = chat_over(repo, fp, {"max_steps": 2})
        assert [conv.turn(t, lambda e: None).status for t in ("a", "b")] == ["done", "done"]
        third = conv.turn("c", lambda e: None)
    assert third.status == "limits" and third.summary == "step limit reached (2)" and len(fp.requests) == 6


def test_chat_in_a_pty_shows_the_overflow_retry_and_holds_its_session_budget(repo: Path) -> None:
    import pexpect

    (repo / "a.txt").write_text(("word " * 30 + "\n") * 70)
    priced = {"AGENT_BACKEND__INPUT_PRICE": "1", "AGENT_BACKEND__OUTPUT_PRICE": "100000"}  # $0.1 per output token
    env = {**os.environ, **FAST, **priced, "OPENAI_API_KEY": "sk-dummy", "PYTHONPATH": str(ROOT / "src"),
           "PROMPT_TOOLKIT_NO_CPR": "1", "TERM": "xterm-256color"}
    with FakeProvider() as fp:
        fp.push({"calls": [{"name": "read_file", "arguments": {"path": "a.txt"}}]}, {"text": "read it"},
                {"overflow": True}, {"text": "still here"})
        args = ["-m", "agent", "chat", "--model", "openai/x", "--api-base", fp.openai_url, "--budget-usd", "2"]
        child = pexpect.spawn(sys.executable, args, cwd=str(repo), env=env, encoding="utf-8", timeout=60,
                              dimensions=(40, 140))
        child.logfile_read = (repo.parent / "screen.log").open("a")
        child.expect("›")
        child.sendline("read a.txt")
        child.expect("read it")
        child.sendline("what did it say?")
        child.expect("the prompt overflowed the model's window")
        child.expect("compacting and retrying")
        child.expect("context compacted")
        child.expect("still here")
        child.sendline("and now?")  # two turns of 15 and 7 output tokens: over $2 for the session
        child.expect("chat session's cost budget is spent")  # rich colours the figures: matched loosely
        child.sendline("/exit")
        child.expect(pexpect.EOF)
    assert len(fp.requests) == 4


def test_the_distillation_call_counts_in_the_reported_cost(repo: Path) -> None:
    priced = {"AGENT_BACKEND__INPUT_PRICE": "3", "AGENT_BACKEND__OUTPUT_PRICE": "15", "AGENT_MEMORY__ENABLED": "true"}
    with FakeProvider() as fp:
        fp.push({"calls": [{"name": "read_file", "arguments": {"path": "a.py"}}]})
        fp.push_side({"text": '["The module a.py holds the setting x."]'})  # the distillation's reply
        proc, events = run(repo, fp, "openai/my-vllm-model", env=priced)
    assert proc.returncode == 0, proc.stderr
    distilled = [r for r in fp.requests if "tools" not in r["body"]]
    assert len(fp.requests) == 3 and len(distilled) == 1 and of_type(events, "memory_distilled")[0]["notes"]
    price = [(u["prompt_tokens"] * 3 + u["completion_tokens"] * 15) / 1e6 for u in fp.usages]
    finished = of_type(events, "run_finished")[0]
    assert finished["cost_usd"] == round(sum(price), 6)  # the two steps and the distillation, at the known prices
    assert round(sum(r["cost_usd"] for r in of_type(events, "model_reply")), 6) == round(sum(price[:2]), 6)


def ollama_run(repo: Path, fp: FakeProvider, env: dict[str, str]) -> tuple[Any, list[dict[str, Any]]]:
    proc = agent_cli("run", "do the task", "--repo", str(repo), "--model", "ollama/qwen2.5-coder", "--api-base",
                     fp.ollama_url, "--json", env={**os.environ, **FAST, **env}, timeout=120)
    return proc, [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]


@pytest.mark.parametrize(("trained", "env", "num_ctx"), [
    (8192, {}, 8192),  # the model's own window, from the server it runs on
    (131072, {}, 32768),  # capped: Ollama would reserve the KV cache of the whole window
    (131072, {"AGENT_BACKEND__NUM_CTX": "65536"}, 65536),  # the cap is backend.num_ctx
    (4096, {"AGENT_BACKEND__NUM_CTX": "65536"}, 4096),  # never past what the model was trained for
])
def test_ollama_num_ctx_is_the_models_window_from_api_show(
    repo: Path, trained: int, env: dict[str, str], num_ctx: int
) -> None:
    with FakeProvider() as fp:
        fp.ollama_context = trained
        proc, events = ollama_run(repo, fp, env)
    assert proc.returncode == 0, proc.stderr
    assert {"model": "qwen2.5-coder"} in fp.shows  # asked of the server the run talks to, not localhost:11434
    assert all(r["body"]["options"]["num_ctx"] == num_ctx for r in fp.requests)
    assert of_type(events, "run_finished")[0]["status"] == "done"


def test_ollama_with_context_tokens_configured_asks_nothing_and_a_model_without_tools_gets_text_calls(
    repo: Path
) -> None:
    finish = '```json\n{"name": "finish", "arguments": {"summary": "ok"}}\n```'
    with FakeProvider() as fp:
        fp.ollama_context = 131072
        proc, _ = ollama_run(repo, fp, {"AGENT_BACKEND__CONTEXT_TOKENS": "4096"})
        assert proc.returncode == 0, proc.stderr
        assert {"model": "qwen2.5-coder"} not in fp.shows  # (litellm asks on its own, with {"name": ...})
        assert fp.requests[0]["body"]["options"]["num_ctx"] == 4096
        fp.ollama_tools = False  # /api/show: the model's template takes no tools
        fp.push({"text": finish})
        proc, events = ollama_run(repo, fp, {})
    assert proc.returncode == 0, proc.stderr
    body = fp.requests[-1]["body"]
    assert "tools" not in body and "fenced blocks" in body["messages"][0]["content"]
    assert of_type(events, "run_finished")[0]["status"] == "done"


def test_the_system_prompt_tells_the_model_what_this_run_may_do(repo: Path) -> None:
    with FakeProvider() as fp:
        run(repo, fp, "openai/x")
        run(repo, fp, "openai/x", "--yes", "--allow-test-edits")
    strict, free = (r["body"]["messages"][0]["content"] for r in fp.requests)
    assert "fresh bash in the repository root" in strict and "stopped after 120 s" in strict
    assert "nobody can approve a command" in strict and "Edits to test files" in strict
    assert "fresh bash" in free and "nobody can approve" not in free and "Edits to test files" not in free
    tools = {t["function"]["name"]: t["function"]["description"] for t in fp.requests[0]["body"]["tools"]}
    assert "fresh shell each call" in tools["run_shell"]
    assert "exactly one tool call" not in json.dumps(fp.requests)  # a short thought before the calls is asked for


def test_chat_budget_on_a_model_without_a_price_is_refused_up_front(repo: Path) -> None:
    import pexpect

    env = {**os.environ, **FAST, "PYTHONPATH": str(ROOT / "src"), "PROMPT_TOOLKIT_NO_CPR": "1", "TERM": "xterm"}
    with FakeProvider() as fp:
        args = ["-m", "agent", "chat", "--model", "openai/my-vllm-model", "--api-base", fp.openai_url,
                "--budget-usd", "1"]
        child = pexpect.spawn(sys.executable, args, cwd=str(repo), env=env, encoding="utf-8", timeout=60)
        child.expect("has no known price, so a cost budget cannot hold")
        child.expect(pexpect.EOF)
        child.close()
    assert child.exitstatus == 2 and fp.requests == []
