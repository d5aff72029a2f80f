"""Prompt templates: every piece of prompt text lives in prompts/*.j2."""

from __future__ import annotations

from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any


def prompt_dir() -> Path:
    """The templates: inside the installed wheel, else the source checkout's prompts/."""
    packaged = Path(str(resources.files("agent"))) / "prompt_templates"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parents[2] / "prompts"


@cache
def _env() -> Any:
    import jinja2

    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(prompt_dir()),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=False,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render(name: str, **variables: Any) -> str:
    """Render prompts/<name>.j2; an undefined variable is an error, never blank text."""
    return _env().get_template(f"{name}.j2").render(**variables).strip()
