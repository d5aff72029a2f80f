"""The on-disk tag index: versioned, incremental (only changed files are re-parsed), fast to reload.

Two files under <repo>/.agent/cache/: `repomap.pkl` holds the file table and everything a query
needs (postings, graph, definitions), so a new query re-ranks without re-reading the repository;
`repomap-entries.pkl` holds the per-file tags, read only when some file changed.
"""

from __future__ import annotations

import hashlib
import os
import pickle
from collections import defaultdict
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from agent.atomic import atomic_write_bytes
from agent.repomap.files import PARSED, PENALTY, candidate_files, category, read_source
from agent.repomap.languages import GRAMMARS, language_for, query_source
from agent.repomap.tags import Def, FileTags, definitions, extract, lexical
from agent.repomap.text import path_terms

CACHE_VERSION = 2
CACHE_DIR = Path(".agent") / "cache"
MAX_DEFINERS = 20  # a name defined in more files than this is too generic to link files
PARALLEL_MIN = 64  # files to parse before worker processes pay off


def _fingerprint() -> str:
    """The cache key: format version, the tag queries and the extractor code that produced the tags."""
    h = hashlib.sha1(f"v{CACHE_VERSION}".encode())
    for name in sorted(GRAMMARS):
        h.update(query_source(name).encode())
    for module in ("tags.py", "text.py", "files.py"):
        h.update(resources.files("agent.repomap").joinpath(module).read_bytes())
    return h.hexdigest()


@dataclass
class RepoIndex:
    """Everything ranking and rendering need, for one repository."""

    root: Path
    paths: list[str] = field(default_factory=list)
    stats: list[tuple[int, int, str]] = field(default_factory=list)  # size, mtime_ns, digest
    penalty: Any = None  # float array per file
    path_terms: list[frozenset[str]] = field(default_factory=list)
    vocab: dict[str, int] = field(default_factory=dict)
    post_ptr: Any = None  # CSR over terms: post_doc[post_ptr[t]:post_ptr[t+1]]
    post_doc: Any = None
    post_tf: Any = None
    doclen: Any = None
    edges: Any = None  # (src, dst, weight) arrays, referencer -> definer
    prior: Any = None  # global PageRank of each file
    definers: dict[str, list[int]] = field(default_factory=dict)  # lower-case name -> files
    refcount: dict[str, int] = field(default_factory=dict)  # name -> files referencing it
    def_blobs: list[bytes | None] = field(default_factory=list)  # pickled list[Def] per file; None: not parsed
    parsed: list[str] = field(default_factory=list)  # files (re)parsed by the last refresh
    _defs: dict[int, list[Def]] = field(default_factory=dict, repr=False)

    def defs(self, i: int) -> list[Def]:
        """The definitions of file `i`, in source order; a lexical-only file is parsed now."""
        hit = self._defs.get(i)
        if hit is None:
            blob = self.def_blobs[i]
            if blob is not None:
                hit = [Def(*t) for t in pickle.loads(blob)]
            else:
                path = self.paths[i]
                data, lang = read_source(self.root / path), language_for(path)
                hit = definitions(data, lang) if data is not None and lang is not None else []
            self._defs[i] = hit
        return hit

    def lexical_only(self, i: int) -> bool:
        """Whether file `i` was indexed without parsing (a test, vendored or generated file)."""
        return self.def_blobs[i] is None

    def position(self, path: str) -> int | None:
        """Index of a path, or None."""
        try:
            return self.paths.index(path)
        except ValueError:
            return None


def _parse_batch(root: str, batch: list[tuple[str, str]]) -> list[tuple[str, bytes | None, str]]:
    """Parse files; each file's tags come back pickled, the form they are sent in and cached in."""
    out: list[tuple[str, bytes | None, str]] = []
    for path, lang in batch:
        data = read_source(Path(root) / path)
        if data is None:
            out.append((path, None, ""))
            continue
        tags = extract(data, lang) if category(path) in PARSED else lexical(data, lang)
        blob = pickle.dumps(tags, protocol=5)
        out.append((path, blob, hashlib.blake2b(data, digest_size=16).hexdigest()))
    return out


def _parse_all(root: Path, todo: list[tuple[str, str]]) -> list[tuple[str, bytes | None, str]]:
    workers = min(os.cpu_count() or 1, 8)
    if len(todo) < PARALLEL_MIN or workers < 2:
        return _parse_batch(str(root), todo)
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    size = max(8, len(todo) // (workers * 8))
    batches = [todo[i : i + size] for i in range(0, len(todo), size)]
    ctx = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(workers, mp_context=ctx) as pool:
        results = pool.map(_parse_batch, [str(root)] * len(batches), batches)
        return [r for batch in results for r in batch]


def _load(path: Path, fingerprint: str) -> Any:
    """The cached object, or None when missing, unreadable or written by another format/extractor."""
    try:
        with path.open("rb") as fh:
            if fh.readline() != _header(fingerprint):
                return None  # another format version or other queries: rebuild, never unpickle
            obj = pickle.load(fh)
    except Exception:  # a truncated or corrupt cache is rebuilt, whatever the error
        return None
    return obj if isinstance(obj, dict) else None


def _header(fingerprint: str) -> bytes:
    return f"agent-repomap {fingerprint}\n".encode()


def _save(root: Path, state: dict[str, Any], entries: dict[str, Any]) -> None:
    cache = root / CACHE_DIR
    try:
        cache.mkdir(parents=True, exist_ok=True)
        if not (cache / ".gitignore").exists():
            atomic_write_bytes(cache / ".gitignore", b"*\n")
        head = _header(state["fingerprint"])
        atomic_write_bytes(cache / "repomap-entries.pkl", head + pickle.dumps(entries, protocol=5))
        atomic_write_bytes(cache / "repomap.pkl", head + pickle.dumps(state, protocol=5))
    except OSError:
        pass  # a read-only checkout still gets its map, only slower next time


def _current_stats(root: Path, files: list[tuple[str, str]]) -> dict[str, tuple[int, int]]:
    out = {}
    base = str(root)
    for path, _ in files:
        try:
            st = os.stat(os.path.join(base, path))
        except OSError:
            continue
        out[path] = (st.st_size, st.st_mtime_ns)
    return out


Entry = tuple[tuple[int, int, str], str, bytes]
"""One cached file: (size, mtime_ns, content digest), its grammar, and its pickled FileTags."""


def load_index(root: Path) -> RepoIndex:
    """Load the cached index of `root`, re-parsing only files whose content changed."""
    root = root.resolve()
    fp = _fingerprint()
    files = candidate_files(root)
    now = _current_stats(root, files)
    state = _load(root / CACHE_DIR / "repomap.pkl", fp)
    if state is not None:
        old = dict(zip(state["paths"], state["stats"], strict=True))
        if set(old) == set(now) and all(old[p][:2] == now[p] for p in now):
            return _from_state(root, state)
    old_entries = _load(root / CACHE_DIR / "repomap-entries.pkl", fp) if state is not None else None
    entries: dict[str, Entry] = (old_entries or {}).get("files", {})
    return _refresh(root, files, now, entries, fp)


def _refresh(root: Path, files: list[tuple[str, str]], now: dict[str, tuple[int, int]],
             entries: dict[str, Entry], fp: str) -> RepoIndex:
    keep: dict[str, Entry] = {}
    todo = []
    for path, lang in files:
        if path not in now:
            continue
        hit = entries.get(path)
        if hit is not None and hit[0][:2] == now[path] and hit[1] == lang:
            keep[path] = hit
        else:
            todo.append((path, lang))
    parsed = []
    langs = dict(files)
    for path, blob, digest in _parse_all(root, todo):
        if blob is None:
            continue
        old = entries.get(path)
        if old is not None and old[0][2] == digest and old[1] == langs[path]:  # touched, not changed
            keep[path] = ((*now[path], digest), old[1], old[2])
            continue
        keep[path] = ((*now[path], digest), langs[path], blob)
        parsed.append(path)
    ordered = sorted(keep)
    state = derive(ordered, [keep[p] for p in ordered])
    state["fingerprint"] = fp
    _save(root, state, {"fingerprint": fp, "files": keep})
    index = _from_state(root, state)
    index.parsed = parsed
    return index


def _from_state(root: Path, state: dict[str, Any]) -> RepoIndex:
    fields = {k: v for k, v in state.items() if k != "fingerprint"}
    return RepoIndex(root=root, **fields)


def _postings(tags: list[FileTags]) -> dict[str, Any]:
    keys: list[str] = []
    tfs: list[int] = []
    for t in tags:
        keys.extend(t.terms)
        tfs.extend(t.terms.values())
    vocab: dict[str, int] = dict.fromkeys(keys, 0)
    for i, term in enumerate(vocab):
        vocab[term] = i
    tid = np.fromiter(map(vocab.__getitem__, keys), dtype=np.int32, count=len(keys))
    docs = np.repeat(np.arange(len(tags), dtype=np.int32), [len(t.terms) for t in tags])
    order = np.argsort(tid, kind="stable")
    ptr = np.zeros(len(vocab) + 1, dtype=np.int64)
    np.cumsum(np.bincount(tid, minlength=len(vocab)), out=ptr[1:])
    return {
        "vocab": vocab,
        "post_ptr": ptr,
        "post_doc": docs[order],
        "post_tf": np.asarray(tfs, dtype=np.float32)[order],
        "doclen": np.asarray([t.length for t in tags], dtype=np.float32),
    }


def _graph(tags: list[FileTags]) -> dict[str, Any]:
    """Edges referencer -> definer, weighted by uses, for names defined in few enough files."""
    n = len(tags)
    exact: dict[str, list[int]] = defaultdict(list)
    for i, t in enumerate(tags):
        for name in dict.fromkeys(t.names):
            exact[name].append(i)
    linkable = {name for name, ds in exact.items() if len(name) >= 3 and len(ds) <= MAX_DEFINERS}
    name_ids: dict[str, int] = {}
    definers_flat: list[int] = []
    def_ptr = [0]
    src: list[int] = []
    nid: list[int] = []
    uses: list[float] = []
    refcount: dict[str, int] = defaultdict(int)
    for i, t in enumerate(tags):
        for name in linkable.intersection(t.words):
            count = t.uses(name)
            if count <= 0:
                continue
            k = name_ids.get(name)
            if k is None:
                k = name_ids[name] = len(name_ids)
                definers_flat.extend(exact[name])
                def_ptr.append(len(definers_flat))
            refcount[name] += 1
            src.append(i)
            nid.append(k)
            uses.append(count * (0.09 if name.startswith("_") else 1.0))  # 0.3 after the square root
    ptr = np.asarray(def_ptr, dtype=np.int64)
    ids = np.asarray(nid, dtype=np.int64)
    ndef = (ptr[1:] - ptr[:-1])[ids]
    w = np.sqrt(np.asarray(uses, dtype=np.float64)) / np.maximum(ndef, 1)
    offsets = np.arange(int(ndef.sum()), dtype=np.int64) - np.repeat(np.cumsum(ndef) - ndef, ndef)
    s = np.repeat(np.asarray(src, dtype=np.int64), ndef)
    d = np.asarray(definers_flat, dtype=np.int64)[np.repeat(ptr[:-1][ids], ndef) + offsets]
    w = np.repeat(w, ndef)
    keep = s != d
    keys, inverse = np.unique(s[keep] * max(n, 1) + d[keep], return_inverse=True)
    edges = ((keys // max(n, 1)).astype(np.int32), (keys % max(n, 1)).astype(np.int32),
             np.bincount(inverse, weights=w[keep], minlength=len(keys)).astype(np.float64))
    definers: dict[str, list[int]] = defaultdict(list)
    for name, ds in exact.items():
        definers[name.lower()].extend(ds)
    return {"edges": edges, "definers": dict(definers), "refcount": dict(refcount)}


def derive(paths: list[str], entries: list[Entry]) -> dict[str, Any]:
    """Build the query-time structures from per-file tags."""
    from agent.repomap.rank import pagerank

    tags: list[FileTags] = [pickle.loads(e[2]) for e in entries]
    state: dict[str, Any] = {"paths": paths, "stats": [e[0] for e in entries]}
    state["penalty"] = np.asarray([PENALTY[category(p)] for p in paths], dtype=np.float64)
    state["path_terms"] = [frozenset(path_terms(p)) for p in paths]
    state.update(_postings(tags))
    state.update(_graph(tags))
    state["def_blobs"] = [t.def_blob for t in tags]
    n = len(paths)
    uniform = state["penalty"] / max(state["penalty"].sum(), 1e-9)
    state["prior"] = pagerank(n, state["edges"], uniform) if n else np.zeros(0)
    return state
