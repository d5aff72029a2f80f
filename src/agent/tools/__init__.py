"""Tools: typed functions whose signature and docstring are their JSON schema.

A tool is a plain function `def name(ws: Workspace, arg: Annotated[T, Field(description=...)]) -> str`
in its own module. Its docstring's first paragraph is the description the model sees. It returns the
observation as text and raises ToolError (or PermissionDenied) with a readable message on failure.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, get_type_hints

from pydantic import BaseModel, ConfigDict, ValidationError, create_model

from agent.errors import FormatError
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


@dataclass
class Tool:
    """A function the model can call, with the pydantic model that validates its arguments."""

    name: str
    description: str
    function: Callable[..., str]
    arguments: type[BaseModel]

    @classmethod
    def from_function(cls, function: Callable[..., str]) -> Tool:
        """Build a tool from a typed function whose first parameter is the Workspace."""
        hints = get_type_hints(function, include_extras=True)
        params = list(inspect.signature(function).parameters.values())[1:]
        fields: dict[str, Any] = {}
        for p in params:
            default = ... if p.default is inspect.Parameter.empty else p.default
            fields[p.name] = (hints[p.name], default)
        model = create_model(  # type: ignore[call-overload]
            f"{function.__name__}_args", __config__=ConfigDict(extra="forbid"), **fields
        )
        doc = inspect.getdoc(function) or function.__name__
        return cls(function.__name__, doc.split("\n\n")[0].replace("\n", " "), function, model)

    def schema(self) -> dict[str, Any]:
        """The OpenAI-style function schema."""
        params = self.arguments.model_json_schema()
        params.pop("title", None)
        for prop in params.get("properties", {}).values():
            prop.pop("title", None)
        return {"type": "function", "function": {"name": self.name, "description": self.description, "parameters": params}}

    def __call__(self, ws: Workspace, arguments: dict[str, Any]) -> str:
        """Validate the arguments and run the tool."""
        try:
            args = self.arguments.model_validate(arguments)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(x) for x in e['loc']) or 'arguments'}: {e['msg']}" for e in exc.errors()
            )
            raise FormatError(f"invalid arguments for {self.name}: {problems}") from exc
        return self.function(ws, **dict(args))


def load_tools(names: list[str] | None = None) -> dict[str, Tool]:
    """Import and build the named tools (default: every registered tool)."""
    tools = {}
    for name in names or list(REGISTRY):
        module, _, attr = REGISTRY[name].partition(":")
        tools[name] = Tool.from_function(getattr(importlib.import_module(module), attr))
    return tools
