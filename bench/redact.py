"""Redaction cost: the redactor (agent.redact) against the previous design measured in the same run
(detect-secrets' patterns as shipped, unbounded, plus exact env values), on ordinary tool output and on
hostile 1 MB lines. A reference that does not finish within --timeout seconds is shown as "> T s".

Usage: python bench/redact.py [--repeats 5] [--timeout 20]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ENV = {"API_PW": "Zq8kL2pVx9mN4w7eR5tY", "GH_TOKEN": "ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8"}
HOSTILE = {
    "1 MB of one letter": "'a' * 1_000_000",
    "'cl_key' + 1 MB of spaces": "'cl_key' + ' ' * 1_000_000 + '='",
    "'//' x 500k + ':_authToken='": "'//' * 500_000 + '/:_authToken='",
    "'AKC' x 333k": "'AKC' * 333_333",
    "'password: ' x 100k": "'password: ' * 100_000",
}
OLD = '''
import os, re, sys, time
from agent.redact import EXTRA_PATTERNS, SKIPPED_PLUGINS
import detect_secrets.plugins as plugins, importlib, inspect, pkgutil
from detect_secrets.plugins.base import RegexBasedDetector
patterns = []
for info in pkgutil.iter_modules(plugins.__path__):
    module = importlib.import_module(f"detect_secrets.plugins.{info.name}")
    for _, cls in inspect.getmembers(module, inspect.isclass):
        if cls.__module__ == module.__name__ and not inspect.isabstract(cls) and issubclass(cls, RegexBasedDetector) \\
                and cls.__name__ not in SKIPPED_PLUGINS:
            patterns += list(cls().denylist)
patterns += [rx for _, rx in EXTRA_PATTERNS]
values = %r
def old(text):
    spans = [(m.start(), m.end()) for rx in patterns for m in rx.finditer(text)]
    for v in values:
        i = text.find(v)
        while i >= 0:
            spans.append((i, i + len(v)))
            i = text.find(v, i + len(v))
    return spans
text = eval(sys.argv[1])
start = time.perf_counter()
old(text)
print(time.perf_counter() - start)
'''


def typical() -> dict[str, str]:
    """Ordinary observations: a source file, its xxd dump, a test log."""
    source = (ROOT / "src" / "agent" / "loop.py").read_text()[:12000]
    dump = subprocess.run(["xxd"], input=source[:4000].encode(), capture_output=True).stdout.decode()[:12000]
    log = "\n".join(f"tests/test_x.py::test_{i} PASSED [{i}%]" for i in range(300))[:12000]
    return {"source file, 12k chars": source, "xxd dump, 12k chars": dump, "pytest log, 12k chars": log}


def median_ms(fn: object, text: str, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn(text)  # type: ignore[operator]
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def old_ms(expression: str, timeout: float) -> float | None:
    """One run of the previous design in a child process (it may not finish); None past the timeout."""
    try:
        env = {"PYTHONPATH": str(ROOT / "src"), "PATH": "/usr/bin:/bin"}
        proc = subprocess.run([sys.executable, "-c", OLD % list(ENV.values()), expression], capture_output=True,
                              text=True, timeout=timeout, env=env)
    except subprocess.TimeoutExpired:
        return None
    return float(proc.stdout.strip()) * 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--timeout", type=float, default=20.0)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT / "src"))
    from agent.redact import Redactor

    redactor = Redactor(environ=ENV)
    print(f"{'input':34} {'redactor ms':>12} {'previous ms':>12} {'ratio':>7}")
    for name, text in typical().items():
        new = median_ms(redactor.redact, text, args.repeats)
        old = old_ms(repr(text), args.timeout)
        print(f"{name:34} {new:12.1f} {old:12.1f} {new / old:7.2f}" if old else f"{name:34} {new:12.1f}")
    for name, expression in HOSTILE.items():
        new = median_ms(redactor.redact, eval(expression), max(1, args.repeats // 2))  # noqa: S307 - our own table
        old = old_ms(expression, args.timeout)
        late = f"> {args.timeout:g} s"
        shown = f"{old:12.1f} {new / old:7.2f}" if old is not None else f"{late:>12} {'-':>7}"
        print(f"{name:34} {new:12.1f} {shown}")


if __name__ == "__main__":
    main()
