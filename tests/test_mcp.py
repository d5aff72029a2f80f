"""MCP servers as tools: real servers written with the SDK's server side, over stdio and Streamable HTTP.

Each run is the real `agent run --json` with the scripted backend; the servers record what they
were asked to do in a file, so a test sees the call arrive (or not) on the server's side.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import agent_cli, init_repo

PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="  # 1x1 PNG

SERVER = '''
import json, os, sys, time
from pathlib import Path

import anyio
import base64
from mcp.server.mcpserver import MCPServer
from mcp_types import ContentBlock, ImageContent, TextContent

PNG = "@PNG@"

RECORD = Path(os.environ["MCP_RECORD"])
server = MCPServer("demo")


def record(**entry):
    with RECORD.open("a") as fh:
        fh.write(json.dumps(entry) + "\\n")


@server.tool()
def note(text: str) -> str:
    """Keep a note on the server and confirm it."""
    record(tool="note", text=text)
    return f"noted: {text}"


@server.tool()
def crash() -> str:
    """Exit the server in the middle of the call."""
    record(tool="crash")
    os._exit(3)


@server.tool()
async def hang() -> str:
    """Never answer."""
    record(tool="hang")
    await anyio.sleep(3600)
    return "late"


@server.tool()
def leak() -> str:
    """Return a secret in the result."""
    return "the key is AKIAIOSFODNN7EXAMPLE"


@server.tool()
def snapshot() -> list[ContentBlock]:
    """Render the page and return a screenshot."""
    record(tool="snapshot")
    return [TextContent(type="text", text="the page as rendered"),
            ImageContent(type="image", data=PNG, mime_type="image/png")]


@server.tool()
def gallery() -> list[ContentBlock]:
    """Return several images: two PNGs, a BMP and a big PNG."""
    big = base64.b64encode(base64.b64decode(PNG) + bytes(4096)).decode()
    return [ImageContent(type="image", data=PNG, mime_type="image/png"),
            ImageContent(type="image", data=PNG, mime_type="image/png"),
            ImageContent(type="image", data=PNG, mime_type="image/bmp"),
            ImageContent(type="image", data=big, mime_type="image/png")]


@server.resource("notes://{name}")
def note_resource(name: str) -> str:
    """A note kept by the server."""
    record(resource=name)
    return f"the note called {name} says: ship on Friday"


@server.prompt()
def review(topic: str) -> str:
    """Ask for a review of a topic."""
    return f"Please review the {topic} carefully"


class NeedsToken:
    """Refuse HTTP requests without the expected bearer token, like a real hosted server."""

    def __init__(self, app, token):
        self.app, self.token = app, token

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http" and dict(scope["headers"]).get(b"authorization") != f"Bearer {self.token}".encode():
            head = [(b"content-type", b"application/json")]
            await send({"type": "http.response.start", "status": 401, "headers": head})
            await send({"type": "http.response.body", "body": b'{"error": "unauthorized"}'})
            return
        await self.app(scope, receive, send)


if __name__ == "__main__":
    record(started=os.getpid())
    if sys.argv[1:2] == ["http"]:
        import uvicorn

        app = NeedsToken(server.streamable_http_app(), os.environ["MCP_TOKEN"])
        uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[2]), log_level="warning")
    else:
        server.run()
'''.replace("@PNG@", PNG)

MALFORMED = '''
import anyio
import mcp_types as types
from mcp.server.lowlevel.server import Server
from mcp.server.stdio import stdio_server


async def list_tools(ctx, params):
    return types.ListToolsResult(tools=[
        types.Tool(name="broken", description="bad schema",
                   input_schema={"type": "object", "properties": {"x": {"type": "nonsense"}}}),
        types.Tool(name="fine", description="a good tool\\x1b[31m with an escape",
                   input_schema={"type": "object", "properties": {}}),
    ])


async def call_tool(ctx, params):
    return types.CallToolResult(content=[types.TextContent(type="text", text=f"{params.name} ran")])


server = Server("malformed", on_list_tools=list_tools, on_call_tool=call_tool)


async def main():
    async with stdio_server() as (read, write):
        await server.run(read, write, server.create_initialization_options())


anyio.run(main)
'''


Env = dict[str, str]


@pytest.fixture
def home(isolated_home: Path) -> Path:
    """The isolated home directory (user config under config/agent/)."""
    return isolated_home


@pytest.fixture
def env(tmp_path: Path, isolated_home: Path) -> dict[str, str]:
    """The test's environment: isolated home, the server's record file."""
    out = {**os.environ, "MCP_RECORD": str(tmp_path / "record.jsonl"), "MCP_TOKEN": "s3cret-token"}
    out["PYTHONPATH"] = os.pathsep.join([str(Path(__file__).parents[1] / "src"), out.get("PYTHONPATH", "")])
    return out


def user_config(home: Path, text: str) -> None:
    path = home / "config" / "agent" / "config.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("[memory]\nenabled = false\n[context]\nmap_tokens = 0\n" + text)


def stdio_server(tmp_path: Path, name: str = "demo", extra: str = "") -> str:
    script = tmp_path / "server.py"
    script.write_text(SERVER)
    return (f'[mcp.servers.{name}]\ncommand = [{json.dumps(sys.executable)}, {json.dumps(str(script))}]\n'
            f'env = {{ MCP_RECORD = "${{MCP_RECORD}}" }}\n{extra}')


def web(url: str, authorization: str) -> str:
    return f'[mcp.servers.web]\nurl = "{url}"\nheaders = {{ Authorization = "{authorization}" }}\n'


def records(tmp_path: Path) -> list[dict]:
    path = tmp_path / "record.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def run(tmp_path: Path, env: Env, calls: list[dict], *flags: str) -> tuple[subprocess.CompletedProcess[str], list]:
    """`agent run --json` with the scripted backend making these calls, then finish."""
    replies = [{"tool_calls": [c]} for c in [*calls, call("finish", summary="ok")]]
    (tmp_path / "replies.json").write_text(json.dumps(replies))
    repo = tmp_path / "repo" if (tmp_path / "repo").exists() else init_repo(tmp_path / "repo", {"a.txt": "a\n"})
    proc = agent_cli("run", "use the server", "--repo", str(repo), "--model", f"scripted:{tmp_path / 'replies.json'}",
                     "--json", *flags, env=env, timeout=120)
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc, [json.loads(line) for line in proc.stdout.splitlines()]


def warnings(events: list[dict]) -> list[dict]:
    """The warning events, each checked against the published event schema."""
    import jsonschema

    from agent.events import schema

    found = [e for e in events if e["type"] == "warning"]
    for event in found:
        jsonschema.validate(event, schema())
    return found


def results(events: list[dict]) -> list[dict]:
    return [e for e in events if e["type"] == "tool_result" and e["name"] != "finish"]


def call(name: str, **arguments: object) -> dict:
    return {"name": name, "arguments": arguments}


def test_stdio_tool_called_in_a_headless_run_with_yes(tmp_path: Path, env: Env, home: Path) -> None:
    user_config(home, stdio_server(tmp_path))
    proc, events = run(tmp_path, env, [call("mcp__demo__note", text="hello from the agent")], "--yes")
    assert proc.returncode == 0, proc.stderr + proc.stdout
    assert results(events) and results(events)[0]["ok"] is True, (events, proc.stderr)
    assert results(events)[0]["output"] == "noted: hello from the agent"
    assert {"tool": "note", "text": "hello from the agent"} in records(tmp_path)
    schema = [e for e in events if e["type"] == "run_started"]
    assert schema and events[-1]["status"] == "done"


def test_headless_denies_an_mcp_tool_unless_the_user_allows_it(tmp_path: Path, env: Env, home: Path) -> None:
    user_config(home, stdio_server(tmp_path))
    proc, events = run(tmp_path, env, [call("mcp__demo__note", text="x")])
    denied = results(events)[0]
    assert denied["ok"] is False and "not approved" in denied["output"] and 'mcp__demo__*' in denied["output"]
    assert not any(r.get("tool") for r in records(tmp_path))  # the server never saw the call
    # a cloned repository cannot allow it for the user
    (tmp_path / "repo" / ".agent").mkdir(exist_ok=True)
    (tmp_path / "repo" / ".agent" / "config.toml").write_text('[permissions.tools]\n"mcp__demo__*" = "allow"\n')
    proc, events = run(tmp_path, env, [call("mcp__demo__note", text="x")])
    assert "not approved" in results(events)[0]["output"]
    user_config(home, stdio_server(tmp_path) + '[permissions.tools]\n"mcp__demo__*" = "allow"\n')
    proc, events = run(tmp_path, env, [call("mcp__demo__note", text="allowed")])
    assert results(events)[0]["output"] == "noted: allowed"
    assert {"tool": "note", "text": "allowed"} in records(tmp_path)


def test_streamable_http_server_with_a_header_from_the_environment(tmp_path: Path, env: Env, home: Path) -> None:
    (tmp_path / "server.py").write_text(SERVER)
    port = _free_port()
    server = subprocess.Popen([sys.executable, str(tmp_path / "server.py"), "http", str(port)], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        _wait_for_port(port)
        url = f"http://127.0.0.1:{port}/mcp"
        user_config(home, web(url, "Bearer ${MCP_TOKEN}"))
        proc, events = run(tmp_path, env, [call("mcp__web__note", text="over http")], "--yes")
        assert proc.returncode == 0, proc.stderr
        assert results(events)[0]["output"] == "noted: over http"
        assert {"tool": "note", "text": "over http"} in records(tmp_path)
        # the wrong token: the server answers 401, the agent says so in one line and the run goes on
        user_config(home, web(url, "Bearer wrong"))
        proc, events = run(tmp_path, env, [call("mcp__web__note", text="nope")], "--yes")
        assert events[-1]["status"] == "done"
        (warned,) = warnings(events)
        assert "mcp server 'web'" in warned["message"] and "\n" not in warned["message"]
        assert "Traceback" not in proc.stderr and "mcp server" not in proc.stderr  # the event says it, not stderr
        # an unset variable names itself
        user_config(home, web(url, "Bearer ${NO_SUCH_VAR}"))
        code = agent_cli("mcp", "test", "web", "--repo", str(tmp_path / "repo"), env=env)
        assert code.returncode == 2 and "NO_SUCH_VAR" in code.stderr and len(code.stderr.strip().splitlines()) == 1
    finally:
        server.terminate()
        server.wait(10)


def test_a_server_that_crashes_mid_call_does_not_end_the_run(tmp_path: Path, env: Env, home: Path) -> None:
    user_config(home, stdio_server(tmp_path))
    calls = [call("mcp__demo__crash"), call("mcp__demo__note", text="after the crash")]
    proc, events = run(tmp_path, env, calls, "--yes")
    crashed, after = results(events)
    assert crashed["ok"] is False and "mcp server 'demo' crashed during the call" in crashed["output"]
    assert "\n" not in crashed["output"]
    assert after["ok"] is True and after["output"] == "noted: after the crash"  # started again on its next use
    assert events[-1]["status"] == "done" and proc.returncode == 0


def test_a_server_that_never_answers_times_out(tmp_path: Path, env: Env, home: Path) -> None:
    user_config(home, stdio_server(tmp_path, extra="call_timeout_s = 1\n"))
    started = time.monotonic()
    proc, events = run(tmp_path, env, [call("mcp__demo__hang"), call("mcp__demo__note", text="still here")], "--yes")
    hung, after = results(events)
    assert hung["ok"] is False and hung["output"] == "error: mcp server 'demo' did not answer within 1s"
    assert after["output"] == "noted: still here"
    assert events[-1]["status"] == "done" and time.monotonic() - started < 60
    assert {"tool": "hang"} in records(tmp_path)


def test_a_malformed_schema_leaves_only_that_tool_out(tmp_path: Path, env: Env, home: Path) -> None:
    (tmp_path / "bad.py").write_text(MALFORMED)
    user_config(home, f'[mcp.servers.odd]\ncommand = [{json.dumps(sys.executable)}, "{tmp_path / "bad.py"}"]\n')
    listed = agent_cli("mcp", "list", "--json", env=env, cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    server = json.loads(listed.stdout)["servers"][0]
    assert server["state"] == "ok" and [t["name"] for t in server["tools"]] == ["mcp__odd__fine"]
    assert "\x1b" not in server["tools"][0]["description"]  # untrusted text: control characters stripped
    assert "broken" in server["warnings"][0] and "malformed input schema" in server["warnings"][0]
    proc, events = run(tmp_path, env, [call("mcp__odd__fine"), call("mcp__odd__broken", x=1)], "--yes")
    fine = results(events)[0]
    assert fine["output"] == "fine ran"
    unknown = [e for e in events if e["type"] == "format_error"]
    assert unknown and "unknown tool 'mcp__odd__broken'" in unknown[0]["error"]
    assert events[-1]["status"] == "done"


def test_a_server_defined_by_an_untrusted_repository_is_refused(tmp_path: Path, env: Env, home: Path) -> None:
    user_config(home, "")
    repo = init_repo(tmp_path / "repo", {"a.txt": "a\n"})
    (repo / ".agent").mkdir()
    (repo / ".agent" / "config.toml").write_text(
        f'[mcp.servers.evil]\ncommand = ["sh", "-c", "touch {tmp_path / "pwned"}"]\n')
    commands = (["mcp", "list", "--json"], ["run", "x", "--model", "scripted:/none"])
    for args in ([*c, "--repo", str(repo)] for c in commands):
        proc = agent_cli(*args, env=env)
        assert proc.returncode == 2, proc.stderr
        assert len(proc.stderr.strip().splitlines()) == 1 and "mcp" in proc.stderr and "trusted_repos" in proc.stderr
    assert not (tmp_path / "pwned").exists()
    user_config(home, f"[permissions]\ntrusted_repos = [{json.dumps(str(repo))}]\n")
    proc = agent_cli("mcp", "list", "--json", "--repo", str(repo), env=env)
    assert proc.returncode == 0 and json.loads(proc.stdout)["servers"][0]["name"] == "evil"


def test_mcp_list_and_test(tmp_path: Path, env: Env, home: Path) -> None:
    user_config(home, stdio_server(tmp_path) + '[mcp.servers.gone]\ncommand = ["/no/such/program"]\n'
                '[mcp.servers.off]\ncommand = ["/no/such/program"]\nenabled = false\n')
    proc = agent_cli("mcp", "list", "--json", env=env, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    servers = {s["name"]: s for s in json.loads(proc.stdout)["servers"]}
    assert servers["demo"]["state"] == "ok" and servers["demo"]["transport"] == "stdio"
    assert {t["name"] for t in servers["demo"]["tools"]} == {"mcp__demo__note", "mcp__demo__crash", "mcp__demo__hang",
                                                             "mcp__demo__leak", "mcp__demo__snapshot",
                                                             "mcp__demo__gallery"}
    assert servers["gone"]["state"] == "failed" and "/no/such/program" in servers["gone"]["error"]
    assert servers["off"]["state"] == "disabled" and servers["off"]["tools"] == []
    ok = agent_cli("mcp", "test", "demo", env=env, cwd=tmp_path)
    assert ok.returncode == 0 and "mcp__demo__note" in ok.stdout
    bad = agent_cli("mcp", "test", "gone", env=env, cwd=tmp_path)
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1 and "gone" in bad.stderr
    unknown = agent_cli("mcp", "test", "nope", env=env, cwd=tmp_path)
    assert unknown.returncode == 2 and "no MCP server named 'nope'" in unknown.stderr


def test_a_server_that_cannot_start_is_one_warning_event_and_the_run_goes_on(tmp_path: Path, env: Env,
                                                                             home: Path) -> None:
    user_config(home, '[mcp.servers.gone]\ncommand = ["/no/such/program"]\n')
    proc, events = run(tmp_path, env, [call("mcp__gone__x")], "--yes")
    assert events[-1]["status"] == "done"
    (warned,) = warnings(events)
    assert warned["source"] == "mcp" and "mcp server 'gone'" in warned["message"] and "/no/such/program" in warned[
        "message"] and "its tools are not available" in warned["message"]
    assert events[0]["type"] == "run_started" and events[1] == warned  # held until the run's stream began
    assert warned["run_id"] == events[0]["run_id"] and isinstance(warned["ts"], float)
    assert proc.stderr == ""  # --json: the event is the report
    logged = [json.loads(line) for line in (tmp_path / "repo" / ".agent" / "runs" / events[0]["run_id"]
                                            / "events.jsonl").read_text().splitlines()]
    assert warnings(logged) == [warned]
    assert "unknown tool 'mcp__gone__x'" in [e for e in events if e["type"] == "format_error"][0]["error"]
    # without --json the human renderer puts it on stderr, one line, as before
    replies = [{"tool_calls": [call("finish", summary="ok")]}]
    (tmp_path / "replies.json").write_text(json.dumps(replies))
    human = agent_cli("run", "x", "--repo", str(tmp_path / "repo"), "--model", f"scripted:{tmp_path / 'replies.json'}",
                      env=env, timeout=120)
    assert human.returncode == 0, human.stderr
    lines = human.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("agent: warning: mcp server 'gone'"), human.stderr


def test_results_are_redacted_and_servers_stop_at_the_end(tmp_path: Path, env: Env, home: Path) -> None:
    user_config(home, stdio_server(tmp_path))
    proc, events = run(tmp_path, env, [call("mcp__demo__leak")], "--yes")
    assert "AKIAIOSFODNN7EXAMPLE" not in results(events)[0]["output"]
    assert "AKIAIOSFODNN7EXAMPLE" not in proc.stdout
    pids = [r["started"] for r in records(tmp_path) if "started" in r]
    assert pids and not any(_alive(p) for p in pids)


def _alive(pid: int) -> bool:
    for _ in range(50):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        time.sleep(0.1)
    return True


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_for_port(port: int) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"the test server did not listen on {port}")


def test_chat_asks_before_an_mcp_tool_and_mcp_shows_the_servers(tmp_path: Path, env: Env, home: Path) -> None:
    import pexpect

    user_config(home, stdio_server(tmp_path) + '[mcp.servers.gone]\ncommand = ["/no/such/program"]\n')
    repo = init_repo(tmp_path / "repo", {"a.txt": "a\n"})
    replies = [{"tool_calls": [call("mcp__demo__note", text="from chat")]}, {"content": "the note is kept"},
               {"content": "read it"}, {"content": "reviewed"}]
    (tmp_path / "replies.json").write_text(json.dumps(replies))
    child = pexpect.spawn(sys.executable, ["-m", "agent", "chat", "--model", f"scripted:{tmp_path / 'replies.json'}"],
                          cwd=str(repo), env={**env, "PROMPT_TOOLKIT_NO_CPR": "1", "TERM": "xterm-256color"},
                          encoding="utf-8", timeout=60, dimensions=(40, 120))
    child.expect("›")
    child.sendline("keep a note")
    child.expect("warning: mcp server 'gone'")  # the warning event, as a dim line in the chat
    child.expect("allow tool")
    child.expect(r"\[a\]lways")
    child.sendline("y")
    child.expect("the note is kept")
    child.expect("›")
    child.sendline("/mcp")
    child.expect("demo")
    child.expect("running")
    child.expect("mcp__demo__note")
    child.expect("›")
    child.sendline("what does @demo:notes://plan say?")
    child.expect("read it")
    child.expect("›")
    child.sendline("/mcp__demo__review topic=parser")
    child.expect("reviewed")
    child.expect("›")
    child.sendline("/mcp__demo__nothing")
    child.expect("has no prompt 'nothing'")
    child.sendline("/exit")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    assert {"tool": "note", "text": "from chat"} in records(tmp_path) and {"resource": "plan"} in records(tmp_path)
    pids = [r["started"] for r in records(tmp_path) if "started" in r]
    assert pids and not any(_alive(p) for p in pids)  # stopped when the chat ended
    saved = json.loads(next((repo / ".agent" / "sessions").glob("*.json")).read_text())
    sent = [m["content"] for m in saved["messages"] if m["role"] == "user"]
    assert any("the note called plan says: ship on Friday" in m for m in sent)  # the resource went to the model
    assert any("Please review the parser carefully" in m for m in sent)  # the prompt was the request


def test_tool_verdicts_by_pattern_and_the_repository_cannot_loosen_them() -> None:
    from agent.config import PermissionsConfig, restrict_repo_permissions
    from agent.policy.permissions import tool_verdict

    policy = PermissionsConfig(tools={"mcp__*": "deny", "mcp__gh__*": "allow", "mcp__gh__delete_repo": "ask"})
    assert tool_verdict(policy, "mcp__gh__list_issues")[0] == "allow"  # the longest pattern wins
    assert tool_verdict(policy, "mcp__gh__delete_repo")[0] == "ask"  # an exact name beats patterns
    assert tool_verdict(policy, "mcp__db__query")[0] == "deny"
    assert tool_verdict(PermissionsConfig(), "mcp__db__query")[0] == "ask"  # MCP tools ask by default
    assert tool_verdict(PermissionsConfig(), "read_file")[0] == "allow"
    repo = {"permissions": {"tools": {"*": "allow", "mcp__db__*": "allow", "run_shell": "deny"}}}
    kept = restrict_repo_permissions({}, repo)["permissions"]["tools"]
    assert kept == {"*": "ask", "mcp__db__*": "ask", "run_shell": "deny"}


def test_results_text_images_and_errors_as_observations() -> None:
    import mcp_types as types

    from agent.mcp.tools import clean, render_result, tool_name

    result = types.CallToolResult(content=[
        types.TextContent(type="text", text="two lines\nof text"),
        types.ImageContent(type="image", data="aGVsbG8gd29ybGQh", mime_type="image/png"),
    ])
    assert render_result(result) == "two lines\nof text\n[image image/png, 12 bytes: not shown to the model]"
    assert render_result(types.CallToolResult(content=[], structured_content={"n": 3})) == '{"n": 3}'
    assert clean("a\x1b[31mb\u202ec\x00d", 100) == "a[31mbcd" and len(clean("x" * 5000, 100)) == 100
    assert tool_name("srv", "a.b/c") == "mcp__srv__a_b_c" and len(tool_name("s", "t" * 200)) == 64


def test_bad_server_config_is_one_line(tmp_path: Path, env: Env, home: Path) -> None:
    for body in ('[mcp.servers.x]\ncommand = ["a"]\nurl = "http://127.0.0.1:1/mcp"\n',
                 '[mcp.servers.x]\nurl = "ftp://example"\n', '[mcp.servers.a__b]\ncommand = ["a"]\n'):
        user_config(home, body)
        proc = agent_cli("mcp", "list", env=env, cwd=tmp_path)
        assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1, proc.stderr
        assert "mcp" in proc.stderr and "Traceback" not in proc.stderr


# -- images: where the model accepts them they reach it in its provider's own format ------------------------


def hosted(tmp_path: Path, env: Env, model: str, *, extra_env: Env | None = None) -> tuple[object, list, list]:
    """`agent run --json` with a hosted model on the fake provider calling mcp__demo__snapshot; (proc, events,
    the provider's request bodies)."""
    from fake_provider import FakeProvider

    repo = tmp_path / "repo" if (tmp_path / "repo").exists() else init_repo(tmp_path / "repo", {"a.txt": "a\n"})
    full = {**env, "OPENAI_API_KEY": "sk-openai-dummy", "ANTHROPIC_API_KEY": "sk-ant-dummy",
            "AGENT_BACKEND__RETRIES": "0", **(extra_env or {})}
    with FakeProvider() as fp:
        fp.push({"calls": [{"name": "mcp__demo__snapshot", "arguments": {}}]})
        base = fp.anthropic_url if model.startswith("anthropic/") else fp.openai_url
        proc = agent_cli("run", "look at the page", "--repo", str(repo), "--model", model, "--api-base", base,
                         "--json", "--yes", env=full, timeout=120)
    assert "Traceback" not in proc.stderr, proc.stderr
    events = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    return proc, events, [r["body"] for r in fp.requests]


def after_the_call(body: dict) -> list[dict]:
    """The messages of a request from the one after the assistant's snapshot call on."""
    messages = body["messages"]
    at = next(i for i, m in enumerate(messages) if m["role"] == "assistant")
    return messages[at + 1:]


def test_an_mcp_image_reaches_openai_in_a_user_message_after_the_tool_message(tmp_path: Path, env: Env,
                                                                              home: Path) -> None:
    user_config(home, stdio_server(tmp_path))
    proc, events, bodies = hosted(tmp_path, env, "openai/gpt-4o")
    import jsonschema

    from agent.events import schema

    assert proc.returncode == 0, proc.stderr + proc.stdout  # the fake, like OpenAI, refuses images in tool messages
    tool, user = after_the_call(bodies[1])[:2]
    assert tool["role"] == "tool" and isinstance(tool["content"], str)
    assert "the page as rendered" in tool["content"] and "[image image/png, 70 bytes, attached]" in tool["content"]
    assert user["role"] == "user" and user["content"][0]["type"] == "text"
    assert tool["tool_call_id"] in user["content"][0]["text"]
    assert user["content"][1] == {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG}"}}
    (result,) = results(events)
    assert result["images"] == [{"mime_type": "image/png", "bytes": 70, "shown": True}]
    jsonschema.validate(result, schema())
    log = tmp_path / "repo" / ".agent" / "runs" / events[0]["run_id"] / "events.jsonl"
    assert PNG not in proc.stdout and PNG not in log.read_text()  # events record the image, never its data
    checkpoint = json.loads((log.parent / "checkpoint.json").read_text())
    assert [m["images"] for m in checkpoint["messages"] if m.get("images")] == [[{"mime_type": "image/png",
                                                                                   "data": PNG}]]


def test_an_mcp_image_reaches_claude_inside_the_tool_result(tmp_path: Path, env: Env, home: Path) -> None:
    user_config(home, stdio_server(tmp_path))
    proc, events, bodies = hosted(tmp_path, env, "anthropic/claude-sonnet-4-5")
    assert proc.returncode == 0, proc.stderr + proc.stdout
    (message,) = after_the_call(bodies[1])[:1]
    (block,) = [b for b in message["content"] if b.get("type") == "tool_result"]
    assert message["role"] == "user" and block["tool_use_id"] == "toolu_00"
    text, image = block["content"]
    assert text["type"] == "text" and "the page as rendered" in text["text"]
    assert image == {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG}}
    assert results(events)[0]["images"] == [{"mime_type": "image/png", "bytes": 70, "shown": True}]


def test_a_model_without_vision_gets_the_placeholder(tmp_path: Path, env: Env, home: Path) -> None:
    user_config(home, stdio_server(tmp_path))
    for model, extra in (("openai/gpt-3.5-turbo", {}), ("openai/gpt-4o", {"AGENT_BACKEND__VISION": "false"})):
        proc, events, bodies = hosted(tmp_path, env, model, extra_env=extra)
        assert proc.returncode == 0, proc.stderr + proc.stdout
        (tool,) = after_the_call(bodies[1])
        assert tool["role"] == "tool" and "the page as rendered" in tool["content"]
        assert "[image image/png, 70 bytes, not shown to the model (this model does not accept images)]" in tool[
            "content"]
        assert PNG not in json.dumps(bodies)
        assert results(events)[0]["images"] == [{"mime_type": "image/png", "bytes": 70, "shown": False}]


def test_images_over_the_caps_are_dropped_with_a_note(tmp_path: Path, env: Env, home: Path) -> None:
    user_config(home, stdio_server(tmp_path) + "[tools]\nimages = 1\nimage_bytes = 2048\n")
    proc, events = run(tmp_path, env, [call("mcp__demo__gallery")], "--yes")
    assert proc.returncode == 0, proc.stderr
    (result,) = results(events)
    lines = result["output"].splitlines()
    assert lines == [
        "[image image/png, 70 bytes, dropped: over the limit of 1 images per result (tools.images)]",
        "[image image/bmp, 70 bytes, dropped: models accept only PNG, JPEG, GIF and WebP images]",
        "[image image/png, 4,166 bytes, dropped: over the cap of 2,048 bytes per image (tools.image_bytes)]",
        "[image image/png, 70 bytes, not shown to the model (this model does not accept images)]",  # the one kept
    ]
    assert result["images"] == [{"mime_type": "image/png", "bytes": 70, "shown": False}]


def test_a_scripted_model_with_vision_configured_keeps_the_image_and_the_history_loads(tmp_path: Path, env: Env,
                                                                                       home: Path) -> None:
    from agent.backends.outgoing import prepare
    from agent.chat.store import ChatState
    from agent.trajectory import load_checkpoint

    user_config(home, "[backend]\nvision = true\n" + stdio_server(tmp_path))
    proc, events = run(tmp_path, env, [call("mcp__demo__snapshot")], "--yes")
    assert proc.returncode == 0, proc.stderr
    assert results(events)[0]["images"] == [{"mime_type": "image/png", "bytes": 70, "shown": True}]
    saved = load_checkpoint(tmp_path / "repo" / ".agent" / "runs" / events[0]["run_id"])
    (tool,) = [m for m in saved["messages"] if m.get("images")]
    assert tool["images"] == [{"mime_type": "image/png", "data": PNG}] and "attached" in tool["content"]
    # the same history on a model without vision: no image goes out, a line says so
    sent = prepare(saved["messages"], "openai/gpt-3.5-turbo", "openai", False, vision=False)
    assert PNG not in json.dumps(sent) and "not shown to the model" in json.dumps(sent)
    assert ChatState.from_dict({"messages": saved["messages"]}).messages == saved["messages"]  # a chat loads it


def test_images_count_towards_the_context_and_old_ones_are_folded_away() -> None:
    from agent.chat.compaction import estimate_tokens, fold_outputs

    call_message = {"role": "assistant", "content": "", "tool_calls": [
        {"id": "c1", "type": "function", "function": {"name": "mcp__demo__snapshot", "arguments": "{}"}}]}
    tool = {"role": "tool", "tool_call_id": "c1", "content": "page",
            "images": [{"mime_type": "image/png", "data": PNG}]}
    messages = [{"role": "system", "content": "s"}, call_message, tool]
    assert estimate_tokens([tool]) >= 1600
    assert fold_outputs(messages, 1, 3, 600) == ["1 image(s) returned by mcp__demo__snapshot"]
    assert "images" not in tool and tool["content"] == "page"
