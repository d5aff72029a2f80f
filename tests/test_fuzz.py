"""Property-based fuzzing of tool-call parsing, the shell policy, edit application and the loop (modest sizes for CI).

bench/fuzz.py runs the same properties on more than 10,000 cases.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fuzzcases import (
    Sandbox,
    broken_json,
    check_apply_edit,
    check_edit_file,
    check_litellm,
    check_llamacpp,
    check_loop,
    check_scripted,
    check_shell,
    edit_lists,
    edits,
    json_values,
    raw_calls,
    replies,
    shell_lines,
    texts,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

FAST = settings(max_examples=150, deadline=None, database=None, suppress_health_check=list(HealthCheck))
SLOW = settings(max_examples=40, deadline=None, database=None, suppress_health_check=list(HealthCheck))


@pytest.fixture(scope="module")
def sandbox() -> Sandbox:
    return Sandbox()


@FAST
@given(raw_calls)
def test_scripted_parsing_never_raises(raw: Any) -> None:
    check_scripted(raw)


@FAST
@given(json_values | st.binary(max_size=20), broken_json() | json_values | st.binary(max_size=20), st.booleans())
def test_litellm_parsing_never_raises(name: Any, args: Any, has_function: bool) -> None:
    check_litellm(name, args, has_function)


@FAST
@given(
    broken_json(st.fixed_dictionaries({"thought": json_values, "name": json_values, "arguments": json_values}))
    | broken_json(),
    st.sampled_from([None, "stop", "length"]),
)
def test_llamacpp_parsing_never_raises(text: str, finish: str | None) -> None:
    check_llamacpp(text, finish)


@FAST
@given(shell_lines)
def test_shell_policy_never_raises(sandbox: Sandbox, command: str) -> None:
    check_shell(sandbox.root, command)


@FAST
@given(st.none() | texts, edits)
def test_apply_edit_returns_text_or_tool_error(text: str | None, edit: dict[str, Any]) -> None:
    check_apply_edit(text, edit)


@SLOW
@given(edit_lists)
def test_failed_edits_leave_files_byte_identical(sandbox: Sandbox, raw_edits: list[dict[str, Any]]) -> None:
    check_edit_file(sandbox, raw_edits)


@SLOW
@given(st.lists(replies, min_size=1, max_size=5))
def test_the_loop_survives_any_model_output(sandbox: Sandbox, script: list[Any]) -> None:
    check_loop(sandbox, script)


def test_the_properties_can_fail(sandbox: Sandbox, tmp_path: Path) -> None:
    """Guard against properties that cannot fail: a corrupting edit and a crashing parser are caught."""
    import agent.tools.edit as edit_module

    real = edit_module.apply_edit
    edit_module.apply_edit = lambda text, edit: (text or "") + "garbage"  # type: ignore[assignment]
    try:
        with pytest.raises(AssertionError):
            check_edit_file(sandbox, [{"path": "a.py", "old": "return a - b\n\n\n", "new": "x", "replace_all": False}])
    finally:
        edit_module.apply_edit = real
