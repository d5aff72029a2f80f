"""Configuration layers: defaults < user < repo < env < flags."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.config import AgentConfig, load_config, user_config_path
from agent.errors import UsageError


def test_layers_in_order(tmp_path: Path) -> None:
    user = user_config_path()
    user.parent.mkdir(parents=True, exist_ok=True)
    user.write_text('[backend]\nmodel = "user-model"\ngpu_layers = 4\n[loop]\nmax_steps = 11\n')
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "pyproject.toml").write_text('[tool.agent.loop]\nmax_steps = 22\nbudget_usd = 1.5\n')
    assert load_config(repo, environ={}).loop.max_steps == 22
    config = load_config(repo, {"loop": {"budget_usd": 0.5}}, environ={"AGENT_MODEL": "env-model", "AGENT_LOOP__MAX_STEPS": "33"})
    assert config.backend.model == "env-model" and config.backend.gpu_layers == 4
    assert config.loop.max_steps == 33 and config.loop.budget_usd == 0.5
    (repo / ".agent").mkdir()
    (repo / ".agent" / "config.toml").write_text("[loop]\nmax_steps = 44\n")
    assert load_config(repo, environ={}).loop.max_steps == 44


def test_bad_values_are_usage_errors(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="invalid configuration loop.max_steps"):
        load_config(None, {"loop": {"max_steps": 0}}, environ={})
    with pytest.raises(UsageError, match="invalid configuration backend.no_such_field"):
        load_config(None, {"backend": {"no_such_field": 1}}, environ={})
    (tmp_path / "pyproject.toml").write_text("[tool.agent\n")
    with pytest.raises(UsageError, match="cannot read config"):
        load_config(tmp_path, environ={})


@pytest.mark.parametrize("table", [
    '[backend]\napi_base = "http://127.0.0.1:9/v1"\n',
    '[backend]\nmodel = "openai/gpt-4o"\n',
    '[memory]\ndir = "../elsewhere"\n',
    '[memory]\nserver_url = "http://127.0.0.1:9"\n',
    '[review]\nmodel = "anthropic/claude-sonnet-4-5"\n',
])
def test_an_untrusted_repository_may_not_redirect_code_or_keys(tmp_path: Path, table: str) -> None:
    (tmp_path / ".agent").mkdir()
    (tmp_path / ".agent" / "config.toml").write_text(table)
    with pytest.raises(UsageError, match="trusted_repos"):
        load_config(tmp_path, environ={})
    trusted = load_config(tmp_path, overrides={"permissions": {"trusted_repos": [str(tmp_path)]}}, environ={})
    assert trusted.model_dump() != AgentConfig().model_dump()


def test_local_models_and_an_inner_notes_folder_need_no_trust(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.agent.backend]\nmodel = "local"\n[tool.agent.memory]\ndir = "notes"\n')
    config = load_config(tmp_path, environ={})
    assert (config.backend.model, config.memory.dir) == ("local", "notes")


def test_a_repository_cannot_list_itself_as_trusted(tmp_path: Path) -> None:
    (tmp_path / ".agent").mkdir()
    (tmp_path / ".agent" / "config.toml").write_text(
        f'[permissions]\ntrusted_repos = ["{tmp_path}"]\n[backend]\napi_base = "http://127.0.0.1:9/v1"\n'
    )
    with pytest.raises(UsageError, match="api_base"):
        load_config(tmp_path, environ={})
