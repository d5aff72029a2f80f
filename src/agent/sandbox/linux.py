"""Linux sandbox: namespaces and Landlock applied in the child between fork and exec (ctypes, no helper binary)."""

from __future__ import annotations

import ctypes
import fcntl
import functools
import os
import signal
import socket
import struct
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # policy imports this module lazily; only the annotation is needed here
    from agent.sandbox.policy import SandboxPolicy

_NEWNS, _NEWUSER, _NEWNET, _NEWPID = 0x00020000, 0x10000000, 0x40000000, 0x20000000
_MS_RDONLY, _MS_NOSUID, _MS_NODEV, _MS_REMOUNT, _MS_BIND, _MS_REC, _MS_PRIVATE = 1, 2, 4, 32, 4096, 16384, 1 << 18
# statvfs flag -> mount flag that an unprivileged remount must keep (the kernel locks them).
_LOCKED = {2: 2, 4: 4, 8: 8, 1024: 1024, 2048: 2048, 4096: 1 << 21}
_SYS_CREATE, _SYS_ADD_RULE, _SYS_RESTRICT = 444, 445, 446  # same number on every Linux architecture
_PR_SET_NO_NEW_PRIVS, _PR_SET_PDEATHSIG = 38, 1
_NET_BIND_TCP, _NET_CONNECT_TCP = 1, 2
_SIOCSIFFLAGS, _IFF_UP = 0x8914, 1
_READ_FILE, _READ_DIR, _WRITE_FILE, _TRUNCATE = 1 << 2, 1 << 3, 1 << 1, 1 << 14


@functools.cache
def _libc() -> ctypes.CDLL:
    """libc with every function the child calls already looked up.

    ctypes resolves a function (dlsym) on first attribute access and caches it; doing that here, in the parent,
    keeps the dynamic loader's lock out of the child, the one lock another thread could hold at fork time. The
    rest of the child's work is syscalls and the interpreter's own allocator (under the GIL the forking thread
    holds; glibc resets malloc's locks in the child). A helper process exec'd before the command would remove
    even that risk, but a Python helper with ctypes costs ~35 ms per command here (bench/sandbox.py: the whole
    set-up in the child costs under 1 ms).
    """
    libc = ctypes.CDLL(None, use_errno=True)
    for name in ("syscall", "prctl", "unshare", "mount"):
        getattr(libc, name)
    return libc


def _check(result: int, what: str) -> int:
    if result < 0:
        err = ctypes.get_errno()
        raise OSError(err, f"sandbox: {what}: {os.strerror(err)}")
    return result


def _syscall(number: int, *args: object) -> int:
    return int(_libc().syscall(ctypes.c_long(number), *args))


@functools.cache
def landlock_abi() -> int:
    """The kernel's Landlock ABI version, 0 when Landlock is absent or disabled."""
    try:
        return max(_syscall(_SYS_CREATE, None, ctypes.c_size_t(0), ctypes.c_uint32(1)), 0)
    except (OSError, AttributeError):
        return 0


def _write_rights(abi: int) -> int:
    rights = 1 << 1  # WRITE_FILE
    for bit in range(4, 13):  # REMOVE_DIR, REMOVE_FILE, MAKE_CHAR ... MAKE_SYM
        rights |= 1 << bit
    if abi >= 2:
        rights |= 1 << 13  # REFER
    if abi >= 3:
        rights |= 1 << 14  # TRUNCATE
    return rights


def _landlock(writable: tuple[bytes, ...], readable: tuple[bytes, ...] | None, block_tcp: bool) -> None:
    """Writes only under `writable`; reads (files and listings) only under `writable` + `readable` unless None."""
    abi = landlock_abi()
    if abi < 1:
        raise OSError("sandbox: Landlock is not available")
    read = 0 if readable is None else _READ_FILE | _READ_DIR
    fs = _write_rights(abi) | read
    net = _NET_BIND_TCP | _NET_CONNECT_TCP if block_tcp and abi >= 4 else 0
    attr = struct.pack("QQ", fs, net) if abi >= 4 else struct.pack("Q", fs)
    buf = ctypes.create_string_buffer(attr, len(attr))
    ruleset = _check(_syscall(_SYS_CREATE, ctypes.cast(buf, ctypes.c_void_p), ctypes.c_size_t(len(attr)), 0), "ruleset")
    for paths, rights in ((writable, fs), (readable or (), read)):
        for path in paths:
            _add_rule(ruleset, path, rights)
    _check(_libc().prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "no_new_privs")
    _check(_syscall(_SYS_RESTRICT, ruleset, 0), "restrict")
    os.close(ruleset)


def _add_rule(ruleset: int, path: bytes, rights: int) -> None:
    try:
        fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
    except OSError:
        return
    file_rights = rights & (_WRITE_FILE | _TRUNCATE | _READ_FILE)
    rule = ctypes.create_string_buffer(struct.pack("=Qi", rights if os.path.isdir(path) else file_rights, fd), 12)
    _check(_syscall(_SYS_ADD_RULE, ruleset, 1, ctypes.cast(rule, ctypes.c_void_p), 0), f"rule {path!r}")
    os.close(fd)


def _mount(src: bytes | None, target: bytes, fstype: bytes | None, flags: int, data: bytes | None = None) -> None:
    _check(_libc().mount(src, target, fstype, ctypes.c_ulong(flags), data), f"mount {target!r}")


def _namespaces(policy: SandboxPolicy, ro_flags: tuple[tuple[bytes, int], ...], hidden: tuple[bytes, ...]) -> bool:
    """Enter the namespaces; True when a PID namespace is among them (some container runtimes refuse one)."""
    flags = _NEWUSER | _NEWNS | (0 if policy.network else _NEWNET)
    pid_ns = _libc().unshare(flags | _NEWPID) == 0
    if not pid_ns:
        _check(_libc().unshare(flags), "unshare")
    for name, text in (
        ("setgroups", "deny"),
        ("uid_map", f"{policy.uid} {policy.uid} 1"),
        ("gid_map", f"{policy.gid} {policy.gid} 1"),
    ):
        fd = os.open(f"/proc/self/{name}", os.O_WRONLY)
        os.write(fd, text.encode())
        os.close(fd)
    _mount(None, b"/", None, _MS_REC | _MS_PRIVATE)
    for path in hidden:
        if os.path.isdir(path):
            _mount(b"tmpfs", path, b"tmpfs", _MS_NOSUID | _MS_NODEV, b"size=4k,mode=700")
        else:
            _mount(b"/dev/null", path, None, _MS_BIND)
    for path, locked in ro_flags:
        _mount(path, path, None, _MS_BIND | _MS_REC)
        _mount(None, path, None, _MS_REMOUNT | _MS_BIND | _MS_RDONLY | locked)
    if not policy.network:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:  # the namespace's own loopback, up
            fcntl.ioctl(sock, _SIOCSIFFLAGS, struct.pack("16sH22x", b"lo", _IFF_UP))
    return pid_ns


def _locked_flags(path: Path) -> int:
    flags = os.statvfs(path).f_flag
    return sum(mount for stat, mount in _LOCKED.items() if flags & stat)


def preexec(policy: SandboxPolicy, mech: str) -> Callable[[], None]:
    """A preexec_fn applying `policy` with mechanism `mech`; everything it needs is computed here, in the parent."""
    writable = tuple(os.fsencode(p) for p in policy.writable) + (b"/dev",)
    ro_flags = tuple((os.fsencode(p), _locked_flags(p)) for p in policy.read_only)
    hidden = tuple(os.fsencode(p) for p in policy.hidden)
    readable = None if policy.readable is None else tuple(os.fsencode(p) for p in policy.readable)
    landlock_abi()
    userns = mech == "linux-userns+landlock"

    def apply() -> None:
        pid_ns = _namespaces(policy, ro_flags, hidden) if userns else False
        _landlock(writable, readable, block_tcp=not policy.network and not userns)
        if pid_ns:
            _supervise()

    return apply


def _supervise() -> None:
    """Fork the command as PID 1 of the new PID namespace and stay behind as its supervisor; return in PID 1.

    The supervisor (the process the agent started, which dies with the agent by PR_SET_PDEATHSIG) waits for the
    command and exits with its status. PID 1 dies with the supervisor, and when PID 1 dies the kernel kills every
    process left in the namespace: nothing the command started, double forks and `nohup` included, outlives the
    command or the agent (a kill -9 of the agent too).
    """
    pid = os.fork()
    if pid == 0:  # PID 1: its parent is outside the namespace, so getppid() says 0 and cannot be compared
        _libc().prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
        return
    os.closerange(3, 1 << 16)  # subprocess's exec-error pipe among them: the agent learns of the exec from PID 1
    while True:
        try:
            _, status = os.waitpid(pid, 0)
            break
        except InterruptedError:
            continue
    code = os.waitstatus_to_exitcode(status)
    if code < 0:
        signal.signal(-code, signal.SIG_DFL)
        os.kill(os.getpid(), -code)
    os._exit(code if code >= 0 else 128 - code)


def with_deathsig(then: Callable[[], None] | None) -> Callable[[], None]:
    """A preexec_fn: the child gets SIGKILL when the agent's thread that started it dies, then `then` runs.

    Only from the main thread (the signal follows the parent *thread*); a parent gone before the prctl
    (a kill -9 in between) is caught by comparing the parent pid.
    """
    parent = os.getpid()
    main = threading.current_thread() is threading.main_thread()
    _libc()

    def apply() -> None:
        if main:
            _libc().prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
            if os.getppid() != parent:
                os._exit(137)
        if then is not None:
            then()

    return apply
