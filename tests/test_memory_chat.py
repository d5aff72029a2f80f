"""Learning from the user in a real pty chat: `#note` is saved, a stated rule is proposed and confirmed."""

from __future__ import annotations

from pathlib import Path

from conftest import init_repo
from memory_support import _shared_model, model_cache  # noqa: F401
from test_repl import FILES, PROMPT, finish, spawn

from agent.memory.corrections import proposals


def notes_text(repo: Path) -> list[str]:
    return [p.read_text() for p in sorted((repo / ".agent/memory").rglob("*.md"))]


def test_hash_note_and_a_stated_correction_is_proposed_confirmed_edited_or_declined(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "repo", FILES)
    child = spawn(repo, [{"content": "switched to Decimal"}, {"content": "ok, done"}])
    child.expect(PROMPT)
    child.sendline("#always use make test")
    child.expect("saved note")
    child.sendline("no, we never use floats for money here. Fix the total in calc.")
    child.expect("switched to Decimal")
    child.expect(r"remember.*We never use floats for money here\..*\[y\]es / \[e\]dit / \[n\]o")
    child.sendline("y")
    child.expect("saved note")
    child.expect(PROMPT)
    child.sendline("Run tests with tox -e py312. Don't touch vendor/ at all.")
    child.expect("ok, done")
    child.expect(r"remember.*Run tests with tox -e py312\.")
    child.sendline("e")
    child.expect("note:")
    child.send("\x15")  # Ctrl-U: clear the proposed text, type the user's own
    child.sendline("The tests run with make test, never plain pytest.")
    child.expect("saved note")
    child.expect(r"remember.*Don't touch vendor/ at all\.")
    child.sendline("n")
    child.expect(PROMPT)
    assert finish(child) == 0
    texts = notes_text(repo)
    bodies = [t.split("---", 2)[2].strip() for t in texts]
    assert "always use make test" in bodies
    assert "We never use floats for money here." in bodies
    assert "The tests run with make test, never plain pytest." in bodies
    assert not any("vendor" in b or "tox" in b for b in bodies)
    assert all("source: user" in t for t in texts)


def test_what_counts_as_a_stated_rule() -> None:
    assert proposals("no, we never use floats for money here") == ["We never use floats for money here."]
    assert proposals("run tests with `make test`") == ["Run tests with `make test`."]
    assert proposals("use Decimal instead of float for prices") == ["Use Decimal instead of float for prices."]
    assert proposals("We use tabs in Makefiles; thanks!") == ["We use tabs in Makefiles."]
    assert proposals("Please fix the bug in ops.py") == []
    assert proposals("can you always do this?") == []
    assert proposals("just this time skip the tests, never mind") == []
