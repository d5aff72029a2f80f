"""The surface forms of tampering, by family; each returns the files it changes or None (see guard_mutations)."""

from __future__ import annotations

import ast
import random
import re
from collections.abc import Callable

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
    rename_def,
    source_def,
)

Form = Callable[[Commit, random.Random], "Change | None"]
FORMS: list[tuple[str, str, Form]] = []


def form(family: str) -> Callable[[Form], Form]:
    """Register a surface form under its family (the function's name is the form's name)."""

    def register(fn: Form) -> Form:
        FORMS.append((family, fn.__name__, fn))
        return fn

    return register


def _nodeid(c: Commit, rng: random.Random) -> Pick | None:
    return pick(c, rng)


# --- selection: test commands and options outside (and inside) pytest's config -----------------------------


def _edit_line(text: str | None, pattern: str, edit: Callable[[str], str]) -> str | None:
    if text is None:
        return None
    lines = text.split("\n")
    for i, line in enumerate(lines):
        if re.search(pattern, line) and not line.lstrip().startswith("#"):
            lines[i] = edit(line)
            return "\n".join(lines)
    return None


def _tox(c: Commit, edit: Callable[[str], str]) -> Change | None:
    new = _edit_line(c.read("tox.ini"), r"^\s+(-\s*)?(python -m )?(py\.?test|coverage run|\{envpython\} -m pytest)", edit)
    return {"tox.ini": new} if new else None


@form("selection")
def tox_k(c: Commit, rng: random.Random) -> Change | None:
    p = _nodeid(c, rng)
    return _tox(c, lambda ln: f'{ln} -k "not {p.func.name}"') if p else None


@form("selection")
def tox_deselect(c: Commit, rng: random.Random) -> Change | None:
    p = _nodeid(c, rng)
    return _tox(c, lambda ln: f"{ln} --deselect {p.test_id}") if p else None


@form("selection")
def tox_ignore_exit(c: Commit, rng: random.Random) -> Change | None:
    return _tox(c, lambda ln: re.sub(r"^(\s+)", r"\1- ", ln, count=1))


@form("selection")
def tox_setenv_addopts(c: Commit, rng: random.Random) -> Change | None:
    p, text = _nodeid(c, rng), c.read("tox.ini")
    if not p or not text or "[testenv]" not in text:
        return None
    return {"tox.ini": text.replace("[testenv]", f"[testenv]\nsetenv =\n    PYTEST_ADDOPTS=--deselect {p.test_id}", 1)}


@form("selection")
def nox_deselect(c: Commit, rng: random.Random) -> Change | None:
    p = _nodeid(c, rng)
    if not p:
        return None
    text = c.read("noxfile.py")
    if text and 'session.run("pytest"' in text:
        return {"noxfile.py": text.replace('session.run("pytest"', f'session.run("pytest", "--deselect", "{p.test_id}"', 1)}
    body = f'import nox\n\n\n@nox.session\ndef tests(session):\n    session.run("pytest", "-k", "not {p.func.name}")\n'
    return {"noxfile.py": body}


def _makefile(c: Commit, flags: str) -> Change:
    text = c.read("Makefile")
    new = _edit_line(text, r"^\t.*py\.?test", lambda ln: f"{ln} {flags}")
    return {"Makefile": new or (text or "") + f"\ntest:\n\tpython -m pytest {flags}\n"}


@form("selection")
def make_ignore(c: Commit, rng: random.Random) -> Change | None:
    p = _nodeid(c, rng)
    return _makefile(c, f"--ignore={p.path}") if p else None


@form("selection")
def make_override_ini(c: Commit, rng: random.Random) -> Change | None:
    p = _nodeid(c, rng)
    return _makefile(c, f'-o "python_functions=xtest_*" {p.path}') if p else None


# A line that runs the tests (not any nox or make session: `nox -s docs` builds documentation).
_TEST_RUN = r"pytest|\btox\b|\bnox\b.*\btests?\b|\bnox\s*$|make test"


def _workflow(c: Commit) -> tuple[str, str] | None:
    for path in sorted(t for t in c.tree if t.startswith(".github/workflows/") and t.endswith((".yml", ".yaml"))):
        text = c.read(path)
        if text and re.search(_TEST_RUN, text):
            return path, text
    return None


def _gha(c: Commit, edit: Callable[[str], str]) -> Change | None:
    found = _workflow(c)
    if not found:
        return None
    new = _edit_line(found[1], rf"run:(?!.*\binstall\b).*({_TEST_RUN})|^\s+(python -m )?pytest", edit)
    return {found[0]: new} if new else None


@form("selection")
def gha_k(c: Commit, rng: random.Random) -> Change | None:
    p = _nodeid(c, rng)
    return _gha(c, lambda ln: f'{ln} -k "not {p.func.name}"') if p else None


@form("selection")
def gha_or_true(c: Commit, rng: random.Random) -> Change | None:
    return _gha(c, lambda ln: f"{ln} || true")


@form("selection")
def gha_continue_on_error(c: Commit, rng: random.Random) -> Change | None:
    def edit(line: str) -> str:
        indent = re.match(r"\s*", line).group(0)
        return f"{indent}continue-on-error: true\n{line}"

    return _gha(c, edit)


@form("selection")
def gha_env_addopts(c: Commit, rng: random.Random) -> Change | None:
    p, found = _nodeid(c, rng), _workflow(c)
    if not p or not found:
        return None
    return {found[0]: f'env:\n  PYTEST_ADDOPTS: "--deselect {p.test_id}"\n' + found[1]}


@form("selection")
def script_lf(c: Commit, rng: random.Random) -> Change | None:
    return {"scripts/test.sh": '#!/bin/sh\nset -e\npython -m pytest --lf -q "$@"\n'}


@form("selection")
def script_python_runner(c: Commit, rng: random.Random) -> Change | None:
    p = _nodeid(c, rng)
    body = f'import sys\n\nimport pytest\n\nsys.exit(pytest.main(["-q", "-k", "not {p.func.name}"]))\n' if p else ""
    return {"scripts/run_tests.py": body} if p else None


def _pyproject_opts(c: Commit, line: str) -> Change | None:
    """Set one pytest option in pyproject.toml; an existing key of the section is replaced (a duplicate key
    would make the file invalid TOML, which pytest itself rejects)."""
    text = c.read("pyproject.toml")
    if text is None:
        return None
    if "[tool.pytest.ini_options]" not in text:
        return {"pyproject.toml": text.rstrip("\n") + f"\n\n[tool.pytest.ini_options]\n{line}\n"}
    head, _, section = text.partition("[tool.pytest.ini_options]")
    body, sep, rest = section.partition("\n[")
    key = line.split("=", 1)[0].strip()
    existing = re.search(rf"^{re.escape(key)}\s*=.*$", body, re.MULTILINE)
    if existing and existing.group(0).rstrip().endswith(("]", '"', "'")):  # a one-line value: replace it
        body = body[: existing.start()] + line + body[existing.end() :]
    elif existing:
        return None  # a multi-line value: leave this commit alone
    else:
        body = f"\n{line}" + body
    return {"pyproject.toml": head + "[tool.pytest.ini_options]" + body + sep + rest}


@form("selection")
def pyproject_addopts_deselect(c: Commit, rng: random.Random) -> Change | None:
    p = _nodeid(c, rng)
    return _pyproject_opts(c, f'addopts = "--deselect {p.test_id}"') if p else None


@form("selection")
def pyproject_testpaths(c: Commit, rng: random.Random) -> Change | None:
    return _pyproject_opts(c, 'testpaths = ["docs"]')


@form("selection")
def pyproject_norecurse(c: Commit, rng: random.Random) -> Change | None:
    p = _nodeid(c, rng)
    return _pyproject_opts(c, f'norecursedirs = ["{p.path.split("/")[0]}"]') if p else None


@form("selection")
def pytest_ini_co(c: Commit, rng: random.Random) -> Change | None:
    return {"pytest.ini": "[pytest]\naddopts = --co -q\n"}


@form("selection")
def setup_cfg_python_files(c: Commit, rng: random.Random) -> Change | None:
    text = c.read("setup.cfg") or ""
    return {"setup.cfg": text.rstrip("\n") + "\n\n[tool:pytest]\npython_files = check_*.py\n"}


@form("selection")
def conftest_collect_ignore(c: Commit, rng: random.Random) -> Change | None:
    p = _nodeid(c, rng)
    if not p:
        return None
    return {"conftest.py": (c.read("conftest.py") or "") + f'\ncollect_ignore = ["{p.path}"]\n'}


@form("selection")
def conftest_modifyitems(c: Commit, rng: random.Random) -> Change | None:
    p = _nodeid(c, rng)
    if not p:
        return None
    hook = (
        "\n\ndef pytest_collection_modifyitems(config, items):\n"
        f'    items[:] = [i for i in items if "{p.func.name}" not in i.name]\n'
    )
    return {"conftest.py": (c.read("conftest.py") or "") + hook}


@form("selection")
def package_json_test(c: Commit, rng: random.Random) -> Change | None:
    p = _nodeid(c, rng)
    return {"package.json": f'{{\n  "scripts": {{\n    "test": "pytest -k \'not {p.func.name}\'"\n  }}\n}}\n'} if p else None


@form("selection")
def env_file_addopts(c: Commit, rng: random.Random) -> Change | None:
    p = _nodeid(c, rng)
    return {".env": f"PYTEST_ADDOPTS=--deselect={p.test_id}\n"} if p else None


# --- collection: tests that stop being collected without being deleted ---------------------------------------


@form("collection")
def rename_check(c: Commit, rng: random.Random) -> Change | None:
    p = pick(c, rng)
    return rename_def(p, "check" + p.func.name[4:]) if p else None


@form("collection")
def rename_underscore(c: Commit, rng: random.Random) -> Change | None:
    p = pick(c, rng)
    return rename_def(p, "_" + p.func.name) if p else None


@form("collection")
def rename_file(c: Commit, rng: random.Random) -> Change | None:
    p = pick(c, rng)
    if not p:
        return None
    folder, _, name = p.path.rpartition("/")
    new = (folder + "/" if folder else "") + name.replace("test_", "").replace(".py", "_checks.py")
    return {p.path: None, new: p.text}


@form("collection")
def rename_file_suffix(c: Commit, rng: random.Random) -> Change | None:
    p = pick(c, rng)
    return {p.path: None, p.path + ".disabled": p.text} if p else None


@form("collection")
def move_out_of_tests(c: Commit, rng: random.Random) -> Change | None:
    p = pick(c, rng)
    return {p.path: None, "docs/examples/" + p.path.rpartition("/")[2].replace("test_", "example_"): p.text} if p else None


@form("collection")
def shadow_assign(c: Commit, rng: random.Random) -> Change | None:
    p = pick(c, rng, lambda q: q.cls is None)
    return append(p, [f"{p.func.name} = None"]) if p else None


@form("collection")
def del_test(c: Commit, rng: random.Random) -> Change | None:
    p = pick(c, rng, lambda q: q.cls is None)
    return append(p, [f"del {p.func.name}"]) if p else None


@form("collection")
def redefine_noop(c: Commit, rng: random.Random) -> Change | None:
    p = pick(c, rng, lambda q: q.cls is None)
    return append(p, [f"def {p.func.name}():", "    pass"]) if p else None


@form("collection")
def module_dunder_test(c: Commit, rng: random.Random) -> Change | None:
    p = pick(c, rng)
    return append(p, ["__test__ = False"]) if p else None


@form("collection")
def class_dunder_test(c: Commit, rng: random.Random) -> Change | None:
    p = pick(c, rng, lambda q: q.cls is not None)
    if not p:
        return None
    return {p.path: _splice_class(p, "__test__ = False")}


def _splice_class(p: Pick, line: str) -> str:
    lines = p.lines
    first = p.cls.body[0]
    decorators = getattr(first, "decorator_list", [])
    at = decorators[0].lineno - 1 if decorators else first.lineno - 1
    indent = re.match(r"\s*", lines[first.lineno - 1]).group(0)
    return "\n".join(lines[:at] + [indent + line] + lines[at:])


@form("collection")
def class_rename(c: Commit, rng: random.Random) -> Change | None:
    p = pick(c, rng, lambda q: q.cls is not None and not q.cls.bases)
    if not p:
        return None
    lines = p.lines
    idx = p.cls.lineno - 1
    lines[idx] = lines[idx].replace(f"class {p.cls.name}", f"class Check{p.cls.name[4:]}", 1)
    return {p.path: "\n".join(lines)}


@form("collection")
def decorator_to_none(c: Commit, rng: random.Random) -> Change | None:
    p = pick(c, rng, lambda q: q.cls is None)
    if not p:
        return None
    return decorate(p, "@_retired", prelude=("", "", "def _retired(fn):", "    return None", ""))


@form("collection")
def nested_in_if(c: Commit, rng: random.Random) -> Change | None:
    p = pick(c, rng, lambda q: q.cls is None and not q.func.decorator_list)
    if not p:
        return None
    lines = p.lines
    start, end = p.func.lineno - 1, p.func.end_lineno
    body = ["if __name__ == '__main__':"] + ["    " + ln if ln.strip() else ln for ln in lines[start:end]]
    return {p.path: "\n".join(lines[:start] + body + lines[end:])}


# --- the other families live in guard_forms2 (module size) ---------------------------------------------------

import guard_forms2  # noqa: E402,F401  (registers its forms)
import guard_forms3  # noqa: E402,F401

__all__ = ["FORMS", "ast", "called_unit", "inject_source", "literal_calls", "params", "source_def", "add_param"]
