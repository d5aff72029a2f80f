"""Just-in-time recall: notes come back with the tool results that touch their code, or match an error."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from conftest import agent_cli
from memory_support import _shared_model, model_cache, repo  # noqa: F401

from agent.backends.scripted import ScriptedBackend
from agent.chat.conversation import Conversation
from agent.chat.store import latest_session, read_session, restore
from agent.config import AgentConfig, load_config
from agent.memory import MemoryStore
from agent.memory.recall import error_query
from agent.session import Session

AREA_NOTE = "area() must keep using math.pi, never the literal 3.14 (the docs promise exact results)."
SLUG_NOTE = "slugify output is used in URLs: keep it lowercase ASCII."
YAML_NOTE = "ModuleNotFoundError for yaml: the dev extra is missing, install it with pip install -e .[dev]."


def call(name: str, **arguments: object) -> dict:
    return {"name": name, "arguments": arguments}


def seed(repo: Path, config: AgentConfig) -> dict[str, str]:
    store = MemoryStore(repo, config.memory)
    return {
        "area": store.remember(AREA_NOTE, ["app/ops.py:area"], ["math"], source="user"),
        "slug": store.remember(SLUG_NOTE, ["web/util.js:slugify"], ["web"], source="user"),
        "yaml": store.remember(YAML_NOTE, [], ["deps"], source="user"),
    }


def tool_outputs(backend: ScriptedBackend) -> list[str]:
    runs = [[str(m["content"]) for m in seen if m["role"] == "tool"] for seen in backend.seen]
    return max(runs, key=len)  # the loop's last call (distillation, after it, sees no tool messages)


def run(repo: Path, config: AgentConfig, replies: list[dict], task: str = "tidy up") -> ScriptedBackend:
    backend = ScriptedBackend([*replies, {"tool_calls": [call("finish", summary="ok")]}])
    config.context.memory_tokens = 0  # nothing in the first prompt: only just-in-time recall can bring notes
    Session(repo, config, backend=backend).run(task, lambda e: None)
    return backend


def test_a_scripted_run_reading_an_anchored_file_gets_the_note_in_the_tool_result(repo: Path, tmp_path: Path) -> None:
    ids = seed(repo, load_config(repo))
    replies = tmp_path / "replies.json"
    replies.write_text(json.dumps([
        {"tool_calls": [call("read_file", path="app/ops.py")]},
        {"tool_calls": [call("finish", summary="read")]},
    ]))
    (repo / ".agent" / "config.toml").write_text("[context]\nmemory_tokens = 0\n")
    done = agent_cli("run", "look around", "--repo", str(repo), "--model", f"scripted:{replies}", "--json")
    results = [json.loads(x) for x in done.stdout.splitlines() if '"tool_result"' in x]
    assert results, done.stdout + done.stderr
    output = results[0]["output"]
    assert "def area(r):" in output and "[memory]" in output
    assert f"- [fresh, repo] {ids['area']}: {AREA_NOTE} (about: app/ops.py:area)" in output
    assert ids["slug"] not in output and ids["yaml"] not in output


def test_a_note_is_not_repeated_in_one_run_nor_when_the_first_prompt_had_it(repo: Path) -> None:
    config = load_config(repo)
    ids = seed(repo, config)
    backend = run(repo, config, [
        {"tool_calls": [call("read_file", path="app/ops.py")]},
        {"tool_calls": [call("search", pattern="slugify")]},
        {"tool_calls": [call("read_file", path="app/ops.py")]},
        {"tool_calls": [call("edit_file", edits=[{"path": "web/util.js", "old": "const x = 1;", "new": "x = 2;"}])]},
    ])
    outputs = tool_outputs(backend)
    assert len(outputs) == 4
    assert ids["area"] in outputs[0]
    assert "web/util.js:1:function slugify" in outputs[1] and ids["slug"] in outputs[1]  # searched into
    assert "[memory]" not in outputs[2] and "[memory]" not in outputs[3]
    assert sum(ids["area"] in o for o in outputs) == 1

    config = load_config(repo)  # with the first prompt's notes on, a note already there is not appended again
    backend = ScriptedBackend([{"tool_calls": [call("read_file", path="app/ops.py")]},
                               {"tool_calls": [call("finish", summary="ok")]}])
    Session(repo, config, backend=backend).run("area must keep math.pi exact", lambda e: None)
    assert ids["area"] in str(backend.seen[0][1]["content"])
    assert ids["area"] not in tool_outputs(backend)[0]


def test_a_stale_note_is_labelled_stale_in_the_tool_result(repo: Path) -> None:
    config = load_config(repo)
    ids = seed(repo, config)
    ops = repo / "app/ops.py"
    ops.write_text(ops.read_text().replace("math.pi * r * r", "3.14 * r * r"))
    backend = run(repo, config, [{"tool_calls": [call("read_file", path="app/ops.py")]}])
    assert f"- [stale, repo] {ids['area']}: {AREA_NOTE}" in tool_outputs(backend)[0]


def test_an_error_in_a_tool_result_brings_back_the_matching_note(repo: Path) -> None:
    config = load_config(repo)
    ids = seed(repo, config)
    script = repo / "fail.py"
    script.write_text("print('E   ModuleNotFoundError: No module named yaml')\n"
                      "print('FAILED tests/test_x.py::test_load')\nprint('1 failed in 0.1s')\nraise SystemExit(1)\n")
    config.tools.test_command = "python fail.py"
    backend = run(repo, config, [{"tool_calls": [call("run_tests")]}, {"tool_calls": [call("run_tests")]}])
    first, second = tool_outputs(backend)
    assert f"[fresh, repo] {ids['yaml']}: {YAML_NOTE}" in first
    assert ids["area"] not in first and ids["slug"] not in first  # below the similarity floor
    assert ids["yaml"] not in second


def test_the_budget_limits_what_one_result_brings(repo: Path) -> None:
    config = load_config(repo)
    store = MemoryStore(repo, config.memory)
    topics = ["negative radius raises ValueError", "results are rounded by callers, never here",
              "the docstring shows an example doctest", "benchmarks call it in a tight loop",
              "a Decimal radius must be supported"]
    texts = [f"{t}: " + "details " * 40 for t in topics]
    long_ids = [store.remember(t, ["app/ops.py:area"], []) for t in texts]
    assert len(set(long_ids)) == 5
    config.memory.recall_tokens = 200
    backend = run(repo, config, [{"tool_calls": [call("read_file", path="app/ops.py")]}])
    shown = [i for i in long_ids if i in tool_outputs(backend)[0]]
    assert 1 <= len(shown) < len(long_ids)


def test_error_query_keeps_the_lines_that_say_what_went_wrong() -> None:
    out = "collecting\nok line\nE   KeyError: 'price'\nFAILED tests/test_a.py::test_b\n1 failed, 2 passed\n"
    assert error_query(out) == "E   KeyError: 'price'\nFAILED tests/test_a.py::test_b\n1 failed, 2 passed"
    assert error_query("a\nb\nc\nd\n") == "b\nc\nd"


def test_error_query_takes_the_message_after_a_bare_exception_name_and_drops_locations() -> None:
    out = "AssertionError: \nArrays are not equal\n\nMismatched elements: 1 / 3\n"
    assert error_query(out) == "AssertionError:\nArrays are not equal"
    lint = "flake8....Failed\nsrc/app/settings.py:212:1: E302 error: expected 2 blank lines, found 1\n"
    assert error_query(lint) == "flake8....Failed\nE302 error: expected 2 blank lines, found 1"
    mypy = "pandas/core/merge.py:912: error: Argument 1 has incompatible type\n"
    assert error_query(mypy) == "error: Argument 1 has incompatible type"
    assert error_query("Traceback (most recent call last):\n  File \"a.py\", line 1\nKeyError: 'x'\n") == (
        "Traceback (most recent call last):\nKeyError: 'x'"
    )


def test_a_bare_assertion_error_brings_the_note_matching_the_message_on_its_next_line(repo: Path) -> None:
    config = load_config(repo)
    store = MemoryStore(repo, config.memory)
    floats = store.remember("Arrays are not equal after a float computation: exact comparisons differ across "
                            "platforms, compare arrays with assert_allclose.", [], ["tests"], source="user")
    seed(repo, config)
    script = repo / "fail.py"
    script.write_text("print('AssertionError: ')\nprint('Arrays are not equal')\nprint('')\n"
                      "print('Mismatched elements: 1 / 3 (33.3%)')\nprint('1 failed in 0.1s')\nraise SystemExit(1)\n")
    config.tools.test_command = "python fail.py"
    backend = run(repo, config, [{"tool_calls": [call("run_tests")]}])
    assert f"{floats}: Arrays are not equal" in tool_outputs(backend)[0]


FILLER = "".join(f"def filler_{i}(v):\n    return v + {i}\n\n\n" for i in range(60))
BIG = "def first(x):\n    return x\n\n\n" + FILLER + "def second(y):\n    return y * 2\n"


def big_repo(repo: Path) -> dict[str, str]:
    (repo / "app/big.py").write_text(BIG)
    (repo / "docs/releases").mkdir(parents=True)
    (repo / "docs/releases/5.2.txt").write_text("release notes\n")
    subprocess.run(["git", "add", "-A"], cwd=repo, check=True)
    subprocess.run(["git", "commit", "-qm", "big"], cwd=repo, check=True)
    store = MemoryStore(repo, load_config(repo).memory)
    return {
        "first": store.remember("first() must stay pure: no I/O in it.", ["app/big.py:first"], [], source="user"),
        "second": store.remember("second() doubles; callers rely on ints staying ints.", ["app/big.py:second"], []),
        "file": store.remember("big.py is generated by the build: regenerate it, never edit it.", ["app/big.py"], []),
        "named": store.remember("Every feature gets a release note in docs/releases/<version>.txt.", [], []),
    }


def line_of(text: str, needle: str) -> int:
    return text[: text.index(needle)].count("\n") + 1


def test_a_symbol_note_of_a_large_file_comes_back_only_when_that_symbol_is_read_found_or_searched(repo: Path) -> None:
    ids = big_repo(repo)
    start = line_of(BIG, "def second")
    backend = run(repo, load_config(repo), [
        {"tool_calls": [call("read_file", path="app/big.py", start_line=1, end_line=10)]},
        {"tool_calls": [{"name": "find_symbol", "arguments": {"name": "second"}}]},
        {"tool_calls": [call("read_file", path="app/big.py", start_line=start, end_line=start + 1)]},
    ])
    head, found, again = tool_outputs(backend)
    assert ids["first"] in head and ids["file"] in head  # the symbol read, and the file's own note
    assert ids["second"] not in head  # anchored to lines the call did not show
    assert "app/big.py:" in found and ids["second"] in found and ids["first"] not in found
    assert "[memory]" not in again  # already shown in this run

    config = load_config(repo)
    backend = run(repo, config, [{"tool_calls": [call("search", pattern="return y")]}])
    (searched,) = tool_outputs(backend)
    assert ids["second"] in searched and ids["first"] not in searched


def test_editing_a_symbol_recalls_its_note_and_a_repo_map_recalls_the_notes_of_the_files_it_shows(repo: Path) -> None:
    ids = big_repo(repo)
    backend = run(repo, load_config(repo), [
        {"tool_calls": [call("edit_file", edits=[{"path": "app/big.py", "old": "y * 2", "new": "y + y"}])]},
    ])
    (edited,) = tool_outputs(backend)
    assert ids["second"] in edited and ids["first"] not in edited
    assert f"- [stale, repo] {ids['second']}" in edited  # the edit changed the anchored code

    backend = run(repo, load_config(repo), [{"tool_calls": [call("repo_map", query="first second big")]}])
    (mapped,) = tool_outputs(backend)
    assert "app/big.py" in mapped and ids["first"] in mapped and ids["second"] in mapped


def test_reading_a_file_in_a_folder_a_note_names_brings_that_note(repo: Path) -> None:
    ids = big_repo(repo)
    backend = run(repo, load_config(repo), [
        {"tool_calls": [call("read_file", path="docs/releases/5.2.txt")]},
        {"tool_calls": [call("read_file", path="README.md")]},
    ])
    named, other = tool_outputs(backend)
    assert ids["named"] in named and "[memory]" not in other


class InterruptedBackend(ScriptedBackend):
    """Replays its replies but is interrupted (Ctrl-C) at its n-th call: a run that stops half-way."""

    def __init__(self, replies: list[dict], at: int) -> None:
        super().__init__(replies)
        self.at, self.calls = at, 0

    def complete(self, *args: object, **kwargs: object):  # type: ignore[no-untyped-def]
        self.calls += 1
        if self.calls == self.at:
            raise KeyboardInterrupt
        return super().complete(*args, **kwargs)


def test_a_resumed_run_does_not_show_again_the_notes_it_already_showed(repo: Path) -> None:
    config = load_config(repo)
    config.context.memory_tokens = 0
    ids = seed(repo, config)
    replies = [{"tool_calls": [call("read_file", path="app/ops.py")]},
               {"tool_calls": [call("read_file", path="app/ops.py", start_line=2)]},
               {"tool_calls": [call("finish", summary="ok")]}]
    events: list[dict] = []
    result = Session(repo, config, backend=InterruptedBackend(replies, at=2)).run("look", events.append, run_id="r-1")
    assert result.outcome.status == "interrupted"
    (read,) = [e["output"] for e in events if e["type"] == "tool_result"]
    assert ids["area"] in read
    saved = json.loads((repo / ".agent/runs/r-1/checkpoint.json").read_text())
    assert saved["memory_shown"] == [ids["area"]]

    events = []
    resumed = ScriptedBackend(replies[:1] * saved["steps"] + replies[1:])  # it skips the replies already used
    result = Session(repo, load_config(repo), backend=resumed).run("look", events.append, run_id="r-1", resume=True)
    (again,) = [e["output"] for e in events if e["type"] == "tool_result" and e["name"] == "read_file"]
    assert result.outcome.status == "done"
    assert "return math.pi" in again and "[memory]" not in again  # shown before the interruption


def chat(repo: Path, replies: list[dict]) -> Conversation:
    config = load_config(repo, {"context": {"map_tokens": 0, "memory_tokens": 0}})
    return Conversation(Session(repo, config, backend=ScriptedBackend(replies)))


def test_a_resumed_chat_does_not_show_again_the_notes_it_already_showed_and_clear_forgets_them(repo: Path) -> None:
    ids = seed(repo, load_config(repo))
    read = {"tool_calls": [call("read_file", path="app/ops.py")]}
    conv = chat(repo, [read, {"content": "read it"}])
    conv.turn("look at ops", lambda e: None)
    assert ids["area"] in str(conv.messages[-2]["content"])
    path = latest_session(repo)
    assert path is not None and json.loads(path.read_text())["memory_shown"] == [ids["area"]]

    fresh = chat(repo, [read, {"content": "again"}, read, {"content": "after clear"}])
    restore(fresh, read_session(path))
    fresh.turn("look again", lambda e: None)
    output = str(fresh.messages[-2]["content"])
    assert "return math.pi" in output and "[memory]" not in output
    fresh.clear()  # the history, and the notes in it, are gone: the note may come back
    fresh.turn("and once more", lambda e: None)
    assert ids["area"] in str(fresh.messages[-2]["content"])
