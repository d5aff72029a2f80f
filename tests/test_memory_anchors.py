"""Anchors: finding a symbol's code, hashing it, and labelling fresh / stale / orphaned."""

from __future__ import annotations

from pathlib import Path

import pytest
from memory_support import CODE, repo  # noqa: F401

from agent.errors import StoreError
from agent.memory.anchors import FRESH, ORPHANED, STALE, make_anchor, note_status, symbol_text


def test_python_symbols_and_methods(repo: Path) -> None:
    assert symbol_text(repo / "app/ops.py", "area") == "def area(r):\n    return math.pi * r * r"
    method = symbol_text(repo / "app/ops.py", "Parser.parse")
    assert method == "    def parse(self, text):\n        return text.split()"
    assert symbol_text(repo / "app/ops.py", "Parser.missing") is None
    assert symbol_text(repo / "app/ops.py", None) == CODE["app/ops.py"]


def test_brace_and_indentation_heuristics(tmp_path: Path) -> None:
    js = tmp_path / "u.js"
    js.write_text(CODE["web/util.js"])
    assert symbol_text(js, "slugify") == "function slugify(s) {\n  return s.toLowerCase().replace(/ /g, '-');\n}"
    go = tmp_path / "m.go"
    go.write_text(
        "package m\n\nfunc Add(a, b int) int {\n\tif a > 0 {\n\t\treturn a + b\n\t}\n\treturn b\n}\n\nfunc Sub() {}\n"
    )
    assert symbol_text(go, "Add").endswith("\treturn b\n}") and "Sub" not in symbol_text(go, "Add")
    rb = tmp_path / "m.rb"
    rb.write_text("def hello\n  puts 1\n\n  puts 2\nend\n\ndef other\nend\n")
    assert symbol_text(rb, "hello") == "def hello\n  puts 1\n\n  puts 2"


def test_status_follows_the_code(repo: Path) -> None:
    anchors = [make_anchor(repo, "app/ops.py:area"), make_anchor(repo, "web/util.js")]
    assert anchors[0].path == "app/ops.py" and anchors[0].symbol == "area" and anchors[1].symbol is None
    assert note_status(repo, anchors) == FRESH
    ops = repo / "app/ops.py"
    changed = ops.read_text().replace("    def other(self):", "    def other(self):  \n        pass\n    def z(self):")
    ops.write_text(changed)
    assert note_status(repo, anchors[:1]) == FRESH  # another function changed
    ops.write_text(ops.read_text().replace("math.pi * r * r", "3.14 * r * r"))
    assert note_status(repo, anchors) == STALE
    ops.write_text("x = 1\n")
    assert note_status(repo, anchors) == ORPHANED
    assert note_status(repo, []) == FRESH


def test_trailing_whitespace_does_not_make_a_note_stale(repo: Path) -> None:
    anchor = make_anchor(repo, "app/ops.py:area")
    ops = repo / "app/ops.py"
    ops.write_text(ops.read_text().replace("return math.pi * r * r\n", "return math.pi * r * r   \n"))
    assert note_status(repo, [anchor]) == FRESH


@pytest.mark.parametrize("spec", ["nope.py", "app/ops.py:nope", "../outside.py", ":sym"])
def test_bad_anchors_are_refused(repo: Path, spec: str) -> None:
    with pytest.raises(StoreError):
        make_anchor(repo, spec)
