"""Chat as safe as headless, in a real pty: /undo takes back what the agent wrote (by recorded content) and never
the user's own work, the dirty-file question, the texts the model sees on a no, live output and honest counts."""

from __future__ import annotations

import time
from pathlib import Path

from conftest import git, init_repo
from test_repl import FILES, PROMPT, call, finish, spawn

NOTES = "my notes\n"
GAP = r"(?:\x1b\[[0-9;]*m|\s)*"  # spaces and colour codes between two pieces of a line


def test_undo_keeps_the_users_file_and_line_written_while_a_turn_runs(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "repo", {**FILES, "notes.txt": NOTES})
    start = git(repo, "rev-parse", "HEAD").strip()
    child = spawn(
        repo,
        [
            {
                "content": "Fixing it.",
                "tool_calls": [call("edit_file", edits=[{"path": "calc/ops.py", "old": "a - b", "new": "a + b"}])],
            },
            {"content": "Waiting.", "tool_calls": [call("run_shell", command="sleep 2")]},
            {"content": "all done"},
        ],
    )
    child.expect(PROMPT)
    child.sendline("/add calc/ops.py")
    child.expect("added")
    child.sendline("fix add")
    child.expect(r"allow run.*sleep 2")
    child.sendline("y")
    time.sleep(0.5)  # `sleep 2` runs: the user works in another shell meanwhile
    (repo / "NOTES_user.md").write_text("the user's own file\n")
    with (repo / "notes.txt").open("a") as fh:
        fh.write("a line the user appended\n")
    child.expect("all done", timeout=30)
    child.expect("changed while its commands ran: NOTES_user.md, notes.txt")
    child.expect(PROMPT)
    child.sendline("/diff")  # the agent's edits only, not the user's work
    child.expect(r"\+    return a \+ b")
    child.expect(PROMPT)
    assert "notes.txt" not in child.before and "NOTES_user" not in child.before
    child.sendline("/undo")
    child.expect("undone")
    child.expect(PROMPT)
    assert (repo / "calc/ops.py").read_text() == FILES["calc/ops.py"]  # the agent's edit is taken back
    assert (repo / "NOTES_user.md").read_text() == "the user's own file\n"
    assert (repo / "notes.txt").read_text() == NOTES + "a line the user appended\n"
    assert git(repo, "rev-parse", "HEAD").strip() == start  # the turn's agent commits are gone from HEAD
    status = sorted(git(repo, "status", "--porcelain").splitlines())
    assert status == [" M notes.txt", "?? NOTES_user.md"]  # the user's work, left to the user
    assert finish(child) == 0


def test_undo_refuses_when_the_user_changed_the_agents_file_since(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "repo", FILES)
    child = spawn(
        repo,
        [
            {"tool_calls": [call("edit_file", edits=[{"path": "calc/ops.py", "old": "a - b", "new": "a + b"}])]},
            {"content": "all done"},
        ],
    )
    child.expect(PROMPT)
    child.sendline("/add calc/ops.py")
    child.expect("added")
    child.sendline("fix add")
    child.expect("all done")
    child.expect(PROMPT)
    edited = (repo / "calc/ops.py").read_text()
    (repo / "calc/ops.py").write_text(edited + "# mine\n")
    child.sendline("/undo")
    child.expect(r"not undone.*calc/ops\.py")
    child.expect(PROMPT)
    assert (repo / "calc/ops.py").read_text() == edited + "# mine\n"
    assert finish(child) == 0


def test_a_declined_test_edit_tells_the_model_the_user_said_no_not_a_headless_text(tmp_path: Path) -> None:
    import json

    repo = init_repo(tmp_path / "repo", FILES)
    child = spawn(
        repo,
        [
            {"tool_calls": [call("write_file", path="tests/test_calc.py", content="def test_add():\n    pass\n")]},
            {"content": "left the test alone"},
        ],
    )
    child.expect(PROMPT)
    child.sendline("make the test pass")
    child.expect(r"allow edit.*tests/test_calc\.py.*a test file")
    child.sendline("n")
    child.expect("left the test alone")
    assert finish(child) == 0
    assert (repo / "tests/test_calc.py").read_text() == FILES["tests/test_calc.py"]
    session = json.loads(next((repo / ".agent/sessions").glob("*.json")).read_text())
    seen = [m["content"] for m in session["messages"] if m["role"] == "tool"][-1]
    assert "The user declined this" in seen
    assert "headless" not in seen and "--allow-test-edits" not in seen


def test_files_counts_what_is_sent_and_a_long_error_line_is_cut_between_words(tmp_path: Path) -> None:
    words = " ".join(f"word{i:03d}" for i in range(40))
    repo = init_repo(tmp_path / "repo", {**FILES, "big.txt": "x" * 99 + "\n" + "y" * 99_900 + "\n"})
    (repo / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\n\0\0\0")
    git(repo, "add", "logo.png")
    child = spawn(
        repo,
        [{"tool_calls": [call("run_shell", command=f"echo {words}; exit 3")]}, {"content": "it failed"}],
        "--yes",
    )
    child.expect(PROMPT)
    child.sendline("/add big.txt")
    child.expect("added")
    child.sendline("/add logo.png")
    child.expect("logo.png is a binary file; only text files")
    child.sendline("/add **/*.p*")
    child.expect(r"skipped 1 binary file\(s\): logo\.png")
    child.sendline("/files")
    child.expect(GAP.join([r"big\.txt", r"~15,000 tokens \(cut to its first 60,000 characters\)"]))
    child.sendline("/tokens")
    child.expect(r"in \(0 cached\)")  # the per-turn line shows cached tokens when the provider reports any
    child.sendline("fail please")
    child.expect(r"run_shell\S* echo word000 .*?(word\d{3}) …")  # the call line: cut between two whole words
    assert child.match.group(1) in words.split()
    child.expect(GAP.join(["exit code 3", r"\(\+1 lines · /show 1\)"]))
    child.expect("it failed")
    child.sendline("/show 1")
    child.expect("word039")
    assert finish(child) == 0


def test_a_long_command_shows_the_live_tail_of_its_output_while_it_runs(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "repo", FILES)
    script = "for i in 1 2 3 4 5; do echo tick$i; sleep 0.6; done"
    child = spawn(repo, [{"tool_calls": [call("run_shell", command=script)]}, {"content": "ticked"}], "--yes")
    child.expect(PROMPT)
    child.sendline("tick please")
    child.expect(r"running run_shell… \ds")
    child.expect(r"│ tick2")  # under the spinner, while the command still runs
    assert "exit code" not in child.before
    child.expect("exit code 0")
    child.expect("ticked")
    assert finish(child) == 0


def test_an_edit_of_a_file_with_the_users_uncommitted_changes_asks_first(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "repo", FILES)
    mine = FILES["calc/ops.py"] + "# my uncommitted work\n"
    (repo / "calc/ops.py").write_text(mine)
    child = spawn(
        repo,
        [
            {"tool_calls": [call("edit_file", edits=[{"path": "calc/ops.py", "old": "a - b", "new": "a + b"}])]},
            {"content": "left it"},
        ],
    )
    child.expect(PROMPT)
    child.sendline("/add calc/ops.py")
    child.expect("added")
    child.sendline("fix add")
    child.expect(r"allow edit.*calc/ops\.py.*uncommitted changes")
    child.sendline("n")
    child.expect("left it")
    assert finish(child) == 0
    assert (repo / "calc/ops.py").read_text() == mine
    assert git(repo, "log", "--format=%s").splitlines() == ["initial"]  # no agent commit


def test_esc_stops_a_running_step_like_ctrl_c_and_the_conversation_goes_on(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "repo", FILES)
    child = spawn(
        repo,
        [{"tool_calls": [call("run_shell", command="sleep 30; touch late.txt")]}, {"content": "after esc"}],
        "--yes",
    )
    child.expect(PROMPT)
    child.sendline("sleep long")
    child.expect(r"running run_shell… \ds")
    started = time.monotonic()
    child.send("\x1b")
    child.expect("interrupted", timeout=15)
    assert time.monotonic() - started < 10
    child.expect(PROMPT)
    child.sendline("go on")
    child.expect("after esc")
    assert finish(child) == 0
    assert not (repo / "late.txt").exists()


def test_ctrl_c_while_the_first_request_waits_for_loading_is_no_crash(tmp_path: Path, isolated_home: Path) -> None:
    config = isolated_home / "config" / "agent" / "config.toml"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text('[mcp.servers.slow]\ncommand = ["sleep", "30"]\nstart_timeout_s = 5\n')  # a slow load
    repo = init_repo(tmp_path / "repo", FILES)
    child = spawn(repo, [{"content": "loaded answer"}])
    child.expect(PROMPT)
    child.sendline("hello")
    child.expect("loading")
    child.sendintr()
    child.expect("still loading; your request was not sent")
    child.expect(PROMPT)
    child.sendline("hello again")
    child.expect("loaded answer", timeout=30)
    assert "Traceback" not in child.before
    assert finish(child) == 0


def test_an_arrow_key_or_a_paste_typed_during_a_step_does_not_stop_it_but_a_lone_esc_does(tmp_path: Path) -> None:
    import json

    repo = init_repo(tmp_path / "repo", FILES)
    child = spawn(
        repo,
        [
            {"tool_calls": [call("run_shell", command="sleep 3; touch done.txt")]},
            {"content": "finished the step"},
            {"content": "got the next one"},
        ],
        "--yes",
    )
    child.expect(PROMPT)
    child.sendline("sleep a while")
    child.expect(r"running run_shell… \ds")
    for key in ("\x1b[A", "\x1b[B", "\x1bOD", "\x1b[1;5C", "\x1b[200~pasted\rits second line\x1b[201~"):  # a paste
        child.send(key)
        time.sleep(0.2)
    child.expect(GAP.join(["›", "pasted ⏎ its second line", r"\(typed ahead"]))  # under the spinner, no echo
    child.expect("finished the step", timeout=30)
    assert "interrupted" not in child.before
    assert (repo / "done.txt").exists()
    child.send("\r")  # the paste waits at the prompt, both lines, without the keys' bytes: Enter sends it
    child.expect("got the next one")
    assert finish(child) == 0
    session = json.loads(next((repo / ".agent/sessions").glob("*.json")).read_text())
    users = [m["content"] for m in session["messages"] if m["role"] == "user"]
    assert len(users) == 2  # the paste's line break did not send half of it as a message of its own
    assert "pasted\nits second line" in users[-1] and "[A" not in users[-1] and "200~" not in users[-1]


def test_test_edits_deny_in_chat_tells_the_model_the_setting_not_a_run_flag(tmp_path: Path) -> None:
    import json

    config = {".agent/config.toml": '[permissions]\ntest_edits = "deny"\n'}
    repo = init_repo(tmp_path / "repo", {**FILES, **config})
    child = spawn(
        repo,
        [
            {"tool_calls": [call("write_file", path="tests/test_calc.py", content="def test_add():\n    pass\n")]},
            {"content": "left the test alone"},
        ],
    )
    child.expect(PROMPT)
    child.sendline("make the test pass")
    child.expect("left the test alone")  # denied by the setting: nothing to ask
    assert "allow edit" not in child.before
    assert finish(child) == 0
    assert (repo / "tests/test_calc.py").read_text() == FILES["tests/test_calc.py"]
    session = json.loads(next((repo / ".agent/sessions").glob("*.json")).read_text())
    seen = [m["content"] for m in session["messages"] if m["role"] == "tool"][-1]
    assert 'permissions.test_edits = "deny"' in seen and "--allow-test-edits" not in seen


def test_run_tests_shows_the_live_tail_of_pytest_while_it_runs(tmp_path: Path) -> None:
    slow = "import time\n\ndef test_first():\n    assert True\n\ndef test_second():\n    time.sleep(3)\n"
    repo = init_repo(tmp_path / "repo", {**FILES, "tests/test_slow.py": slow})
    child = spawn(repo, [{"tool_calls": [call("run_tests", args="-vv tests/test_slow.py")]}, {"content": "tested"}],
                  "--yes")
    child.expect(PROMPT)
    child.sendline("run the slow tests")
    child.expect(r"running run_tests… \ds")
    child.expect(r"│ tests/test_slow\.py::test_first PASSED", timeout=30)  # while test_second still sleeps
    assert "passed in" not in child.before and "✓" not in child.before
    child.expect(r"│ =+ 2 passed in", timeout=30)
    child.expect(r"✓.* -m pytest -q -vv tests/test_slow\.py")
    child.expect("tested")
    assert finish(child) == 0
