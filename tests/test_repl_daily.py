"""`agent chat` as a daily user drives it: the bugs and missing pieces of issue 16, in a real pty."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import pexpect
from conftest import ROOT, git, init_repo
from test_repl import ANSI, FILES, PROMPT, call, finish, loose, spawn


def test_an_unbalanced_quote_in_add_or_drop_is_a_name_not_a_crash(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "repo", {**FILES, "it's.py": "x = 1\n"})
    child = spawn(repo, [])
    child.expect(PROMPT)
    child.sendline("/add it's.py")
    child.expect(r"added .*it's\.py")
    child.sendline("/add it's.py")
    child.expect("already in the chat")
    child.sendline("/drop it's")
    child.expect("nothing to drop")
    child.sendline("/files")
    child.expect(r"it's\.py")
    assert finish(child) == 0


def test_a_missing_scripted_file_is_refused_up_front_with_exit_2(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "repo", FILES)
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "PROMPT_TOOLKIT_NO_CPR": "1", "TERM": "xterm-256color"}
    child = pexpect.spawn(
        sys.executable, ["-m", "agent", "chat", "--model", f"scripted:{tmp_path / 'nope.json'}"],
        cwd=str(repo), env=env, encoding="utf-8", timeout=60, dimensions=(40, 100),
    )
    child.expect("agent: error: .*nope.json")  # without typing anything
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 2


def test_typed_ahead_text_never_answers_an_approval(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "repo", FILES)
    child = spawn(
        repo,
        [
            {"content": "Working.", "tool_calls": [call("run_shell", command="sleep 3; echo slept")]},
            {"content": "Now a file.", "tool_calls": [call("run_shell", command="touch h2.txt")]},
            {"content": "both done"},
            {"content": "looked at money"},
        ],
    )
    child.expect(PROMPT)
    child.sendline("do it")
    child.expect(r"allow run.*sleep 3")
    child.sendline("y")
    time.sleep(1.0)  # `sleep 3` is running now
    child.sendline("y")  # typed while the step runs: a stray yes must not approve the next command
    child.sendline("also look at money.py")
    child.expect(r"allow run.*touch h2\.txt", timeout=30)
    child.expect("say what to do instead:")
    assert not (repo / "h2.txt").exists()
    child.sendline("n")
    child.expect("both done")
    child.expect("looked at money")  # the typed-ahead request was sent afterwards, not lost
    child.expect(PROMPT)
    child.send("\x1b[A")  # and it is in the history, as if typed at the prompt
    child.expect(loose("also look at money.py"))
    child.send("\x15")  # Ctrl-U: clear the line again
    assert finish(child) == 0
    assert not (repo / "h2.txt").exists()
    session = json.loads(next((repo / ".agent/sessions").glob("*.json")).read_text())
    users = [m["content"] for m in session["messages"] if m["role"] == "user"]
    assert any("also look at money.py" in u for u in users)


def test_ctrl_r_enter_accepts_the_history_match(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "repo", FILES)
    child = spawn(repo, [{"content": "first answer"}, {"content": "second answer"}])
    child.expect(PROMPT)
    child.sendline("explain the unusual widget")
    child.expect("first answer")
    child.expect(PROMPT)
    child.send("\x12")  # Ctrl-R
    child.send("unusual")
    child.expect(loose("unusual"))
    child.send("\r")  # accept the match: back at the prompt with the line
    child.send("\r")  # and send it
    child.expect("second answer")
    assert finish(child) == 0
    session = json.loads(next((repo / ".agent/sessions").glob("*.json")).read_text())
    users = [m["content"] for m in session["messages"] if m["role"] == "user"]
    assert len(users) == 2 and all("explain the unusual widget" in u for u in users)


def test_clear_and_drop_are_saved_for_resume(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "repo", FILES)
    child = spawn(repo, [{"content": "The secret word is PELICAN."}])
    child.expect(PROMPT)
    child.sendline("look at @calc/ops.py")
    child.expect("PELICAN")
    child.expect(PROMPT)
    child.sendline("/drop calc/ops.py")
    child.expect("dropped calc/ops.py")
    child.sendline("/clear")
    child.expect("conversation cleared")
    assert finish(child) == 0
    data = json.loads(next((repo / ".agent/sessions").glob("*.json")).read_text())
    assert data["files"] == [] and [m["role"] for m in data["messages"]] == ["system"]


def test_bang_command_hash_note_show_and_the_turn_line(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "repo", FILES)
    long_output = "\n".join(f"line {i}" for i in range(30))
    (repo / "many.txt").write_text(long_output + "\n")
    git(repo, "add", "many.txt")
    git(repo, "commit", "-qm", "many")
    child = spawn(repo, [{"tool_calls": [call("read_file", path="many.txt")]}, {"content": "read it"}])
    child.expect(PROMPT)
    child.sendline("!echo from-the-user")
    child.expect("from-the-user")
    child.expect("goes with your next message")
    child.sendline("#always use make test here")
    child.expect("saved note")
    child.sendline("read many.txt")
    child.expect(r"/show 1")
    child.expect("read it")
    child.expect(r"tokens in · \d+ out · \$0\.0000 · [\d.]+ s")
    child.sendline("/show 1")
    child.expect("line 29")
    child.sendline("/show 9")
    child.expect("no tool result 9")
    assert finish(child) == 0
    session = json.loads(next((repo / ".agent/sessions").glob("*.json")).read_text())
    assert "from-the-user" in session["messages"][1]["content"]
    notes = list((repo / ".agent/memory").rglob("*.md"))
    assert any("always use make test here" in n.read_text() for n in notes)


def test_custom_commands_first_message_mentions_and_the_exit_line(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "repo", FILES)
    (repo / ".agent/commands").mkdir(parents=True)
    (repo / ".agent/commands/review.md").write_text("Review $ARGUMENTS for bugs, briefly.\n")
    child = spawn(repo, [{"content": "first reply"}, {"content": "reviewed"}], "hello", "there")
    child.expect("first reply")  # `agent chat "hello there"` sent its first request at once
    child.expect(PROMPT)
    child.sendline("/review calc/ops.py")
    child.expect("reviewed")
    child.expect(PROMPT)
    child.sendline("see @missing.py")
    child.expect("no such file in the repository")
    child.expect("out of scripted replies|error")
    child.expect(PROMPT)
    child.sendline("/exit")
    child.expect(r"agent chat --resume continues it")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    session = json.loads(next((repo / ".agent/sessions").glob("*.json")).read_text())
    users = [m["content"] for m in session["messages"] if m["role"] == "user"]
    assert "hello there" in users[0] and "Review calc/ops.py for bugs, briefly." in users[1]


def test_ctrl_d_at_an_approval_is_a_no(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "repo", FILES)
    child = spawn(repo, [{"tool_calls": [call("run_shell", command="touch nope.txt")]}, {"content": "ok, not run"}])
    child.expect(PROMPT)
    child.sendline("make nope")
    child.expect("say what to do instead:")
    child.sendeof()
    child.expect("ok, not run")
    assert "EOFError" not in ANSI.sub("", child.before)
    assert finish(child) == 0
    assert not (repo / "nope.txt").exists()


def test_a_spinner_with_elapsed_time_shows_while_a_tool_runs(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "repo", FILES)
    child = spawn(repo, [{"tool_calls": [call("run_shell", command="sleep 2")]}, {"content": "slept"}], "--yes")
    child.expect(PROMPT)
    child.sendline("sleep a bit")
    child.expect(r"running run_shell… [12]s")
    child.expect("slept")
    assert finish(child) == 0


def test_approvals_say_why_take_a_pattern_save_it_and_take_a_message(tmp_path: Path, isolated_home: Path) -> None:
    repo = init_repo(tmp_path / "repo", FILES)
    child = spawn(
        repo,
        [
            {"tool_calls": [call("run_shell", command="touch a.txt")]},
            {"tool_calls": [call("run_shell", command="touch b.txt")]},
            {"tool_calls": [call("run_shell", command="rm calc/ops.py")]},
            {"content": "understood"},
        ],
    )
    child.expect(PROMPT)
    child.sendline("make files")
    child.expect(r"allow run.*touch a\.txt.*not known to be read-only.*\[s\] same, saved")
    child.sendline("s")
    child.expect(r"saved: permissions\.shell_allow \+= 'touch \*'")
    child.expect(r"allow run.*rm calc/ops\.py")  # touch b.txt went through on the pattern, unasked
    child.sendline("no, use git rm instead")
    child.expect("understood")
    assert finish(child) == 0
    assert (repo / "a.txt").exists() and (repo / "b.txt").exists() and (repo / "calc/ops.py").exists()
    config = (isolated_home / "config" / "agent" / "config.toml").read_text()
    assert "touch *" in config and "shell_allow" in config
    session = json.loads(next((repo / ".agent/sessions").glob("*.json")).read_text())
    tool = [m["content"] for m in session["messages"] if m["role"] == "tool"]
    assert "no, use git rm instead" in tool[-1]


def test_resume_shows_the_earlier_turns_and_resume_lists_and_switches(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "repo", FILES)
    child = spawn(repo, [{"content": "ALPHA answer."}])
    child.expect(PROMPT)
    child.sendline("the alpha question")
    child.expect("ALPHA answer")
    assert finish(child) == 0
    child = spawn(repo, [{"content": "BETA answer."}], name="b.json")
    child.expect(PROMPT)
    child.sendline("the beta question")
    child.expect("BETA answer")
    assert finish(child) == 0
    child = spawn(repo, [], "--resume", name="c.json")
    child.expect("the beta question")  # the earlier conversation, shown again
    child.expect("BETA answer")
    child.expect(PROMPT)
    child.sendline("/resume")
    child.expect(r"1 .*the alpha question")
    child.sendline("/resume 1")
    child.expect("resumed")
    child.expect("ALPHA answer")
    assert finish(child) == 0
    child = spawn(repo, [], "--resume", "nosuchid", name="d.json")
    child.expect("agent: error: no saved session with id 'nosuchid'")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 2


def test_a_message_bigger_than_the_window_is_refused_before_sending(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "repo", {**FILES, ".agent/config.toml": "[chat]\ncontext_tokens = 4096\n"})
    child = spawn(repo, [{"content": "small reply"}])
    child.expect(PROMPT)
    child.send("\x1b[200~" + "word " * 2000 + "\x1b[201~")  # pasted, as a user would
    child.send("\r")
    child.expect(r"error:.*this message is ~[\d,]+ tokens.*window is ~?4,096")
    child.sendline("a small question")
    child.expect("small reply")
    assert finish(child) == 0


def test_add_globs_stay_in_their_folder_unless_double_star_and_drop_needs_the_path(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "repo", {**FILES, "top.py": "x = 1\n", "calc/deep/more.py": "y = 2\n"})
    child = spawn(repo, [])
    child.expect(PROMPT)
    child.sendline("/add *.py")  # the top folder only: not calc/ops.py
    child.expect(r"added .*top\.py")
    child.expect(PROMPT)
    assert "calc/" not in child.before
    child.sendline("/add calc/*.py")
    child.expect(r"added .*calc/ops\.py")
    child.expect(PROMPT)
    assert "more.py" not in child.before
    child.sendline("/add **/more.py")
    child.expect(r"added .*calc/deep/more\.py")
    child.sendline("/drop ops.py")  # a basename is not a path
    child.expect("nothing to drop")
    child.sendline("/drop calc/ops.py")
    child.expect(r"dropped calc/ops\.py")
    child.sendline("/drop calc/**")
    child.expect(r"dropped calc/__init__\.py, calc/deep/more\.py")
    child.sendline("/add nope.py top.py")
    child.expect(r"no such file in the repository: nope\.py \(nothing added\)")
    child.sendline("/files")
    child.expect(r"top\.py")
    child.expect(PROMPT)
    assert "calc/" not in child.before
    assert finish(child) == 0


def test_cached_tokens_from_the_provider_show_in_the_turn_line_and_tokens(tmp_path: Path) -> None:
    from fake_provider import FakeProvider

    repo = init_repo(tmp_path / "repo", FILES)
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "PROMPT_TOOLKIT_NO_CPR": "1", "TERM": "xterm-256color",
           "ANTHROPIC_API_KEY": "sk-ant-test", "AGENT_MEMORY__ENABLED": "false", "AGENT_CONTEXT__MAP_TOKENS": "0"}
    with FakeProvider() as fp:
        fp.push({"text": "first answer"}, {"text": "second answer"})
        child = pexpect.spawn(
            sys.executable,
            ["-m", "agent", "chat", "--model", "anthropic/claude-sonnet-4-5", "--api-base", fp.anthropic_url],
            cwd=str(repo), env=env, encoding="utf-8", timeout=60, dimensions=(40, 100),
        )
        child.expect(PROMPT)
        child.sendline("the first question")
        child.expect("first answer")
        child.expect(r"([\d,]+) tokens in · ")
        child.sendline("the second question")
        child.expect("second answer")
        child.expect(r"([\d,]+) tokens in \(([\d,]+) cached\) · ")
        shown = int(child.match.group(2).replace(",", ""))
        child.sendline("/tokens")
        child.expect(r"tokens so far\s+([\d,]+) in \(([\d,]+) cached\)")
        total_cached = int(child.match.group(2).replace(",", ""))
        assert finish(child) == 0
    reads = [u["cache_read_input_tokens"] for u in fp.usages]
    assert reads[0] == 0 and reads[1] > 0  # the provider served the second request's prefix from its cache
    assert shown == reads[1] and total_cached == sum(reads)


def test_approvals_say_when_a_command_reaches_outside_the_repository_or_the_network(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "repo", FILES)
    (tmp_path / "outside.txt").write_text("not the repo's\n")
    child = spawn(
        repo,
        [
            {"tool_calls": [call("run_shell", command="cat ../outside.txt")]},
            {"tool_calls": [call("run_shell", command="curl -s http://127.0.0.1:9/")]},
            {"tool_calls": [call("run_shell", command="touch made.txt")]},
            {"content": "asked thrice"},
        ],
    )
    child.expect(PROMPT)
    child.sendline("look around")
    child.expect(r"allow run.*cat \.\./outside\.txt.*\(reaches outside the repository\)")
    child.sendline("n")
    child.expect(r"allow run.*curl -s http://127\.0\.0\.1:9/.*\(may use the network")
    child.sendline("n")
    child.expect(r"allow run.*touch made\.txt.*\(not known to be read-only\)")
    child.sendline("n")
    child.expect("asked thrice")
    assert finish(child) == 0


def test_compact_with_nothing_to_compact_says_so(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "repo", FILES)
    child = spawn(repo, [])
    child.expect(PROMPT)
    child.sendline("/compact")
    child.expect(r"nothing to compact: 0 turn\(s\) so far, and the last 2 stay whole")
    assert finish(child) == 0


def test_init_asks_before_revising_agents_md_and_any_other_answer_is_a_no(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "repo", {**FILES, "AGENTS.md": "# mine\n"})
    child = spawn(repo, [{"content": "should not be asked"}])
    child.expect(PROMPT)
    child.sendline("/init")
    child.expect(r"allow revise.*AGENTS\.md \(it exists already\)")
    child.expect(r"\[a\]lways:")  # a slash command's question: no "say what to do instead"
    child.sendline("maybe later")
    child.expect(PROMPT)
    assert "error" not in child.before and "should not be asked" not in child.before
    assert finish(child) == 0
    assert (repo / "AGENTS.md").read_text() == "# mine\n"


def test_run_and_bang_show_output_as_it_comes_and_esc_stops_them(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "repo", FILES)
    child = spawn(repo, [])
    child.expect(PROMPT)
    child.sendline("/run for i in 1 2 3; do echo live$i; sleep 1; done")
    child.expect("live1")
    assert "exit 0" not in child.before
    child.expect("live3")
    child.expect("exit 0")
    child.expect("goes with your next message")
    child.sendline("!sleep 30; echo never")
    child.expect(r"\$ sleep 30")
    time.sleep(0.5)
    started = time.monotonic()
    child.send("\x1b")
    child.expect("interrupted")
    assert time.monotonic() - started < 10
    child.expect(PROMPT)
    assert "never" not in child.before
    assert finish(child) == 0
