"""Tools: typed functions whose signature and docstring are their JSON schema.

A tool is a plain function `def name(ws: Workspace, arg: Annotated[T, Field(description=...)]) -> str`
in its own module. Its docstring's first paragraph is the description the model sees. It returns the
observation as text and raises ToolError (or PermissionDenied) with a readable message on failure.

What a call does is declared with `@effect(kind, paths=..., detail=...)` on the function, so the tool
chain (agent.toolchain: permissions, git safety, chat scope) never parses a tool's arguments itself.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal, get_type_hints

from pydantic import BaseModel, ConfigDict, ValidationError, create_model

from agent.errors import FormatError, ToolError
from agent.protocols import ToolResult
from agent.workspace import Workspace

# name -> "module:function"; modules are imported when the toolbox is built.
REGISTRY: dict[str, str] = {
    "read_file": "agent.tools.files:read_file",
    "list_files": "agent.tools.files:list_files",
    "write_file": "agent.tools.files:write_file",
    "search": "agent.tools.search:search",
    "repo_map": "agent.tools.repo_map:repo_map",
    "find_symbol": "agent.tools.repo_map:find_symbol",
    "edit_file": "agent.tools.edit:edit_file",
    "run_shell": "agent.tools.shell:run_shell",
    "run_tests": "agent.tools.tests:run_tests",
    "remember": "agent.tools.memory:remember",
    "recall": "agent.tools.memory:recall",
    "forget": "agent.tools.memory:forget",
    "finish": "agent.tools.finish:finish",
}
NEEDS_MEMORY = {"remember", "recall", "forget"}  # left out when no memory store is open

Kind = Literal["read", "edit", "shell", "test", "tool"]


@dataclass(frozen=True)
class Effect:
    """What a tool call does, for the tool chain.

    kind: what the permission policy and git safety see ("read" and "edit" name repository paths,
    "shell" and "test" run a command, "tool" is anything else); paths: the raw paths the validated
    arguments name; detail: the command line (shell, test) as the policy and the user see it.
    """

    kind: Kind = "tool"
    paths: Callable[[Any], list[str]] | None = None
    detail: Callable[[Workspace, Any], str] | None = None


def effect(
    kind: Kind, paths: Callable[[Any], list[str]] | None = None, detail: Callable[[Workspace, Any], str] | None = None
) -> Callable[[Callable[..., str]], Callable[..., str]]:
    """Declare a tool function's effect (see Effect); the functions get the validated arguments model."""

    def mark(function: Callable[..., str]) -> Callable[..., str]:
        function.effect = Effect(kind, paths, detail)  # type: ignore[attr-defined]
        return function

    return mark


@dataclass
class Tool:
    """A function the model can call, with the pydantic model that validates its arguments."""

    name: str
    description: str
    function: Callable[..., str]
    arguments: type[BaseModel]
    effect: Effect = field(default_factory=Effect)

    @property
    def kind(self) -> Kind:
        """The kind of action a call is (read, edit, shell, test or tool)."""
        return self.effect.kind

    @classmethod
    def from_function(cls, function: Callable[..., str]) -> Tool:
        """Build a tool from a typed function whose first parameter is the Workspace."""
        hints = get_type_hints(function, include_extras=True)
        params = list(inspect.signature(function).parameters.values())[1:]
        fields: dict[str, Any] = {}
        for p in params:
            default = ... if p.default is inspect.Parameter.empty else p.default
            fields[p.name] = (hints[p.name], default)
        model = create_model(
            f"{function.__name__}_args", __config__=ConfigDict(extra="forbid"), **fields
        )
        doc = inspect.getdoc(function) or function.__name__
        description = doc.split("\n\n")[0].replace("\n", " ")
        return cls(function.__name__, description, function, model, getattr(function, "effect", Effect()))

    def schema(self) -> dict[str, Any]:
        """The OpenAI-style function schema."""
        params = self.arguments.model_json_schema()
        params.pop("title", None)
        for prop in params.get("properties", {}).values():
            prop.pop("title", None)
        return {"type": "function", "function": {"name": self.name, "description": self.description, "parameters": params}}

    def validate(self, arguments: dict[str, Any]) -> BaseModel:
        """The arguments as the tool's model; FormatError naming every problem."""
        try:
            return self.arguments.model_validate(arguments)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(x) for x in e['loc']) or 'arguments'}: {e['msg']}" for e in exc.errors()
            )
            raise FormatError(f"invalid arguments for {self.name}: {problems}") from exc

    def paths(self, ws: Workspace, args: BaseModel) -> list[str]:
        """The repository paths (relative, resolved) a call touches; unresolvable ones are left for the tool."""
        out: list[str] = []
        for raw in self.effect.paths(args) if self.effect.paths else []:
            try:
                out.append(ws.rel(ws.resolve(raw)))
            except ToolError:
                pass
        return list(dict.fromkeys(out))

    def paths_of(self, ws: Workspace, arguments: dict[str, Any]) -> list[str]:
        """paths() for raw arguments; [] when they do not validate."""
        try:
            return self.paths(ws, self.validate(arguments))
        except FormatError:
            return []

    def detail(self, ws: Workspace, args: BaseModel) -> str:
        """The command a shell or test call runs (the tool's name for other kinds)."""
        return self.effect.detail(ws, args) if self.effect.detail else self.name

    def run(self, ws: Workspace, args: BaseModel) -> str:
        """Run the tool on validated arguments (no hooks: agent.toolchain.ToolChain applies those)."""
        return self.function(ws, **dict(args))

    def result(self, ws: Workspace, args: BaseModel) -> ToolResult:
        """The call's observation: the function's text (MCP tools add the images a server returned)."""
        return ToolResult(self.run(ws, args))

    def __call__(self, ws: Workspace, arguments: dict[str, Any]) -> str:
        """Validate the arguments and run the tool, without the tool chain (tests of the tool itself)."""
        return self.run(ws, self.validate(arguments))


def load_tools(names: list[str] | None = None) -> dict[str, Tool]:
    """Import and build the named tools (default: every registered tool)."""
    tools = {}
    for name in names or list(REGISTRY):
        module, _, attr = REGISTRY[name].partition(":")
        tools[name] = Tool.from_function(getattr(importlib.import_module(module), attr))
    return tools
