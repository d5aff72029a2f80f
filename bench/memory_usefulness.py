"""Benchmark how useful recalled notes are: recall@3 and precision@3 per query kind.

    PYTHONPATH=src python bench/memory_usefulness.py [--split tune|heldout|all] [--mixed] [--json]

The data (bench/memory-usefulness/): 200 notes written from ten projects' contributor documentation
(each names its source), anchored into a synthetic repository this script creates, and 426 queries of
three kinds, each with the notes that should come back:
    task   the task text a run starts with
    file   a file (or one symbol of it) the agent reads
    error  an error message in a tool result

Methods, side by side:
    (a) first prompt   the notes the first prompt gets for the query text (context.prompt_notes)
    (b) just in time   the notes RecallHook appends to a tool result: a real read_file of the file (the
                       symbol's lines for path:symbol) through the tool chain, or a failed run_tests call
                       whose output is the error (task queries have no tool call: "-")
    (c) BM25           plain Okapi BM25 (k1 1.2, b 0.75) over the note texts, top 3
    (d) embedding      cosine similarity of the MiniLM embeddings, top 3 (the recall before this change)
    system             what the agent shows: (a) for task queries, (b) for file and error queries

Each project's notes live in their own repository and store (a repository's memory holds its own
notes: 13 to 23 here); --mixed puts all 200 in one store over one tree (a stress test: ten projects'
similar conventions compete).
recall@3 = |relevant in the first 3 shown| / |relevant|; precision@3 = |relevant in the first 3 shown| /
|shown, at most 3| (0 when nothing is shown). Means over the queries of the split. The split of each query
(tune / heldout) is fixed in queries.jsonl; recall was tuned on "tune" only.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "bench" / "memory-usefulness"
FILLER = 50  # helper functions (3 lines each) after every anchored symbol: files with several symbols span pages
_HIT = re.compile(r"^- \[\w+, \w+\] (\S+):", re.MULTILINE)


def load() -> tuple[list[dict], list[dict]]:
    def rows(name: str) -> list[dict]:
        return [json.loads(line) for line in (DATA / name).read_text(encoding="utf-8").splitlines() if line]

    return rows("notes.jsonl"), rows("queries.jsonl")


# ---- the synthetic repository ---------------------------------------------------------------------------

def _filler(prefix: str, indent: str, n: int) -> list[str]:
    out = []
    for i in range(n):
        out += [f"{indent}def _{prefix}_helper_{i}(value):", f"{indent}    return value + {i}", ""]
    return out


def python_module(symbols: set[str]) -> tuple[str, dict[str, tuple[int, int]]]:
    """Module text defining every symbol (Class, Class.method, function), and each symbol's line span."""
    lines = ['"""Generated for the memory usefulness benchmark."""', ""]
    spans: dict[str, tuple[int, int]] = {}
    tops: dict[str, set[str]] = defaultdict(set)
    for sym in sorted(symbols):
        top, _, member = sym.partition(".")
        tops[top].update([member] if member else [])
    for top, members in tops.items():
        start = len(lines) + 1
        if top[:1].isupper() or members:
            lines += [f"class {top}:", f'    """{top}."""', ""]
            for member in sorted(members):
                m_start = len(lines) + 1
                lines += [f"    def {member}(self, *args):", "        return args", ""]
                spans[f"{top}.{member}"] = (m_start, len(lines) - 1)
                lines += _filler(member, "    ", FILLER)
            if not members:
                lines += _filler(top, "    ", FILLER)
        else:
            lines += [f"def {top}(*args):", "    return args", ""]
            lines += _filler(top, "", FILLER)
        spans[top] = (start, len(lines) - 1)
        lines.append("")
    if not tops:
        lines += _filler("module", "", 20)
    return "\n".join(lines) + "\n", spans


def build_repo(repo: Path, notes: list[dict], queries: list[dict]) -> dict[str, tuple[int, int]]:
    """Write every anchored or queried file; return path:symbol -> line span."""
    files: dict[str, set[str]] = defaultdict(set)
    for note in notes:
        for spec in note["anchors"]:
            path, _, sym = spec.partition(":")
            files[path].update([sym] if sym else [])
    for q in queries:
        if q["kind"] == "file":
            files[q["path"]].update([q["symbol"]] if q["symbol"] else [])
    spans: dict[str, tuple[int, int]] = {}
    for path, symbols in files.items():
        target = repo / path
        target.parent.mkdir(parents=True, exist_ok=True)
        if path.endswith((".py", ".pyi")):
            text, found = python_module(symbols)
            spans.update({f"{path}:{s}": span for s, span in found.items()})
        else:
            text = "".join(f"generated line {i} of {Path(path).name}\n" for i in range(1, 41))
        target.write_text(text, encoding="utf-8")
    subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
    subprocess.run(["git", "add", "-A"], cwd=repo, check=True)
    subprocess.run(["git", "-c", "user.name=b", "-c", "user.email=b@x", "commit", "-qm", "tree"], cwd=repo, check=True)
    return spans


# ---- the methods -----------------------------------------------------------------------------------------

def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", text.lower())


class PlainBM25:
    """Okapi BM25 over whole-word tokens of the note texts: the lexical reference."""

    def __init__(self, docs: dict[str, str], k1: float = 1.2, b: float = 0.75) -> None:
        self.tf = {i: Counter(_words(t)) for i, t in docs.items()}
        self.len = {i: sum(c.values()) for i, c in self.tf.items()}
        self.avg = sum(self.len.values()) / max(len(self.len), 1)
        df = Counter(w for c in self.tf.values() for w in c)
        n = len(docs)
        self.idf = {w: math.log(1 + (n - d + 0.5) / (d + 0.5)) for w, d in df.items()}
        self.k1, self.b = k1, b

    def top(self, query: str, k: int) -> list[str]:
        terms = set(_words(query))
        scores = {}
        for i, tf in self.tf.items():
            norm = self.k1 * (1 - self.b + self.b * self.len[i] / self.avg)
            s = sum(self.idf[w] * tf[w] * (self.k1 + 1) / (tf[w] + norm) for w in terms if w in tf)
            if s > 0:
                scores[i] = s
        return sorted(scores, key=scores.__getitem__, reverse=True)[:k]


class Methods:
    """The four ways of picking notes, over one store holding the data set's notes."""

    def __init__(self, repo: Path, work: Path, notes: list[dict], spans: dict[str, tuple[int, int]]) -> None:
        from agent.config import AgentConfig, MemoryConfig
        from agent.memory import MemoryStore
        from agent.memory.embed import embedder
        from agent.memory.recall import RecallHook
        from agent.toolchain import ToolChain
        from agent.tools import load_tools
        from agent.workspace import Workspace

        config = AgentConfig()
        config.memory = MemoryConfig(index_dir=str(work / "index"), user_dir=str(work / "user"), dedup_threshold=0.995)
        self.config = config
        self.store = MemoryStore(repo, config.memory)
        items = [{"text": n["text"], "anchors": n["anchors"], "tags": n["tags"]} for n in notes]
        ids = self.store.remember_many(items, source="user")
        if len(set(ids)) != len(notes):
            raise SystemExit("some notes were merged as duplicates: the data set needs distinct notes")
        self.to_data = dict(zip(ids, (n["id"] for n in notes), strict=True))
        texts = [n["text"] for n in notes]
        self.vectors = embedder().embed(texts)
        self.data_ids = [n["id"] for n in notes]
        self.bm25 = PlainBM25(dict(zip(self.data_ids, texts, strict=True)))
        self.spans = spans
        self.ws = Workspace(repo, config, memory=self.store)
        self.hook = RecallHook(self.store, config.memory.recall_tokens, config.memory.recall_min_score)
        self.tools = load_tools(["read_file", "run_tests"])
        self.chain = ToolChain(self.tools, [self.hook], self.ws.approve)

    def _ids(self, block: str) -> list[str]:
        return [self.to_data[i] for i in _HIT.findall(block) if i in self.to_data]

    @staticmethod
    def query_text(q: dict) -> str:
        if q["kind"] == "file":
            return f"{q['path']}:{q['symbol']}" if q["symbol"] else q["path"]
        return q["text"]

    def first_prompt(self, q: dict) -> list[str]:
        from agent.memory import prompt_notes

        self.store.shown = set()
        return self._ids(prompt_notes(self.store, self.query_text(q), self.config.context.memory_tokens))[:3]

    def just_in_time(self, q: dict) -> list[str] | None:
        from agent.protocols import ToolCall, ToolResult
        from agent.toolchain import CallContext

        self.store.shown = set()
        if q["kind"] == "task":
            return None
        if q["kind"] == "file":
            args: dict[str, object] = {"path": q["path"]}
            if q["symbol"]:
                start, end = self.spans[f"{q['path']}:{q['symbol']}"]
                args |= {"start_line": start, "end_line": end}
            out = self.chain.run(self.ws, ToolCall("b", "read_file", args)).output
        else:
            tool = self.tools["run_tests"]
            args_model = tool.validate({})
            ctx = CallContext(self.ws, tool, args_model, [], "pytest")
            out = self.hook.after(ToolCall("b", "run_tests", {}), ctx, ToolResult(q["text"], ok=False)).output
        return self._ids(out.partition("[memory]")[2])[:3]

    def bm25_top(self, q: dict) -> list[str]:
        return self.bm25.top(self.query_text(q), 3)

    def embedding_top(self, q: dict) -> list[str]:
        from agent.memory.embed import embedder

        sims = self.vectors @ embedder().embed([self.query_text(q)])[0]
        return [self.data_ids[i] for i in sims.argsort()[::-1][:3]]


# ---- scoring ---------------------------------------------------------------------------------------------

def score(shown: list[str], relevant: list[str]) -> tuple[float, float]:
    hits = len(set(shown[:3]) & set(relevant))
    return hits / len(relevant), (hits / len(shown[:3]) if shown else 0.0)


METHODS = [("(a) first prompt", "first_prompt"), ("(b) just in time", "just_in_time"), ("(c) BM25", "bm25_top"),
           ("(d) embedding", "embedding_top")]


def evaluate(methods: Methods, queries: list[dict]) -> dict[str, dict[str, list[tuple[float, float]]]]:
    """method -> kind -> [(recall@3, precision@3) per query]."""
    sums: dict[str, dict[str, list[tuple[float, float]]]] = defaultdict(lambda: defaultdict(list))
    for q in queries:
        got = {label: getattr(methods, name)(q) for label, name in METHODS}
        got["system"] = got["(a) first prompt"] if q["kind"] == "task" else got["(b) just in time"]
        for label, shown in got.items():
            if shown is None:
                continue
            r, p = score(shown, q["relevant"])
            sums[label][q["kind"]].append((r, p))
            sums[label]["all"].append((r, p))
    return sums


def table(result: dict[str, dict[str, tuple[float, float, int]]], title: str) -> str:
    kinds = ["task", "file", "error", "all"]
    labels = [label for label, _ in METHODS] + ["system"]
    counts = {k: max((result[lab][k][2] for lab in labels if k in result.get(lab, {})), default=0) for k in kinds}
    head = "| " + title + " | " + " | ".join(f"{k} ({counts[k]}) R@3 / P@3" for k in kinds) + " |"
    rows = [head, "|" + "---|" * (len(kinds) + 1)]
    for label in labels:
        cells = []
        for k in kinds:
            cell = result.get(label, {}).get(k)
            cells.append(f"{cell[0]:.2f} / {cell[1]:.2f}" if cell else "-")
        rows.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(rows)


def groups(notes: list[dict], queries: list[dict], mixed: bool) -> list[tuple[str, list[dict], list[dict]]]:
    """(repository name, notes, queries) per store; per project, paths lose their project folder."""
    if mixed:
        return [("all", notes, queries)]

    def local(path: str) -> str:
        return path.split("/", 1)[1]

    out = []
    for project in sorted({n["project"] for n in notes}):
        mine = [n | {"anchors": [local(a) for a in n["anchors"]]} for n in notes if n["project"] == project]
        asked = [q | ({"path": local(q["path"])} if q["kind"] == "file" else {})
                 for q in queries if q["project"] == project]
        out.append((project, mine, asked))
    return out


Scores = dict[str, dict[str, list[tuple[float, float]]]]  # method -> kind -> (recall@3, precision@3) per query


def merge(parts: list[Scores]) -> dict[str, dict[str, tuple[float, float, int]]]:
    sums: dict[str, dict[str, list[tuple[float, float]]]] = defaultdict(lambda: defaultdict(list))
    for part in parts:
        for label, kinds in part.items():
            for kind, values in kinds.items():
                sums[label][kind] += values
    return {label: {kind: (sum(r for r, _ in v) / len(v), sum(p for _, p in v) / len(v), len(v))
                    for kind, v in kinds.items()} for label, kinds in sums.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", choices=["tune", "heldout", "all"], default="all")
    parser.add_argument("--mixed", action="store_true", help="all notes in one store (stress test)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    notes, queries = load()
    splits = ["tune", "heldout"] if args.split == "all" else [args.split]
    started = time.perf_counter()
    parts: dict[str, list] = {s: [] for s in splits}
    with tempfile.TemporaryDirectory(prefix="agent-bench-usefulness-") as tmp:
        for name, mine, asked in groups(notes, queries, args.mixed):
            work = Path(tmp) / name
            repo = work / "repo"
            repo.mkdir(parents=True)
            methods = Methods(repo, work, mine, build_repo(repo, mine, asked))
            for s in splits:
                parts[s].append(evaluate(methods, [q for q in asked if q["split"] == s]))
    results = {s: merge(parts[s]) for s in splits}
    elapsed = time.perf_counter() - started
    if args.json:
        print(json.dumps(results, indent=1))
        return
    store = "one store of all notes" if args.mixed else "one store per project"
    for s in splits:
        print(table(results[s], f"{s} split"))
        print()
    print(f"({len(notes)} notes, {store}, {sum(q['split'] in splits for q in queries)} queries, {elapsed:.1f} s; "
          f"goal: recall@3 >= 0.9 with precision@3 >= 0.6)")


if __name__ == "__main__":
    sys.exit(main())
