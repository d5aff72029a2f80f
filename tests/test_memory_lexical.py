"""The BM25 side of hybrid recall: terms, incremental updates, scores and the full-match share."""

from __future__ import annotations

from agent.memory.anchors import mentioned_paths, mentions
from agent.memory.lexical import LexicalIndex, terms


def test_terms_split_identifiers_and_paths_and_drop_plurals_and_stop_words() -> None:
    assert terms("Use assertQuerySetEqual in the tests") == [
        "use", "assertquerysetequal", "assert", "query", "set", "equal", "test"]
    assert terms("docs/releases/5.2.txt and E501") == ["docs", "releas", "txt", "e501", "501"]
    assert terms("deprecate deprecated deprecation formatting formats") == ["deprec"] * 3 + ["format"] * 2
    assert terms("find_stack_level") == ["find_stack_level", "find", "stack", "level"]


def test_bm25_ranks_the_note_with_the_rare_words_first_and_follows_updates() -> None:
    ix = LexicalIndex()
    ix.add("a", "run the tests with make test")
    ix.add("b", "flake8 reports E501 when a line is longer than 88 characters")
    ix.add("c", "the tests use pytest fixtures")
    scores = ix.scores("E501 line too long")
    assert max(scores, key=scores.__getitem__) == "b" and "a" not in scores
    ix.add("b", "nothing about lines any more")
    assert "b" not in ix.scores("E501")
    ix.remove("c")
    assert ix.scores("fixtures") == {} and len(ix) == 2


def test_the_full_match_share_is_small_when_only_a_common_word_matches() -> None:
    ix = LexicalIndex()
    ix.add("telemetry", "Chromadb telemetry must stay off")
    ix.add("lazy", "Import heavy libraries such as chromadb inside the functions that use them")
    share = ix.scores("why is chromadb imported lazily")["telemetry"] / ix.ideal("why is chromadb imported lazily")
    assert share < 0.3
    whole = ix.scores("chromadb telemetry off")["telemetry"] / ix.ideal("chromadb telemetry off")
    assert whole > 0.8


def test_paths_a_note_names_match_the_files_they_cover() -> None:
    text = ("Add a release note in docs/releases/<version>.txt, regenerate Modules/clinic/*.c.h, see "
            "docs/internals/deprecation.txt. Tests live in docs/ and https://example.com/a/b is a link.")
    named = mentioned_paths(text)
    assert named == ["docs/releases/", "Modules/clinic/", "docs/internals/deprecation.txt"]
    assert mentions(named, "docs/releases/5.2.txt") and mentions(named, "Modules/clinic/posixmodule.c.h")
    assert mentions(named, "django/docs/internals/deprecation.txt")
    assert not mentions(named, "docs/index.txt") and not mentions(named, "docs/internals/other.txt")


def test_relevant_keeps_the_hits_within_the_margin_of_the_best_and_over_the_floor() -> None:
    from agent.memory.context import relevant

    hits = [{"id": i, "score": s} for i, s in [("best", 1.1), ("implied", 0.88), ("far", 0.8), ("low", 0.35)]]
    assert [h["id"] for h in relevant(hits)] == ["best", "implied"]  # 0.22 below the best comes along
    assert [h["id"] for h in relevant(hits[2:])] == ["far"]  # the floor (0.4) drops the last
    assert relevant([]) == []
