"""Helpers shared by the tests/test_memory_*.py files: a shared ONNX model cache and a repo with code."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import init_repo

CODE = {
    "app/ops.py": (
        "import math\n\n\n"
        "def area(r):\n    return math.pi * r * r\n\n\n"
        "class Parser:\n    def parse(self, text):\n        return text.split()\n\n"
        "    def other(self):\n        return 1\n"
    ),
    "web/util.js": "function slugify(s) {\n  return s.toLowerCase().replace(/ /g, '-');\n}\n\nconst x = 1;\n",
    "README.md": "demo\n",
}


@pytest.fixture(scope="session")
def model_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One ONNX conversion per test session (the per-test cache dirs would redo it each time)."""
    return tmp_path_factory.mktemp("model-cache")


@pytest.fixture(autouse=True)
def _shared_model(monkeypatch: pytest.MonkeyPatch, model_cache: Path) -> None:
    monkeypatch.setenv("AGENT_MODEL_CACHE", str(model_cache))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A real git repo with some Python and JavaScript code."""
    return init_repo(tmp_path / "repo", CODE)
