"""agent review: the staged change only, each fast check, stable ids, strict mode, JSON, the model layer."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest
from conftest import agent_cli, git, init_repo, write

from agent.config import load_config
from agent.review import ReviewOptions, exit_code, review
from agent.review.changes import read_changes
from agent.review.model import finding_id

CALC = "def add(a, b):\n    return a + b\n\n\ndef div(a, b):\n    return a / b\n"
TESTS = (
    "import pytest\n\nfrom calc import add, div\n\n\ndef test_add():\n    assert add(2, 3) == 5\n\n\n"
    "def test_div_zero():\n    with pytest.raises(ZeroDivisionError):\n        div(1, 0)\n"
)
FAKE_KEY = "AKIA" + "IOSFODNN7EXAMPLE"  # AWS's documented example key, split so scanners of this repo stay quiet


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return init_repo(tmp_path / "repo", {"calc.py": CALC, "tests/test_calc.py": TESTS, "README.md": "calc\n"})


def run(repo: Path, *, staged: bool = True, model: str | None = None, strict: bool = False, **review_cfg: object):
    config = load_config(repo, {"review": review_cfg})
    report = review(
        repo, config, ReviewOptions(staged=staged, model=model, strict=strict, severity=config.review.strict_severity)
    )
    return report, config


def kinds(report) -> set[tuple[str, str, int]]:
    return {(f.kind, f.file, f.line) for f in report.findings}


def test_honest_change_has_no_findings(repo: Path) -> None:
    write(
        repo,
        {
            "calc.py": CALC + "\n\ndef mul(a, b):\n    return a * b\n",
            "tests/test_calc.py": TESTS + "\n\ndef test_mul():\n    from calc import mul\n    assert mul(2, 3) == 6\n",
        },
    )
    git(repo, "add", "-A")
    report, config = run(repo, strict=True)
    assert report.findings == [] and report.errors == []
    assert report.files == ["calc.py", "tests/test_calc.py"]
    assert exit_code(report, config) == 0


def test_weakened_test_is_flagged_and_blocks_only_in_strict_mode(repo: Path) -> None:
    write(repo, {"tests/test_calc.py": TESTS.replace("assert add(2, 3) == 5", "assert add(2, 3)")})
    git(repo, "add", "-A")
    report, config = run(repo)
    assert ("assertion_weakened", "tests/test_calc.py", 7) in kinds(report)
    assert report.findings[0].source == "guard" and report.findings[0].severity == "high"
    assert exit_code(report, config) == 0
    strict, config = run(repo, strict=True)
    assert strict.blocked and exit_code(strict, config) == 1
    lenient, config = run(repo, strict=True, strict_severity="critical")
    assert not lenient.blocked and exit_code(lenient, config) == 0


def test_only_the_index_is_read_not_the_working_tree(repo: Path) -> None:
    write(repo, {"calc.py": CALC + "\n\ndef debug():\n    breakpoint()\n"})
    git(repo, "add", "calc.py")
    write(repo, {"calc.py": CALC})  # the work tree no longer has it; the commit would
    write(repo, {"tests/test_calc.py": "import pytest\n"})  # unstaged: every test deleted, not in the commit
    report, _ = run(repo)
    assert kinds(report) == {("debugger", "calc.py", 10)}
    worktree, _ = run(repo, staged=False)
    assert ("test_removed", "tests/test_calc.py") in {(f.kind, f.file) for f in worktree.findings}
    assert not any(f.kind == "debugger" for f in worktree.findings)


def test_each_fast_check(repo: Path) -> None:
    write(
        repo,
        {
            "calc.py": CALC + f'\nTOKEN = "{FAKE_KEY}"\n\n\ndef f():\n    breakpoint()\n    print("here")\n',
            "web/app.js": "function go() {\n  console.log('x');\n  debugger;\n}\n",
            "merge.txt": "a\n<<<<<<< HEAD\nb\n=======\nc\n>>>>>>> other\n",
            "notes.md": "Title\n=======\n",  # a setext heading, not a conflict
            "broken.py": "def f(:\n    pass\n",
            "conf.json": '{"a": 1,}\n',
            "big.txt": "x" * 3000 + "\n",
            "logo.bin": "\0\1\2",
            "tests/test_helpers.py": "def test_x():\n    print('fine in tests')\n    assert 1 + 1 == 2\n",
        },
    )
    git(repo, "add", "-A")
    report, _ = run(repo, max_file_kb=2)
    found = kinds(report)
    assert ("secret", "calc.py", 8) in found
    assert ("debugger", "calc.py", 12) in found and ("debug_print", "calc.py", 13) in found
    assert ("debug_print", "web/app.js", 2) in found and ("debugger", "web/app.js", 3) in found
    assert {("conflict_marker", "merge.txt", n) for n in (2, 4, 6)} <= found
    assert ("syntax_error", "broken.py", 1) in found and ("syntax_error", "conf.json", 1) in found
    assert ("large_file", "big.txt", 0) in found and ("binary_file", "logo.bin", 0) in found
    assert not any(f.file in ("notes.md", "tests/test_helpers.py") for f in report.findings)
    secret = next(f for f in report.findings if f.kind == "secret")
    assert FAKE_KEY not in json.dumps(report.to_dict()) and secret.severity == "high"


def test_syntax_error_already_there_before_is_not_this_changes_fault(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "r", {"tmpl.py": "def f(:\n    {{ body }}\n"})
    write(repo, {"tmpl.py": "def f(:\n    {{ body }}\n# more\n"})
    git(repo, "add", "-A")
    assert run(repo)[0].findings == []


def test_ids_are_stable_when_lines_move(repo: Path) -> None:
    write(repo, {"calc.py": CALC + "\n\ndef f():\n    breakpoint()\n"})
    git(repo, "add", "-A")
    first = run(repo)[0].findings[0]
    write(repo, {"calc.py": "# a new first line\n" + CALC + "\n\ndef f():\n    breakpoint()\n"})
    git(repo, "add", "-A")
    moved = next(f for f in run(repo)[0].findings if f.kind == "debugger")
    assert moved.line == first.line + 1 and moved.id == first.id == finding_id(
        "debugger", "calc.py", "    breakpoint()"
    )


def test_first_commit_and_deleted_files(tmp_path: Path) -> None:
    repo = tmp_path / "new"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    write(repo, {"a.py": "import pdb; pdb.set_trace()\n"})
    git(repo, "add", "-A")
    assert kinds(run(repo)[0]) == {("debugger", "a.py", 1)}
    changes = read_changes(repo)
    assert [(c.path, c.status, c.added) for c in changes] == [("a.py", "A", [(1, "import pdb; pdb.set_trace()")])]


def test_removed_test_file_is_flagged(repo: Path) -> None:
    git(repo, "rm", "-q", "tests/test_calc.py")
    assert ("test_removed", "tests/test_calc.py") in {(f.kind, f.file) for f in run(repo)[0].findings}


def test_cli_json_shape_and_exit_codes(repo: Path) -> None:
    write(repo, {"tests/test_calc.py": TESTS.replace("ZeroDivisionError", "Exception")})
    git(repo, "add", "-A")
    proc = agent_cli("review", "--staged", "--json", "--repo", str(repo))
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert set(data) == {
        "format",
        "mode",
        "files",
        "findings",
        "counts",
        "dismissed",
        "errors",
        "model",
        "strict",
        "threshold",
        "blocked",
        "duration_s",
    }
    assert data["format"] == 1 and data["mode"] == "staged" and data["blocked"] is False
    assert set(data["findings"][0]) == {"id", "kind", "severity", "file", "line", "message", "source"}
    assert data["findings"][0]["kind"] == "exception_broadened" and data["counts"]["high"] == 1
    assert data["model"] == {
        "model": None,
        "status": "off",
        "tokens_in": 0,
        "tokens_out": 0,
        "cost_usd": 0.0,
        "duration_s": 0.0,
    }
    strict = agent_cli("review", "--staged", "--strict", "--repo", str(repo))
    assert strict.returncode == 1 and "exception_broadened" in strict.stdout and "commit blocked" in strict.stdout
    bad = agent_cli("review", "--staged", "--strict", "--severity", "urgent", "--repo", str(repo))
    assert bad.returncode == 2 and bad.stderr.startswith("agent: error: --severity")
    assert "Traceback" not in bad.stderr


def test_pre_commit_env_means_staged(repo: Path) -> None:
    write(repo, {"calc.py": CALC + "\nbreakpoint()\n"})  # not staged
    proc = agent_cli("review", "--json", "--repo", str(repo), env=_env(PRE_COMMIT="1"))
    assert json.loads(proc.stdout)["mode"] == "staged" and json.loads(proc.stdout)["findings"] == []
    plain = agent_cli("review", "--json", "--repo", str(repo))
    assert json.loads(plain.stdout)["findings"][0]["kind"] == "debugger"


def _env(**extra: str) -> dict[str, str]:
    import os

    return {**os.environ, **extra}


def _script(tmp_path: Path, replies: list[dict]) -> str:
    path = tmp_path / "replies.json"
    path.write_text(json.dumps(replies))
    return f"scripted:{path}"


def test_model_layer_with_scripted_backend(repo: Path, tmp_path: Path) -> None:
    write(repo, {"calc.py": CALC.replace("return a / b", "return a // b")})
    git(repo, "add", "-A")
    call = {
        "name": "report_findings",
        "arguments": {
            "findings": [
                {"file": "calc.py", "line": 6, "severity": "high", "message": "floor division changes div's results"},
                {"file": "elsewhere.py", "line": 1, "severity": "high", "message": "not in the change: dropped"},
            ]
        },
    }
    spec = _script(tmp_path, [{"content": "", "tool_calls": [call], "cost_usd": 0.001}])
    report, config = run(repo, model=spec, strict=True)
    assert [(f.kind, f.file, f.line, f.source) for f in report.findings] == [("model_review", "calc.py", 6, "model")]
    assert report.model.status == "done" and report.model.cost_usd == 0.001 and report.blocked
    cli = agent_cli("review", "--staged", "--json", "--model", spec, "--repo", str(repo))
    data = json.loads(cli.stdout)
    assert data["findings"][0]["message"] == "floor division changes div's results"
    assert data["model"]["status"] == "done" and data["model"]["model"] == spec


def test_model_prompt_holds_the_staged_diff_and_is_capped(repo: Path) -> None:
    from agent.review.llm import CHARS_PER_TOKEN, build_prompt

    write(repo, {"calc.py": CALC + "".join(f"\n\ndef f{i}():\n    return {i}\n" for i in range(400))})
    git(repo, "add", "-A")
    config = load_config(repo, {"review": {"max_tokens": 1000}})
    from agent.review.changes import unified_diff

    prompt = build_prompt(repo, read_changes(repo), unified_diff(repo), config)
    assert "def f0():" in prompt and "cut to fit" in prompt and "report_findings" in prompt
    assert len(prompt) <= 1000 * CHARS_PER_TOKEN + 200


def test_model_failure_never_blocks_unless_configured(repo: Path, tmp_path: Path) -> None:
    write(repo, {"calc.py": CALC + "\n"})
    git(repo, "add", "-A")
    spec = _script(tmp_path, [])  # runs out of replies: the model "is unreachable"
    report, config = run(repo, model=spec, strict=True)
    assert report.errors == ["model review failed: scripted backend ran out of replies after 0"]
    assert not report.blocked and exit_code(report, config) == 0
    proc = agent_cli("review", "--staged", "--strict", "--model", spec, "--repo", str(repo))
    assert proc.returncode == 0 and "model review failed" in proc.stdout and "not blocking" in proc.stdout
    report, config = run(repo, model=spec, strict=True, block_on_error=True)
    assert exit_code(report, config) == 1


def test_model_review_time_cap(repo: Path) -> None:
    write(repo, {"calc.py": CALC + "\n"})
    git(repo, "add", "-A")
    with socket.socket() as server:  # accepts connections and never answers
        server.bind(("127.0.0.1", 0))
        server.listen(8)
        base = f"http://127.0.0.1:{server.getsockname()[1]}/v1"
        config = load_config(repo, {"backend": {"api_base": base}, "review": {"max_seconds": 1.5}})
        report = review(repo, config, ReviewOptions(model="openai/slow"))
    assert report.model.status == "error" and report.errors == ["model review failed: timed out after 1.5s"]
    assert 1.4 < report.model.duration_s < 5


def test_cost_cap_zero_skips_the_model(repo: Path, tmp_path: Path) -> None:
    write(repo, {"calc.py": CALC + "\n"})
    git(repo, "add", "-A")
    report, _ = run(repo, model=_script(tmp_path, []), budget_usd=0)
    assert report.model.status == "skipped" and report.errors == []


def test_dismissed_finding_is_remembered_and_not_reported_again(repo: Path) -> None:
    write(repo, {"calc.py": CALC + "\n\ndef shell():\n    breakpoint()  # the REPL helper, on purpose\n"})
    git(repo, "add", "-A")
    report, _ = run(repo)
    target = report.findings[0]
    proc = agent_cli(
        "review", "--dismiss", target.id, "--why", "shell() opens the debugger on purpose", "--repo", str(repo)
    )
    assert proc.returncode == 0, proc.stderr
    again, _ = run(repo, strict=True, strict_severity="low")
    assert again.findings == [] and again.dismissed == [target.id] and not again.blocked
    from agent.memory import open_store

    store = open_store(repo, load_config(repo))
    note = next(n for n in store.notes() if f"finding:{target.id}" in n.tags)
    assert note.source == "review" and "dismissed" in note.tags and "on purpose" in note.text
    missing_why = agent_cli("review", "--dismiss", target.id, "--repo", str(repo))
    assert missing_why.returncode == 2 and "--why" in missing_why.stderr


def test_commit_ids_and_checksums_are_not_secrets(repo: Path) -> None:
    sha = "3c81c0b90a4c9f45d6d0b56c01c7cdb0721e6028"
    write(
        repo,
        {
            ".pre-commit-config.yaml": f"repos:\n- repo: https://example.com/x\n  rev: {sha}\n",
            "settings.py": f'API_SECRET = "{sha}"\n',
        },
    )
    git(repo, "add", "-A")
    assert kinds(run(repo)[0]) == {("secret", "settings.py", 1)}


def test_added_lines_come_from_gits_diff_even_when_they_look_like_headers(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "r", {"notes.txt": "one\ntwo\n", "odd name.txt": "a\n"})
    write(repo, {"notes.txt": "one\n++ x\n@@ -1 +1 @@\ntwo\n--- y\n", "odd name.txt": "a\nb\n", "new.txt": "n\n"})
    git(repo, "add", "-A")
    added = {c.path: c.added for c in read_changes(repo)}
    assert added == {
        "notes.txt": [(2, "++ x"), (3, "@@ -1 +1 @@"), (5, "--- y")],
        "odd name.txt": [(2, "b")],
        "new.txt": [(1, "n")],
    }


SECRET_SAMPLES = {  # fake credentials of the kinds detect-secrets knows, split so this file itself stays clean
    "aws": 'key = "AKIA' + 'IOSFODNN7EXAMPLE"',
    "github": 'tok = "ghp_' + 'a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8"',
    "slack": 'hook = "xoxb-' + '123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx"',
    "stripe": 'stripe = "sk_live_' + '4eC39HqLyjWDarjtT1zdp7dc"',
    "private_key": "-----BEGIN RSA " + "PRIVATE KEY-----",
    "basic_auth": "url = 'https://user:s3cr3t" + "pass@example.com/x'",
    "keyword": 'password = "hun' + 'ter2"',
    "jwt": 't = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.'
    + 'dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U"',
    "base64": 'blob = "c2VjcmV0LXZhbHVlLXRoYXQtaXMtbG9uZy1lbm91Z2g9PQ=="',
    "hex": 'h = "8f14e45fceea167a5a36dedd4bea2543a8b3e"',
}


def test_secret_prefilter_keeps_every_kind_of_secret() -> None:
    from agent.review.changes import FileChange
    from agent.review.secrets import find_secrets

    changes = [
        FileChange(f"{name}.py", "A", None, b"x", [(3, "x = 1"), (4, line)]) for name, line in SECRET_SAMPLES.items()
    ]
    found = {(f.file.removesuffix(".py"), f.line) for f in find_secrets(changes)}
    assert found == {(name, 4) for name in SECRET_SAMPLES}
    messages = {f.file: f.message for f in find_secrets(changes)}
    assert (
        messages["aws.py"] == "possible secret (AWS Access Key)"
        and messages["jwt.py"] == "possible secret (JSON Web Token)"
    )


def test_prefilter_keyword_list_matches_detect_secrets() -> None:
    from detect_secrets.plugins.keyword import DENYLIST

    from agent.review.secrets import DENYLIST as COPY

    assert COPY == DENYLIST


def test_plain_code_lines_skip_the_secret_scan() -> None:
    from agent.review.secrets import is_candidate

    for line in (
        "    discounted_price = unit_price * 97 / 100",
        "class HttpRequestHandler(BaseHandler):",
        "MAX_RETRY_COUNT = 5",
        "def compute_total_0_1(quantity, unit_price):",
    ):
        assert not is_candidate(line), line
    assert all(is_candidate(line) for line in SECRET_SAMPLES.values())
