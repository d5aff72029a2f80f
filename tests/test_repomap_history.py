"""The history signal: files of past commits whose messages resemble the query; cached, incremental."""

from __future__ import annotations

from pathlib import Path

from conftest import git, init_repo, write

from agent.repomap import build_map
from agent.repomap.history import load_history

FILES = {
    "pkg/alpha.py": "def one():\n    return 1\n",
    "pkg/beta.py": "def two():\n    return 2\n",
    "pkg/gamma.py": "def three():\n    return 3\n",
}


def _commit(repo: Path, files: dict[str, str], message: str) -> None:
    write(repo, files)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message)


def test_past_commit_messages_point_at_their_files(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "r", FILES)
    _commit(repo, {"pkg/gamma.py": "def three():\n    return 3 + 0\n"}, "Fix the frobnicator overflow on wide inputs")
    res = build_map(repo, "frobnicator overflow again")
    assert res.files[0][0] == "pkg/gamma.py"
    assert "history" in res.why["pkg/gamma.py"]["signals"]
    assert res.why["pkg/gamma.py"]["rank"] == 1


def test_cache_follows_head_forward_and_survives_rewrites(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "r", FILES)
    cache = tmp_path / "cache"
    first = load_history(repo, cache)
    assert first is not None and len(first.shas) == 1
    _commit(repo, {"pkg/beta.py": "def two():\n    return 22\n"}, "Tweak beta")
    second = load_history(repo, cache)
    assert second is not None and second.shas[1:] == first.shas and len(second.shas) == 2
    assert second.files[0] == ("pkg/beta.py",)
    git(repo, "reset", "-q", "--hard", "HEAD~1")  # HEAD moved back: read again, not appended
    third = load_history(repo, cache)
    assert third is not None and third.shas == first.shas
    (cache / "repomap-history.pkl").write_bytes(b"garbage")
    assert load_history(repo, cache).shas == first.shas  # a corrupt cache is rebuilt


def test_no_history_outside_git(tmp_path: Path) -> None:
    (tmp_path / "plain").mkdir()
    (tmp_path / "plain" / "a.py").write_text("def frob():\n    pass\n")
    assert load_history(tmp_path / "plain", tmp_path / "cache") is None
    assert build_map(tmp_path / "plain", "frob").files[0][0] == "a.py"
