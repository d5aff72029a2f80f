"""Typed configuration, merged once from its layers.

Later layers win: built-in defaults < user config (platformdirs) < the repo's
`[tool.agent]` in pyproject.toml or `.agent/config.toml` < AGENT_* environment
variables < CLI flags. Every file uses the same nested tables as the models below
(`[tool.agent.backend]`, `[tool.agent.loop]`, ...).
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from agent.errors import UsageError
from agent.mcp.settings import McpConfig

Verdict = Literal["allow", "ask", "deny"]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class BackendConfig(_Section):
    """Which model to call and how."""

    model: str | None = Field(None, description="local | gguf:PATH | scripted:PATH | a litellm model")
    api_base: str | None = Field(None, description="base URL of an OpenAI-compatible server")
    gguf: str | None = Field(None, description="GGUF file used by `local` (AGENT_GGUF)")
    gpu_layers: int | None = Field(
        None, ge=-1, description="layers to offload to the GPU (-1: all; default: all when llama.cpp was built with "
        "GPU offload, else 0)"
    )
    n_ctx: int = Field(8192, description="llama.cpp context size in tokens")
    threads: int | None = Field(None, description="llama.cpp threads (default: the cores)")
    temperature: float = Field(0.0, description="sampling temperature")
    max_reply_tokens: int | None = Field(None, ge=16, description="tokens per reply (default: the model's limit)")
    timeout_s: float = Field(600.0, description="per-request timeout for hosted models")
    # hosted models (agent.backends.litellm, retry, params)
    api_key_env: str | None = Field(None, description="environment variable holding the key sent to api_base")
    retries: int = Field(6, ge=0, le=20, description="retries of a rate-limited, overloaded or dropped request")
    retry_base_s: float = Field(1.0, gt=0, description="first backoff delay; doubles each retry (with jitter)")
    retry_max_s: float = Field(60.0, gt=0, description="longest wait between retries (Retry-After included)")
    stream_idle_s: float = Field(120.0, gt=0, description="a stream silent this long is dropped and retried")
    reasoning_effort: Literal["minimal", "low", "medium", "high"] | None = Field(
        None, description="reasoning effort of reasoning models (o-series, gpt-5, Claude)")
    thinking_tokens: int | None = Field(None, ge=1024, description="Claude extended-thinking budget in tokens")
    num_ctx: int | None = Field(None, ge=512, description="Ollama window cap (default: the model's own, up to 32768)")
    context_tokens: int | None = Field(None, ge=1024, description="the model's window (default: litellm's model info)")
    prompt_cache: bool = Field(True, description="Anthropic prompt-cache breakpoints (system, tools, recent turns)")
    tool_format: Literal["auto", "native", "text"] = Field(
        "auto", description="tool calls: native, or fenced blocks in the text (auto: text where litellm says none)")
    input_price: float | None = Field(None, ge=0, description="USD per million input tokens, for unpriced models")
    output_price: float | None = Field(None, ge=0, description="USD per million output tokens, for unpriced models")
    vision: bool | None = Field(
        None, description="images from tools reach the model (default: litellm's model info; scripted and llama.cpp: "
        "no)")


class LoopConfig(_Section):
    """Limits of one run."""

    max_steps: int = Field(30, ge=1, description="model calls before the run stops with `limits`")
    max_tokens: int | None = Field(None, ge=1, description="total tokens (in + out) budget")
    budget_usd: float | None = Field(None, ge=0, description="cost budget in US dollars")
    max_seconds: float | None = Field(None, gt=0, description="wall-time budget")
    max_format_errors: int = Field(3, ge=1, description="malformed replies in a row before `failed`")


class ToolsConfig(_Section):
    """How tools behave."""

    test_command: str | None = Field(None, description="the repo's test command (else detected)")
    shell_timeout_s: float = Field(120.0, gt=0, description="timeout of run_shell and run_tests")
    output_chars: int = Field(12000, ge=200, description="cap on one observation's characters")
    argument_chars: int = Field(1_000_000, ge=1000, description="cap on one tool call's arguments (JSON characters)")
    read_lines: int = Field(400, ge=10, description="lines per page of read_file")
    images: int = Field(4, ge=0, description="images one observation may carry to a model that accepts them")
    image_bytes: int = Field(3_750_000, ge=1024, description="cap on one image's size (5 MB in base64: Anthropic's)")


class PermissionsConfig(_Section):
    """Allow / ask / deny per kind of action, per tool and per shell-command pattern."""

    read: Verdict = Field("allow", description="reading a file inside the repository")
    edit: Verdict = Field("allow", description="changing a file inside the repository")
    shell: Verdict = Field("ask", description="a shell command that is not read-only, the test command or destructive")
    test: Verdict = Field("allow", description="running the test command (run_tests)")
    test_edits: Verdict = Field("ask", description="edits to test files and test config (headless: ask = deny)")
    network: Verdict = Field("ask", description="a sandboxed command needing the network (pip install, curl ...)")
    tools: dict[str, Verdict] = Field(default_factory=dict, description="verdict per tool name, e.g. run_shell = 'deny'")
    shell_allow: list[str] = Field(default_factory=list, description="fnmatch patterns allowed, even if destructive")
    shell_ask: list[str] = Field(default_factory=list, description="fnmatch patterns that always need approval")
    shell_deny: list[str] = Field(default_factory=list, description="fnmatch patterns always denied")
    extra_paths: list[str] = Field(default_factory=list, description="paths outside the repository tools may use")
    approve_all: bool = Field(False, description="approve every `ask` (like --yes)")
    trust_repo_config: bool = Field(False, description="trust every repository's own config (loosen, redirect)")
    trusted_repos: list[str] = Field(
        default_factory=list, description="repositories whose own config is trusted (user config only)"
    )


_STRICT = {"allow": 0, "ask": 1, "deny": 2}
_LOOSENING = ("shell_allow", "extra_paths", "approve_all", "trust_repo_config", "trusted_repos")

# Settings that decide where code, keys and commands go: an untrusted repository may not set them.
REDIRECTING = {
    "backend": ("model", "api_base"),
    "review": ("model",),
    "sandbox": ("mode", "network", "writable", "readable"),
    "memory": ("dir", "user_dir", "index_dir", "server_url", "collection"),
}
REDIRECTING_SECTIONS = ("mcp",)  # whole tables
_LOCAL_MODELS = ("local", "scripted:", "gguf:")  # in-process models: nothing leaves the machine


def restrict_repo_permissions(trusted: dict[str, Any], repo: dict[str, Any]) -> dict[str, Any]:
    """The repo layer's permissions may only tighten what the user's own layers allow.

    A cloned repository must not grant itself `shell_allow = ["*"]` or `approve_all`: verdicts
    keep the stricter of the two, deny/ask patterns add up, loosening keys are dropped.
    """
    table = repo.get("permissions")
    if not isinstance(table, dict):
        return repo
    base = PermissionsConfig.model_validate(trusted.get("permissions", {})).model_dump()
    kept: dict[str, Any] = {}
    for key, value in table.items():
        if key in _LOOSENING:
            continue
        if key in ("read", "edit", "shell", "test", "test_edits", "network") and value in _STRICT:
            if _STRICT[value] > _STRICT[base[key]]:  # only stricter; an equal value would read as the user's choice
                kept[key] = value
        elif key in ("shell_ask", "shell_deny") and isinstance(value, list):
            kept[key] = base[key] + value
        elif key == "tools" and isinstance(value, dict):
            tools = dict(base["tools"])
            for name, verdict in value.items():  # a pattern or an MCP tool asks by default: the repo may not allow it
                floor = "ask" if name.startswith("mcp__") or any(c in name for c in "*?[") else "allow"
                tools[name] = max(verdict, tools.get(name, floor), key=lambda v: _STRICT.get(v, 2))
            kept[key] = tools
        else:
            kept[key] = value  # unknown keys: validation reports them
    return {**repo, "permissions": kept}


class SandboxConfig(_Section):
    """The OS sandbox around run_shell and run_tests (see README: Sandbox)."""

    mode: Literal["auto", "require", "off"] = Field("auto", description="auto: use it where the OS has one")
    network: bool = Field(False, description="let sandboxed commands reach the network")
    writable: list[str] = Field(default_factory=list, description="extra writable paths (caches), e.g. ~/.cache/pip")
    hide: list[str] = Field(default_factory=list, description="extra paths hidden from commands")
    readable: list[str] = Field(
        default_factory=list, description="extra paths commands may read (else: the repo, system dirs, tools on PATH)"
    )


class ContextConfig(_Section):
    """What goes into the first prompt."""

    map_tokens: int = Field(1024, ge=0, description="repo map budget in the first prompt (0: none)")
    memory_tokens: int = Field(600, ge=0, description="recalled notes budget in the first prompt")
    compact_ratio: float = Field(0.8, gt=0.1, le=1.0, description="headless runs: compact when the window is this full")
    keep_steps: int = Field(4, ge=1, description="headless runs: latest steps kept verbatim by compaction")


class ChatConfig(_Section):
    """The interactive REPL (`agent chat`)."""

    context_tokens: int | None = Field(None, ge=1024, description="the model's context size (default: from the backend)")
    compact_ratio: float = Field(0.8, gt=0.1, le=1.0, description="compact when the context is this full")
    keep_turns: int = Field(2, ge=1, description="latest turns kept verbatim by compaction")
    fold_lines: int = Field(1, ge=0, description="lines of a tool result shown before folding")


class GitConfig(_Section):
    """How the agent's edits meet git: commits, the user's uncommitted work, shell snapshots."""

    commit: bool = Field(True, description="commit each successful edit (trailer `Agent-Run: <id>`)")
    dirty_files: Literal["refuse", "ask", "allow"] = Field(
        "ask", description="a file to edit has uncommitted user changes: refuse, ask (headless: refuse) or allow"
    )
    snapshots: bool = Field(True, description="save the work tree under refs/agent/snapshots/ before shell commands")


Severity = Literal["info", "low", "medium", "high", "critical"]


class ReviewConfig(_Section):
    """`agent review` and the git hooks: checks, caps of the model review, and what blocks a commit."""

    model: str | None = Field(None, description="model for the review layer (a --model spec); None: checks only")
    max_tokens: int = Field(6000, ge=256, description="cap on the model review's prompt tokens (the diff is cut)")
    max_reply_tokens: int = Field(1024, ge=64, description="cap on the tokens the model may generate")
    max_seconds: float = Field(60.0, gt=0, description="wall-time cap of the model review")
    budget_usd: float = Field(0.05, ge=0, description="cost cap of one model review in US dollars (0: no model)")
    strict: bool = Field(False, description="block commits on findings (like --strict)")
    strict_severity: Severity = Field("high", description="--strict blocks on findings at or above this severity")
    block_on_error: bool = Field(False, description="block when a check or the model could not run")
    max_file_kb: int = Field(500, ge=1, description="staged files larger than this are reported")


class MemoryConfig(_Section):
    """Where notes live, where their index lives, and how recall behaves."""

    enabled: bool = Field(True, description="open the memory store for runs")
    dir: str = Field(".agent/memory", description="repo-scope notes, relative to the repo root")
    user_dir: str | None = Field(None, description="user-scope notes (default: the user data dir)")
    index_dir: str | None = Field(None, description="local index (default: the user cache dir, per repo)")
    server_url: str | None = Field(None, description="Chroma server, e.g. http://127.0.0.1:8000 (team scale)")
    collection: str | None = Field(None, description="collection name on the server (default: per repo)")
    dedup_threshold: float = Field(0.85, gt=0, le=1, description="cosine similarity above which a note updates")
    distill: bool = Field(True, description="at the end of a done or failed run, store its lessons as notes")
    consolidate: bool = Field(True, description="at the end of a run, merge duplicates among the notes it wrote; "
                              "flag contradictions and orphaned notes (tag needs-review), never delete them")
    recall_tokens: int = Field(300, ge=0, description="notes appended to one tool result (just-in-time recall)")
    propose_notes: bool = Field(True, description="chat: offer the rules a user states as notes after the turn")
    recall_min_score: float = Field(
        0.4, gt=0, le=2, description="score (hybrid: cosine + BM25 share) a note needs to come back on an error")


class AgentConfig(_Section):
    """All configuration, one section per component."""

    backend: BackendConfig = Field(default_factory=BackendConfig)
    loop: LoopConfig = Field(default_factory=LoopConfig)
    tools: ToolsConfig = Field(default_factory=ToolsConfig)
    permissions: PermissionsConfig = Field(default_factory=PermissionsConfig)
    sandbox: SandboxConfig = Field(default_factory=SandboxConfig)
    context: ContextConfig = Field(default_factory=ContextConfig)
    chat: ChatConfig = Field(default_factory=ChatConfig)
    git: GitConfig = Field(default_factory=GitConfig)
    memory: MemoryConfig = Field(default_factory=MemoryConfig)
    review: ReviewConfig = Field(default_factory=ReviewConfig)
    mcp: McpConfig = Field(default_factory=McpConfig)


ENV_SHORTCUTS = {
    "AGENT_MODEL": ("backend", "model"),
    "AGENT_GGUF": ("backend", "gguf"),
    "AGENT_API_BASE": ("backend", "api_base"),
    "AGENT_GPU_LAYERS": ("backend", "gpu_layers"),
    "AGENT_MAX_STEPS": ("loop", "max_steps"),
    "AGENT_TEST_COMMAND": ("tools", "test_command"),
}


def user_config_path() -> Path:
    """Where the user's config file lives."""
    import platformdirs

    return Path(platformdirs.user_config_dir("agent")) / "config.toml"


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        return {}
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise UsageError(f"cannot read config {path}: {exc}") from exc


def merge_layers(base: dict[str, Any], top: dict[str, Any]) -> dict[str, Any]:
    """`top` over `base`, nested tables merged key by key (how config layers and run overrides combine)."""
    out = dict(base)
    for key, value in top.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge_layers(out[key], value)
        else:
            out[key] = value
    return out


def _env_layer(environ: dict[str, str]) -> dict[str, Any]:
    layer: dict[str, Any] = {}
    for name, (section, key) in ENV_SHORTCUTS.items():
        if environ.get(name):
            layer.setdefault(section, {})[key] = environ[name]
    for name, value in environ.items():
        parts = name.lower().split("__")
        if name.startswith("AGENT_") and len(parts) == 2:
            layer.setdefault(parts[0].removeprefix("agent_"), {})[parts[1]] = value
    return layer


def repo_layer(repo: Path) -> dict[str, Any]:
    """The repo's own settings: `.agent/config.toml`, else `[tool.agent]` in pyproject.toml."""
    own = _read_toml(repo / ".agent" / "config.toml")
    if own:
        return own
    tool = _read_toml(repo / "pyproject.toml").get("tool", {})
    agent_table = tool.get("agent", {}) if isinstance(tool, dict) else {}
    return agent_table if isinstance(agent_table, dict) else {}


def redirecting_keys(own: dict[str, Any]) -> list[str]:
    """The dotted keys of a repository's config that would decide where code, keys or commands go."""
    found = [s for s in REDIRECTING_SECTIONS if own.get(s)]
    for section, keys in REDIRECTING.items():
        table = own.get(section)
        if isinstance(table, dict):
            found += [f"{section}.{k}" for k in keys if _redirects(k, table.get(k))]
    memory_dir = (own.get("memory") or {}).get("dir") if isinstance(own.get("memory"), dict) else None
    if "memory.dir" in found and isinstance(memory_dir, str) and _inside_repo(memory_dir):
        found.remove("memory.dir")  # a notes folder inside the repository sends nothing anywhere
    return found


def _redirects(key: str, value: Any) -> bool:
    if value in (None, ""):
        return False
    return not (key == "model" and isinstance(value, str) and value.startswith(_LOCAL_MODELS))


def _inside_repo(path: str) -> bool:
    parts = Path(path).parts
    return not Path(path).is_absolute() and not path.startswith("~") and ".." not in parts


def repo_trusted(repo: Path, trusted: dict[str, Any]) -> bool:
    """Whether the user trusts this repository's own config (trust_repo_config, or listed in trusted_repos)."""
    perms = trusted.get("permissions", {})
    if not isinstance(perms, dict):
        return False
    if perms.get("trust_repo_config") in (True, "true", "1"):
        return True
    listed = perms.get("trusted_repos") or []
    real = os.path.realpath(repo)
    return isinstance(listed, list) and any(
        isinstance(p, str) and os.path.realpath(os.path.expanduser(p)) == real for p in listed
    )


def _restricted(repo: Path, trusted: dict[str, Any], own: dict[str, Any]) -> dict[str, Any]:
    """An untrusted repository's layer: permissions only tighten; redirecting settings are refused."""
    keys = redirecting_keys(own)
    if keys:
        raise UsageError(
            f"the repository's own config sets {', '.join(keys)}, which decides where code and keys go; "
            f"trust it first: add {str(repo)!r} to permissions.trusted_repos in {user_config_path()}"
        )
    try:
        return restrict_repo_permissions(trusted, own)
    except ValidationError as exc:
        raise UsageError(f"invalid permissions configuration: {exc.errors()[0]['msg']}") from exc


def load_config(
    repo: Path | None = None,
    overrides: dict[str, Any] | None = None,
    environ: dict[str, str] | None = None,
) -> AgentConfig:
    """Merge every layer and validate once; a bad value raises UsageError."""
    env = dict(os.environ if environ is None else environ)
    user, top = _read_toml(user_config_path()), [_env_layer(env), overrides or {}]
    trusted: dict[str, Any] = {}
    for layer in [user, *top]:
        trusted = merge_layers(trusted, layer)
    layers = [user]
    if repo is not None:
        own = repo_layer(repo)
        layers.append(own if repo_trusted(repo, trusted) else _restricted(repo, trusted, own))
    layers += top
    merged: dict[str, Any] = {}
    for layer in layers:
        merged = merge_layers(merged, layer)
    try:
        return AgentConfig.model_validate(merged)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise UsageError(f"invalid configuration {where}: {first['msg']}") from exc
