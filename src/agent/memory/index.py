"""The chromadb index over the note files: local (PersistentClient) or a server (HttpClient).

The index is disposable: it records, per note id, the hash of the file it was built from, and the
store rebuilds or repairs it from the files whenever they disagree. A collection written by another
index format or embedding model is dropped and rebuilt, never misread.
"""

from __future__ import annotations

import shutil
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from agent.errors import StoreError
from agent.memory.lexical import LexicalIndex

INDEX_FORMAT = 2  # 2: HNSW tuned for recall (ef_search 400, M 32)
HYBRID_WEIGHT = 0.8  # tuned on the tune split of bench/memory-usefulness, with context.FLOOR and MARGIN
POOL = 64  # the best notes by cosine, always scored lexically too (lexical.LexicalIndex.scores)
_FORMAT_KEY = "agent_index_format"
_EMBED_KEY = "agent_embedding"


def embedding_id() -> str:
    """Names the embedding model and graph version; a collection built with another is rebuilt."""
    from agent.memory.onnxbert import GRAPH_VERSION

    return f"minilm-l6-v2-g{GRAPH_VERSION}"


@cache
def _base_settings() -> Any:
    from chromadb.config import Settings  # building one takes ~0.1 s: build it once

    return Settings(anonymized_telemetry=False, allow_reset=True)


def _settings() -> Any:
    """A fresh copy each time: chromadb's client constructors write into the settings they are given."""
    return _base_settings().model_copy()


class ChromaIndex:
    """One chromadb collection of note embeddings, with the file hash of each note in its metadata."""

    def __init__(self, name: str, lock_path: Path, path: Path | None = None, server_url: str | None = None):
        from filelock import FileLock

        self.name, self.path, self.server_url = name, path, server_url
        self.lock = FileLock(str(lock_path), timeout=120, poll_interval=0.01)
        lock_path.parent.mkdir(parents=True, exist_ok=True)
        self.rebuilt = False  # True when opening had to drop the old collection
        self._gen_path = lock_path.with_suffix(".gen")
        self._gen = self._read_gen()
        self._vectors: tuple[list[str], Any, list[str]] | None = None  # ids, matrix, scopes: exact search
        self._lexical: LexicalIndex | None = None  # BM25 over the same entries' texts and tags (hybrid search)
        self._rows: tuple[Any, dict[str, int]] = (None, {})  # (the view it was built for, id -> row)
        self._client = self._connect()
        self.collection = self._open_collection()

    def _connect(self) -> Any:
        import chromadb

        if self.server_url:
            url = urlparse(self.server_url)
            try:
                return chromadb.HttpClient(
                    host=url.hostname or "127.0.0.1", port=url.port or 8000, ssl=url.scheme == "https",
                    settings=_settings(),
                )
            except Exception as exc:
                raise StoreError(f"cannot reach the Chroma server at {self.server_url}: {exc}") from exc
        assert self.path is not None
        with self.lock:  # two processes creating one new store at once race on its tables (and would wipe it)
            try:
                return chromadb.PersistentClient(path=str(self.path), settings=_settings())
            except Exception:  # a corrupted index directory: it is only a cache, start again
                self._wipe_local()
                return chromadb.PersistentClient(path=str(self.path), settings=_settings())

    def _read_gen(self) -> str:
        try:
            return self._gen_path.read_text()
        except OSError:
            return ""

    def _bump(self, keep_view: bool = False) -> None:
        """Record a write, so other processes know their in-memory view of the index is old.

        `keep_view`: the caller has already applied its write to our in-memory vectors.
        """
        if not self.server_url:
            from agent.atomic import atomic_write_text
            from agent.memory.notes import new_id

            self._gen = new_id("gen")
            if not keep_view:
                self._vectors = self._lexical = None
            atomic_write_text(self._gen_path, self._gen)

    def _fresh(self) -> None:
        """Under the lock: reopen the local client when another process wrote since we last looked.

        chromadb's embedded engine keeps its vector index in memory per process, so a process must not
        read through a view that is older than the files on disk.
        """
        if self.server_url or self._read_gen() == self._gen:
            return
        self._forget_system()
        self._client = self._connect()
        self.collection = self._create()
        self._gen = self._read_gen()
        self._vectors = self._lexical = None

    def _forget_system(self) -> None:
        """Make the next PersistentClient for our path start a new engine (chromadb caches one per path)."""
        from chromadb.api.shared_system_client import SharedSystemClient

        SharedSystemClient._identifier_to_system.pop(str(self.path), None)
        SharedSystemClient._identifier_to_refcount.pop(str(self.path), None)

    def _wipe_local(self) -> None:
        self._forget_system()
        assert self.path is not None
        shutil.rmtree(self.path, ignore_errors=True)
        self.rebuilt = True

    def _create(self) -> Any:
        from agent.memory.chroma_ef import MiniLMEmbeddingFunction

        return self._client.get_or_create_collection(
            self.name,
            metadata={_FORMAT_KEY: INDEX_FORMAT, _EMBED_KEY: embedding_id()},
            configuration={"hnsw": {"space": "cosine", "ef_construction": 200, "ef_search": 400, "max_neighbors": 32}},
            embedding_function=MiniLMEmbeddingFunction(),
        )

    def _open_collection(self) -> Any:
        with self.lock:
            try:
                collection = self._create()
                meta = collection.metadata or {}
                if meta.get(_FORMAT_KEY) == INDEX_FORMAT and meta.get(_EMBED_KEY) == embedding_id():
                    collection.count()  # touches the storage: a corrupt file fails here
                    return collection
                self._client.delete_collection(self.name)
            except StoreError:
                raise
            except Exception:
                if self.server_url:
                    raise
                self._wipe_local()
                self._client = self._connect()
            self.rebuilt = True
            self._bump()
            return self._create()

    def clear(self) -> None:
        """Drop every entry (reindex starts from nothing)."""
        with self.lock:
            self._fresh()
            self._client.delete_collection(self.name)
            self.collection = self._create()
            self._bump()

    def hashes(self) -> dict[str, str]:
        """note id -> hash of the file the entry was built from."""
        with self.lock:
            self._fresh()
            got = self.collection.get(include=["metadatas"])
        return {i: str((m or {}).get("sha", "")) for i, m in zip(got["ids"], got["metadatas"], strict=True)}

    def upsert(self, ids: list[str], embeddings: Any, documents: list[str], metadatas: list[dict[str, Any]]) -> None:
        """Add or replace entries (under the cross-process lock), in batches chromadb accepts."""
        import numpy as np

        step = 4000
        vectors = np.asarray(embeddings, dtype=np.float32).reshape(len(ids), -1)
        with self.lock:
            self._fresh()
            for i in range(0, len(ids), step):
                self.collection.upsert(
                    ids=ids[i : i + step],
                    embeddings=vectors[i : i + step],
                    documents=documents[i : i + step],
                    metadatas=metadatas[i : i + step],
                )
            self._apply(ids, vectors, [str(m.get("scope")) for m in metadatas])
            if self._lexical is not None:
                for note_id, doc, meta in zip(ids, documents, metadatas, strict=True):
                    self._lexical.add(note_id, _lexical_text(doc, meta))
            self._bump(keep_view=True)

    def delete(self, ids: list[str]) -> None:
        """Remove entries."""
        if ids:
            with self.lock:
                self._fresh()
                self.collection.delete(ids=ids)
                self._apply(ids, None, [])
                if self._lexical is not None:
                    for note_id in ids:
                        self._lexical.remove(note_id)
                self._bump(keep_view=True)

    def _apply(self, ids: list[str], vectors: Any, scopes: list[str]) -> None:
        """Bring the in-memory copy used by exact search up to date with our own write (no re-read)."""
        import numpy as np

        if self._vectors is None:
            return
        old_ids, matrix, old_scopes = self._vectors
        changed = set(ids)
        keep = [j for j, i in enumerate(old_ids) if i not in changed]
        new_ids = [old_ids[j] for j in keep]
        new_scopes = [old_scopes[j] for j in keep]
        parts = [matrix[keep]] if len(keep) else []
        if vectors is not None:
            latest = {i: j for j, i in enumerate(ids)}  # an id given twice: its last vector wins
            rows = sorted(latest.values())
            new_ids += [ids[j] for j in rows]
            new_scopes += [scopes[j] for j in rows]
            parts.append(vectors[rows])
        merged = np.concatenate(parts) if parts else np.zeros((0, 0), dtype=np.float32)  # no ids: never searched
        self._vectors = (new_ids, merged.astype(np.float32, copy=False), new_scopes)

    def query(self, embeddings: Any, k: int, where: dict[str, Any] | None = None) -> list[list[tuple[str, float]]]:
        """For each query vector, up to k (id, cosine similarity) pairs, best first.

        A local index is searched exactly over all its vectors (a note store is small: 10,000 notes
        is one 15 MB matrix product, ~1 ms); HNSW's approximate search missed good matches among many
        similar notes. A server is asked through its HNSW index.
        """
        try:
            with self.lock:  # another process may be half-way through its first write
                self._fresh()
                if not self.server_url:
                    return self._exact(embeddings, k, where)
                total = self.collection.count()
                if total == 0:
                    return [[] for _ in embeddings]
                got = self.collection.query(
                    query_embeddings=[list(map(float, e)) for e in embeddings],
                    n_results=min(k, total),
                    where=where,
                    include=["distances"],
                )
        except Exception as exc:
            raise StoreError(f"the memory index could not be searched: {exc}") from exc
        return [
            [(i, 1.0 - float(d)) for i, d in zip(ids, dists, strict=True)]
            for ids, dists in zip(got["ids"], got["distances"], strict=True)
        ]

    def _exact(self, embeddings: Any, k: int, where: dict[str, Any] | None) -> list[list[tuple[str, float]]]:
        import numpy as np

        self._load_view()
        assert self._vectors is not None
        ids, matrix, scopes = self._vectors
        if not ids:
            return [[] for _ in embeddings]
        sims = _similarities(np.asarray(embeddings, dtype=np.float32).reshape(-1, matrix.shape[1]), matrix)
        if where:
            sims[:, np.array([s != where.get("scope") for s in scopes])] = -np.inf
        return self._top(sims, ids, k)

    def _load_view(self) -> None:
        """Read every entry once (vectors, texts, tags) for exact and lexical search in this process."""
        import numpy as np

        if self._vectors is not None and self._lexical is not None:
            return
        got = self.collection.get(include=["embeddings", "metadatas", "documents"])
        metas = [m or {} for m in got["metadatas"]]
        matrix = np.asarray(got["embeddings"], dtype=np.float32)
        self._vectors = (list(got["ids"]), matrix, [str(m.get("scope")) for m in metas])
        self._lexical = LexicalIndex()
        for note_id, doc, meta in zip(got["ids"], got["documents"], metas, strict=True):
            self._lexical.add(note_id, _lexical_text(doc, meta))

    def hybrid(self, embedding: Any, text: str, k: int, where: dict[str, Any] | None = None,
               weight: float = HYBRID_WEIGHT) -> list[tuple[str, float]]:
        """Up to k (id, score) pairs, best first: cosine similarity plus `weight` times the share of the
        query's words a note matches (its BM25 score over that of a note holding each query term once,
        capped at 1), so exact names, commands and error codes count beside meaning.

        A server index has no lexical side here: its hits are ranked by cosine alone.
        """
        import numpy as np

        if self.server_url:
            return self.query([embedding], k, where)[0]
        try:
            with self.lock:
                self._fresh()
                self._load_view()
                assert self._vectors is not None and self._lexical is not None
                ids, matrix, scopes = self._vectors
                if not ids:
                    return []
                sims = _similarities(np.asarray(embedding, dtype=np.float32).reshape(1, -1), matrix)[0]
                pool = np.argpartition(-sims, min(POOL, len(ids)) - 1)[:POOL]
                lexical = self._lexical.scores(text, {ids[i] for i in pool})
                full = self._lexical.ideal(text) or 1.0
        except Exception as exc:
            raise StoreError(f"the memory index could not be searched: {exc}") from exc
        if lexical:
            if self._rows[0] is not self._vectors:
                self._rows = (self._vectors, {note_id: i for i, note_id in enumerate(ids)})
            row = self._rows[1]
            for note_id, value in lexical.items():
                if note_id in row:
                    sims[row[note_id]] += weight * min(1.0, value / full)
        if where:
            sims[np.array([s != where.get("scope") for s in scopes])] = -np.inf
        return self._top(sims[None, :], ids, k)[0]

    @staticmethod
    def _top(sims: Any, ids: list[str], k: int) -> list[list[tuple[str, float]]]:
        import numpy as np

        out = []
        for row in sims:
            top = np.argpartition(-row, min(k, len(row)) - 1)[:k]
            top = top[np.argsort(-row[top])]
            out.append([(ids[i], float(row[i])) for i in top if np.isfinite(row[i])])
        return out

    def count(self) -> int:
        """Number of entries."""
        with self.lock:
            self._fresh()
            return int(self.collection.count())

    def disk_bytes(self) -> int:
        """Size of the local index directory (0 for a server)."""
        if not self.path or not self.path.exists():
            return 0
        return sum(p.stat().st_size for p in self.path.rglob("*") if p.is_file())


def _lexical_text(document: str | None, meta: dict[str, Any]) -> str:
    """What the lexical side indexes for an entry: the note text and its tags."""
    return f"{document or ''} {str(meta.get('tags') or '').replace(',', ' ')}"


def _similarities(queries: Any, matrix: Any) -> Any:
    """queries @ matrix.T; for a few queries by numpy's own loop rather than BLAS.

    OpenBLAS spreads even a one-query product over its threads, which on a busy machine wait for cores:
    7 ms at 10,000 notes with other jobs running, against 0.3 ms for einsum's single-threaded loop. A batch
    (the duplicate check of many new notes) is real matrix work, where BLAS wins.
    """
    import numpy as np

    return np.einsum("qd,nd->qn", queries, matrix) if len(queries) <= 4 else queries @ matrix.T
