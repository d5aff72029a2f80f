"""Team scale: the same store against a real Chroma server started with `chroma run`."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from memory_support import _shared_model, model_cache, repo  # noqa: F401

from agent.config import MemoryConfig
from agent.memory import MemoryStore


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    chroma = Path(sys.executable).with_name("chroma")
    port = free_port()
    env = dict(os.environ, ANONYMIZED_TELEMETRY="False")
    proc = subprocess.Popen(
        [str(chroma), "run", "--path", str(tmp_path / "server-data"), "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                urllib.request.urlopen(f"{url}/api/v2/heartbeat", timeout=1)
                break
            except OSError:
                assert proc.poll() is None, "chroma run exited"
                time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_store_against_a_chroma_server(repo: Path, tmp_path: Path, server: str) -> None:
    config = MemoryConfig(server_url=server, user_dir=str(tmp_path / "user"))
    store = MemoryStore(repo, config)
    assert store.index.path is None
    ids = [
        store.remember("Releases are cut from the main branch every Tuesday.", [], ["release"]),
        store.remember("The staging database is reset every night at 02:00.", [], ["ops"]),
    ]
    other = MemoryStore(repo, config)  # e.g. a teammate's process: same server, same collection
    assert other.recall("when do we ship a new version", 1)[0]["id"] == ids[0]
    other.forget(ids[1])
    assert store.index.count() == 1
    (repo / ".agent/memory" / f"{ids[0]}.md").unlink()
    assert MemoryStore(repo, config).index.count() == 0  # files are the truth on a server as well
