"""Tags of one source file: definitions (with signatures and nesting) and referenced names."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

from agent.repomap.languages import parser_and_query
from agent.repomap.text import WORD, term_counts

SIG_CHARS = 200
_COMMENTS = {"python": ("#",)}
_C_COMMENTS = ("//", "/*", "*")
_TRAILING = {True: re.compile(r"\s#[^'\"]*$"), False: re.compile(r"\s//[^'\"]*$")}  # end-of-line comments
_CLASSES = {"class", "interface", "struct", "trait", "impl", "enum"}


@dataclass(slots=True)
class Def:
    """One definition: name, kind, 1-based lines, nesting depth and its one-line signature."""

    name: str
    kind: str
    line: int
    end: int
    depth: int
    sig: str


@dataclass(slots=True)
class FileTags:
    """What the index keeps of one file."""

    lang: str
    defs: list[Def] = field(default_factory=list)
    refs: dict[str, int] = field(default_factory=dict)
    terms: dict[str, int] = field(default_factory=dict)
    length: int = 0


def _signature(node: object, source: bytes, lang: str) -> str:
    body = node.child_by_field_name("body")  # type: ignore[attr-defined]
    start = node.start_byte  # type: ignore[attr-defined]
    if body is not None and body.start_byte > start:
        raw = source[start : body.start_byte]
    else:
        raw = source[start : node.end_byte].split(b"\n", 1)[0]  # type: ignore[attr-defined]
    comments = _COMMENTS.get(lang, _C_COMMENTS)
    trailing = _TRAILING[lang == "python"]
    lines = [trailing.sub("", ln) for ln in raw.decode("utf-8", "replace").splitlines() if not ln.lstrip().startswith(comments)]
    text = " ".join(" ".join(lines).split())
    if lang == "python" and body is not None and not text.endswith(":"):
        text += ":"
    return text if len(text) <= SIG_CHARS else text[: SIG_CHARS - 3] + "..."


def _nest(defs: list[Def]) -> list[Def]:
    """Order definitions by position and give each its depth among enclosing definitions."""
    defs.sort(key=lambda d: (d.line, -d.end))
    stack: list[Def] = []
    for d in defs:
        while stack and stack[-1].end < d.line:
            stack.pop()
        d.depth = len(stack)
        if stack and d.kind == "function" and stack[-1].kind in _CLASSES:
            d.kind = "method"
        stack.append(d)
    return defs


def _definitions(matches: list, source: bytes, lang: str, refs: Counter[str]) -> list[Def]:
    defs: dict[tuple[str, int], Def] = {}
    for _, caps in matches:
        if "reference" in caps:
            for node in caps["reference"]:
                refs[node.text.decode("utf-8", "replace")] += 1
            continue
        names = caps.get("name")
        kind = next((k for k in caps if k.startswith("definition.")), None)
        if not names or kind is None:
            continue
        node = caps[kind][0]
        name = names[0].text.decode("utf-8", "replace").rsplit("::", 1)[-1]
        key = (name, node.start_point[0])
        if key not in defs:
            end_row, end_col = node.end_point
            end = end_row if end_col == 0 and end_row > node.start_point[0] else end_row + 1
            defs[key] = Def(name, kind[11:], node.start_point[0] + 1, end, 0, _signature(node, source, lang))
    return _nest(list(defs.values()))


def extract(source: bytes, lang: str) -> FileTags:
    """Parse `source` with the grammar `lang` and return its tags and lexical terms."""
    parser, query = parser_and_query(lang)
    from tree_sitter import QueryCursor

    tree = parser.parse(source)
    refs: Counter[str] = Counter()
    defs = _definitions(QueryCursor(query).matches(tree.root_node), source, lang, refs)
    for d in defs:
        if refs.get(d.name):
            refs[d.name] -= 1
            if refs[d.name] <= 0:
                del refs[d.name]
    words = Counter(WORD.findall(source.decode("utf-8", "replace")))
    terms = term_counts(words)
    return FileTags(lang, defs, dict(refs), terms, sum(terms.values()))
