"""finish: end the run."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from agent.errors import Submitted
from agent.workspace import Workspace


def finish(
    ws: Workspace,
    summary: Annotated[str, Field(description="what was done and how it was checked")],
) -> str:
    """Call when the task is complete (or cannot be done), with a short summary for the user."""
    raise Submitted(summary)
