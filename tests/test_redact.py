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


# -- whole tokens, more formats, assignments ---------------------------------------------------------------

BODY = "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8"
JWT = ("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4ifQ."
       "SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c")
PYPI = "pypi-AgEIcHlwaS5vcmcCJDU3OTM5ZjkzLWE4YzEtNGQwZi1iNzZmLTQ5YzE5ZDJhOTdmMgACKlszLCJmN2U1"


@pytest.mark.parametrize("token", ["ghp_" + BODY, "gho_" + BODY, "ghs_" + BODY, "github_pat_11ABCDEFG0" + BODY * 2,
                                   "glpat-" + BODY[:20], JWT, PYPI])
def test_whole_tokens_are_redacted_not_just_their_prefix(token: str) -> None:
    out = redact(f"token = {token} # end")
    assert out.startswith("token = [REDACTED:") and out.endswith("] # end"), out
    for piece in (token[-12:], token[4:16], BODY[:12]):
        assert piece not in out


@pytest.mark.parametrize("line", [
    'password = "hunter2x"', "passwd: correct-horse", "secret=abc123xyz", '{"db_password": "p@ss w0rd!"}',
    "export SMTP_PASSWORD=Tr0ub4dor", 'api_key = "Zx8Qp2Lm9Vt4Rw7Yk3Nb6Hd1"', "AUTH_TOKEN=9f8e7d6c5b4a39281706f5e4",
])
def test_assignments_of_secrets_are_redacted(line: str) -> None:
    value = line.rsplit("=", 1)[-1].rsplit(": ", 1)[-1].strip(' "}')
    out = redact(line)
    assert value not in out and "[REDACTED:" in out, out


@pytest.mark.parametrize("line", [
    "password = self.password", "def login(user, password: str) -> bool:", "token = get_token()",
    "api_key = os.environ['API_KEY']", "PWD=/home/me/project", 'cache_key = "user-profile"',
    "secret: ${DEPLOY_SECRET}", "password: str = None", "the token budget is 4096",
])
def test_code_and_references_are_not_assignments_of_secrets(line: str) -> None:
    assert redact(line) == line


def test_env_vars_are_secret_by_name() -> None:
    env = {"API_PW": "Zq8kL2pVx9mN4w7e", "SMTP_PASS": "Wm3-nQ8-zR5-tY2", "GH_TOKEN": "t0k3n-" + BODY[:14],
           "MY_SECRET_VALUE": "Qw9Er8Ty7Ui6Op5", "SIGNING_KEY": "kY5vB8nM2xC4zL7", "PWD": "/home/me/project-folder",
           "EDITOR": "vim-with-plugins"}
    r = Redactor(environ=env)
    assert sorted(k.removeprefix("env ") for k, _ in r.values) == ["API_PW", "GH_TOKEN", "MY_SECRET_VALUE",
                                                                  "SIGNING_KEY", "SMTP_PASS"]
    text = " | ".join(env.values())
    out = r.redact(text)
    assert out.count("[REDACTED:env ") == 5 and out.endswith("/home/me/project-folder | vim-with-plugins")


# -- transforms of a known value -----------------------------------------------------------------------------

API_PW = "Zq8kL2pVx9mN4w7eR5tY"


def known() -> Redactor:
    return Redactor(environ={"API_PW": API_PW})


def run(command: str, text: str) -> str:
    import subprocess

    return subprocess.run(command, shell=True, input=text, capture_output=True, text=True, check=True).stdout


@pytest.mark.parametrize("command", ["tr a-z A-Z", "tr A-Z a-z", "xxd", "xxd -u", "xxd -p", "hexdump -C",
                                     "od -A x -t x1z", "base64", "base64 -w 20", "cut -c11-23", "cut -c18-",
                                     "rev | rev"])
def test_a_known_value_is_redacted_in_any_encoding_the_output_shows(command: str) -> None:
    import base64

    text = f"API_PW = '{API_PW}'  # the deployment password, see the wiki for rotation\n"
    shown = run(command, text)
    out = known().redact(shown)
    squeezed = "".join(out.split()).lower()
    for form in (API_PW.lower(), API_PW.encode().hex(), base64.b64encode(API_PW.encode()).decode().lower()[:16]):
        assert form[:12] not in squeezed and form[-12:] not in squeezed, (command, shown, out)
    assert "[REDACTED:env API_PW]" in out, (command, shown, out)


def test_a_secret_found_in_a_file_is_known_in_its_transforms_later() -> None:
    r = Redactor(environ={})
    assert "AKIAIOSFODNN7EXAMPLE" not in r.redact("settings.py: AWS_KEY = 'AKIAIOSFODNN7EXAMPLE'")
    for later in ("akiaiosfodnn7example", "AKIAIOSFODNN7E", "414b4941494f53464f444e4e374558414d504c45"):
        assert later not in r.redact(f"output: {later} end"), later


def test_ordinary_output_stays_readable_with_known_values() -> None:
    r = known()
    text = run("xxd", "def add(a, b):\n    return a + b\n") + "PATH=/usr/bin\n" + "0123456789abcdef" * 4
    assert r.redact(text) == text


def test_a_hostile_megabyte_line_is_redacted_in_linear_time(tmp_path: Path) -> None:
    import subprocess
    import sys

    script = (
        "from agent.redact import Redactor\n"
        "r = Redactor(environ={'API_PW': 'Zq8kL2pVx9mN4w7eR5tY'})\n"
        "for text in ['a' * 1_000_000, 'cl_key' + ' ' * 1_000_000 + '=', 'password: ' * 100_000,\n"
        "             '0123456789abcdef' * 62_500, 'eyJ.' * 250_000, '-----BEGIN RSA PRIVATE KEY-----' * 30_000,\n"
        "             '//' * 500_000 + '/:_authToken=', 'xoxb-' + '1-' * 400_000, 'AKC' * 333_333]:\n"
        "    r.redact(text)\n"
        "print('ok')\n"
    )
    src = str(Path(__file__).resolve().parents[1] / "src")
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=240,
                          env={"PYTHONPATH": src, "PATH": "/usr/bin:/bin"})
    assert proc.stdout.strip() == "ok", proc.stderr


def test_the_values_of_a_secret_file_are_known_before_the_model_reads_it(tmp_path: Path) -> None:
    from agent.git.plumbing import secret_files

    repo = init_repo(tmp_path / "repo", {".gitignore": ".env\n", "app/settings.py": "DEBUG = True\n"})
    (repo / ".env").write_text("DEBUG=true\nexport STRIPE_SECRET_KEY='Sx9-Lm3Qp8Zt2Wv7Rk4'\n")
    (repo / "app" / "id_ed25519").write_text(PEM)
    assert [p.relative_to(repo).as_posix() for p in secret_files(repo)] == [".env", "app/id_ed25519"]
    r = Redactor(environ={})
    r.learn_file((repo / ".env").read_text(), ".env")
    out = r.redact("cut -c5-: 9-LM3QP8ZT2WV7RK4 and debug=true")
    assert "9-LM3QP8ZT2WV7RK4" not in out and out.endswith("and debug=true")
