"""The terminal side of `agent chat`: the keys typed while a step runs (Esc stops it, text is kept for the next
prompt), why an approval asks, and the command patterns its "always" may cover (saved to the user's config)."""

from __future__ import annotations

import codecs
import os
import re
import select
import signal
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any


def command_pattern(command: str) -> str:
    """The pattern "always" may cover for a command: its program (and subcommand or module) then `*`."""
    words = command.split()
    if not words:
        return command
    keep = 3 if len(words) > 2 and words[1] == "-m" else 2 if len(words) > 1 and words[0] in SUBCOMMANDS else 1
    return " ".join(words[:keep]) + " *"


SUBCOMMANDS = {"git", "npm", "yarn", "pnpm", "cargo", "go", "uv", "pip", "make", "docker", "poetry"}
REMOTE = {"ssh", "scp", "sftp", "ftp", "rsync", "telnet", "ping"}
FETCHING = {  # program -> its subcommands that reach the network
    "git": {"push", "pull", "fetch", "clone", "ls-remote", "submodule"},
    **{p: {"install", "add", "update", "upgrade", "download", "publish", "sync", "get", "fetch", "i", "ci"}
       for p in ("pip", "pip3", "uv", "npm", "yarn", "pnpm", "cargo", "go", "gem", "poetry", "conda", "apt",
                 "apt-get", "brew", "bundle")},
    "docker": {"pull", "push", "login", "build"},
}


WHY = {
    "shell": "not known to be read-only",
    "edit": "a file that is not in the chat",
    "test": "runs the tests",
    "tool": "this tool needs approval",
    "dirty_file": "you have uncommitted changes in it",
}


def approval_why(conv: Any, kind: str, detail: str) -> str:
    """Why an approval question is asked: a test file, outside the repository, the network, a dirty file..."""
    if kind == "edit":
        from agent.guard.paths import is_test_file, is_whole_test_config

        return "a test file" if is_test_file(detail) or is_whole_test_config(detail) else WHY["edit"]
    if kind != "shell" or conv is None:
        return WHY.get(kind, "")
    from agent.policy.permissions import decide

    reason = decide(conv.ws.config.permissions, kind, detail, conv.ws)[1]
    if "needs the network: allow network for this command?" in reason:
        return "may use the network; yes: this command alone gets it"
    return shell_why(reason, detail)


def shell_why(reason: str, command: str) -> str:
    """Why an approval for `command` is asked, in a few words (the policy's `reason`, or the network)."""
    if "outside the repository" in reason:
        return "reaches outside the repository"
    from agent.policy.shellwords import DOWNLOADERS

    for part in re.split(r"[;&|()]+", command):
        words = [w for w in part.split() if "=" not in w or w.startswith("-")]
        if not words:
            continue
        name = os.path.basename(words[0])
        if name in DOWNLOADERS or name in REMOTE or (len(words) > 1 and words[1] in FETCHING.get(name, ())):
            return "may use the network"
    return "not known to be read-only"


def save_shell_allow(pattern: str) -> Path:
    """Add `pattern` to permissions.shell_allow in the user's config file (kept as it was otherwise)."""
    import tomlkit

    from agent.config import user_config_path

    path = user_config_path()
    doc = tomlkit.parse(path.read_text()) if path.exists() else tomlkit.document()
    table = doc.setdefault("permissions", tomlkit.table())
    allowed = table.setdefault("shell_allow", tomlkit.array())
    if pattern not in allowed:
        allowed.append(pattern)
    path.parent.mkdir(parents=True, exist_ok=True)
    from agent.atomic import atomic_write_text

    atomic_write_text(path, tomlkit.dumps(doc))
    return path


PASTED_NEWLINE = "\u2028"  # a line break inside a paste typed ahead: the message goes on (repl splits on "\n")
PASTE_ON, PASTE_OFF = "\x1b[?2004h", "\x1b[?2004l"  # bracketed paste: the terminal marks pasted text
ESC_WAIT_S = 0.1  # an arrow key's bytes come together; a lone Esc has nothing after it for this long


def drain_stdin() -> str:
    """Read whatever is waiting on the terminal without blocking."""
    if not sys.stdin.isatty():
        return ""
    fd, chunks = sys.stdin.fileno(), []
    try:
        while select.select([fd], [], [], 0)[0]:
            data = os.read(fd, 4096)
            if not data:
                break
            chunks.append(data)
    except OSError:
        pass
    return b"".join(chunks).decode(errors="replace")


class StepKeys:
    """The terminal while a step runs, read by a thread in order: a lone Esc (nothing after it within
    ESC_WAIT_S) stops the step as Ctrl-C does; a key's escape sequence (an arrow, a function key, a paste's
    markers) is dropped; everything else is typed-ahead text, kept (`text`) for the next prompts and shown
    under the spinner (`preview`). `pause` hands the terminal to an approval prompt; `resume` takes it back."""

    def __init__(self, fd: int):
        self.fd, self.active, self.sent, self.in_paste = fd, True, 0.0, False
        self.typed = ""
        self.pending = bytearray()
        self.decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self.lock = threading.Lock()
        self.stop, self.want_pause, self.paused = threading.Event(), threading.Event(), threading.Event()
        self.main = threading.main_thread().ident or 0
        self.thread = threading.Thread(target=self._run, name="agent-step-keys", daemon=True)

    def text(self) -> str:
        """The typed-ahead text so far, once."""
        with self.lock:
            out, self.typed = self.typed, ""
        return out

    def preview(self) -> str:
        """The typed-ahead text, for showing."""
        return self.typed.replace(PASTED_NEWLINE, "\n")

    def pause(self) -> None:
        """Stop reading (for an approval prompt), after the bytes already read are sorted."""
        if self.thread.is_alive():
            self.want_pause.set()
            self.paused.wait(1.0)

    def resume(self) -> None:
        """Read again after a prompt (which turned bracketed paste off as it ended)."""
        _tell_terminal(PASTE_ON)
        self.paused.clear()
        self.want_pause.clear()

    def close(self) -> None:
        """Stop for good: a late Esc no longer interrupts."""
        self.active = False
        self.stop.set()
        if self.thread.is_alive():
            self.thread.join(1.0)

    def _byte(self, timeout: float) -> int | None:
        if self.pending:
            return self.pending.pop(0)
        try:
            if not select.select([self.fd], [], [], timeout)[0]:
                return None
            data = os.read(self.fd, 1024)
        except OSError:
            data = b""
        if not data:
            self.stop.set()
            return None
        self.pending.extend(data)
        return self.pending.pop(0)

    def _run(self) -> None:
        try:
            self._loop()
        finally:  # bytes already read when the step ends are typed-ahead text too
            while self.pending:
                byte = self.pending.pop(0)
                if byte == 0x1B:
                    self._escape()
                else:
                    self._keep(bytes([byte]))

    def _loop(self) -> None:
        while not self.stop.is_set():
            if self.want_pause.is_set() and not self.pending:
                self.paused.set()
                while self.want_pause.is_set() and not self.stop.is_set():
                    time.sleep(0.02)
                continue
            byte = self._byte(0.05)
            if byte is None:
                continue
            if byte == 0x1B:
                self._escape()
            else:
                self._keep(bytes([byte]))

    def _escape(self) -> None:
        """After ESC: drop a key's sequence (noting a paste's start and end), or interrupt (a lone Esc,
        perhaps with a key typed right after it)."""
        nxt = self._byte(ESC_WAIT_S)
        if nxt in (ord("["), ord("O")):
            sequence = bytearray()
            for _ in range(32):  # CSI parameters end at a byte in @..~; SS3 is one byte
                byte = self._byte(ESC_WAIT_S)
                if byte is None:
                    break
                sequence.append(byte)
                if nxt == ord("O") or 0x40 <= byte <= 0x7E:
                    break
            if nxt == ord("["):
                self.in_paste = {b"200~": True, b"201~": False}.get(bytes(sequence), self.in_paste)
            return
        if nxt is not None:
            self.pending.insert(0, nxt)
        if self.active and time.monotonic() - self.sent > 1.0:  # one interrupt per press, not one per byte
            self.sent = time.monotonic()
            signal.pthread_kill(self.main, signal.SIGQUIT)

    def _keep(self, data: bytes) -> None:
        with self.lock:
            for ch in self.decoder.decode(data):
                if ch in "\x7f\b":  # the terminal does not edit the line meanwhile: backspace here
                    self.typed = self.typed[:-1] if self.typed[-1:] not in ("", "\n") else self.typed
                elif ch in "\r\n":  # a line break inside a paste is part of one message, not the end of it
                    self.typed += PASTED_NEWLINE if self.in_paste else "\n"
                elif ch.isprintable() or ch == "\t":
                    self.typed += ch


@contextmanager
def esc_interrupts() -> Iterator[StepKeys | None]:
    """While a step runs, its keys are read by StepKeys: Esc stops the step as Ctrl-C does (SIGQUIT, sent to
    the main thread, raises KeyboardInterrupt), an arrow key or a paste does not, and typed text is kept.
    The terminal is non-canonical and does not echo meanwhile (the spinner shows the typed text); NOFLSH
    keeps what was typed when Ctrl-C is pressed. Yields None when stdin is not a terminal."""
    import termios

    try:
        fd = sys.stdin.fileno()
        old = termios.tcgetattr(fd)
    except (OSError, ValueError, termios.error):  # not a terminal
        yield None
        return
    new = [*old[:6], list(old[6])]
    new[3] = (new[3] & ~(termios.ICANON | termios.ECHO)) | termios.NOFLSH
    new[6][termios.VMIN], new[6][termios.VTIME] = 1, 0
    keys = StepKeys(fd)

    def interrupt(signum: int, frame: Any) -> None:
        if keys.active:
            raise KeyboardInterrupt

    previous = signal.signal(signal.SIGQUIT, interrupt)
    termios.tcsetattr(fd, termios.TCSANOW, new)
    _tell_terminal(PASTE_ON)
    keys.thread.start()
    try:
        yield keys
    finally:
        keys.close()
        _tell_terminal(PASTE_OFF)
        termios.tcsetattr(fd, termios.TCSANOW, old)
        signal.signal(signal.SIGQUIT, previous)


def _tell_terminal(sequence: str) -> None:
    if sys.stdout.isatty():
        sys.stdout.write(sequence)
        sys.stdout.flush()
