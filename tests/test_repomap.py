"""build_map and find_symbol: ranking, budgets, focus, symbol look-up."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import init_repo
from hypothesis import given, settings
from hypothesis import strategies as st

from agent.errors import UsageError
from agent.repomap import build_map, find_symbol
from agent.repomap.rank import parse_query
from agent.repomap.tokens import count_tokens, counter

FILES = {
    "src/shop/cart.py": "class Cart:\n    def apply_discount(self, code):\n        return 0.9\n",
    "src/shop/payment.py": (
        "from shop.cart import Cart\n\ndef charge_card(cart: Cart):\n    return cart.apply_discount('x')\n"
    ),
    "src/shop/shipping.py": "def ship_order(order):\n    '''Send the parcel by courier.'''\n    return order\n",
    "tests/test_cart.py": (
        "from shop.cart import Cart\n\ndef test_apply_discount():\n    Cart().apply_discount('SAVE10')\n"
    ),
}


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return init_repo(tmp_path_factory.mktemp("shop") / "repo", FILES)


def test_tokenizer_is_exact_and_offline() -> None:
    count, exact = counter()
    assert exact, "cl100k_base must load from a local file"
    assert count(["hello world"]) == [2]


def test_query_words_rank_the_defining_file_first(shop: Path) -> None:
    assert build_map(shop, "apply_discount gives the wrong price").files[0][0] == "src/shop/cart.py"
    assert build_map(shop, "parcel courier").files[0][0] == "src/shop/shipping.py"


def test_tests_rank_below_source_but_stay_reachable(shop: Path) -> None:
    paths = [p for p, _ in build_map(shop, "apply discount", budget=2000).files]
    assert paths.index("tests/test_cart.py") > paths.index("src/shop/cart.py")
    assert "tests/test_cart.py" in paths


def test_mentioned_path_wins(shop: Path) -> None:
    assert build_map(shop, "something is off in shipping.py").files[0][0] == "src/shop/shipping.py"


def test_focus_files_lead(shop: Path) -> None:
    assert build_map(shop, "", focus=["src/shop/payment.py"]).files[0][0] == "src/shop/payment.py"


def test_empty_query_still_maps_the_repo(shop: Path) -> None:
    res = build_map(shop)
    assert {p for p, _ in res.files} == set(FILES)
    assert "class Cart" in res.text


def test_scores_are_best_first(shop: Path) -> None:
    scores = [s for _, s in build_map(shop, "cart discount", budget=4000).files]
    assert scores == sorted(scores, reverse=True)


@settings(max_examples=25, deadline=None)
@given(budget=st.integers(min_value=1, max_value=400), query=st.text(max_size=40))
def test_never_over_budget(shop: Path, budget: int, query: str) -> None:
    res = build_map(shop, query, budget=budget)
    assert res.tokens == count_tokens(res.text) <= budget
    assert all(p in res.text for p, _ in res.files)


def test_bad_budget_and_root(tmp_path: Path) -> None:
    with pytest.raises(UsageError):
        build_map(tmp_path, budget=0)
    with pytest.raises(UsageError):
        build_map(tmp_path / "missing")


def test_find_symbol_definitions_and_references(shop: Path) -> None:
    defs, refs = find_symbol(shop, "apply_discount")
    assert [(h.path, h.line, h.kind) for h in defs] == [("src/shop/cart.py", 2, "method")]
    assert ("src/shop/payment.py", 4) in [(h.path, h.line) for h in refs]
    assert ("src/shop/cart.py", 2) not in [(h.path, h.line) for h in refs]


def test_find_symbol_unknown(shop: Path) -> None:
    assert find_symbol(shop, "no_such_name_anywhere") == ([], [])


def test_parse_query_paths_and_code_words() -> None:
    q = parse_query("Fix `get_pager_file` in src/click/_termui_impl.py for HelpFormatter")
    assert "src/click/_termui_impl.py" in q.paths
    assert q.terms["pager"] == 2.0 and q.terms["formatter"] == 2.0
    assert "get_pager_file" in q.names


TIERED = {
    "src/app/views.py": "def render_page(request):\n    return make_client()\n",
    "tests/conftest.py": "import pytest\n\n@pytest.fixture\ndef make_client():\n    return object()\n",
    "tests/test_views.py": (
        "from app.views import render_page\n\n\nclass TestRenderPage:\n"
        "    def test_render_page_escapes_html(self):\n        assert render_page(None)\n"
    ),
}


def test_test_files_are_indexed_lexically_and_parsed_when_shown(tmp_path: Path) -> None:
    from agent.repomap.index import load_index
    from agent.repomap.tags import definitions

    repo = init_repo(tmp_path / "r", TIERED)
    index = load_index(repo)
    lexical = {p for i, p in enumerate(index.paths) if index.lexical_only(i)}
    assert lexical == {"tests/conftest.py", "tests/test_views.py"}
    i = index.paths.index("tests/test_views.py")
    assert index.defs(i) == definitions((repo / "tests/test_views.py").read_bytes(), "python")
    # a query naming the test shows its file in detail, with signatures from the parse
    res = build_map(repo, "test_render_page_escapes_html fails", budget=200)
    assert "tests/test_views.py" in [p for p, _ in res.files]
    assert "tests/test_views.py:\n  class TestRenderPage:\n    def test_render_page_escapes_html(self):" in res.text
    # in the one-line list a lexical-only file is its bare path
    listed = build_map(repo, "render_page view", budget=25).text
    assert "\ntests/test_views.py\n" in listed or listed.endswith("tests/test_views.py\n")


def test_find_symbol_finds_definitions_in_lexical_files(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "r", TIERED)
    defs, refs = find_symbol(repo, "make_client")
    assert [(h.path, h.line, h.text) for h in defs] == [
        ("tests/conftest.py", 4, "def make_client():")
    ]
    assert [(h.path, h.line) for h in refs] == [("src/app/views.py", 2)]


def test_top_files_show_the_lines_that_match(tmp_path: Path) -> None:
    files = {
        "pkg/parse.py": (
            "def parse(text):\n    if not text:\n        raise ValueError('empty header card value')\n"
            "    return text.split()\n"
        ),
        "pkg/other.py": "def unrelated():\n    return 2\n",
    }
    repo = init_repo(tmp_path / "r", files)
    res = build_map(repo, "ValueError: empty header card value when parsing", budget=300)
    assert res.files[0][0] == "pkg/parse.py"
    assert "pkg/parse.py:\n  def parse(text):\n    3| raise ValueError('empty header card value')\n" in res.text
    assert res.why["pkg/parse.py"]["rank"] == 1 and res.why["pkg/parse.py"]["signals"]["bm25"] > 0


def test_main_package_outranks_scripts_beside_it(tmp_path: Path) -> None:
    files = {f"pkg/mod{i}.py": f"def helper{i}():\n    return {i}\n" for i in range(4)}
    files["pkg/release.py"] = "def tag_release(version):\n    '''Tag the release version.'''\n    return version\n"
    files["scripts/release.py"] = "def tag_release(version):\n    '''Tag the release version.'''\n    return version\n"
    repo = init_repo(tmp_path / "repo", files)
    result = build_map(repo, "tag_release fails for the release version", budget=400)
    order = [p for p, _ in result.files]
    assert order.index("pkg/release.py") < order.index("scripts/release.py")
    assert "core" in result.why["pkg/release.py"]["signals"]
    assert "core" not in result.why["scripts/release.py"]["signals"]
