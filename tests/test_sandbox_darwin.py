"""The macOS sandbox: the Seatbelt profile made from a policy (any platform), and real confinement (macOS only)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from agent.sandbox import darwin
from agent.sandbox.policy import SandboxPolicy, available, child_setup, policy_for


def _policy(tmp_path: Path, **kw: object) -> SandboxPolicy:
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True, exist_ok=True)
    (tmp_path / "home" / ".ssh").mkdir(parents=True, exist_ok=True)
    fields: dict[str, object] = {
        "writable": (repo,), "read_only": (repo / ".git",), "hidden": (tmp_path / "home" / ".ssh",),
        "readable": (Path("/usr"), repo),
    }
    fields.update(kw)
    return SandboxPolicy(**fields)  # type: ignore[arg-type]


def _forms(text: str) -> list[str]:
    """The top-level S-expressions of an SBPL text, checking that parentheses balance outside string literals."""
    blanked = re.sub(r'"(?:[^"\\]|\\.)*"', lambda m: "_" * len(m.group()), text)  # same offsets, no strings
    assert '"' not in blanked, "an unterminated string"
    forms, depth, start = [], 0, 0
    for i, ch in enumerate(blanked):
        if ch == "(":
            start, depth = (i if depth == 0 else start), depth + 1
        elif ch == ")":
            depth -= 1
            assert depth >= 0, f"unbalanced ')' at {i}"
            if depth == 0:
                forms.append(text[start : i + 1])
    assert depth == 0
    return forms


def test_profile_denies_by_default_and_its_exceptions_come_after_the_allows(tmp_path: Path) -> None:
    policy = _policy(tmp_path)
    forms = _forms(darwin.profile(policy))
    assert forms[:2] == ["(version 1)", "(deny default)"]
    paths = (tmp_path / "repo", tmp_path / "repo" / ".git", tmp_path / "home" / ".ssh")
    repo, git, ssh = (str(p.resolve()) for p in paths)
    write = next(i for i, f in enumerate(forms) if f.startswith("(allow file-write*") and repo in f)
    locked = next(i for i, f in enumerate(forms) if f.startswith("(deny file-write*") and f'"{git}"' in f)
    hidden = next(i for i, f in enumerate(forms) if f.startswith("(deny file-read* file-write*") and ssh in f)
    assert write < locked and write < hidden  # Seatbelt: the last matching rule wins
    reads = next(f for f in forms if f.startswith("(allow file-read* (literal"))
    assert '(subpath "/usr")' in reads and f'(subpath "{repo}")' in reads
    assert "(allow file-read*)" not in forms  # reads are an allowlist when the policy has one


def test_network_is_loopback_only_unless_the_policy_allows_it(tmp_path: Path) -> None:
    off = _forms(darwin.profile(_policy(tmp_path)))
    assert "(allow network*)" not in off
    assert any('(remote ip "localhost:*")' in f for f in off)
    assert "(allow network*)" in _forms(darwin.profile(_policy(tmp_path, network=True)))
    assert "(allow file-read*)" in _forms(darwin.profile(_policy(tmp_path, readable=None)))


def test_paths_are_resolved_and_quoted(tmp_path: Path) -> None:
    odd = tmp_path / 'we"ird\\dir'
    odd.mkdir()
    link = tmp_path / "link"
    link.symlink_to(odd)
    text = darwin.profile(SandboxPolicy(writable=(link,)))
    assert darwin.quote(odd.resolve()) in text and str(link) not in text
    assert darwin.quote('a"b\\c') == '"a\\"b\\\\c"'
    _forms(text)


def test_wrap_runs_a_command_line_through_sh_under_sandbox_exec(tmp_path: Path) -> None:
    policy = _policy(tmp_path)
    assert darwin.wrap("echo hi | wc -c", policy) == [
        "/usr/bin/sandbox-exec", "-p", darwin.profile(policy), "/bin/sh", "-c", "echo hi | wc -c"
    ]
    assert darwin.wrap(["pytest", "-q"], policy)[3:] == ["pytest", "-q"]


@pytest.mark.skipif(sys.platform == "darwin", reason="checks the argv on a platform without Seatbelt")
def test_elsewhere_child_setup_leaves_the_command_as_it_is(tmp_path: Path) -> None:
    box = type("Box", (), {"mode": "auto", "writable": [], "hide": [], "readable": [], "network": False})()
    for argv in (["bash", "-c", "true"], "true"):
        assert child_setup(box, tmp_path, argv)[0] == argv


needs_seatbelt = pytest.mark.skipif(
    sys.platform != "darwin" or available() != darwin.MECHANISM, reason="macOS with a working sandbox-exec only"
)


@needs_seatbelt
def test_on_macos_a_command_writes_the_repo_but_not_git_outside_or_secrets(tmp_path: Path) -> None:
    repo, outside = tmp_path / "repo", tmp_path / "outside"
    (repo / ".git").mkdir(parents=True)
    outside.mkdir()
    policy = policy_for(repo, [], [str(outside)], network=False, readable=[])
    script = (
        'echo a > in.txt; echo b > .git/x 2>/dev/null; echo c > "$OUT/x" 2>/dev/null; cat "$OUT/x" 2>/dev/null;'
        " echo done"
    )
    argv = darwin.wrap(script, policy)
    env = {"OUT": str(outside), "PATH": "/usr/bin:/bin"}
    proc = subprocess.run(argv, cwd=repo, capture_output=True, text=True, env=env, check=False)
    assert proc.stdout.strip() == "done"
    assert (repo / "in.txt").exists() and not (repo / ".git" / "x").exists() and not (outside / "x").exists()
