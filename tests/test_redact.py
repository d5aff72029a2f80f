"""Secrets in files, command output and the environment never reach the model or the logs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import init_repo

from agent import redact as redact_module
from agent.backends.scripted import ScriptedBackend
from agent.config import AgentConfig
from agent.errors import ToolError
from agent.redact import Redactor, redact, refuse_placeholders
from agent.session import Session
from agent.trajectory import read_events

AWS = "AKIAIOSFODNN7EXAMPLE"
GITHUB = "ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8"
ENV_VALUE = "hunter2-very-long-db-password"
PEM = "-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA1234\nabcdEFGH\n-----END RSA PRIVATE KEY-----"


@pytest.fixture(autouse=True)
def fresh_redactor(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MY_DB_PASSWORD", ENV_VALUE)
    monkeypatch.setenv("PWD_LIKE_HARMLESS", "x")
    redact_module.reset()
    yield
    redact_module.reset()


@pytest.mark.parametrize(
    "secret",
    [
        AWS,
        GITHUB,
        "sk-ant-api03-" + "x" * 40,
        "sk-proj-" + "A1b2" * 10,
        "xoxb-123456789012-abcdefghijkl",
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
        "hf_" + "abcdefghijklmnopqrstuvwxyz1234",
        "AIza" + "SyA-1234567890abcdefghijklmnopqrstu",
    ],
)
def test_token_formats_are_redacted(secret: str) -> None:
    out = redact(f"config: token = {secret} # end")
    assert secret not in out and "[REDACTED:" in out and out.startswith("config: token = ") and out.endswith(" # end")


def test_env_values_private_keys_and_urls() -> None:
    text = f"db={ENV_VALUE}\n{PEM}\nremote = https://user:s3cretpass@example.com/repo.git\nafter"
    out = redact(text)
    for secret in (ENV_VALUE, "MIIEpAIBAAKCAQEA1234", "s3cretpass"):
        assert secret not in out
    assert "[REDACTED:env MY_DB_PASSWORD]" in out and out.endswith("after")


def test_ordinary_text_is_left_alone() -> None:
    text = "def add(a, b):\n    return a + b  # commit 3f9a2c1d, ip 8.8.8.8, PWD=/home/me\n"
    assert redact(text) == text
    assert Redactor(environ={"PATH": "/usr/bin:/bin", "PWD": "/home/someone/project"}).values == []


def test_placeholders_are_not_written_back() -> None:
    with pytest.raises(ToolError, match="placeholder"):
        refuse_placeholders("key = [REDACTED:AWS Access Key]\n", f"key = {AWS}\n")
    refuse_placeholders("ok", "ok")


def test_secrets_stay_out_of_observations_and_the_trajectory(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "repo", {"settings.py": f"AWS_KEY = '{AWS}'\nGH = '{GITHUB}'\n", "a.py": "x = 1\n"})
    backend = ScriptedBackend(
        [
            {"tool_calls": [{"name": "read_file", "arguments": {"path": "settings.py"}}]},
            {"tool_calls": [{"name": "run_shell", "arguments": {"command": "cat settings.py"}}]},
            {"tool_calls": [{"name": "search", "arguments": {"pattern": "AKIA"}}]},
            {
                "tool_calls": [
                    {
                        "name": "write_file",
                        "arguments": {"path": "settings.py", "content": "AWS_KEY = '[REDACTED:AWS Access Key]'\n"},
                    }
                ]
            },
            {"tool_calls": [{"name": "finish", "arguments": {"summary": "done"}}]},
        ]
    )
    config = AgentConfig.model_validate({"context": {"map_tokens": 0, "memory_tokens": 0}})
    result = Session(repo, config, backend).run(f"the key is {AWS} and the password {ENV_VALUE}", lambda e: None)
    seen = json.dumps(backend.seen)
    log = (repo / ".agent" / "runs" / result.run_id / "events.jsonl").read_text()
    for secret in (AWS, GITHUB, ENV_VALUE):
        assert secret not in seen and secret not in log
    assert seen.count("[REDACTED:AWS Access Key]") >= 3
    outputs = [e["output"] for e in read_events(repo / ".agent" / "runs" / result.run_id) if e["type"] == "tool_result"]
    assert "placeholder" in outputs[3]
    assert AWS in (repo / "settings.py").read_text()  # the user's file still holds the real key
