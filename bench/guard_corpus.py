"""Build the guard's real-history corpus from fetched repositories (written to bench/data/, never committed).

PYTHONPATH=src python bench/guard_corpus.py [--mirrors /work/.mirror] [--per-repo 25]

Honest cases: upstream commits (no merges) that touch Python test files, as they were.
Tampering cases: one mutation (bench/guard_mutations.py, one function per surface form) applied on top of a
real commit's after-state. The split into tuning and held-out repositories is fixed here, by repository,
before any result was looked at.
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from guard_forms import FORMS  # noqa: E402
from guard_mutations import Commit  # noqa: E402

from agent.guard.paths import ROOT_TEST_CONFIG, is_test_file  # noqa: E402

TUNING = [
    "more-itertools+more-itertools", "tkem+cachetools", "jd+tenacity", "pypa+packaging",
    # added in session 4, after the first held-out figures, to widen tuning (never the held-out side)
    "hynek+structlog", "pyparsing+pyparsing", "agronholm+anyio",
    "pallets+itsdangerous", "aio-libs+yarl", "encode+starlette",
    # session 4's held-out side, looked at and tuned against: moved here in session 5 (burned, so tuning now)
    "marshmallow-code+marshmallow", "python-humanize+humanize", "pytoolz+toolz", "pytest-dev+pluggy",
    # added in session 6, after the fresh held-out's first figure, to find false alarms without looking at it
    "arrow-py+arrow", "Delgan+loguru", "tqdm+tqdm", "tox-dev+filelock", "python-jsonschema+jsonschema",
    "wntrblm+nox",
]
# fixed in session 5 before any result on them was seen; measured once per rule change, never tuned on
HELD_OUT = [
    "python-attrs+attrs", "pallets+click", "dateutil+dateutil", "python-poetry+tomlkit", "mahmoud+boltons",
]
OUT = Path(__file__).resolve().parent / "data" / "guard_corpus"
MAX_CHANGED = 12
MAX_BYTES = 400_000
MAX_CONTEXT = 400


def git(repo: Path, *args: str) -> str:
    """git plumbing in a bare mirror."""
    return subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, errors="replace").stdout


def blobs(repo: Path, rev: str, paths: list[str]) -> dict[str, str]:
    """Contents of `paths` at `rev` (missing and binary files left out), in one cat-file call."""
    if not paths:
        return {}
    request = "".join(f"{rev}:{p}\n" for p in paths).encode()
    data = subprocess.run(["git", "-C", str(repo), "cat-file", "--batch"], input=request, capture_output=True).stdout
    out, pos = {}, 0
    for path in paths:
        end = data.index(b"\n", pos)
        head = data[pos:end].split()
        pos = end + 1
        if len(head) < 3 or head[1] != b"blob":
            continue
        size = int(head[2])
        blob = data[pos : pos + size]
        pos += size + 1
        if size <= MAX_BYTES and b"\0" not in blob[:8000]:
            out[path] = blob.decode("utf-8", "replace")
    return out


def candidate_commits(repo: Path, limit: int) -> list[tuple[str, str]]:
    """(sha, subject) of recent non-merge commits that change a Python test file and few files."""
    log = git(repo, "log", "--no-merges", "--format=%x01%H%x00%s", "--name-only", "-n", "1500", "HEAD")
    out = []
    for chunk in log.split("\x01")[1:]:
        head, _, names = chunk.partition("\n")
        sha, _, subject = head.partition("\x00")
        files = [n for n in names.split("\n") if n.strip()]
        if not 0 < len(files) <= MAX_CHANGED:
            continue
        if any(f.endswith(".py") and is_test_file(f) for f in files):
            out.append((sha, subject))
        if len(out) >= limit:
            break
    return out


def load_commit(repo: Path, name: str, sha: str, subject: str) -> Commit | None:
    """The before/after contents of one commit's changed text files, and its unchanged test files."""
    parent = git(repo, "rev-parse", "--verify", "--quiet", f"{sha}^").strip()
    if not parent:
        return None
    changed = [p for p in git(repo, "diff-tree", "--no-commit-id", "-r", "--name-only", parent, sha).split("\n") if p]
    before, after = blobs(repo, parent, changed), blobs(repo, sha, changed)
    tree = [p for p in git(repo, "ls-tree", "-r", "--name-only", parent).split("\n") if p]
    tests = [p for p in tree if p.endswith(".py") and is_test_file(p) and p not in changed][:MAX_CONTEXT]
    tests += [p for p in tree if p in ROOT_TEST_CONFIG and p not in changed]  # as agent guard reads them
    body = git(repo, "log", "-1", "--format=%B", sha)
    return Commit(name, sha, subject, body, before, after, blobs(repo, parent, tests), tree, repo)


def case(commit: Commit, split: str, label: str, family: str, form: str, after: dict[str, str | None]) -> dict:
    """One stored case; `after` lists only what differs from the commit's after-state (None: deleted)."""
    before = {**commit.context, **commit.before}
    final = {**commit.context, **commit.after}
    if family == "expected_edit":  # "edited with no source change": the commit's own change is the base
        before = dict(final)
    for path in after:
        if path not in before and path not in final and (original := commit.read(path)) is not None:
            before[path] = final[path] = original  # a file the commit left alone: unchanged context until mutated
    for path, text in after.items():
        if text is None:
            final.pop(path, None)
        else:
            final[path] = text
    return {
        "id": f"{commit.repo}:{commit.sha[:10]}:{form}", "repo": commit.repo, "split": split, "label": label,
        "family": family, "form": form, "commit": commit.sha, "message": commit.body, "before": before, "after": final,
    }


def _parses(change: dict) -> bool:
    import ast

    try:
        for path, text in change.items():
            if text is not None and path.endswith(".py"):
                ast.parse(text)
    except SyntaxError:
        return False
    return True


def build_repo(mirrors: Path, name: str, per_repo: int, split: str) -> list[dict]:
    """Honest cases and one tampering case per applicable form for one repository."""
    repo = mirrors / name / "repo"
    commits = [c for sha, subject in candidate_commits(repo, per_repo * 3) if (c := load_commit(repo, name, sha, subject))]
    honest = [case(c, split, "honest", "honest", "upstream", {}) for c in commits[:per_repo]]
    rng = random.Random(f"{name}-guard-corpus-1")
    tampered = []
    for family, form, mutate in FORMS:
        order = commits[:]
        rng.shuffle(order)
        for commit in order[:12]:
            try:
                change = mutate(commit, rng)
            except (SyntaxError, ValueError, IndexError, AttributeError, KeyError, TypeError):
                change = None
            if change and _parses(change):
                tampered.append(case(commit, split, "tamper", family, form, change))
                break
    return honest + tampered


def main() -> int:
    """Write one JSON-lines file per repository and print a summary."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--mirrors", type=Path, default=Path("/work/.mirror"))
    parser.add_argument("--per-repo", type=int, default=25)
    parser.add_argument("--repos", default="", help="comma-separated owner+name: rebuild only these")
    args = parser.parse_args()
    only = set(filter(None, args.repos.split(",")))
    OUT.mkdir(parents=True, exist_ok=True)
    total = {"honest": 0, "tamper": 0}
    forms: set[str] = set()
    for split, names in (("tuning", TUNING), ("held_out", HELD_OUT)):
        for name in names:
            if only and name not in only:
                continue
            if not (args.mirrors / name / "repo").exists():
                print(f"{name}: no mirror, skipped (fetch github:{name.replace('+', '/')})")
                continue
            cases = build_repo(args.mirrors, name, args.per_repo, split)
            with (OUT / f"{name}.jsonl").open("w") as fh:
                for c in cases:
                    fh.write(json.dumps(c) + "\n")
            counts = {lab: sum(c["label"] == lab for c in cases) for lab in total}
            forms |= {c["form"] for c in cases if c["label"] == "tamper"}
            for lab in total:
                total[lab] += counts[lab]
            print(f"{split:9} {name:34} honest {counts['honest']:3}  tamper {counts['tamper']:3}")
    print(f"total: honest {total['honest']}, tamper {total['tamper']}, distinct forms {len(forms)} of {len(FORMS)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
