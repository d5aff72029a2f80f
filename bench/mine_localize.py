"""Mine a localization dev set from the history of large repositories.

    PYTHONPATH=src python bench/mine_localize.py --mirror /work/.mirror/sympy+sympy/repo --repo sympy/sympy \
        [--per-repo 50] [--since 2021-01-01] >> bench/data/localize-large.jsonl

One task per bug-fix commit (not a merge) that modified 1 to 3 existing non-test source .py files and
at least one test file, with at most --max-lines changed source lines. The query is the commit
message with trailers (Signed-off-by, Change-Id, Co-authored-by...) and literal file paths removed,
which is what a user would have reported; the removed paths are kept in `query_path_mentions`.
Gold = the source files the fix changed. Candidates are spread evenly over the period (by date);
`split` ("tune" or "test") comes from a hash of the commit, so weights are fitted on one half only.
The tree to rank is the fix's first parent, with the history up to that parent.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import subprocess
import sys

from agent.repomap.files import category

_FIX = re.compile(r"\b(fix\w*|bug\w*|crash\w*|error\w*|incorrect\w*|wrong\w*|regression\w*|fail\w*|broken|"
                  r"issue|raise[sd]?|exception)\b", re.I)
_SKIP_SUBJECT = re.compile(r"^(revert|merge|backport|bump|release|\[\d+\.\d+\]|update (changelog|whatsnew))", re.I)
_TRAILER = re.compile(r"^\s*(signed-off-by|co-authored-by|change-id|reviewed-by|reviewed-on|acked-by|tested-by|"
                      r"reported-by|suggested-by|cc|pr-url|pull-request|closes-bug|\(cherry picked)[:\s].*$", re.I)
_PATH = re.compile(r"`?\b[\w.-]+(?:/[\w.-]+)+/?`?|`?\b[\w-]+\.(?:py|rst|txt|cfg|toml|pyx|c|h)\b`?")
SEP_COMMIT, SEP_FIELD = "\x1e", "\x1f"


def clean_query(message: str) -> tuple[str, list[str]]:
    """The message without trailers and literal paths, and the paths it named."""
    message = re.sub(r"<!--.*?-->", "", message, flags=re.S)  # pull-request template comments
    lines = [ln for ln in message.strip().splitlines() if not _TRAILER.match(ln)]
    text = "\n".join(lines).strip()
    found = [m.group(0).strip("`") for m in _PATH.finditer(text)]
    text = _PATH.sub("", text)
    text = re.sub(r"[ \t]{2,}", " ", text)
    text = re.sub(r"\n{3,}", "\n\n", text).strip()
    return text, found


def _log(mirror: str, since: str) -> str:
    fmt = f"{SEP_COMMIT}%H{SEP_FIELD}%P{SEP_FIELD}%cI{SEP_FIELD}%B{SEP_FIELD}"
    cmd = ["git", "--git-dir", mirror, "log", "--no-merges", f"--since={since}", f"--format={fmt}",
           "--name-status", "--no-renames", "HEAD"]
    return subprocess.run(cmd, capture_output=True, text=True, check=True, errors="replace").stdout


def _lines(mirror: str, sha: str, paths: list[str]) -> int:
    """Lines added plus removed in `paths` (only their blobs are read: a snapshot may lack large data files)."""
    out = subprocess.run(["git", "--git-dir", mirror, "diff", "--numstat", f"{sha}^", sha, "--", *paths],
                         capture_output=True, text=True, check=False).stdout
    rows = [ln.split("\t") for ln in out.splitlines()]
    return sum(int(r[0]) + int(r[1]) for r in rows if len(r) == 3 and r[0].isdigit() and r[1].isdigit())


def candidates(mirror: str, repo: str, since: str, max_lines: int) -> list[dict]:
    """Every commit that fits the task rules, oldest first."""
    out = []
    for chunk in _log(mirror, since).split(SEP_COMMIT)[1:]:
        sha, parents, date, message, stats = chunk.split(SEP_FIELD, 4)
        if len(parents.split()) != 1:
            continue
        subject = message.strip().splitlines()[0] if message.strip() else ""
        if _SKIP_SUBJECT.match(subject) or not _FIX.search(message) or len(subject.split()) < 3:
            continue
        src, tests, added = [], [], False
        for row in stats.strip().splitlines():
            parts = row.split("\t")
            if len(parts) != 2:
                continue
            status, path = parts
            cat = category(path)
            if cat == "test" and path.endswith(".py"):
                tests.append(path)
            elif cat == "source" and path.endswith(".py"):
                src.append(path)
                added = added or status != "M"  # every gold file must exist at the parent
        if not (1 <= len(src) <= 3) or not tests or added:
            continue
        lines = _lines(mirror, sha, src)
        if lines > max_lines or lines == 0:
            continue
        query, paths = clean_query(message)
        out.append({"task_id": f"{repo.split('/')[1]}-{sha[:10]}", "repo": repo, "sha": sha, "parent": parents,
                    "date": date, "subject": subject, "query": query, "query_path_mentions": paths,
                    "gold_files": sorted(src), "test_files": sorted(tests), "src_lines_changed": lines})
    out.reverse()
    return out


def spread(items: list[dict], n: int) -> list[dict]:
    """n items evenly spaced over the list."""
    if len(items) <= n:
        return items
    step = len(items) / n
    return [items[int(i * step)] for i in range(n)]


def main() -> None:
    """Print the chosen tasks as JSON lines."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--mirror", required=True, help="a bare git directory (what `fetch` brings)")
    ap.add_argument("--repo", required=True, help="owner/name")
    ap.add_argument("--per-repo", type=int, default=50)
    ap.add_argument("--since", default="2021-01-01")
    ap.add_argument("--max-lines", type=int, default=120)
    args = ap.parse_args()
    found = candidates(args.mirror, args.repo, args.since, args.max_lines)
    chosen = spread(found, args.per_repo)
    for task in chosen:
        task["split"] = "tune" if int(hashlib.sha1(task["sha"].encode()).hexdigest(), 16) % 2 else "test"
    for task in chosen:
        print(json.dumps(task))
    print(f"{args.repo}: {len(found)} candidates, {len(chosen)} tasks", file=sys.stderr)


if __name__ == "__main__":
    main()
