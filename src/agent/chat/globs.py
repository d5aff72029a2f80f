"""Which files a /add or /drop argument names: a path, a folder's files, or a glob read as git reads
`:(glob)` pathspecs (`*` and `?` stay within one folder, `**` crosses folders), never a basename anywhere."""

from __future__ import annotations

import re

GLOB_CHARS = set("*?[")


def is_glob(pattern: str) -> bool:
    """True when `pattern` has a wildcard."""
    return bool(GLOB_CHARS & set(pattern))


def _regex(pattern: str) -> re.Pattern[str]:
    """The pattern, anchored at the repository root, compiled with gitwildmatch rules (pathspec)."""
    import pathspec

    spec = pathspec.GitIgnoreSpec.from_lines(["/" + pattern.lstrip("/")])
    regex = spec.patterns[0].regex
    if not isinstance(regex, re.Pattern):
        raise ValueError(pattern)
    return regex


def matches(paths: list[str], pattern: str) -> list[str]:
    """The paths (repository-relative, `/`-separated) that `pattern` names, in their order."""
    pattern = pattern.strip()
    if not pattern:
        return []
    if pattern in paths:
        return [pattern]
    if not is_glob(pattern):
        folder = pattern.strip("/") + "/"
        return [p for p in paths if p.startswith(folder)] if folder != "/" else []
    regex = _regex(pattern)
    inside = pattern.rstrip("/").endswith("**")  # `dir/**`: everything under dir
    out = []
    for path in paths:
        found = regex.match(path)
        if found and (found.end() == len(path) or inside):
            out.append(path)
    return out


def matches_any(paths: list[str], patterns: list[str]) -> list[str]:
    """The paths any of `patterns` names, each once, in their order."""
    named = {p for pattern in patterns for p in matches(paths, pattern)}
    return [p for p in paths if p in named]
