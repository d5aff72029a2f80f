"""Golden tests: the tags and the rendered map of a small fixture repository per language."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from repomap_helpers import FIXTURES, fixture_repo

from agent.repomap import build_map
from agent.repomap.files import read_source
from agent.repomap.languages import language_for
from agent.repomap.tags import extract

CASES = {
    "python": "discount code at checkout",
    "javascript": "applyDiscount for a cart",
    "typescript": "checkout total of LineItem",
    "go": "Reserve stock in the warehouse",
    "rust": "reserve stock",
    "java": "applyDiscount code",
    "c": "ring_push when the ring is full",
    "cpp": "Ring stats collect",
}


def snapshot(repo: Path, query: str) -> str:
    """Every definition of the fixture, then the map for `query` at 300 tokens."""
    out = []
    names = (p.relative_to(repo).as_posix() for p in repo.rglob("*") if p.is_file() and ".git" not in p.parts)
    for path in sorted(names):
        lang = language_for(path)
        data = read_source(repo / path)
        if lang is None or data is None:
            continue
        out.append(f"== {path} [{lang}]")
        defs = extract(data, lang).definitions()
        out += [f"{d.line}-{d.end} {'  ' * d.depth}{d.kind} {d.name}: {d.sig}" for d in defs]
    result = build_map(repo, query, budget=300)
    out.append(f"== map for {query!r}: {result.tokens} tokens")
    out += [f"{path} {score:.4f}" for path, score in result.files]
    out.append(result.text)
    return "\n".join(out) + "\n"


@pytest.mark.parametrize("lang", sorted(CASES))
def test_golden(lang: str, tmp_path: Path) -> None:
    repo = fixture_repo(lang, tmp_path)
    got = snapshot(repo, CASES[lang])
    golden = FIXTURES / "golden" / f"{lang}.txt"
    if os.environ.get("UPDATE_GOLDEN"):
        golden.write_text(got)
    assert got == golden.read_text()


def test_every_language_finds_definitions(tmp_path: Path) -> None:
    for lang in CASES:
        repo = fixture_repo(lang, tmp_path)
        result = build_map(repo, CASES[lang], budget=300)
        assert result.files, lang
        assert 0 < result.tokens <= 300


def test_signature_drops_comments_and_keeps_class_nesting() -> None:
    src = b"class A:  # note\n    # more\n    def f(self,\n          x):\n        return x\n"
    defs = extract(src, "python").definitions()
    assert [(d.name, d.depth, d.sig) for d in defs] == [("A", 0, "class A:"), ("f", 1, "def f(self, x):")]


def test_references_exclude_own_definitions() -> None:
    tags = extract(b"def helper():\n    return 1\n\ndef main():\n    return helper() + other()\n", "python")
    assert tags.uses("helper") == 1
    assert tags.uses("main") == 0
    assert tags.uses("other") == 1
