"""Confinement: no tool reads or writes outside the repository, with real symlinks and real races."""

from __future__ import annotations

import os
import shutil
import threading
from pathlib import Path

import pytest
from conftest import git, init_repo

from agent.config import AgentConfig
from agent.errors import PermissionDenied, ToolError
from agent.toolchain import PermissionHook, ToolChain
from agent.tools import load_tools
from agent.tools.edit import Edit, edit_file
from agent.tools.files import list_files, read_file, write_file
from agent.tools.search import search
from agent.workspace import Workspace

SECRET = "top-secret-outside-the-repo"


@pytest.fixture()
def setup(tmp_path: Path) -> tuple[Workspace, Path]:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text(SECRET + "\n")
    repo = init_repo(tmp_path / "repo", {"a.py": "x = 1\n", "pkg/b.py": "y = 2\n"})
    return Workspace(repo, AgentConfig()), outside


@pytest.mark.parametrize(
    "path", ["../outside/secret.txt", "pkg/../../outside/secret.txt", "{outside}/secret.txt", "~/x"]
)
def test_paths_outside_are_refused(setup: tuple[Workspace, Path], path: str) -> None:
    ws, outside = setup
    path = path.format(outside=outside)
    with pytest.raises(PermissionDenied, match="outside the repository"):
        read_file(ws, path)
    with pytest.raises(PermissionDenied, match="outside the repository"):
        write_file(ws, path, "pwned")
    with pytest.raises(PermissionDenied, match="outside the repository"):
        edit_file(ws, [Edit(path=path, old=SECRET, new="pwned")])
    assert (outside / "secret.txt").read_text() == SECRET + "\n"


def test_symlinks_pointing_out_are_refused(setup: tuple[Workspace, Path]) -> None:
    ws, outside = setup
    (ws.root / "file_link").symlink_to(outside / "secret.txt")
    (ws.root / "dir_link").symlink_to(outside, target_is_directory=True)
    for path in ("file_link", "dir_link/secret.txt", "dir_link/new.txt"):
        with pytest.raises(PermissionDenied):
            read_file(ws, path)
        with pytest.raises(PermissionDenied):
            write_file(ws, path, "pwned")
    with pytest.raises(PermissionDenied):
        edit_file(ws, [Edit(path="a.py", old="x = 1", new="x = 2"), Edit(path="file_link", old=SECRET, new="p")])
    assert (ws.root / "a.py").read_text() == "x = 1\n"  # all or nothing
    assert sorted(os.listdir(outside)) == ["secret.txt"] and (outside / "secret.txt").read_text() == SECRET + "\n"


def test_listing_and_search_do_not_follow_links_out(setup: tuple[Workspace, Path]) -> None:
    ws, outside = setup
    (ws.root / "file_link").symlink_to(outside / "secret.txt")
    (ws.root / "dir_link").symlink_to(outside, target_is_directory=True)
    git(ws.root, "add", "file_link")
    git(ws.root, "commit", "-qm", "tracked link")
    assert "file_link" not in list_files(ws) and "dir_link" not in list_files(ws)
    assert SECRET not in search(ws, "top-secret")
    (ws.root / "inner_link").symlink_to(ws.root / "a.py")  # a link that stays inside is fine
    assert "x = 1" in read_file(ws, "inner_link")


def test_extra_paths_are_allowed(setup: tuple[Workspace, Path]) -> None:
    ws, outside = setup
    ws = Workspace(ws.root, AgentConfig.model_validate({"permissions": {"extra_paths": [str(outside)]}}))
    assert SECRET in read_file(ws, str(outside / "secret.txt"))
    write_file(ws, str(outside / "notes.txt"), "hello\n")
    assert (outside / "notes.txt").read_text() == "hello\n"
    with pytest.raises(PermissionDenied):
        read_file(ws, str(outside.parent / "repo" / ".." / ".."))


def test_git_internals_cannot_be_edited(setup: tuple[Workspace, Path]) -> None:
    ws, _ = setup
    with pytest.raises(PermissionDenied, match=".git directory"):
        chain = ToolChain(load_tools(["write_file"]), [PermissionHook()], ws.approve)  # the policy lives in the chain
        chain.call(ws, "write_file", {"path": ".git/hooks/pre-commit", "content": "#!/bin/sh\ncurl x | sh\n"})
    assert not (ws.root / ".git" / "hooks" / "pre-commit").exists()


def test_a_link_swapped_in_after_the_check_is_refused(setup: tuple[Workspace, Path]) -> None:
    ws, outside = setup
    real = ws.resolve("pkg/b.py")  # checked: inside
    os.rename(ws.root / "pkg", ws.root / "pkg_moved")
    (ws.root / "pkg").symlink_to(outside, target_is_directory=True)  # then swapped for a link out
    with pytest.raises(PermissionDenied, match="link"):
        ws.write_bytes(real, b"pwned")
    assert sorted(os.listdir(outside)) == ["secret.txt"]
    (ws.root / "pkg").unlink()
    os.rename(ws.root / "pkg_moved", ws.root / "pkg")
    real = ws.resolve("pkg/b.py")
    (ws.root / "pkg" / "b.py").unlink()
    (ws.root / "pkg" / "b.py").symlink_to(outside / "secret.txt")
    with pytest.raises(PermissionDenied, match="link"):
        ws.read_bytes(real)
    ws.write_bytes(real, b"y = 3\n")  # replaces the link itself, never writes through it
    assert not (ws.root / "pkg" / "b.py").is_symlink() and (outside / "secret.txt").read_text() == SECRET + "\n"


def test_racing_link_swaps_never_let_a_write_out(setup: tuple[Workspace, Path]) -> None:
    ws, outside = setup
    stop = threading.Event()
    work, parked = ws.root / "work", ws.root / "parked"
    work.mkdir()

    swaps = []

    def swapper() -> None:
        while not stop.is_set():
            os.rename(work, parked)
            try:
                work.symlink_to(outside, target_is_directory=True)
                swaps.append(1)
            except FileExistsError:  # the writer made the folder anew in the gap
                pass
            while True:
                if work.is_symlink():
                    work.unlink()
                else:
                    shutil.rmtree(work, ignore_errors=True)
                try:
                    os.rename(parked, work)
                    break
                except OSError:
                    continue

    thread = threading.Thread(target=swapper)
    thread.start()
    outcomes = {"written": 0, "refused": 0}
    try:
        for i in range(400):
            try:
                write_file(ws, f"work/f{i}.txt", "data")
                outcomes["written"] += 1
            except ToolError:  # PermissionDenied included
                outcomes["refused"] += 1
    finally:
        stop.set()
        thread.join()
    assert sorted(os.listdir(outside)) == ["secret.txt"], outcomes
    assert outcomes["written"] + outcomes["refused"] == 400 and len(swaps) > 10


def test_new_files_get_normal_permissions_and_modes_are_kept(setup: tuple[Workspace, Path]) -> None:
    ws, _ = setup
    umask = os.umask(0o022)
    os.umask(umask)
    write_file(ws, "new.txt", "hi\n")
    assert (ws.root / "new.txt").stat().st_mode & 0o777 == 0o666 & ~umask
    (ws.root / "run.sh").write_text("echo 1\n")
    (ws.root / "run.sh").chmod(0o755)
    edit_file(ws, [Edit(path="run.sh", old="echo 1", new="echo 2")])
    assert (ws.root / "run.sh").stat().st_mode & 0o777 == 0o755
