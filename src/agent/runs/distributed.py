"""Worktree runs as Ray tasks (optional extra `agent[ray]`), on a local Ray instance or a cluster.

The driver prepares each run (id, branch agent/<id>, worktree) exactly as `agent run --tasks` does;
each Ray task then executes one prepared run with `agent.runs.registry.execute`, so logs, commits, status,
`agent runs apply` and `--resume` work the same. The nodes must see the repository at the same path
(one machine, or a shared filesystem); docs/distributed.md describes the design for nodes without one.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


def _ray() -> Any:
    from agent.extras import require

    require("ray", "distributed runs")
    import ray

    return ray


def _execute(root: str, run_id: str) -> dict[str, Any]:
    """The body of one Ray task: run a prepared run in this worker; return how it ended."""
    from agent.runs import registry as runs

    result = runs.execute(Path(root), run_id, lambda event: None)
    return {"run_id": run_id, "status": runs.status(Path(root), run_id), "exit_code": result.exit_code}


def run_on_ray(root: Path, tasks: list[str], overrides: dict[str, Any], address: str | None = None,
               cpus_per_run: float = 1.0) -> list[dict[str, Any]]:
    """Prepare one worktree run per task and execute them as Ray tasks; wait and return their ends."""
    from agent.runs import registry as runs

    ray = _ray()
    if not ray.is_initialized():
        package_parent = str(Path(__file__).resolve().parents[2])  # workers import this very `agent`
        ray.init(address=address, include_dashboard=False, log_to_driver=False,
                 runtime_env={"env_vars": {"PYTHONPATH": package_parent}})
    remote = ray.remote(num_cpus=cpus_per_run, max_retries=0)(_execute)
    infos = [runs.prepare(root, task, overrides, worktree=True) for task in tasks]
    return list(ray.get([remote.remote(str(root), info.id) for info in infos]))
