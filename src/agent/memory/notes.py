"""Note files: Markdown with YAML front matter, one note per file, the source of truth.

    ---
    format: 1
    id: pin-litellm-3fa9c1
    scope: repo
    created: 2025-01-01T12:00:00Z
    updated: 2025-01-01T12:00:00Z
    source: user
    tags: [deps]
    anchors:
    - {path: pyproject.toml, symbol: null, hash: 1a2b3c4d5e6f7a8b}
    ---
    The note's text.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import asdict, dataclass, field, fields, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from agent.errors import StoreError

NOTE_FORMAT = 1
SOURCES = ("agent", "user", "review")
SCOPES = ("repo", "user")
_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,80}$")


@dataclass
class Anchor:
    """A piece of code a note is about: a file, or a symbol in it, with the hash of its text."""

    path: str
    symbol: str | None = None
    hash: str | None = None

    def spec(self) -> str:
        """`path` or `path:symbol`."""
        return f"{self.path}:{self.symbol}" if self.symbol else self.path


@dataclass
class Note:
    """One durable note."""

    id: str
    text: str
    scope: str = "repo"
    source: str = "agent"
    tags: list[str] = field(default_factory=list)
    anchors: list[Anchor] = field(default_factory=list)
    created: str = ""
    updated: str = ""
    path: Path | None = None  # the file it was read from / written to

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (anchors as dicts, no file path)."""
        data = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "path"}
        data["tags"] = list(self.tags)
        data["anchors"] = [asdict(a) for a in self.anchors]
        return data


def now() -> str:
    """The current UTC time, ISO 8601 with seconds."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def new_id(text: str) -> str:
    """A readable, unique id: a slug of the first words plus random hex."""
    words = re.findall(r"[a-z0-9]+", text.lower())[:6]
    slug = "-".join(words)[:40].strip("-") or "note"
    return f"{slug}-{secrets.token_hex(4)}"


def render(note: Note) -> str:
    """The file text of a note: YAML front matter (libyaml's dumper when present: ~0.3 ms a note), then the text."""
    import yaml

    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    head = {
        "format": NOTE_FORMAT, "id": note.id, "scope": note.scope, "created": note.created, "updated": note.updated,
        "source": note.source, "tags": list(note.tags),
        "anchors": [{"path": a.path, "symbol": a.symbol, "hash": a.hash} for a in note.anchors],
    }
    front = yaml.dump(head, Dumper=dumper, sort_keys=False, default_flow_style=None, allow_unicode=True, width=1000)
    return f"---\n{front}---\n{note.text.strip()}\n"


def _check(head: Any, path: Path) -> None:
    if not isinstance(head, dict):
        raise StoreError(f"{path}: front matter is not a mapping")
    version = head.get("format")
    if not isinstance(version, int) or version < 1:
        raise StoreError(f"{path}: missing or bad `format`")
    if version > NOTE_FORMAT:
        raise StoreError(f"{path}: written by a newer agent (format {version} > {NOTE_FORMAT})")
    if not isinstance(head.get("id"), str) or not _ID.match(head["id"]):
        raise StoreError(f"{path}: missing or bad `id`")
    if head.get("source", "agent") not in SOURCES:
        raise StoreError(f"{path}: `source` must be one of {', '.join(SOURCES)}")
    if not isinstance(head.get("tags") or [], list) or not isinstance(head.get("anchors") or [], list):
        raise StoreError(f"{path}: `tags` and `anchors` must be lists")


def parse(text: str, path: Path, scope: str) -> Note:
    """Parse a note file's text; raise StoreError naming the file when it is malformed."""
    import yaml

    match = re.match(r"\A---[ \t]*\r?\n(.*?)^---[ \t]*\r?\n?(.*)\Z", text, re.S | re.M)
    if not match:
        raise StoreError(f"{path}: no YAML front matter (--- ... ---)")
    try:
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml: ~10x faster on recall's hot path
        head = yaml.load(match.group(1), Loader=loader)  # noqa: S506 - a safe loader
    except yaml.YAMLError as exc:
        raise StoreError(f"{path}: bad YAML front matter: {str(exc).splitlines()[0]}") from exc
    _check(head, path)
    try:
        anchors = [Anchor(str(a["path"]), a.get("symbol"), a.get("hash")) for a in head.get("anchors") or []]
    except (TypeError, KeyError) as exc:
        raise StoreError(f"{path}: each anchor needs a `path`") from exc
    body = match.group(2).strip()
    if not body:
        raise StoreError(f"{path}: the note has no text")
    return Note(
        id=head["id"],
        text=body,
        scope=scope,
        source=head.get("source", "agent"),
        tags=[str(t) for t in head.get("tags") or []],
        anchors=anchors,
        created=str(head.get("created", "")),
        updated=str(head.get("updated", head.get("created", ""))),
        path=path,
    )


def note_path(directory: Path, note_id: str) -> Path:
    """The file of a note id in a scope directory."""
    if not _ID.match(note_id):
        raise StoreError(f"bad note id: {note_id!r}")
    return directory / f"{note_id}.md"


def write(directory: Path, note: Note) -> Path:
    """Write a note atomically; return its path."""
    return write_many(directory, [note])[0][0]


def write_many(directory: Path, notes: list[Note]) -> list[tuple[Path, str]]:
    """Write notes atomically (one directory sync for all); return each one's path and content hash."""
    from agent.atomic import atomic_write_many

    rendered = {note_path(directory, n.id).name: render(n).encode("utf-8") for n in notes}
    atomic_write_many(directory, rendered)
    out = []
    for n in notes:
        n.path = note_path(directory, n.id)
        out.append((n.path, digest(rendered[n.path.name])))
    return out


def digest(data: bytes) -> str:
    """The content hash used to notice hand edits."""
    return hashlib.sha256(data).hexdigest()[:16]


def scan(directory: Path) -> list[Path]:
    """The note files of a scope directory (README.md and hidden files excluded), sorted."""
    if not directory.is_dir():
        return []
    return sorted(
        p for p in directory.glob("*.md") if p.name.lower() != "readme.md" and not p.name.startswith(".")
    )


_PARSED: dict[tuple[str, str], Note] = {}  # (path, hash of its bytes) -> parsed note: recall skips the YAML


def load(path: Path, scope: str) -> tuple[Note, str]:
    """Read and parse one note file; return it with the hash of its bytes."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise StoreError(f"{path}: cannot read: {exc.strerror}") from exc
    sha = digest(data)
    cached = _PARSED.get((str(path), sha))
    if cached is not None and cached.scope == scope:
        return replace(cached, tags=list(cached.tags), anchors=[replace(a) for a in cached.anchors]), sha
    note, sha = _load_bytes(path, scope, data)
    if len(_PARSED) > 50_000:
        _PARSED.clear()
    _PARSED[(str(path), sha)] = note
    return replace(note, tags=list(note.tags), anchors=[replace(a) for a in note.anchors]), sha


def _load_bytes(path: Path, scope: str, data: bytes) -> tuple[Note, str]:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise StoreError(f"{path}: not UTF-8 text") from exc
    note = parse(text, path, scope)
    if path.stem != note.id:
        raise StoreError(f"{path}: file name does not match id {note.id!r}")
    return note, digest(data)
