"""The light core: a fresh venv with `pip install agent` (no extras) reviews and guards, and every command that
needs an extra says which one in one line (exit 2); the pre-commit framework installs the hook the same way.

These build real virtual environments with pip from the configured indexes and the user's pip cache
(about 20 s each from a warm cache), so they are marked slow.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT, git, init_repo, write

pytestmark = pytest.mark.slow

CALC = "def add(a, b):\n    return a + b\n"
TESTS = "from calc import add\n\n\ndef test_add():\n    assert add(2, 3) == 5\n"
WEAKENED = TESTS.replace("assert add(2, 3) == 5", "assert add(2, 3)")
HEAVY = ("litellm", "tiktoken", "chromadb", "onnxruntime", "tokenizers", "onnx", "llama_cpp")


def _pip_env() -> dict[str, str]:
    """The environment for pip and pre-commit: the real pip cache (tests isolate XDG_CACHE_HOME), no PYTHONPATH."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    env["PIP_CACHE_DIR"] = env.get("PIP_CACHE_DIR") or _PIP_CACHE
    return env


_PIP_CACHE = os.environ.get("PIP_CACHE_DIR") or str(
    Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "pip"
)  # read at import, before the autouse fixture points XDG_CACHE_HOME at a tmp dir


@pytest.fixture(scope="session")
def light_bin(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """bin/ of a fresh venv holding this checkout installed without extras (built once per session)."""
    venv = tmp_path_factory.mktemp("light") / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, capture_output=True, timeout=120)
    proc = subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", str(ROOT)],
        capture_output=True, text=True, env=_pip_env(), timeout=900,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return venv / "bin"


def light(bin_dir: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run the light venv's `agent` console script (the installed copy, not this checkout's src)."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    cmd = [str(bin_dir / "agent"), *args]
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, env=env, timeout=300)


def one_error_line(proc: subprocess.CompletedProcess[str], extra: str) -> str:
    """The usage error of a missing extra: exit 2, one stderr line naming the install command, no traceback."""
    assert proc.returncode == 2, proc.stdout + proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert f"pip install 'agent[{extra}]'" in lines[0] and f"pip install -e '.[{extra}]'" in lines[0], lines[0]
    return lines[0]


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return init_repo(tmp_path / "repo", {"calc.py": CALC, "tests/test_calc.py": TESTS})


def test_light_core_installs_no_model_or_memory_stack(light_bin: Path, repo: Path) -> None:
    probe = (
        "import importlib.util, json; from agent.extras import installed_extras; "
        f"print(json.dumps([installed_extras(), [m for m in {HEAVY!r} if importlib.util.find_spec(m)]]))"
    )
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    out = subprocess.run([str(light_bin / "python"), "-c", probe], capture_output=True, text=True, env=env, check=True)
    extras, present = json.loads(out.stdout)
    assert extras == {"llm": False, "memory": False, "local": False, "ray": False} and present == []
    version = light(light_bin, "--version", cwd=repo)
    assert version.returncode == 0 and version.stdout.startswith("agent ")


def test_light_review_strict_blocks_a_weakened_test(light_bin: Path, repo: Path) -> None:
    write(repo, {"tests/test_calc.py": WEAKENED})
    git(repo, "add", "-A")
    proc = light(light_bin, "review", "--staged", "--strict", cwd=repo)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "assertion_weakened" in proc.stdout and "commit blocked" in proc.stdout
    hook = light(light_bin, "hook", "install", "--strict", cwd=repo)
    assert hook.returncode == 0, hook.stderr
    before = git(repo, "rev-parse", "HEAD")
    commit = subprocess.run(["git", "commit", "-qm", "weaken"], cwd=repo, capture_output=True, text=True,
                            env=_pip_env())
    assert commit.returncode != 0 and git(repo, "rev-parse", "HEAD") == before, commit.stdout + commit.stderr
    assert "assertion_weakened" in commit.stderr
    guard = light(light_bin, "guard", cwd=repo)
    assert guard.returncode == 1 and "assertion_weakened" in guard.stdout, guard.stdout + guard.stderr


def test_commands_that_need_an_extra_say_which(light_bin: Path, repo: Path, tmp_path: Path) -> None:
    assert "'memory' extra" in one_error_line(light(light_bin, "memory", "list", cwd=repo), "memory")
    one_error_line(light(light_bin, "memory", "add", "a note", cwd=repo), "memory")
    assert "openai/x" in one_error_line(light(light_bin, "run", "--model", "openai/x", "fix it", cwd=repo), "llm")
    one_error_line(light(light_bin, "run", "fix it", cwd=repo), "local")  # no key set: the default model is local
    write(repo, {"calc.py": CALC + "\n\ndef sub(a, b):\n    return a - b\n"})
    git(repo, "add", "-A")
    one_error_line(light(light_bin, "review", "--staged", "--model", "openai/gpt-4.1", cwd=repo), "llm")
    assert git(repo, "status", "--porcelain") == "M  calc.py\n"  # nothing touched


def test_a_run_without_the_memory_extra_goes_on_without_memory(light_bin: Path, repo: Path, tmp_path: Path) -> None:
    script = tmp_path / "replies.json"
    finish = {"name": "finish", "arguments": {"summary": "nothing to change"}}
    script.write_text(json.dumps([{"content": "", "tool_calls": [finish]}]))
    proc = light(light_bin, "run", "--model", f"scripted:{script}", "--json", "look around", cwd=repo)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    warnings = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(warnings) == 1 and warnings[0].startswith("agent: warning: memory needs the 'memory' extra"), warnings
    assert warnings[0].endswith("running without memory")
    events = [json.loads(line) for line in proc.stdout.splitlines()]
    assert events[-1]["type"] == "run_finished" and events[-1]["status"] == "done"


def _hook_source(tmp_path: Path) -> tuple[Path, str]:
    """This checkout's working tree (tracked and new files, not ignored ones) as a repository at one commit."""
    source = tmp_path / "agent-src"
    names = git(ROOT, "ls-files", "-z", "--cached", "--others", "--exclude-standard").split("\0")
    for name in filter(None, names):
        src = ROOT / name
        if src.is_file():  # deleted but still in the index: skip
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, source / name)
    git(source, "init", "-q", "-b", "main")
    git(source, "add", "-A")
    identity = ["-c", "user.name=T", "-c", "user.email=t@example.com", "-c", "commit.gpgsign=false"]
    git(source, *identity, "commit", "-qm", "src")
    return source, git(source, "rev-parse", "HEAD").strip()


def test_pre_commit_framework_installs_the_light_hook_and_blocks(repo: Path, tmp_path: Path) -> None:
    source, rev = _hook_source(tmp_path)
    config = f"repos:\n- repo: {source}\n  rev: {rev}\n  hooks:\n  - id: agent-review\n    args: [--strict]\n"
    write(repo, {".pre-commit-config.yaml": config})
    env = {**_pip_env(), "PRE_COMMIT_HOME": str(tmp_path / "pc-home")}
    subprocess.run([sys.executable, "-m", "pre_commit", "install"], cwd=repo, check=True, capture_output=True, env=env)
    git(repo, "add", ".pre-commit-config.yaml")
    write(repo, {"tests/test_calc.py": WEAKENED})
    git(repo, "add", "-A")
    before = git(repo, "rev-parse", "HEAD")
    blocked = subprocess.run(["git", "commit", "-qm", "weaken"], cwd=repo, capture_output=True, text=True, env=env,
                             timeout=900)
    out = blocked.stdout + blocked.stderr
    assert blocked.returncode != 0 and git(repo, "rev-parse", "HEAD") == before, out
    assert "assertion_weakened" in out and "commit blocked" in out, out
    envs = [p for p in (tmp_path / "pc-home").glob("repo*/py_env-*") if p.is_dir()]
    assert len(envs) == 1, envs  # pre-commit built its own environment for the hook (language: python)
    probe = f"import importlib.util as u; print([m for m in {HEAVY} if u.find_spec(m)])"
    found = subprocess.run([str(envs[0] / "bin" / "python"), "-c", probe], capture_output=True, text=True, env=env,
                           check=True)
    assert found.stdout.strip() == "[]"  # the light core only
    write(repo, {"tests/test_calc.py": TESTS + "\n\ndef test_more():\n    assert add(1, 1) == 2\n"})
    git(repo, "add", "-A")
    passed = subprocess.run(["git", "commit", "-qm", "more"], cwd=repo, capture_output=True, text=True, env=env,
                            timeout=300)
    assert passed.returncode == 0 and git(repo, "rev-parse", "HEAD") != before, passed.stdout + passed.stderr


def _ci_step(name: str) -> str:
    """The `run:` script of a step of the GitHub Actions workflow in docs/ci.md."""
    import yaml

    text = (ROOT / "docs" / "ci.md").read_text()
    block = text.split("```yaml\n", 1)[1].split("```", 1)[0]
    steps = yaml.safe_load(block)["jobs"]["agent-review"]["steps"]
    return str(next(s["run"] for s in steps if s.get("name") == name))


def _pull_request_checkout(upstream: Path, tmp_path: Path, change: dict[str, str]) -> Path:
    """A checkout like GitHub's for a pull request: HEAD is the merge of the branch into the base (first parent)."""
    work = tmp_path / f"checkout-{len(list(tmp_path.glob('checkout-*')))}"
    subprocess.run(["git", "clone", "-q", str(upstream), str(work)], check=True, capture_output=True)
    for key, value in (("user.email", "ci@example.com"), ("user.name", "CI"), ("commit.gpgsign", "false")):
        git(work, "config", key, value)
    git(work, "checkout", "-q", "-b", "feature")
    write(work, change)
    git(work, "commit", "-qam", "the pull request")
    git(work, "checkout", "-q", "main")
    write(work, {"README.md": "base moved on\n"})  # the base branch has a commit the branch lacks
    git(work, "add", "-A")
    git(work, "commit", "-qm", "base")
    git(work, "merge", "-q", "--no-ff", "--no-edit", "feature")
    return work


def test_the_ci_step_in_the_docs_fails_a_pull_request_that_weakens_a_test(
    light_bin: Path, repo: Path, tmp_path: Path
) -> None:
    script = _ci_step("agent review --strict")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["PATH"] = f"{light_bin}{os.pathsep}{env['PATH']}"
    weak = _pull_request_checkout(repo, tmp_path, {"tests/test_calc.py": WEAKENED})
    failed = subprocess.run(["bash", "-e", "-c", script], cwd=weak, capture_output=True, text=True, env=env,
                            timeout=300)
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert "assertion_weakened" in failed.stdout and "1 finding in 1 file" in failed.stdout  # the PR's change only
    honest = _pull_request_checkout(repo, tmp_path, {"calc.py": CALC + "\n\ndef sub(a, b):\n    return a - b\n"})
    passed = subprocess.run(["bash", "-e", "-c", script], cwd=honest, capture_output=True, text=True, env=env,
                            timeout=300)
    assert passed.returncode == 0 and "0 findings in 1 file" in passed.stdout, passed.stdout + passed.stderr
