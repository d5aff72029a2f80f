"""Benchmark the memory store: add N notes, then query them.

    PYTHONPATH=src python bench/memory.py [--notes 10000] [--queries 200]

Reports add throughput (beside the embedding model's own rate on 2,000 of the same texts, measured
before and after the adds: the ceiling on this machine), recall() latency p50/p95 (embedding + index +
reading the hit files + freshness labels; hybrid: cosine + BM25) beside the cosine-only path it
replaced, the just-in-time lookup of notes anchored to a file (first call, which reads every note's
anchors, and p50 after), the end-of-run consolidation, disk size, and recall@1 / @5 of the paraphrase
set in tests/data/memory_paraphrases.json hidden among the N synthetic notes. Reference measured in the
same run: the same embedder with every text padded to 256 tokens (what chromadb's bundled ONNX function
does) against padding each batch to its longest.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SUBJECTS = ["the parser", "the scheduler", "the CLI", "the cache", "the indexer", "the web server", "the importer",
            "the billing job", "the auth module", "the report builder", "the sync worker", "the config loader"]
VERBS = ["must not call", "retries", "logs every", "batches", "rejects", "caches", "validates", "streams",
         "times out after", "skips", "sorts", "compresses"]
OBJECTS = ["empty payloads", "requests to the mirror", "rows without an owner", "UTF-16 files", "stale tokens",
           "nested archives", "duplicate invoices", "large uploads", "symlinked paths", "retries over 3",
           "timezone-naive dates", "unsigned commits"]
REASONS = ["since release {n}", "because of incident {n}", "see ticket #{n}", "per review {n}",
           "after the outage on day {n}", "as agreed in meeting {n}"]


def synthetic(n: int, rng: random.Random) -> list[str]:
    """Distinct, plausible one-line notes."""
    return [
        f"{rng.choice(SUBJECTS).capitalize()} {rng.choice(VERBS)} {rng.choice(OBJECTS)} "
        f"in module m{i % 997}, {rng.choice(REASONS).format(n=i)}."
        for i in range(n)
    ]


def dir_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) if path.exists() else 0


def padding_reference(texts: list[str]) -> tuple[float, float]:
    """Seconds to embed `texts` padded to the batch's longest vs. padded to 256 tokens."""
    from agent.memory.embed import MiniLMEmbedder, embedder

    ours = embedder()
    t = time.perf_counter()
    ours.embed(texts)
    longest = time.perf_counter() - t
    fixed = MiniLMEmbedder()
    fixed.tokenizer.enable_padding(pad_id=0, pad_token="[PAD]", length=256)
    t = time.perf_counter()
    fixed.embed(texts)
    return longest, time.perf_counter() - t


def embed_rate(texts: list[str]) -> float:
    """Texts per second of the embedding model alone (the ceiling for adding notes), batches as the store uses."""
    from agent.memory.embed import embedder

    t = time.perf_counter()
    embedder().embed(texts)
    return len(texts) / (time.perf_counter() - t)


def add_notes(store, texts: list[str], batch: int) -> tuple[float, float]:
    """Wall and CPU seconds to add `texts` in batches."""
    t, c = time.perf_counter(), time.process_time()
    for i in range(0, len(texts), batch):
        store.remember_many([{"text": x} for x in texts[i : i + batch]], source="user")
    return time.perf_counter() - t, time.process_time() - c


def measure(args: argparse.Namespace, work: Path) -> dict[str, object]:
    from agent.config import MemoryConfig
    from agent.memory import MemoryStore

    repo = work / "repo"
    repo.mkdir()
    subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
    data = json.loads((ROOT / "tests/data/memory_paraphrases.json").read_text())
    rng = random.Random(7)
    texts = synthetic(args.notes - len(data["notes"]), rng) + data["notes"]
    rng.shuffle(texts)
    config = MemoryConfig(index_dir=str(work / "index"), user_dir=str(work / "user"), dedup_threshold=0.98)
    store = MemoryStore(repo, config)
    store.recall("warm up the model", 1)
    ceiling = [embed_rate(rng.sample(texts, min(2000, len(texts))))]
    add_s, add_cpu = add_notes(store, texts, args.batch)
    ceiling.append(embed_rate(rng.sample(texts, min(2000, len(texts)))))
    stored = len(store.index.hashes())
    t = time.perf_counter()
    store.recall("first query after adding: syncs with the files", 1)
    first_s = time.perf_counter() - t
    queries = [f"what does {rng.choice(SUBJECTS)} do with {rng.choice(OBJECTS)}" for _ in range(args.queries)]
    lat, cpu = [], []
    for q in queries:
        t, c = time.perf_counter(), time.process_time()
        store.recall(q, 5)
        lat.append((time.perf_counter() - t) * 1000)
        cpu.append((time.process_time() - c) * 1000)
    lat.sort()
    ref = []  # the same queries through the former path: cosine only (embedding, exact search, hit files)
    from agent.memory.embed import embedder

    for q in queries:
        t = time.perf_counter()
        store._load_hits(store.index.query(embedder().embed([q]), 5)[0])
        ref.append((time.perf_counter() - t) * 1000)
    t = time.perf_counter()
    store.anchored_to(["app/ops.py"])  # just-in-time recall's lookup: the first call reads every note's anchors
    jit_cold_ms = (time.perf_counter() - t) * 1000
    jit = []
    for _ in range(50):
        t = time.perf_counter()
        store.anchored_to(["app/ops.py"])
        jit.append((time.perf_counter() - t) * 1000)
    hits1 = hits5 = 0
    for q in data["queries"]:
        got = [h["text"] for h in store.recall(q["query"], 5)]
        hits1 += got[:1] == [data["notes"][q["note"]]]
        hits5 += data["notes"][q["note"]] in got
    from agent.memory.consolidate import after_run

    t = time.perf_counter()  # end-of-run consolidation of a run that wrote 5 notes and changed one file
    after_run(store, sorted(store.written)[:5], ["app/ops.py"])
    after_run_ms = (time.perf_counter() - t) * 1000
    longest, fixed = padding_reference(rng.sample(texts, min(320, len(texts))))
    return {
        "notes stored": stored, "add s": add_s, "add notes/s": stored / add_s,
        "embedding alone, texts/s": statistics.mean(ceiling),
        "add / embedding alone": stored / add_s / statistics.mean(ceiling),
        "add notes per CPU-s": stored / add_cpu, "first query s (sync)": first_s,
        "recall p50 ms": statistics.median(lat), "recall p95 ms": lat[int(0.95 * (len(lat) - 1))],
        "recall CPU p50 ms": statistics.median(cpu),
        "recall p50 ms, cosine only (reference)": statistics.median(ref),
        "hybrid / cosine only, p50": statistics.median(lat) / statistics.median(ref),
        "end-of-run consolidation ms": after_run_ms,
        "jit anchor lookup, first ms": jit_cold_ms, "jit anchor lookup p50 ms": statistics.median(jit),
        "index MB": dir_bytes(work / "index") / 1e6, "note files MB": dir_bytes(repo / ".agent/memory") / 1e6,
        "recall@1": f"{hits1}/{len(data['queries'])}", "recall@5": f"{hits5}/{len(data['queries'])}",
        "embed 320: batch-longest s": longest, "embed 320: pad-256 s": fixed,
        "pad-256 / batch-longest": fixed / longest,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--notes", type=int, default=10000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--batch", type=int, default=500)
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    with tempfile.TemporaryDirectory(prefix="agent-bench-memory-") as tmp:
        result = measure(args, Path(tmp))
    width = max(map(len, result))
    print(f"{'metric':<{width}}  value")
    for key, value in result.items():
        print(f"{key:<{width}}  {value:.3f}" if isinstance(value, float) else f"{key:<{width}}  {value}")
    load = os.getloadavg()[0]
    print(f"(targets: >= 300 notes/s added, recall p50 <= 10 ms; cpus: {os.cpu_count()}, load average: {load:.1f})")


if __name__ == "__main__":
    sys.exit(main())
