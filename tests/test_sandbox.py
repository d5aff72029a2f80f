"""The real OS sandbox around run_shell / run_tests: writes outside, secret reads and the network fail."""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import init_repo
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agent.config import load_config
from agent.sandbox import available
from agent.toolchain import PermissionHook, ToolChain
from agent.tools import load_tools
from agent.workspace import Workspace

pytestmark = pytest.mark.skipif(available() is None, reason="no OS sandbox on this machine (user namespaces, Landlock)")
TOOLS = load_tools()


def shell(ws: Workspace, command: str) -> str:
    return ToolChain(TOOLS, [PermissionHook()], lambda *a: True).call(ws, "run_shell", {"command": command})


@pytest.fixture
def ws(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Workspace:
    home = tmp_path / "home"
    (home / ".ssh").mkdir(parents=True)
    (home / ".ssh" / "id_ed25519").write_text("PRIVATE-KEY-CANARY\n")
    (home / ".netrc").write_text("machine x password NETRC-CANARY\n")
    monkeypatch.setenv("HOME", str(home))
    repo = init_repo(tmp_path / "repo", {"a.py": "x = 1\n"})
    (tmp_path / "decoy").mkdir()
    return Workspace(repo, load_config(repo, {"permissions": {"approve_all": True}}))


@pytest.fixture
def listener() -> Iterator[tuple[int, list[bytes]]]:
    srv = socket.create_server(("127.0.0.1", 0))
    got: list[bytes] = []

    def serve() -> None:
        try:
            conn, _ = srv.accept()
            got.append(conn.recv(100))
            conn.close()
        except OSError:
            pass

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield srv.getsockname()[1], got
    srv.close()
    thread.join(5)


def test_writes_inside_the_repo_work(ws: Workspace) -> None:
    out = shell(ws, "echo hi > new.txt && cat new.txt")
    assert out.startswith("exit code 0") and (ws.root / "new.txt").read_text() == "hi\n"


def test_write_outside_the_repo_fails(ws: Workspace) -> None:
    decoy = ws.root.parent / "decoy"
    out = shell(ws, "python3 -c \"open('../decoy/canary', 'w').write('x')\"; echo rc=$?")
    assert "PermissionError" in out and "rc=1" in out and list(decoy.iterdir()) == []


def test_git_dir_is_read_only(ws: Workspace) -> None:
    before = (ws.root / ".git" / "config").read_text()
    out = shell(ws, "git config core.fsmonitor 'touch ../decoy/pwn'; echo rc=$?")
    assert "rc=0" not in out and (ws.root / ".git" / "config").read_text() == before


def test_secret_places_are_hidden(ws: Workspace) -> None:
    out = shell(ws, "cat ~/.ssh/id_ed25519 ~/.netrc; ls -a ~/.ssh")
    if available() == "landlock":
        pytest.skip("Landlock alone cannot hide paths (no user namespaces here)")
    assert "CANARY" not in out


def test_loopback_listener_unreachable_without_network(ws: Workspace, listener: tuple[int, list[bytes]]) -> None:
    port, got = listener
    code = f"import socket; s = socket.create_connection(('127.0.0.1', {port}), timeout=3); s.sendall(b'LEAK')"
    out = shell(ws, f'python3 -c "{code}"; echo rc=$?')
    assert "rc=1" in out and got == []


def test_network_allowed_reaches_listener(tmp_path: Path, listener: tuple[int, list[bytes]]) -> None:
    port, got = listener
    repo = init_repo(tmp_path / "repo", {"a.py": "x = 1\n"})
    ws = Workspace(repo, load_config(repo, {"permissions": {"approve_all": True}, "sandbox": {"network": True}}))
    code = f"import socket; s = socket.create_connection(('127.0.0.1', {port}), timeout=3); s.sendall(b'HI')"
    out = shell(ws, f'python3 -c "{code}"; echo rc=$?')
    assert "rc=0" in out


def test_run_tests_is_sandboxed(ws: Workspace) -> None:
    (ws.root / "test_x.py").write_text("def test_x():\n    open('../decoy/pwn', 'w').write('x')\n")
    out = ToolChain(TOOLS, [PermissionHook()], lambda *a: True).call(ws, "run_tests", {"args": "test_x.py"})
    assert "PermissionError" in out and not (ws.root.parent / "decoy" / "pwn").exists()


# A fuzz test of shell lines against the sandbox itself: no permission policy at all, so only the sandbox stands
# between a hostile line and the decoy, .git and the user's home.
VERBS = ["rm -rf {t}", "touch {t}", "cp a.py {t}", "mv a.py {t}", "echo pwn | tee {t}", "echo pwn > {t}",
         "python3 -c \"open('{t}', 'w').write('x')\"", "ln -sf /etc/passwd {t}", "chmod 777 {t}", "truncate -s0 {t}",
         "dd if=/dev/zero of={t} bs=1 count=1", "sed -i s/a/b/ {t}", "cat {t}"]
TARGETS = ["../decoy/v", "../decoy/new", "$HOME/canary.txt", "~/.ssh/id_ed25519", ".git/config",
           ".git/hooks/post-commit", "../decoy", "$HOME"]
WRAPS = ["{c}", "bash -c \"{c}\"", "eval \"{c}\"", "env {c}", "(cd .. && {c})", "x=\"{c}\"; eval $x",
         "echo \"{c}\" | sh", "timeout 5 {c}", "nohup {c}"]


def _contents(folder: Path) -> list[tuple[str, bytes]]:
    return sorted((p.relative_to(folder).as_posix(), p.read_bytes()) for p in folder.rglob("*") if p.is_file())


def _line(verb: str, target: str, wrap: str) -> str:
    command = verb.format(t=target)
    if "(cd .. &&" in wrap:
        command = command.replace("../decoy", "decoy")
    return wrap.format(c=command.replace('"', "'") if '"' in wrap else command)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.sampled_from(VERBS), st.sampled_from(TARGETS), st.sampled_from(WRAPS)), min_size=1,
                max_size=3), st.sampled_from([" ; ", " && ", " | ", " || "]))
def test_fuzzed_hostile_lines_are_contained(ws: Workspace, parts: list[tuple[str, str, str]], joiner: str) -> None:
    decoy, home = ws.root.parent / "decoy", Path(os.environ["HOME"])
    (decoy / "v").write_text("keep\n")
    (home / "canary.txt").write_text("still here\n")
    watched = [decoy, home, ws.root / ".git" / "hooks"]
    before = [_contents(w) for w in watched]
    config = (ws.root / ".git" / "config").read_bytes()
    line = joiner.join(_line(*p) for p in parts)
    out = ToolChain(TOOLS, [], lambda *a: True).call(ws, "run_shell", {"command": line, "timeout_s": 20})
    assert [_contents(w) for w in watched] == before, line
    assert (ws.root / ".git" / "config").read_bytes() == config, line
    if available() != "landlock":
        assert "PRIVATE-KEY-CANARY" not in out, line
