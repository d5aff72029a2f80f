"""Start-up time: `agent --version` and `agent --help` against bare `python -c pass`, in the same venv.

Usage: python bench/startup.py [--runs N]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path


def timed(cmd: list[str], runs: int) -> float:
    """Median wall time of `runs` executions, after one warm-up."""
    subprocess.run(cmd, capture_output=True, check=True)
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(cmd, capture_output=True, check=True)
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=21)
    args = parser.parse_args()
    agent = str(Path(sys.executable).parent / "agent")
    if not os.path.exists(agent):
        sys.exit(f"no agent script beside {sys.executable}; install the package first")
    base = timed([sys.executable, "-c", "pass"], args.runs)
    rows = [("python -c pass", base)]
    rows += [(f"agent {flag}", timed([agent, flag], args.runs)) for flag in ("--version", "--help")]
    print(f"{'command':<18} {'median ms':>10} {'x bare':>8}")
    for name, value in rows:
        print(f"{name:<18} {value * 1000:>10.1f} {value / base:>8.2f}")


if __name__ == "__main__":
    main()
