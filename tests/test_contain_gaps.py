"""Containment, continued: reads limited by the sandbox, per-command network approval, a kill after a commit,
huge tool arguments. Through the real CLI with the hostile scripted model, a decoy folder and a loopback listener."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import git, init_repo
from test_contain import FINISH, NEEDS_SANDBOX, SECRET, agent, call, env, listener, results, script, world
from test_repl import PROMPT, finish, spawn

from agent.config import load_config
from agent.errors import UsageError

__all__ = ["listener", "world"]  # the fixtures


@NEEDS_SANDBOX
def test_reads_outside_the_allowlist_are_denied_inside_the_sandbox(world: tuple[Path, Path], tmp_path: Path) -> None:
    repo, decoy = world
    home = tmp_path / "home"
    (home / ".config" / "git").mkdir(parents=True)
    (home / "somefile").write_text(SECRET + "\n")
    (home / "extra").mkdir()
    (home / "extra" / "allowed.txt").write_text("readable by config\n")
    (decoy / ".env").write_text(f"TOKEN={SECRET}\n")
    user_config = tmp_path / "xdg" / "agent" / "config.toml"
    user_config.parent.mkdir(parents=True)
    user_config.write_text("[sandbox]\nreadable = ['~/extra']\n")
    py = sys.executable
    hostile = [
        f"{py} -c \"print(open('../decoy/.env').read())\"",
        f"{py} -c \"print(open('{home}/somefile').read())\"",
        f"{py} -c \"import os; print(os.listdir('{home}'))\"",
        f"{py} -c \"import os; print(os.listdir('..'))\"",
    ]
    fine = [
        f"{py} -c \"print(open('calc.py').read())\"",
        "git log --oneline && git status --short",
        f"{py} -c \"print(open('{home}/extra/allowed.txt').read())\"",
    ]
    replies = [*(call("run_shell", command=c) for c in hostile + fine), call("run_tests"), FINISH]
    environ = env(HOME=str(home), XDG_CONFIG_HOME=str(user_config.parent.parent))
    proc, events = agent(repo, replies, "--yes", environ=environ)
    got = results(events)
    heads = [r["output"].splitlines()[0] for r in got]
    assert heads[: len(hostile)] == ["exit code 1"] * len(hostile), [r["output"][-120:] for r in got]
    assert all("PermissionError" in r["output"] for r in got[: len(hostile)])
    assert heads[len(hostile): -1] == ["exit code 0"] * len(fine), [r["output"][:200] for r in got]
    assert "return a - b" in got[len(hostile)]["output"] and "readable by config" in got[-2]["output"]
    assert "1 failed" in got[-1]["output"]  # pytest ran in the repository and found the bug
    assert SECRET not in proc.stdout and SECRET not in json.dumps(events)


def test_huge_tool_arguments_are_a_format_error_and_the_log_stays_small(world: tuple[Path, Path]) -> None:
    repo, _ = world
    huge = call("write_file", path="big.txt", content="x" * 10_000_000)
    large = call("write_file", path="large.txt", content="y" * 600_000)  # under the 1 MB cap: written whole
    started = time.monotonic()
    proc, events = agent(repo, [huge, large, FINISH], "--yes", timeout=120)
    assert time.monotonic() - started < 30
    errors = [e for e in events if e["type"] == "format_error"]
    assert len(errors) == 1 and "10000034 characters long; the limit is 1000000" in errors[0]["error"]
    assert not (repo / "big.txt").exists() and (repo / "large.txt").read_text() == "y" * 600_000
    assert events[-1]["type"] == "run_finished"
    log = repo / ".agent" / "runs" / events[0]["run_id"] / "events.jsonl"
    assert log.stat().st_size < 1_000_000
    assert max(len(line) for line in log.read_text().splitlines()) < 300_000
    assert "characters cut from the log" in log.read_text()


@NEEDS_SANDBOX
def test_a_network_command_is_asked_about_and_denied_headless(world: tuple[Path, Path],
                                                              listener: tuple[int, list[bytes]]) -> None:
    repo, _ = world
    port, got = listener
    fetch = call("run_shell", command=f"curl -s -m 5 http://127.0.0.1:{port}/headless")
    proc, events = agent(repo, [fetch, FINISH])
    result = results(events)[0]
    assert not result["ok"] and "needs the network: allow network for this command?" in result["output"]
    time.sleep(0.5)
    assert got == []


@NEEDS_SANDBOX
def test_an_approved_network_command_gets_the_network_and_only_it(world: tuple[Path, Path],
                                                                 listener: tuple[int, list[bytes]]) -> None:
    repo, _ = world
    port, got = listener
    sneak = (f"{sys.executable} -c \"import socket; socket.create_connection(('127.0.0.1', {port}), 2)"
             ".sendall(b'SNEAK')\"")
    fetch = call("run_shell", command=f"curl -s -m 5 http://127.0.0.1:{port}/approved")
    proc, events = agent(repo, [call("run_shell", command=sneak), fetch, FINISH], "--yes")
    sneaked, fetched = results(events)
    assert "exit code 1" in sneaked["output"]  # approved, but not a network command: no network inside
    assert fetched["ok"] and "exit code" in fetched["output"]
    deadline = time.monotonic() + 5
    while not got and time.monotonic() < deadline:
        time.sleep(0.1)
    assert len(got) == 1 and got[0].startswith(b"GET /approved")


def test_a_kill_after_a_commit_does_not_replay_the_step_on_resume(world: tuple[Path, Path]) -> None:
    repo, _ = world
    both = {"tool_calls": [
        {"name": "run_shell", "arguments": {"command": "echo once >> notes.txt"}},
        {"name": "run_shell", "arguments": {"command": "echo ran >> .count; touch started; sleep 30"}},
        {"name": "run_shell", "arguments": {"command": "echo never >> notes.txt"}},
    ]}
    fix = call("edit_file", edits=[{"path": "calc.py", "old": "a - b", "new": "a + b"}])
    argv = [sys.executable, "-m", "agent", "run", "the task", "--repo", str(repo), "--json", "--yes",
            "--model", f"scripted:{script(repo, [both, fix, FINISH])}"]
    proc = subprocess.Popen(argv, env=env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not (repo / "started").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.kill()  # kill -9 in the step's second call: the first one's change is committed, the step not finished
    out, _ = proc.communicate(timeout=60)
    run_id = json.loads(out.splitlines()[0])["run_id"]
    assert "once" in git(repo, "show", "HEAD:notes.txt")
    argv = [sys.executable, "-m", "agent", "run", "--resume", run_id, "--repo", str(repo), "--json", "--yes"]
    resumed = subprocess.run(argv, capture_output=True, text=True, env=env(), timeout=240)
    assert "Traceback" not in resumed.stderr
    events = [json.loads(line) for line in resumed.stdout.splitlines() if line.startswith("{")]
    assert [r["name"] for r in results(events)] == ["edit_file"]  # nothing of the first step ran again
    assert (repo / "notes.txt").read_text() == "once\n" and (repo / ".count").read_text() == "ran\n"
    assert events[-1]["status"] == "done" and events[-1]["verified"] is True
    saved = json.loads((repo / ".agent" / "runs" / run_id / "checkpoint.json").read_text())
    told = [m["content"] for m in saved["messages"] if m.get("role") == "tool"][:3]
    assert told[0].startswith("exit code 0") and "stopped while this call ran" in told[1]
    assert told[2].startswith("Not run: the run was stopped before this call")


def test_a_repository_cannot_grant_itself_network_or_reads(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "hostile", {".agent/config.toml": (
        "[permissions]\nnetwork = 'allow'\n[tools]\nargument_chars = 5000\n")})
    config = load_config(repo, environ={})
    assert config.permissions.network == "ask" and config.tools.argument_chars == 5000
    reads = init_repo(tmp_path / "reads", {".agent/config.toml": "[sandbox]\nreadable = ['/']\n"})
    with pytest.raises(UsageError, match="sandbox.readable"):
        load_config(reads, environ={})
    strict = init_repo(tmp_path / "strict", {".agent/config.toml": "[permissions]\nnetwork = 'deny'\n"})
    assert load_config(strict, environ={}).permissions.network == "deny"


@NEEDS_SANDBOX
def test_chat_asks_to_allow_the_network_and_a_yes_lets_that_command_reach_it(
    world: tuple[Path, Path], listener: tuple[int, list[bytes]]
) -> None:
    repo, _ = world
    port, got = listener
    child = spawn(repo, [call("run_shell", command=f"curl -s -m 5 http://127.0.0.1:{port}/chat"),
                         {"content": "fetched"}])
    child.expect(PROMPT)
    child.sendline("fetch it")
    child.expect(r"\(may use the network; yes: this command alone")
    child.sendline("y")
    child.expect("fetched")
    assert finish(child) == 0
    assert len(got) == 1 and got[0].startswith(b"GET /chat")
