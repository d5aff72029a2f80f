"""Context management through the real CLI: capped tool outputs, headless compaction, overflow, cut replies."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from conftest import agent_cli, init_repo
from fake_provider import FakeProvider

from agent.backends.scripted import ScriptedBackend
from agent.chat.conversation import Conversation
from agent.config import load_config
from agent.errors import UsageError
from agent.session import Session

FAST = {"AGENT_BACKEND__RETRY_BASE_S": "0.05", "AGENT_MEMORY__ENABLED": "false", "AGENT_CONTEXT__MAP_TOKENS": "0"}
LINE = "word " * 30  # 150 characters


def call(name: str, **arguments: Any) -> dict[str, Any]:
    return {"name": name, "arguments": arguments}


def events_of(proc: Any) -> list[dict[str, Any]]:
    return [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]


def of_type(events: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [e for e in events if e["type"] == kind]


def scripted_run(repo: Path, replies: list[dict[str, Any]], env: dict[str, str] | None = None) -> Any:
    script = repo.parent / "script.json"
    script.write_text(json.dumps(replies))
    return agent_cli("run", "do the task", "--repo", str(repo), "--model", f"scripted:{script}", "--json",
                     env={**os.environ, **FAST, **(env or {})}, timeout=120)


def provider_run(repo: Path, fp: FakeProvider, *args: str, env: dict[str, str] | None = None) -> Any:
    return agent_cli("run", "do the task", "--repo", str(repo), "--model", "openai/x", "--api-base", fp.openai_url,
                     "--json", *args, env={**os.environ, "OPENAI_API_KEY": "sk-dummy", **FAST, **(env or {})},
                     timeout=120)


def test_every_tool_output_is_capped_with_a_note_on_getting_the_rest(tmp_path: Path) -> None:
    files = {f"pkg/module_number_{i:04d}.py": "" for i in range(1500)}
    files |= {"min.js": "x" * 2_000_000, "log.txt": ("match here " * 10 + "\n") * 2000, "long.txt": (LINE + "\n") * 400}
    repo = init_repo(tmp_path / "repo", files)
    proc = scripted_run(repo, [
        {"tool_calls": [call("read_file", path="min.js")]},
        {"tool_calls": [call("list_files", pattern="*", limit=5000)]},
        {"tool_calls": [call("search", pattern="match", max_results=1000)]},
        {"tool_calls": [call("read_file", path="long.txt")]},
        {"tool_calls": [call("finish", summary="read")]},
    ])
    assert proc.returncode == 0, proc.stderr
    read, listed, found, long = [e["output"] for e in of_type(events_of(proc), "tool_result")][:4]
    assert all(len(out) <= 12_000 + 600 for out in (read, listed, found, long)), [len(o) for o in (read, listed, found)]
    assert "1,997,000 more characters on this line" in read and "cut -c3001-6000 min.js" in read
    assert "more (output capped at 12,000 characters); narrow the pattern" in listed
    assert "more matches (output capped at 12,000 characters); narrow the pattern or path_glob" in found
    shown = long.splitlines()[-1]  # the page stops where the cap does, and says where to go on
    assert shown.startswith("... ") and "read_file(start_line=" in shown
    next_line = int(shown.split("start_line=")[1].split(")")[0])
    assert f"{next_line - 1:>3}| {LINE}" in long and f"{next_line:>3}| " not in long


def test_a_smaller_output_cap_applies_to_every_tool(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "repo", {"a.txt": (LINE + "\n") * 100, "min.js": "y" * 50_000})
    proc = scripted_run(repo, [
        {"tool_calls": [call("read_file", path="a.txt"), call("read_file", path="min.js")]},
        {"tool_calls": [call("finish", summary="read")]},
    ], env={"AGENT_TOOLS__OUTPUT_CHARS": "2000"})
    assert proc.returncode == 0, proc.stderr
    outputs = [e["output"] for e in of_type(events_of(proc), "tool_result")][:2]
    assert all(len(o) <= 2600 for o in outputs), [len(o) for o in outputs]
    assert "read_file(start_line=" in outputs[0] and "more characters on this line" in outputs[1]


def test_cut_replies_are_explained_and_never_count_as_format_errors(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "repo", {"a.py": "x = 1\n"})
    cut = {"finish_reason": "length", "tool_calls": [call("write_file", path="big.py", content="print(1)\n" * 50)]}
    proc = scripted_run(repo, [cut, cut, cut, {"content": "Let me write it in", "finish_reason": "length"},
                               {"tool_calls": [call("write_file", path="big.py", content="print(1)\n")]},
                               {"tool_calls": [call("finish", summary="written in parts")]}])
    assert proc.returncode == 0, proc.stderr
    events = events_of(proc)
    assert of_type(events, "run_finished")[0]["status"] == "done"
    assert not of_type(events, "format_error")  # four cut replies in a row, max_format_errors is 3
    notes = [e["output"] for e in of_type(events, "tool_result") if not e["ok"]]
    assert len(notes) == 3 and all("cut off at the output limit" in n and "in parts" in n for n in notes)
    assert (repo / "big.py").read_text() == "print(1)\n"  # only the whole call ran


def test_headless_run_compacts_near_the_window_keeping_task_and_files(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "repo", {"a.txt": (LINE + "\n") * 13, "b.txt": (LINE + "\n") * 13})
    steps = [{"calls": [{"name": "write_file", "arguments": {"path": "notes.md", "content": "plan: read a and b\n"}}]}]
    steps += [{"calls": [{"name": "read_file", "arguments": {"path": p}}]} for p in ["a.txt", "b.txt"] * 3]
    with FakeProvider() as fp:
        fp.push(*steps)
        fp.push_side(*[{"text": "- plan: read a and b; notes.md written\n- still to do: finish"}] * 6)  # summaries
        proc = provider_run(repo, fp, env={"AGENT_BACKEND__CONTEXT_TOKENS": "4096", "AGENT_CONTEXT__KEEP_STEPS": "2"})
    assert proc.returncode == 0, proc.stderr
    events = events_of(proc)
    compacted = of_type(events, "compacted")
    assert all(c["tokens_after"] < c["tokens_before"] for c in compacted), compacted
    assert "messages of earlier steps (summarised)" in compacted[0]["dropped"][0]
    summarised = [c for c in compacted if c["summary"]]
    assert summarised and summarised[0]["summary"].startswith("- plan: read a and b"), compacted
    summariser = next(r for r in fp.requests if "tools" not in r["body"])
    assert "has grown too long" in summariser["body"]["messages"][0]["content"]
    after = fp.requests[fp.requests.index(summariser) + 1]["body"]["messages"]
    assert after[0]["role"] == "system" and "do the task" in after[1]["content"]  # the task stays
    assert "Summary of your first" in after[2]["content"] and "notes.md" in after[2]["content"]
    before = fp.requests[fp.requests.index(summariser) - 1]["body"]["messages"]
    assert len(after) < len(before) and len(json.dumps(after)) < len(json.dumps(before))  # a step was added since
    assert len(compacted) <= 6
    assert of_type(events, "run_finished")[0]["status"] == "done"


def test_overflow_error_compacts_once_and_retries(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "repo", {"a.txt": (LINE + "\n") * 70})
    reads = [{"calls": [{"name": "read_file", "arguments": {"path": "a.txt"}}]}] * 3
    with FakeProvider() as fp:
        fp.push(*reads, {"overflow": True})
        proc = provider_run(repo, fp, env={"AGENT_CONTEXT__KEEP_STEPS": "1"})
    assert proc.returncode == 0, proc.stderr
    events = events_of(proc)
    assert len(of_type(events, "compacted")) == 1 and of_type(events, "run_finished")[0]["status"] == "done"
    overflowed, retried = fp.requests[3]["body"]["messages"], fp.requests[-1]["body"]["messages"]
    assert len(fp.requests) == 5 and "tools" in fp.requests[-1]["body"]  # folding was enough: no summary call
    assert len(json.dumps(retried)) < len(json.dumps(overflowed)) / 2
    assert "dropped to save context" in json.dumps(retried)


def test_overflow_again_after_compacting_ends_the_run_with_one_line(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "repo", {"a.txt": (LINE + "\n") * 70})
    reads = [{"calls": [{"name": "read_file", "arguments": {"path": "a.txt"}}]}] * 2
    with FakeProvider() as fp:
        fp.push(*reads, {"overflow": True}, {"overflow": True})
        proc = provider_run(repo, fp)
    finished = of_type(events_of(proc), "run_finished")[0]
    assert proc.returncode == 1 and finished["status"] == "error" and len(fp.requests) == 4
    assert "does not fit the model's window" in finished["summary"] and "Traceback" not in proc.stderr


def test_a_task_that_alone_overflows_is_refused_without_a_retry(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "repo", {"a.txt": "x\n"})
    with FakeProvider() as fp:
        fp.push({"overflow": True})
        proc = provider_run(repo, fp)
    finished = of_type(events_of(proc), "run_finished")[0]
    assert proc.returncode == 1 and finished["status"] == "error" and len(fp.requests) == 1
    assert "the task and the latest step alone are" in finished["summary"] and "shorten the task" in finished["summary"]


def test_resume_does_not_replay_an_overflowing_history(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "repo", {"a.txt": (LINE + "\n") * 70})
    reads = [{"calls": [{"name": "read_file", "arguments": {"path": "a.txt"}}]}] * 3
    with FakeProvider() as fp:
        fp.push(*reads)
        first = provider_run(repo, fp, "--worktree", "--max-steps", "3")
        assert first.returncode == 3, first.stderr
        run_id = events_of(first)[0]["run_id"]
        fp.push({"overflow": True}).push_side({"text": "- read a.txt three times"})
        again = agent_cli("run", "--resume", run_id, "--repo", str(repo), "--max-steps", "10", "--json",
                          env={**os.environ, "OPENAI_API_KEY": "sk-dummy", **FAST}, timeout=120)
    assert again.returncode == 0, again.stderr
    events = events_of(again)
    assert events[0]["type"] == "run_resumed" and len(of_type(events, "compacted")) == 1
    assert len(json.dumps(fp.requests[-1]["body"]["messages"])) < len(json.dumps(fp.requests[3]["body"]["messages"]))


def test_chat_folds_a_huge_tool_result_of_the_latest_turn(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "repo", {"big.txt": (LINE + "\n") * 1600})  # 240 KB: 200 KB after the chain's cap
    cfg = load_config(repo, {"context": {"map_tokens": 0}, "memory": {"enabled": False},
                             "tools": {"output_chars": 400_000, "read_lines": 5000}, "chat": {"context_tokens": 40000}})
    replies = [{"tool_calls": [call("read_file", path="big.txt")]}, {"content": "read it"}]
    conv = Conversation(Session(repo, cfg, backend=ScriptedBackend(replies), approve=lambda kind, detail: False))
    seen: list[dict[str, Any]] = []
    conv.turn("read big.txt", seen.append)
    assert any(e["type"] == "compacted" for e in seen)
    assert max(len(str(m.get("content") or "")) for m in conv.messages if m["role"] == "tool") < 10_000
    assert "dropped to save context" in json.dumps(conv.messages)


def provider_conversation(repo: Path, fp: FakeProvider, model: str, **config: Any) -> Conversation:
    """A chat over the real litellm backend, talking to the fake provider."""
    base = fp.anthropic_url if model.startswith("anthropic/") else fp.openai_url
    layers = {"context": {"map_tokens": 0}, "memory": {"enabled": False},
              "backend": {"model": model, "api_base": base, "retry_base_s": 0.05}, **config}
    return Conversation(Session(repo, load_config(repo, layers), approve=lambda kind, detail: False))


@pytest.mark.parametrize("model", ["openai/x", "anthropic/claude-sonnet-4-5"])
def test_chat_overflow_teaches_the_window_compacts_once_and_retries_the_turn(
    tmp_path: Path, model: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-dummy")
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-dummy")
    repo = init_repo(tmp_path / "repo", {"a.txt": (LINE + "\n") * 70})
    with FakeProvider() as fp:
        fp.push({"calls": [{"name": "read_file", "arguments": {"path": "a.txt"}}]}, {"text": "read it"},
                {"overflow": True}, {"text": "still here"})
        conv = provider_conversation(repo, fp, model)
        limit = conv.limit
        assert conv.turn("read a.txt", lambda e: None).status == "done"
        seen: list[dict[str, Any]] = []
        result = conv.turn("what did it say?", seen.append)
    assert result.status == "done" and result.summary == "still here"
    kinds = [e["type"] for e in seen]
    assert kinds.index("context_overflow") < kinds.index("compacted") < kinds.index("model_reply")
    overflow = of_type(seen, "context_overflow")[0]
    assert "does not fit the model's window" in overflow["error"] and overflow["window"] == conv.limit < limit
    overflowed, retried = fp.requests[2]["body"]["messages"], fp.requests[3]["body"]["messages"]
    assert len(fp.requests) == 4 and len(json.dumps(retried)) < len(json.dumps(overflowed)) / 2
    assert "dropped to save context" in json.dumps(retried) and "what did it say?" in json.dumps(retried)


def test_chat_message_that_alone_overflows_is_refused_with_one_line_and_dropped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-dummy")
    repo = init_repo(tmp_path / "repo", {"big.txt": (LINE + "\n") * 400, "a.py": "x = 1\n"})  # ~15k tokens
    with FakeProvider() as fp:
        fp.push({"overflow": True}, {"text": "hello"})
        conv = provider_conversation(repo, fp, "openai/x")  # an unmapped model: 32,768 assumed, the server says less
        with pytest.raises(UsageError, match=r"^this message is ~[\d,]+ tokens .* send less \(or /drop files\)$"):
            conv.turn("summarise @big.txt", lambda e: None)
        assert len(fp.requests) == 1 and conv.turn_starts == [] and [m["role"] for m in conv.messages] == ["system"]
        with pytest.raises(UsageError, match="send less"):  # the learned window refuses it up front now
            conv.turn("and now?", lambda e: None)
        assert len(fp.requests) == 1
        conv.drop([])
        assert conv.turn("hi", lambda e: None).summary == "hello"
    assert "big.txt" not in json.dumps(fp.requests[1]["body"]["messages"])
