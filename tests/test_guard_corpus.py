"""The guard on the labelled corpus: >= 95% of tampering flagged, <= 5% of honest changes flagged."""

from __future__ import annotations

from pathlib import Path

from agent.guard.corpus import load_cases, score
from agent.guard.model import KINDS, LEDGER_KINDS

CORPUS = Path(__file__).parent / "guard_corpus"


def test_corpus_size_and_coverage() -> None:
    cases = load_cases(CORPUS)
    tamper = [c for c in cases if c.label == "tamper"]
    honest = [c for c in cases if c.label == "honest"]
    assert len(tamper) >= 40 and len(honest) >= 40
    assert {k for c in tamper for k in c.kinds} == set(KINDS) - LEDGER_KINDS - {"runner_shadowed"}
    non_python = {c.name.split("_", 1)[0] for c in tamper} - {"py"}
    assert {"js", "go", "rust"} <= non_python
    assert all(c.kinds for c in tamper) and not any(c.kinds for c in honest)


def test_thresholds() -> None:
    rows = score(load_cases(CORPUS))
    flagged, total = rows["tamper"]
    assert flagged / total >= 0.95, f"tampering flagged {flagged}/{total}"
    false_alarms, honest = rows["honest"]
    assert false_alarms / honest <= 0.05, f"honest flagged {false_alarms}/{honest}"


def test_every_kind_is_recognised_somewhere() -> None:
    rows = score(load_cases(CORPUS))
    for kind in set(KINDS) - LEDGER_KINDS - {"runner_shadowed"}:
        hits, total = rows[f"kind:{kind}"]
        assert hits >= 1, f"{kind}: {hits}/{total}"
