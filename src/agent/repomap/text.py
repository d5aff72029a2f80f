"""Words for lexical ranking: identifiers split into sub-words, lightly stemmed, stopwords dropped."""

from __future__ import annotations

import re

WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
WORD_BYTES = re.compile(rb"[A-Za-z_][A-Za-z0-9_]*")
_HUMPS = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|[0-9]+")

STOPWORDS = frozenset(
    """a an and are as at be been but by can could did do does doesn don done for from had has have how i if in
    into is it its it's just may me more must my no not of on or our should so some such than that the their them
    then there these they this those to too under up us was we were what when where which while who why will with
    would you your also all any each only other same very via get set new use used using""".split()
)

_cache: dict[str, tuple[str, ...]] = {}
_part_cache: dict[str, tuple[str, ...]] = {}
_CACHE_MAX = 500_000


def stem(word: str) -> str:
    """A light suffix stemmer, the same for documents and queries (plurals, -ing, -ed)."""
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 5 and word.endswith("ing"):
        return word[:-3]
    if len(word) > 4 and word.endswith("ed") and not word.endswith("eed"):
        return word[:-2]
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def _part(low: str) -> tuple[str, ...]:
    """The term of one lower-case part: its stem, or nothing for stopwords, numbers and single letters."""
    hit = _part_cache.get(low)
    if hit is None:
        hit = () if len(low) < 2 or low.isdigit() or low in STOPWORDS else (stem(low),)
        if len(_part_cache) < _CACHE_MAX:
            _part_cache[low] = hit
    return hit


def subwords(token: str) -> tuple[str, ...]:
    """Terms of one identifier: its stemmed lower-case parts, plus the whole name when it has several."""
    hit = _cache.get(token)
    if hit is not None:
        return hit
    if token.isalpha() and (token.islower() or token[1:].islower()):  # a plain word: no sub-words
        result = _part(token.lower())
    else:
        low = token.lower()
        if token == low:  # snake_case: the chunks are the parts, unless letters and digits mix
            chunks = token.split("_")
            parts = [p for c in chunks if c for p in ((c,) if c.isalpha() else _HUMPS.findall(c))]
        else:
            parts = [p.lower() for chunk in token.split("_") for p in _HUMPS.findall(chunk)]
        terms = [t for p in parts for t in _part(p)]
        whole = low.strip("_")
        if len(parts) > 1 and len(whole) > 2:
            terms.append(whole)
        result = tuple(terms)
    if len(_cache) < _CACHE_MAX:
        _cache[token] = result
    return result


def term_counts(words: dict[str, int]) -> dict[str, int]:
    """Fold raw word counts into term frequencies."""
    out: dict[str, int] = {}
    get = _cache.get
    for word, n in words.items():
        terms = get(word)
        if terms is None:
            terms = subwords(word)
        for term in terms:
            out[term] = out.get(term, 0) + n
    return out


def path_terms(path: str) -> set[str]:
    """Terms of a file path: the sub-words of its directories, stem and extension-less name."""
    stem_part = path.rsplit(".", 1)[0] if "." in path.rsplit("/", 1)[-1] else path
    return {t for w in WORD.findall(stem_part) for t in subwords(w)}
