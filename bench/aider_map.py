"""Drive aider's RepoMap directly (no model), for side-by-side benchmarks. Runs in aider's own venv.

Reads JSON lines {"repo", "query", "budget"} on stdin, writes {"files", "ranked", "tokens", "seconds"} lines:
`files` are the files the rendered map shows, in aider's rank order (the map text itself is sorted by
name, so the order comes from the ranked tags RepoMap computed for that map); `ranked` is every file
in that ranked order.
Mentioned files and identifiers are derived from the query the way aider's chat does it: words that
equal a repo path or basename, and identifiers whose name equals a file stem of 5+ characters.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

_litellm_tok = None
for base in sys.path:
    cand = Path(base) / "litellm" / "litellm_core_utils" / "tokenizers"
    if cand.is_dir():
        os.environ.setdefault("TIKTOKEN_CACHE_DIR", str(cand))
        break

import tiktoken  # noqa: E402
from aider.repomap import RepoMap  # noqa: E402

ENC = tiktoken.get_encoding("cl100k_base")


class Model:
    """The only thing RepoMap asks of a model: counting tokens."""

    def token_count(self, text: str) -> int:
        return len(ENC.encode_ordinary(text))


class QuietIO:
    """A stand-in for aider's InputOutput that reads files and prints nothing."""

    def read_text(self, fname: str) -> str | None:
        try:
            return Path(fname).read_text(encoding="utf-8", errors="replace")
        except OSError:
            return None

    def __getattr__(self, name: str):
        return lambda *a, **k: None


def mentions(query: str, files: list[str]) -> tuple[set[str], set[str]]:
    """(mentioned file names, mentioned identifiers) as aider derives them from a chat message."""
    idents = {w for w in re.split(r"\W+", query) if w}
    words = {w.rstrip(",.!;:?").strip("\"'`*_") for w in query.split()}
    by_stem: dict[str, set[str]] = {}
    for f in files:
        stem = Path(f).stem.lower()
        if len(stem) >= 5:
            by_stem.setdefault(stem, set()).add(f)
    named = {f for f in files if f in words or os.path.basename(f) in words}
    for ident in idents:
        if len(ident) >= 5:
            named |= by_stem.get(ident.lower(), set())
    return named, idents


def run(repo: str, query: str, budget: int) -> dict:
    """One map: the files it shows, its exact cl100k token count and the seconds it took."""
    files = subprocess.run(["git", "ls-files"], cwd=repo, capture_output=True, text=True).stdout.split("\n")
    files = [f for f in files if f]
    named, idents = mentions(query, files)
    start = time.perf_counter()
    rm = RepoMap(map_tokens=budget, root=repo, main_model=Model(), io=QuietIO(), max_context_window=None)
    captured: list = []
    original = rm.get_ranked_tags

    def recording(*args, **kwargs):
        tags = original(*args, **kwargs)
        captured.append(tags)
        return tags

    rm.get_ranked_tags = recording
    text = rm.get_repo_map([], [str(Path(repo) / f) for f in files], named, idents) or ""
    seconds = time.perf_counter() - start
    ranked = list(dict.fromkeys(t[0] for t in (captured[-1] if captured else [])))
    lines = set(text.splitlines())
    shown = {f for f in files if f + ":" in lines or f in lines}
    order = [f for f in ranked if f in shown] + sorted(shown.difference(ranked))
    return {"files": order, "ranked": ranked, "tokens": len(ENC.encode_ordinary(text)), "seconds": seconds}


def main() -> None:
    """Serve requests from stdin until it closes."""
    for line in sys.stdin:
        req = json.loads(line)
        print(json.dumps(run(req["repo"], req["query"], int(req["budget"]))), flush=True)


if __name__ == "__main__":
    main()
