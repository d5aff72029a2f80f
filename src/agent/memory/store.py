"""MemoryStore: note files in two scopes (repo, user) plus the chromadb index that finds them.

The files are the truth. On open, and whenever a scope directory changes, the store compares each
file's hash with the hash the index holds for it and repairs the difference (hand edits, deletions,
notes other processes wrote). Recall checks each hit against its file as well, so a hit is never
served from a stale index entry.
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path
from typing import Any

from agent.config import MemoryConfig
from agent.errors import StoreError
from agent.memory import notes as nf
from agent.memory.anchors import covers, make_anchor, mentioned_paths, mentions, note_status
from agent.memory.index import ChromaIndex
from agent.memory.notes import SCOPES, Note
from agent.redact import redact

_Entry = tuple[str, Path, str]  # scope, file, hash of its bytes


def _key(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def default_user_dir() -> Path:
    """Where user-scope notes live by default."""
    import platformdirs

    return Path(platformdirs.user_data_dir("agent")) / "memory"


def _index_location(root: Path, config: MemoryConfig) -> tuple[str, Path | None, Path]:
    """Collection name, local index dir (None for a server), and lock file."""
    import platformdirs

    cache = Path(platformdirs.user_cache_dir("agent")) / "memory"
    key = _key(str(root))
    if config.server_url:
        name = config.collection or f"notes-{key}"
        return name, None, cache / f"server-{_key(config.server_url + name)}.lock"
    path = Path(config.index_dir).expanduser() if config.index_dir else cache / key
    return config.collection or "notes", path, path.parent / f"{path.name}.lock"


class MemoryStore:
    """Durable notes: remember, recall (labelled fresh/stale/orphaned and by scope), forget."""

    def __init__(self, root: Path, config: MemoryConfig | None = None) -> None:
        from agent.extras import require

        require("memory")  # chromadb, onnxruntime, tokenizers and the embedding model
        self.root = Path(root).resolve()
        self.config = config or MemoryConfig()
        repo_dir = Path(self.config.dir).expanduser()
        user_dir = Path(self.config.user_dir).expanduser() if self.config.user_dir else default_user_dir()
        self.dirs = {"repo": repo_dir if repo_dir.is_absolute() else self.root / repo_dir, "user": user_dir}
        self.warnings: list[str] = []
        self._files: dict[str, _Entry] = {}
        self._stamp: tuple[int, ...] | None = None
        self._anchored: dict[str, tuple[str, list[str], list[str]]] = {}  # note id -> (file hash, anchored, mentioned)
        self._by_path: dict[str, set[str]] | None = None  # anchored path -> note ids (see _refs)
        self._named: dict[str, list[str]] = {}  # note id -> paths its text mentions
        self.shown: set[str] = set()  # ids of notes already put in the model's context this session
        self.written: set[str] = set()  # ids of notes this process wrote or updated (end-of-run consolidation)
        name, path, lock = _index_location(self.root, self.config)
        self.index = ChromaIndex(name, lock, path=path, server_url=self.config.server_url)
        self.sync()

    # ---- keeping the index in step with the files -------------------------------------------------

    def _dir_stamp(self) -> tuple[int, ...]:
        stamp = []
        for d in self.dirs.values():
            try:
                stamp.append(os.stat(d).st_mtime_ns)
            except OSError:
                stamp.append(0)
        return tuple(stamp)

    def _scan(self) -> tuple[dict[str, _Entry], dict[str, bytes]]:
        found: dict[str, _Entry] = {}
        data: dict[str, bytes] = {}
        for scope, directory in self.dirs.items():
            for path in nf.scan(directory):
                try:
                    raw = path.read_bytes()
                except OSError:
                    continue  # removed while we looked
                if path.stem in found:
                    self.warnings.append(f"{path}: duplicate note id {path.stem!r} (also in {found[path.stem][1]})")
                    continue
                found[path.stem] = (scope, path, nf.digest(raw))
                data[path.stem] = raw
        return found, data

    def sync(self) -> int:
        """Repair the index from the files; return how many entries were added, updated or removed."""
        self.warnings = []
        stamp = self._dir_stamp()
        found, data = self._scan()
        indexed = self.index.hashes()
        changed: list[tuple[Note, str]] = []
        for note_id, (scope, path, sha) in list(found.items()):
            if indexed.get(note_id) == sha:
                continue
            try:
                note = nf.parse(data[note_id].decode("utf-8"), path, scope)
                if note.id != note_id:
                    raise StoreError(f"{path}: file name does not match id {note.id!r}")
            except (StoreError, UnicodeDecodeError) as exc:
                self.warnings.append(f"skipped malformed note {exc}")
                del found[note_id]
                continue
            changed.append((note, sha))
        gone = [i for i in indexed if i not in found]
        self.index.delete(gone)
        self._index(changed)
        self._files, self._stamp = found, stamp
        return len(changed) + len(gone)

    def _refresh(self) -> None:
        if self._dir_stamp() != self._stamp:
            self.sync()

    def _index(self, items: list[tuple[Note, str]], vectors: Any = None) -> None:
        if not items:
            return
        from agent.memory.embed import embedder

        if vectors is None:
            vectors = embedder().embed([n.text for n, _ in items])
        metas = [
            {"scope": n.scope, "sha": sha, "source": n.source, "tags": ",".join(n.tags), "updated": n.updated}
            for n, sha in items
        ]
        self.index.upsert([n.id for n, _ in items], vectors, [n.text for n, _ in items], metas)

    def reindex(self) -> int:
        """Drop the index and rebuild it from the files; return the number of notes indexed."""
        self.index.clear()
        self._stamp = None
        self.sync()
        return len(self._files)

    # ---- reading ---------------------------------------------------------------------------------

    def get(self, note_id: str) -> Note:
        """Read one note from its file."""
        self._refresh()
        entry = self._files.get(note_id)
        if entry is None:
            raise StoreError(f"no note with id {note_id!r}")
        return nf.load(entry[1], entry[0])[0]

    def notes(self) -> list[Note]:
        """Every note that loads (malformed files are reported in `warnings`)."""
        self._refresh()
        out = []
        for scope, path, _ in self._files.values():
            try:
                out.append(nf.load(path, scope)[0])
            except StoreError as exc:
                self.warnings.append(str(exc))
        return sorted(out, key=lambda n: (n.scope, n.created, n.id))

    def status(self, note: Note) -> str:
        """fresh, stale or orphaned, from the note's anchors."""
        return note_status(self.root, note.anchors)

    def describe(self, note: Note, score: float | None = None) -> dict[str, Any]:
        """A note as a JSON-ready dict with its scope, status and (for recall) score."""
        data = note.to_dict()
        data["anchors"] = [a.spec() for a in note.anchors]
        data["status"] = self.status(note)
        data["file"] = str(note.path) if note.path else None
        if score is not None:
            data["score"] = round(score, 4)
        return data

    def recall(self, query: str, k: int = 5, scope: str | None = None) -> list[dict[str, Any]]:
        """Return the notes most relevant to `query`, best first, each labelled by scope and status.

        The score is hybrid (ChromaIndex.hybrid): cosine similarity of the embeddings plus a share of the
        query's best BM25 match, so exact words (names, commands, error codes) count as well as meaning.
        """
        from agent.memory.embed import embedder

        if not query.strip():
            raise StoreError("empty query")
        self._refresh()
        vector = embedder().embed([query])
        for attempt in range(2):
            try:
                hits = self.index.hybrid(vector[0], query, k, {"scope": scope} if scope else None)
            except StoreError:
                if attempt or self.config.server_url:
                    raise
                self.reindex()  # a damaged local index: rebuild it from the files and ask again
                continue
            found = self._load_hits(hits)
            if found is not None:
                return found
            if attempt == 0:
                self.sync()  # an entry disagreed with its file: repair and ask again
        return []

    def _refs(self) -> dict[str, set[str]]:
        """anchored path -> ids of the notes anchored there; each note's file is read once per version.

        Also keeps `_named`: note id -> the paths its text mentions (notes that mention none are left out).
        """
        self._refresh()
        changed = False
        for note_id, (scope, path, sha) in self._files.items():
            cached = self._anchored.get(note_id)
            if cached is None or cached[0] != sha:
                try:
                    note = nf.load(path, scope)[0]
                except StoreError:
                    continue
                self._anchored[note_id] = (sha, [a.path for a in note.anchors], mentioned_paths(note.text))
                changed = True
        if len(self._anchored) > len(self._files):  # notes deleted since
            self._anchored = {i: v for i, v in self._anchored.items() if i in self._files}
            changed = True
        if changed or self._by_path is None:
            self._by_path = {}
            for note_id, (_, anchored, _) in self._anchored.items():
                for rel in anchored:
                    self._by_path.setdefault(rel, set()).add(note_id)
            self._named = {i: named for i, (_, _, named) in self._anchored.items() if named}
        return self._by_path

    def anchored_to(self, paths: list[str] | dict[str, list[tuple[int, int]] | None]) -> list[Note]:
        """Notes with an anchor in one of `paths` (repository-relative), newest first.

        Given a dict path -> line ranges a call showed or changed (None: the whole file), a note anchored
        to a symbol of a large file comes back only when the ranges cover that symbol (anchors.covers).
        """
        cover = {p.strip("/"): r for p, r in (paths.items() if isinstance(paths, dict) else ((p, None) for p in paths))}
        by_path = self._refs()
        out = []
        for note_id in set().union(*(by_path.get(p, set()) for p in cover)):
            note = self._load(note_id)
            if note is not None and any(a.path in cover and covers(self.root, a, cover[a.path]) for a in note.anchors):
                out.append(note)
        return sorted(out, key=lambda n: n.updated, reverse=True)

    def mentioning(self, paths: list[str]) -> list[Note]:
        """Notes whose text names one of `paths`, or a folder holding it (anchors.mentioned_paths), newest first."""
        wanted = [p.strip("/") for p in paths]
        self._refs()
        out = []
        for note_id, named in self._named.items():
            if any(mentions(named, p) for p in wanted):
                note = self._load(note_id)
                if note is not None:
                    out.append(note)
        return sorted(out, key=lambda n: n.updated, reverse=True)

    def _load(self, note_id: str) -> Note | None:
        entry = self._files.get(note_id)
        if entry is None:
            return None
        try:
            return nf.load(entry[1], entry[0])[0]
        except StoreError:
            return None

    def _load_hits(self, hits: list[tuple[str, float]]) -> list[dict[str, Any]] | None:
        out = []
        for note_id, score in hits:
            entry = self._files.get(note_id)
            if entry is None:
                return None
            try:
                note, sha = nf.load(entry[1], entry[0])
            except StoreError:
                return None
            if sha != entry[2]:
                return None
            out.append(self.describe(note, score))
        return out

    # ---- writing ---------------------------------------------------------------------------------

    def remember(
        self, text: str, anchors: list[str], tags: list[str], source: str = "agent", scope: str = "repo"
    ) -> str:
        """Store a note (or update a near-duplicate in the same scope) and return its id."""
        return self.remember_many([{"text": text, "anchors": anchors, "tags": tags}], source, scope)[0]

    def remember_many(self, items: list[dict[str, Any]], source: str = "agent", scope: str = "repo") -> list[str]:
        """Store several notes at once ({"text", "anchors", "tags"} each); return their ids."""
        from agent.memory.embed import embedder
        from agent.memory.secretscan import find_secrets

        if scope not in SCOPES:
            raise StoreError(f"scope must be one of {', '.join(SCOPES)}, not {scope!r}")
        if source not in nf.SOURCES:
            raise StoreError(f"source must be one of {', '.join(nf.SOURCES)}, not {source!r}")
        texts = [str(item.get("text", "")).strip() for item in items]
        if not all(texts):
            raise StoreError("a note needs some text")
        for text in texts:  # the redactor's view of a secret (env values, tokens, assignments), then detect-secrets'
            if (redacted := redact(text)) != text:
                kinds = ", ".join(sorted(set(re.findall(r"\[REDACTED:([^\]]+)\]", redacted))))
                raise StoreError(f"refusing to store a note that holds a secret ({kinds}): "
                                 f"{redacted[:60]!r}; write it without the secret")
        for text, found in zip(texts, find_secrets(texts), strict=True):
            if found:
                kinds = ", ".join(sorted({kind for kind, _ in found}))
                raise StoreError(f"refusing to store a note that looks like it holds a secret ({kinds}): {text[:40]!r}")
        prepared = [
            {"text": text, "anchors": [make_anchor(self.root, a) for a in item.get("anchors") or []],
             "tags": [str(t) for t in item.get("tags") or []]}
            for text, item in zip(texts, items, strict=True)
        ]
        return self._store(prepared, embedder().embed(texts), source, scope)

    def _store(self, prepared: list[dict[str, Any]], vectors: Any, source: str, scope: str) -> list[str]:
        """Deduplicate against the index, write the note files (one directory sync) and index them."""
        with self.index.lock:  # one writer at a time, so the duplicate check sees every other writer's notes
            stamp = self._dir_stamp()
            nearest = self.index.query(vectors, 1, {"scope": scope})
            latest: dict[str, Note] = {}  # two items of one batch may update the same note: write it once
            ids = []
            for item, near in zip(prepared, nearest, strict=True):
                note = self._prepare(item, near, source, scope, latest)
                latest[note.id] = note
                ids.append(note.id)
            notes = list(latest.values())
            written = nf.write_many(self.dirs[scope], notes)
            self.written.update(latest)
            for note, (path, sha) in zip(notes, written, strict=True):
                self._files[note.id] = (scope, path, sha)
            last = {note_id: i for i, note_id in enumerate(ids)}  # the vector of a note's final text
            entries = [(n, sha) for n, (_, sha) in zip(notes, written, strict=True)]
            self._index(entries, vectors[[last[n.id] for n in notes]])
            if stamp == self._stamp:  # nothing else changed the directories since our last look
                self._stamp = self._dir_stamp()
        return ids

    def _prepare(
        self, item: dict[str, Any], nearest: list[tuple[str, float]], source: str, scope: str, pending: dict[str, Note]
    ) -> Note:
        """The note to write for `item`: a near-duplicate updated (`pending`: this batch's notes), or a new note."""
        dup = next((nid for nid, sim in nearest if sim >= self.config.dedup_threshold), None)
        note = self._updated(dup, scope, item, pending.get(dup)) if dup else None
        if note is None:
            created = nf.now()
            text = item["text"]
            note = Note(nf.new_id(text), text, scope, source, item["tags"], item["anchors"], created, created)
        return note

    def _updated(self, note_id: str, scope: str, item: dict[str, Any], pending: Note | None) -> Note | None:
        text, anchors, tags = item["text"], item["anchors"], item["tags"]
        if pending is not None:  # updated earlier in the same batch, not written yet
            note = pending
        else:
            scope, path, _ = self._files.get(note_id) or (scope, nf.note_path(self.dirs[scope], note_id), "")
            try:
                note = nf.load(path, scope)[0]  # may be a note another process wrote since our last sync
            except StoreError:
                return None
        note.text = text
        note.tags = list(dict.fromkeys([*note.tags, *tags]))
        merged = {a.spec(): a for a in note.anchors} | {a.spec(): a for a in anchors}
        note.anchors = list(merged.values())
        note.updated = nf.now()
        return note

    def forget(self, note_id: str) -> None:
        """Delete a note's file and its index entry."""
        self._refresh()
        entry = self._files.pop(note_id, None)
        if entry is None:
            raise StoreError(f"no note with id {note_id!r}")
        entry[1].unlink(missing_ok=True)
        self.index.delete([note_id])


def open_store(root: Path, config: Any = None) -> MemoryStore | None:
    """The store for a repo (given an AgentConfig or a MemoryConfig), or None when memory is disabled."""
    section: MemoryConfig = getattr(config, "memory", config) or MemoryConfig()
    return MemoryStore(root, section) if section.enabled else None
