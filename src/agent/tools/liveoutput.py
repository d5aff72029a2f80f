"""A command's output read as it comes, for a front end that shows its live tail (chat); the whole is kept."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
from collections.abc import Callable


def communicate_live(
    proc: subprocess.Popen[bytes], timeout_s: float, on_output: Callable[[str], None]
) -> tuple[int | None, str]:
    """Wait for `proc` (its own process group), passing each chunk of its stdout to `on_output`; return
    (exit code, or None when it was killed at the timeout, and the whole output). Ctrl-C kills it too."""
    chunks: list[bytes] = []
    fd = proc.stdout.fileno() if proc.stdout is not None else -1

    def pump() -> None:
        for chunk in iter(lambda: os.read(fd, 65536), b""):
            chunks.append(chunk)
            try:
                on_output(chunk.decode(errors="replace"))
            except Exception:  # a display problem must not lose the output
                pass

    reader = threading.Thread(target=pump, name="agent-output", daemon=True)
    reader.start()
    code: int | None
    try:
        code = proc.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        code = None
    except BaseException:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        raise
    reader.join(5)  # a background child may still hold the pipe: do not wait for it forever
    if proc.stdout is not None and not reader.is_alive():  # else the reader still owns the descriptor
        proc.stdout.close()
    return code, b"".join(chunks).decode(errors="replace")
