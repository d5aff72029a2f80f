"""Crash safety: SIGKILL in the middle of many writes leaves every file old or new, never torn."""

from __future__ import annotations

import os
import random
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

from conftest import ROOT, init_repo

from agent.atomic import atomic_write_bytes, atomic_write_text

FILES = [f"data/f{i}.txt" for i in range(12)]
WRITER = """
import sys
from pathlib import Path
from agent.config import AgentConfig
from agent.tools.edit import Edit, edit_file
from agent.tools.files import write_file
from agent.workspace import Workspace

def content(name, k):
    return f"{name}#{k}|" * (2000 + 300 * (k % 7))

ws = Workspace(Path(sys.argv[1]), AgentConfig())
names = sys.argv[2:]
print("ready", flush=True)
k = 1
while True:
    for name in names:
        if k % 3:
            write_file(ws, name, content(name, k))
        else:  # the multi-file edit tool writes through the same path
            old = (ws.root / name).read_text()
            edit_file(ws, [Edit(path=name, old=old, new=content(name, k))])
    k += 1
"""


def content(name: str, k: int) -> str:
    return f"{name}#{k}|" * (2000 + 300 * (k % 7))


def check(repo: Path) -> list[int]:
    """Each file holds exactly one complete version; return the versions found."""
    versions = []
    for name in FILES:
        text = (repo / name).read_text()
        match = re.match(r"[^#|]+#(\d+)\|", text)
        assert match, f"{name} is torn: {len(text)} chars"
        k = int(match.group(1))
        assert text == content(name, k), f"{name} is torn: {len(text)} chars of version {k}"
        versions.append(k)
    return versions


def test_sigkill_during_writes_never_tears_a_file(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "repo", {name: content(name, 0) for name in FILES})
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    rng = random.Random(7)
    mixed = 0
    for _ in range(6):
        proc = subprocess.Popen([sys.executable, "-c", WRITER, str(repo), *FILES], stdout=subprocess.PIPE, env=env)
        assert proc.stdout is not None and proc.stdout.readline().strip() == b"ready"
        time.sleep(rng.uniform(0.05, 0.6))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        assert proc.returncode == -signal.SIGKILL
        mixed += len(set(check(repo))) > 1
        strays = [p.name for p in (repo / "data").iterdir() if p.name.endswith(".tmp")]
        assert all(s.startswith(".f") for s in strays)  # at worst a hidden temp file, never a half file
    assert mixed >= 2  # the kills really landed in the middle of a sweep of writes


def test_atomic_write_keeps_mode_and_replaces_a_link_instead_of_following_it(tmp_path: Path) -> None:
    target = tmp_path / "elsewhere.txt"
    target.write_text("keep")
    link = tmp_path / "link.txt"
    link.symlink_to(target)
    atomic_write_text(link, "new")
    assert target.read_text() == "keep" and not link.is_symlink() and link.read_text() == "new"
    script = tmp_path / "run.sh"
    script.write_text("a")
    script.chmod(0o750)
    atomic_write_bytes(script, b"b")
    assert script.stat().st_mode & 0o777 == 0o750 and script.read_bytes() == b"b"
    atomic_write_text(tmp_path / "deep" / "er" / "x.txt", "made")
    assert (tmp_path / "deep" / "er" / "x.txt").read_text() == "made"
    assert [p.name for p in tmp_path.rglob("*.tmp")] == []


def test_write_many_replaces_each_file_and_leaves_no_temp_files(tmp_path: Path) -> None:
    from agent.atomic import atomic_write_many

    (tmp_path / "a.md").write_text("old a")
    atomic_write_many(tmp_path, {"a.md": b"new a", "b.md": b"new b"})
    assert (tmp_path / "a.md").read_bytes() == b"new a" and (tmp_path / "b.md").read_bytes() == b"new b"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.md", "b.md"]


def test_write_many_stops_at_a_failing_file_and_keeps_what_it_wrote(tmp_path: Path) -> None:
    import pytest

    from agent.atomic import atomic_write_many

    (tmp_path / "c.md").mkdir()  # a directory cannot be replaced by a file
    with pytest.raises(OSError):
        atomic_write_many(tmp_path, {"a.md": b"a", "c.md": b"c", "d.md": b"d"})
    assert (tmp_path / "a.md").read_bytes() == b"a" and (tmp_path / "c.md").is_dir()
    assert not (tmp_path / "d.md").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.md", "c.md"]
