"""Run mini-swe-agent behind the `agent run` interface the repair harness drives, in mini-swe-agent's own venv.

    python bench/repair.py ... --agent-cmd "/work/tmp-venvs/mini/bin/python $PWD/bench/mini_adapter.py" --model MODEL

MODEL is a litellm model name (mini-swe-agent's default config), or `scripted:FILE` with a JSON list of bash
commands replayed by mini-swe-agent's DeterministicModel. Prints one `run_finished` JSON line like `agent run --json`
(mini-swe-agent counts cost, not tokens: tokens are reported as 0).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

SUBMIT = "echo COMPLETE_TASK_AND_SUBMIT_FINAL_OUTPUT"
STATUS = {"Submitted": "done", "LimitsExceeded": "limits", "TimeExceeded": "limits"}


def build_model(spec: str, config: dict) -> object:
    """mini-swe-agent's model for a spec: DeterministicModel for `scripted:FILE`, else its litellm model."""
    from minisweagent.models import get_model
    from minisweagent.models.test_models import DeterministicModel, make_output

    if spec.startswith("scripted:"):
        commands = json.loads(Path(spec.removeprefix("scripted:")).read_text())
        outputs = [make_output(f"```bash\n{c}\n```", [{"command": c}], cost=0.0) for c in commands]
        return DeterministicModel(outputs=outputs, cost_per_call=0.0)
    return get_model(spec, config.get("model", {}))


def main() -> int:
    """Parse the `run` interface, run mini-swe-agent in the repository, print run_finished."""
    import yaml
    from minisweagent.agents.default import DefaultAgent
    from minisweagent.config import builtin_config_dir
    from minisweagent.environments.local import LocalEnvironment

    p = argparse.ArgumentParser()
    p.add_argument("command", choices=["run"])
    p.add_argument("task")
    p.add_argument("--repo", type=Path, required=True)
    p.add_argument("--model", required=True)
    p.add_argument("--max-steps", type=int, default=30)
    p.add_argument("--json", action="store_true")
    p.add_argument("--gpu-layers", type=int)
    args = p.parse_args()
    config = yaml.safe_load((builtin_config_dir / "default.yaml").read_text())
    agent_config = {**config["agent"], "step_limit": args.max_steps}
    env = LocalEnvironment(**{**config.get("environment", {}), "cwd": str(args.repo.resolve())})
    agent = DefaultAgent(build_model(args.model, config), env, **agent_config)
    started = time.monotonic()
    try:
        exit_status = agent.run(args.task).get("exit_status", "error")
    except Exception as exc:  # mini-swe-agent re-raises what it cannot handle; report it as the run's error
        exit_status = f"error: {exc}"
    status = STATUS.get(exit_status, "error")
    print(json.dumps({"type": "run_finished", "status": status, "exit_status": exit_status, "verified": False,
                      "files_changed": [], "tokens_in": 0, "tokens_out": 0, "cost_usd": round(agent.cost, 6),
                      "duration_s": round(time.monotonic() - started, 3), "steps": agent.n_calls}))
    return {"done": 0, "limits": 3}.get(status, 1)


if __name__ == "__main__":
    raise SystemExit(main())
