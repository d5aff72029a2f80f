"""Options shared by several commands (one definition each, so their spelling and help cannot drift)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

RepoOption = Annotated[Path, typer.Option("--repo", "-r", help="A path inside the git repository.")]
