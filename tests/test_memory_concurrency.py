"""Two processes writing notes at the same time: nothing is lost from the files or the index."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from memory_support import _shared_model, model_cache, repo  # noqa: F401

from agent.config import MemoryConfig
from agent.memory import MemoryStore

WORKER = """
import sys
from pathlib import Path
from agent.config import MemoryConfig
from agent.memory import MemoryStore

root, index, user, tag = sys.argv[1:5]
store = MemoryStore(Path(root), MemoryConfig(index_dir=index, user_dir=user, dedup_threshold=1.0))
print("ready", flush=True)
sys.stdin.readline()  # start together
for i in range(200):
    store.remember(f"Writer {tag} records fact number {i}: component {i * 7919 % 1000} owns queue {tag}{i}.", [], [tag])
print("done", flush=True)
"""


def test_two_writers_200_notes_each(repo: Path, tmp_path: Path) -> None:
    index, user = str(tmp_path / "index"), str(tmp_path / "user")
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, str(repo), index, user, tag],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=dict(os.environ),
        )
        for tag in ("a", "b")
    ]
    for p in procs:
        assert p.stdout.readline().strip() == "ready", p.stderr.read()
    for p in procs:
        p.stdin.write("go\n")
        p.stdin.flush()
    for p in procs:
        out, err = p.communicate(timeout=600)
        assert p.returncode == 0 and "done" in out, err
    files = list((repo / ".agent/memory").glob("*.md"))
    assert len(files) == 400
    store = MemoryStore(repo, MemoryConfig(index_dir=index, user_dir=user))
    assert store.warnings == []
    hashes = store.index.hashes()
    assert len(hashes) == 400 and set(hashes) == {f.stem for f in files}
    for tag, i in (("a", 3), ("b", 17), ("a", 199), ("b", 150)):
        text = f"Writer {tag} records fact number {i}: component {i * 7919 % 1000} owns queue {tag}{i}."
        assert store.recall(text, k=1)[0]["text"] == text
