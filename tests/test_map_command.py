"""`agent map` end to end, as a subprocess."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import agent_cli, init_repo

FILES = {
    "app/models.py": "class Invoice:\n    def total(self):\n        return 1\n",
    "app/views.py": "from app.models import Invoice\n\ndef show_invoice():\n    return Invoice().total()\n",
}


def test_json_output(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "r", FILES)
    proc = agent_cli("map", "--repo", str(repo), "--query", "invoice total", "--budget", "200", "--json")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert set(data) == {"files", "tokens", "map"}
    assert data["files"][0]["path"] == "app/models.py"
    assert all(set(f) == {"path", "score", "rank", "signals"} for f in data["files"])
    top = data["files"][0]
    assert top["rank"] == 1 and top["signals"] and all(v > 0 for v in top["signals"].values())
    assert "bm25" in top["signals"]  # "invoice" and "total" are words of app/models.py
    assert 0 < data["tokens"] <= 200
    assert "class Invoice" in data["map"]


def test_text_output_and_focus(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "r", FILES)
    proc = agent_cli("map", "--repo", str(repo), "--focus", "app/views.py")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("app/views.py:")


def test_bad_input_exits_2_with_one_line(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "r", FILES)
    (tmp_path / "plain").mkdir()
    for args in (["--repo", str(tmp_path / "missing")], ["--repo", str(tmp_path / "plain")],
                 ["--repo", str(repo), "--budget", "0"], ["--repo", str(repo / "app/models.py")]):
        proc = agent_cli("map", *args)
        assert proc.returncode == 2, args
        assert proc.stderr.startswith("agent: error: ") and proc.stderr.count("\n") == 1, proc.stderr
        assert proc.stdout == ""
