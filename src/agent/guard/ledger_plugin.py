"""A standalone pytest plugin: write what pytest itself collected and how each test ended to a JSON file.

The guard copies this file into a temp dir as `agent_guard_ledger.py` and loads it into pytest (`-p`, or the
`plugins=` argument of `pytest.main`); it imports nothing from the agent, so a project's own modules never
shadow it. The report directory comes from AGENT_GUARD_LEDGER_DIR; each pytest process writes `<pid>.json`.
"""

from __future__ import annotations

import json
import os
from typing import Any

FORMAT = 1


class LedgerPlugin:
    """Collects test ids, deselections, collection errors and per-test outcomes."""

    def __init__(self, out_dir: str) -> None:
        self.path = os.path.join(out_dir, f"{os.getpid()}.json")
        self.data: dict[str, Any] = {
            "format": FORMAT, "finished": False, "exitstatus": None, "collect_only": False,
            "collected": [], "deselected": [], "collect_errors": [], "outcomes": {},
        }

    def _write(self) -> None:
        tmp = self.path + ".tmp"
        with open(tmp, "w", encoding="utf-8") as fh:
            json.dump(self.data, fh)
        os.replace(tmp, self.path)

    def pytest_sessionstart(self, session: Any) -> None:
        self.data["collect_only"] = bool(getattr(session.config.option, "collectonly", False))
        self._write()

    def pytest_deselected(self, items: Any) -> None:
        self.data["deselected"] += [item.nodeid for item in items]

    def pytest_collectreport(self, report: Any) -> None:
        if report.failed:
            self.data["collect_errors"].append(report.nodeid)

    def pytest_collection_finish(self, session: Any) -> None:
        self.data["collected"] = [item.nodeid for item in session.items]
        self._write()

    def pytest_runtest_logreport(self, report: Any) -> None:
        outcomes = self.data["outcomes"]
        xfail = hasattr(report, "wasxfail")
        if report.when == "call":
            state = {"passed": "xpassed" if xfail else "passed", "skipped": "xfailed" if xfail else "skipped"}
            outcomes[report.nodeid] = state.get(report.outcome, "failed")
        elif report.failed:
            outcomes[report.nodeid] = "error"
        elif report.skipped:
            outcomes[report.nodeid] = "xfailed" if xfail else "skipped"

    def pytest_sessionfinish(self, session: Any, exitstatus: Any) -> None:
        self.data["finished"] = True
        self.data["exitstatus"] = int(exitstatus)
        self._write()


def pytest_configure(config: Any) -> None:
    """Entry point when loaded with `-p agent_guard_ledger`."""
    out_dir = os.environ.get("AGENT_GUARD_LEDGER_DIR")
    if out_dir and not config.pluginmanager.has_plugin("agent-guard-ledger"):
        config.pluginmanager.register(LedgerPlugin(out_dir), "agent-guard-ledger")
