"""A small BM25 index over the notes' words, kept beside the embeddings for hybrid recall.

Terms are lower-cased words and the sub-words of identifiers and paths (`assertQuerySetEqual` gives
assertquerysetequal, assert, query, set, equal; `docs/releases/5.2.txt` gives docs, releases, txt), with
a light plural stemming and a short stop list. The index is updated note by note, so a write costs one
note's tokenising; a query visits only the postings of its own terms, and very common terms (in more
than a fifth of a large store) are skipped, as they rank nothing.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable
from functools import lru_cache

K1, B = 1.2, 0.75
RARE = 64  # a term held by at most this many notes is scored on all of them (see LexicalIndex.scores)
COMMON = 0.2  # skip terms found in more than this share of the notes (when there are 50 or more)
_WORD = re.compile(r"[A-Za-z0-9]+(?:[_'][A-Za-z0-9]+)*")
_PART = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+")
STOP = frozenset(
    "a an and are as at be but by can do does don for from has have how i if in into is it its me my no not of on "
    "or our so that the their them then there these this to too was we what when where which why will with you "
    "your s t ll ve re".split()
)


_SUFFIXES = ("ations", "ation", "ating", "ated", "ates", "ate", "ings", "ing", "ies", "ed", "es", "s", "e")
_KEEP = ("ss", "us", "is")


@lru_cache(maxsize=1 << 16)  # a store's vocabulary is small; its words repeat
def stem(word: str) -> str:
    """A light suffix stemmer, so that deprecate, deprecated and deprecation, or format, formats and
    formatting, meet: the first of a few endings is cut when at least four letters stay, and a doubled
    final consonant is undone (formatt -> format)."""
    if len(word) <= 4 or word.endswith(_KEEP) or not word.isalpha():
        return word
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 4:
            word = word[: -len(suffix)] + ("y" if suffix == "ies" else "")
            if word[-1] == word[-2] and word[-1] not in "aeiouls":
                word = word[:-1]
            return word
    return word


def terms(text: str) -> list[str]:
    """The index terms of a text (see the module docstring)."""
    out: list[str] = []
    for raw in _WORD.findall(text):
        low = raw.lower().replace("'", "")
        pieces = [p.lower() for chunk in re.split(r"[_']", raw) for p in _PART.findall(chunk)]
        for term in dict.fromkeys([low, *pieces]) if len(pieces) > 1 else [low]:
            term = stem(term)
            if len(term) > 1 and term not in STOP:
                out.append(term)
    return out


class LexicalIndex:
    """BM25 over note texts, updated per note."""

    def __init__(self) -> None:
        self.postings: dict[str, dict[str, int]] = {}
        self.lengths: dict[str, int] = {}
        self.doc_terms: dict[str, list[str]] = {}
        self.total = 0

    def __len__(self) -> int:
        return len(self.lengths)

    def add(self, note_id: str, text: str) -> None:
        """Index (or re-index) one note."""
        self.remove(note_id)
        counts = Counter(terms(text))
        for term, tf in counts.items():
            self.postings.setdefault(term, {})[note_id] = tf
        self.doc_terms[note_id] = list(counts)
        self.lengths[note_id] = length = sum(counts.values())
        self.total += length

    def remove(self, note_id: str) -> None:
        """Drop a note (no-op when absent)."""
        length = self.lengths.pop(note_id, None)
        if length is None:
            return
        self.total -= length
        for term in self.doc_terms.pop(note_id, []):
            del self.postings[term][note_id]
            if not self.postings[term]:
                del self.postings[term]

    def idf(self, term: str) -> float:
        """Inverse document frequency (a term no note has gets the highest)."""
        n, df = len(self.lengths), len(self.postings.get(term, ()))
        return math.log(1 + (n - df + 0.5) / (df + 0.5))

    def ideal(self, query: str) -> float:
        """The score of a note of average length holding each query term once: what a full match scores."""
        n = len(self.lengths)
        return sum(self.idf(t) for t in set(terms(query))
                   if not (n >= 50 and len(self.postings.get(t, ())) > COMMON * n))

    def scores(self, query: str, candidates: set[str] | None = None) -> dict[str, float]:
        """note id -> BM25 score for the notes sharing a term with `query`.

        With `candidates`, a term held by more than RARE notes scores only the candidates and the notes
        that rarer query terms matched (so a query costs at most a few thousand look-ups at any size).
        """
        n = len(self.lengths)
        if not n:
            return {}
        avg = self.total / n or 1.0
        out: dict[str, float] = {}
        wanted = [(len(self.postings[t]), t) for t in set(terms(query)) if t in self.postings]
        for df, term in sorted(wanted):
            if n >= 50 and df > COMMON * n:
                continue
            ids = self.postings[term]
            idf = math.log(1 + (n - df + 0.5) / (df + 0.5))
            if candidates is None or df <= RARE:
                visit: Iterable[str] = ids
            else:
                visit = [i for i in candidates.union(out) if i in ids]
            for note_id in visit:
                tf = ids[note_id]
                norm = K1 * (1 - B + B * self.lengths[note_id] / avg)
                out[note_id] = out.get(note_id, 0.0) + idf * tf * (K1 + 1) / (tf + norm)
        return out
