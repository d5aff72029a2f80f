"""Crash-safe file writes: a file is always either its old or its new content.

The data goes to a temp file beside the target, is fsynced, then renamed over the target (rename is
atomic on POSIX), and the directory is fsynced so the rename survives a power cut. SIGKILL at any
point leaves the old file or the new one, plus at worst a stray `.name.*.tmp` file.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

_CREATE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)


def write_at(dir_fd: int, name: str, data: bytes) -> None:
    """Atomically replace `name` inside the open directory `dir_fd` (a symlink there is replaced, not followed)."""
    _commit(dir_fd, [_stage(dir_fd, name, data)])
    _sync_dir(dir_fd)


def _stage(dir_fd: int, name: str, data: bytes) -> tuple[str, int, str]:
    """Write `data` to a new temp file beside `name`; return (temp name, open fd, name), not yet synced."""
    try:
        mode: int | None = os.stat(name, dir_fd=dir_fd, follow_symlinks=False).st_mode & 0o7777
    except FileNotFoundError:
        mode = None
    tmp = f".{name[:200]}.{secrets.token_hex(4)}.tmp"
    fd = os.open(tmp, _CREATE, 0o666 if mode is None else 0o600, dir_fd=dir_fd)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        if mode is not None:
            os.fchmod(fd, mode)
    except BaseException:
        _discard(dir_fd, [(tmp, fd, name)])
        raise
    return tmp, fd, name


def _commit(dir_fd: int, staged: list[tuple[str, int, str]]) -> None:
    """fsync each staged temp file and rename it over its target; on error the rest are removed."""
    for k, (tmp, fd, name) in enumerate(staged):
        try:
            os.fsync(fd)
            os.close(fd)
            fd = -1
            os.replace(tmp, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
        except BaseException:
            _discard(dir_fd, [(tmp, fd, name), *staged[k + 1 :]])
            raise


def _discard(dir_fd: int, staged: list[tuple[str, int, str]]) -> None:
    for tmp, fd, _ in staged:
        if fd >= 0:
            os.close(fd)
        try:
            os.unlink(tmp, dir_fd=dir_fd)
        except OSError:
            pass


def _sync_dir(dir_fd: int) -> None:
    try:
        os.fsync(dir_fd)
    except OSError:
        pass  # some file systems cannot fsync a directory; the rename is still atomic


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write `data` to a temp file beside `path`, fsync it, then rename it over `path`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    dir_fd = os.open(path.parent, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        write_at(dir_fd, path.name, data)
    finally:
        os.close(dir_fd)


def atomic_write_many(directory: Path, files: dict[str, bytes], group: int = 64) -> None:
    """Atomically replace several files of one directory, each as above, at a lower cost per file.

    A group of temp files is written before any is fsynced (a create right after an fsync waits for
    the journal), then each is fsynced and renamed, and the directory is fsynced once at the end.
    """
    directory.mkdir(parents=True, exist_ok=True)
    dir_fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    items = list(files.items())
    try:
        try:
            for start in range(0, len(items), group):
                staged: list[tuple[str, int, str]] = []
                try:
                    for name, data in items[start : start + group]:
                        staged.append(_stage(dir_fd, name, data))
                except BaseException:
                    _discard(dir_fd, staged)
                    raise
                _commit(dir_fd, staged)
        finally:
            _sync_dir(dir_fd)  # whatever was renamed before an error is made durable too
    finally:
        os.close(dir_fd)


def atomic_write_text(path: Path, text: str) -> None:
    """Write text as UTF-8, atomically."""
    atomic_write_bytes(path, text.encode("utf-8"))
