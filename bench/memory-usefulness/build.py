"""Build notes.jsonl and queries.jsonl from the authored files in authored/*.txt.

    python bench/memory-usefulness/build.py

Authored format, one record a line ('#' starts a comment):
    @source PROJECT: DOCUMENT                       the source of the notes that follow
    N id | kind | tag,tag | path[:symbol],... | text     a note (anchors may be empty)
    Q kind | id,id | text                           a query: kind task, error (\\n for a newline) or
                                                    file (text is path[:symbol]); ids: the notes it should bring
The split of each query (tune or heldout) is fixed by a hash of its id, so adding queries never moves
old ones between splits. The split was fixed before any recall code was tuned.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
KINDS = {"convention", "command", "pitfall", "architecture", "preference"}
QUERY_KINDS = {"task", "error", "file"}


def split_of(query_id: str) -> str:
    """tune or heldout, about half each, stable for a given id."""
    return "tune" if hashlib.sha256(query_id.encode()).digest()[0] % 2 == 0 else "heldout"


def parse(path: Path) -> tuple[list[dict], list[dict]]:
    notes, queries, source = [], [], ""
    project = path.stem
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = raw.strip()
        where = f"{path.name}:{number}"
        if not line or line.startswith("#"):
            continue
        if line.startswith("@source "):
            source = line[len("@source "):].strip()
        elif line.startswith("N "):
            parts = [p.strip() for p in line[2:].split("|", 4)]
            if len(parts) != 5 or parts[1] not in KINDS:
                raise SystemExit(f"{where}: bad note line")
            note_id, kind, tags, anchors, text = parts
            notes.append({"id": note_id, "project": project, "kind": kind, "text": text, "source": source,
                          "tags": [t for t in tags.split(",") if t], "anchors": [a for a in anchors.split(",") if a]})
        elif line.startswith("Q "):
            parts = [p.strip() for p in line[2:].split("|", 2)]
            if len(parts) != 3 or parts[0] not in QUERY_KINDS:
                raise SystemExit(f"{where}: bad query line")
            kind, ids, text = parts
            query_id = f"{project}-q{len(queries) + 1:03d}"
            record = {"id": query_id, "project": project, "kind": kind, "relevant": ids.split(","),
                      "split": split_of(query_id)}
            if kind == "file":
                file, _, symbol = text.partition(":")
                record |= {"path": file, "symbol": symbol or None}
            else:
                record["text"] = text.replace("\\n", "\n")
            queries.append(record)
        else:
            raise SystemExit(f"{where}: unknown line")
    return notes, queries


def main() -> None:
    notes, queries = [], []
    for path in sorted((HERE / "authored").glob("*.txt")):
        n, q = parse(path)
        notes += n
        queries += q
    ids = [n["id"] for n in notes]
    if len(set(ids)) != len(ids):
        raise SystemExit("duplicate note ids")
    unknown = {i for q in queries for i in q["relevant"]} - set(ids)
    if unknown:
        raise SystemExit(f"queries name unknown notes: {sorted(unknown)}")
    unused = set(ids) - {i for q in queries for i in q["relevant"]}
    if unused:
        raise SystemExit(f"notes no query asks for: {sorted(unused)}")
    for name, rows in (("notes.jsonl", notes), ("queries.jsonl", queries)):
        (HERE / name).write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    tune = sum(q["split"] == "tune" for q in queries)
    print(f"{len(notes)} notes, {len(queries)} queries ({tune} tune, {len(queries) - tune} heldout)")


if __name__ == "__main__":
    sys.exit(main())
