"""The on-disk index: incremental re-parsing, versioning, ignored/binary/huge files."""

from __future__ import annotations

import os
import pickle
from pathlib import Path

from conftest import git, init_repo

from agent.repomap.files import MAX_BYTES, category
from agent.repomap.index import CACHE_DIR, load_index

FILES = {
    "pkg/a.py": "def alpha():\n    return beta()\n",
    "pkg/b.py": "def beta():\n    return 2\n",
    "pkg/c.py": "class Gamma:\n    def run(self):\n        return alpha()\n",
    "web/app.ts": "export function start(): void {}\n",
    "README.md": "# not code\n",
}


def test_first_load_parses_everything_then_nothing(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "r", FILES)
    assert sorted(load_index(repo).parsed) == ["pkg/a.py", "pkg/b.py", "pkg/c.py", "web/app.ts"]
    assert load_index(repo).parsed == []
    assert (repo / CACHE_DIR / "repomap.pkl").is_file()


def test_changing_one_file_reparses_only_that_file(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "r", FILES)
    load_index(repo)
    (repo / "pkg/b.py").write_text("def beta():\n    return 3\n\ndef delta():\n    return 4\n")
    index = load_index(repo)
    assert index.parsed == ["pkg/b.py"]
    names = [d.name for d in index.defs(index.paths.index("pkg/b.py"))]
    assert names == ["beta", "delta"]


def test_touched_but_unchanged_file_is_not_reparsed(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "r", FILES)
    load_index(repo)
    st = os.stat(repo / "pkg/a.py")
    os.utime(repo / "pkg/a.py", ns=(st.st_atime_ns, st.st_mtime_ns + 5_000_000_000))
    assert load_index(repo).parsed == []


def test_added_and_deleted_files(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "r", FILES)
    load_index(repo)
    (repo / "pkg/c.py").unlink()
    (repo / "pkg/d.py").write_text("def delta():\n    pass\n")
    index = load_index(repo)
    assert index.parsed == ["pkg/d.py"]
    assert "pkg/c.py" not in index.paths


def test_old_cache_version_is_rebuilt_not_misread(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "r", FILES)
    load_index(repo)
    path = repo / CACHE_DIR / "repomap.pkl"
    head, _, body = path.read_bytes().partition(b"\n")
    assert head.startswith(b"agent-repomap ")
    path.write_bytes(b"agent-repomap an-older-format\n" + body)
    assert len(load_index(repo).parsed) == 4
    path.write_bytes(head + b"\n" + pickle.dumps({"paths": ["x.py"]})[:-3])  # right header, truncated body
    assert len(load_index(repo).parsed) == 4
    (repo / CACHE_DIR / "repomap.pkl").write_bytes(b"garbage")
    assert len(load_index(repo).parsed) == 4


def test_gitignored_binary_and_huge_files_are_skipped(tmp_path: Path) -> None:
    files = dict(FILES)
    files[".gitignore"] = "build_out/\n"
    files["build_out/gen.py"] = "def generated():\n    pass\n"
    files["blob.c"] = "int x;\0\0\0"
    files["huge.py"] = "x = 1\n" * (MAX_BYTES // 6 + 10)
    repo = init_repo(tmp_path / "r", files)
    paths = load_index(repo).paths
    assert "build_out/gen.py" not in paths and "blob.c" not in paths and "huge.py" not in paths
    assert "pkg/a.py" in paths


def test_cache_stays_out_of_git_status(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "r", FILES)
    load_index(repo)
    assert git(repo, "status", "--porcelain") == ""


def test_works_outside_git_with_gitignore(tmp_path: Path) -> None:
    root = tmp_path / "plain"
    (root / "lib").mkdir(parents=True)
    (root / "lib/x.py").write_text("def x():\n    pass\n")
    (root / "lib/skip.py").write_text("def skip():\n    pass\n")
    (root / ".gitignore").write_text("skip.py\n")
    assert load_index(root).paths == ["lib/x.py"]


def test_categories() -> None:
    assert category("src/click/core.py") == "source"
    assert category("tests/test_core.py") == "test"
    assert category("pkg/core_test.go") == "test"
    assert category("web/app.spec.ts") == "test"
    assert category("vendor/lib/x.go") == "vendor"
    assert category("api/v1/service_pb2.py") == "generated"
    assert category("docs/conf.py") == "aux"
