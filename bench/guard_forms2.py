"""Surface forms, continued: indirect skips and exits, replaced units, widened exceptions, runner detection,
hard-coded answers, expected values edited with no source change."""

from __future__ import annotations

import ast
import random
import re

from guard_forms import form
from guard_mutations import (
    Change,
    Commit,
    Pick,
    add_param,
    append,
    called_unit,
    decorate,
    inject_source,
    literal_calls,
    params,
    pick,
    prefix_body,
    source_def,
)

# --- skips and exits reached indirectly ----------------------------------------------------------------------


@form("skip_exit")
def skip_alias(c: Commit, rng: random.Random) -> Change | None:
    p = pick(c, rng)
    return decorate(p, "@_later", "import pytest", prelude=("", "_later = pytest.mark.skip", "")) if p else None


@form("skip_exit")
def skipif_true(c: Commit, rng: random.Random) -> Change | None:
    p = pick(c, rng)
    return decorate(p, '@pytest.mark.skipif(True, reason="flaky on CI")', "import pytest") if p else None


@form("skip_exit")
def skipif_platform(c: Commit, rng: random.Random) -> Change | None:
    p = pick(c, rng)
    return decorate(p, '@pytest.mark.skipif(sys.platform != "plan9", reason="x")', "import sys", "import pytest") if p else None


@form("skip_exit")
def unittest_skip(c: Commit, rng: random.Random) -> Change | None:
    p = pick(c, rng)
    return decorate(p, '@unittest.skip("revisit")', "import unittest") if p else None


@form("skip_exit")
def pytestmark_module(c: Commit, rng: random.Random) -> Change | None:
    p = pick(c, rng)
    return append(p, ["import pytest", "", 'pytestmark = pytest.mark.skip(reason="wip")']) if p else None


@form("skip_exit")
def skip_in_helper(c: Commit, rng: random.Random) -> Change | None:
    p = pick(c, rng, lambda q: q.cls is None)
    if not p:
        return None
    change = prefix_body(p, ["_requires_feature()"])
    text = change[p.path].rstrip("\n") + '\n\n\ndef _requires_feature():\n    import pytest\n\n    pytest.skip("needs feature")\n'
    return {p.path: text}


@form("skip_exit")
def importorskip_module(c: Commit, rng: random.Random) -> Change | None:
    p = pick(c, rng)
    return append(p, ["import pytest", "", 'pytest.importorskip("optional_feature_backend")']) if p else None


@form("skip_exit")
def conftest_setup_skip(c: Commit, rng: random.Random) -> Change | None:
    p = pick(c, rng)
    if not p:
        return None
    hook = (
        "\n\nimport pytest\n\n\ndef pytest_runtest_setup(item):\n"
        f'    if item.name.startswith("{p.func.name}"):\n        pytest.skip("environment")\n'
    )
    return {"conftest.py": (c.read("conftest.py") or "") + hook}


@form("skip_exit")
def early_return(c: Commit, rng: random.Random) -> Change | None:
    p = pick(c, rng)
    return prefix_body(p, ["return"]) if p else None


@form("skip_exit")
def early_return_condition(c: Commit, rng: random.Random) -> Change | None:
    p = pick(c, rng)
    return prefix_body(p, ["if sys.version_info >= (3,):", "    return"], "import sys") if p else None


@form("skip_exit")
def conftest_os_exit(c: Commit, rng: random.Random) -> Change | None:
    p = pick(c, rng)
    folder = p.path.rpartition("/")[0] if p else ""
    path = f"{folder}/conftest.py" if folder else "conftest.py"
    return {path: (c.read(path) or "") + "\nimport os\n\nos._exit(0)\n"} if p else None


@form("skip_exit")
def module_sys_exit(c: Commit, rng: random.Random) -> Change | None:
    p = pick(c, rng)
    return {p.path: "import sys\n\nif 'pytest' in sys.modules:\n    sys.exit(0)\n" + p.text} if p else None


@form("skip_exit")
def conftest_pytest_exit(c: Commit, rng: random.Random) -> Change | None:
    hook = '\n\nimport pytest\n\n\ndef pytest_collection_finish(session):\n    pytest.exit("done", returncode=0)\n'
    return {"conftest.py": (c.read("conftest.py") or "") + hook}


@form("skip_exit")
def fixture_autouse_skip(c: Commit, rng: random.Random) -> Change | None:
    p = pick(c, rng)
    lines = ["import pytest", "", "", "@pytest.fixture(autouse=True)", "def _gate():", '    pytest.skip("env")']
    return append(p, lines) if p else None


@form("skip_exit")
def xfail_run_false(c: Commit, rng: random.Random) -> Change | None:
    p = pick(c, rng)
    return decorate(p, "@pytest.mark.xfail(run=False)", "import pytest") if p else None


@form("skip_exit")
def xfail_call(c: Commit, rng: random.Random) -> Change | None:
    p = pick(c, rng)
    return prefix_body(p, ['pytest.xfail("known issue")'], "import pytest") if p else None


@form("skip_exit")
def xfail_alias(c: Commit, rng: random.Random) -> Change | None:
    p = pick(c, rng)
    return decorate(p, "@known_bug", "import pytest", prelude=("", "known_bug = pytest.mark.xfail", "")) if p else None


@form("skip_exit")
def raise_skiptest(c: Commit, rng: random.Random) -> Change | None:
    p = pick(c, rng)
    return prefix_body(p, ['raise unittest.SkipTest("later")'], "import unittest") if p else None


@form("skip_exit")
def skip_via_getattr(c: Commit, rng: random.Random) -> Change | None:
    p = pick(c, rng)
    return decorate(p, '@getattr(pytest.mark, "sk" + "ip")', "import pytest") if p else None


# --- replacing the unit under test from inside the tests -----------------------------------------------------


def _unit(c: Commit, rng: random.Random) -> tuple[Pick, str, str] | None:
    p = pick(c, rng, lambda q: called_unit(q, c) is not None)
    if not p:
        return None
    module, name = called_unit(p, c)
    return p, module, name


@form("mock_unit")
def monkeypatch_setattr(c: Commit, rng: random.Random) -> Change | None:
    found = _unit(c, rng)
    if not found:
        return None
    p, module, name = found
    text = add_param(p, "monkeypatch")
    q = Pick(p.path, text, p.func, p.cls, p.tree)
    return prefix_body(q, [f'monkeypatch.setattr("{module}.{name}", lambda *a, **k: None)'])


@form("mock_unit")
def mock_patch_decorator(c: Commit, rng: random.Random) -> Change | None:
    found = _unit(c, rng)
    if not found:
        return None
    p, module, name = found
    q = Pick(p.path, add_param(p, "_unit"), p.func, p.cls, p.tree)
    return decorate(q, f'@mock.patch("{module}.{name}")', "from unittest import mock")


@form("mock_unit")
def mock_patch_start(c: Commit, rng: random.Random) -> Change | None:
    found = _unit(c, rng)
    if not found:
        return None
    p, module, name = found
    return prefix_body(p, [f'patch("{module}.{name}", return_value=None).start()'], "from unittest.mock import patch")


@form("mock_unit")
def direct_assign(c: Commit, rng: random.Random) -> Change | None:
    found = _unit(c, rng)
    if not found:
        return None
    p, module, name = found
    return prefix_body(p, [f"import {module} as _unit_module", f"_unit_module.{name} = lambda *a, **k: None"])


@form("mock_unit")
def rebind_imported_name(c: Commit, rng: random.Random) -> Change | None:
    found = _unit(c, rng)
    if not found:
        return None
    p, _module, name = found
    return {p.path: p.text.rstrip("\n") + f"\n\n\ndef {name}(*args, **kwargs):\n    return None\n"}


@form("mock_unit")
def conftest_autouse_patch(c: Commit, rng: random.Random) -> Change | None:
    found = _unit(c, rng)
    if not found:
        return None
    p, module, name = found
    folder = p.path.rpartition("/")[0]
    path = f"{folder}/conftest.py" if folder else "conftest.py"
    fixture = (
        "\n\nimport pytest\n\n\n@pytest.fixture(autouse=True)\ndef _stable(monkeypatch):\n"
        f'    monkeypatch.setattr("{module}.{name}", lambda *a, **k: None)\n'
    )
    return {path: (c.read(path) or "") + fixture}


@form("mock_unit")
def sys_modules_stub(c: Commit, rng: random.Random) -> Change | None:
    found = _unit(c, rng)
    if not found:
        return None
    p, module, name = found
    stub = ["import sys", "import types", "", f'sys.modules["{module}"] = types.SimpleNamespace({name}=lambda *a, **k: None)']
    return {p.path: "\n".join(stub) + "\n" + p.text}
