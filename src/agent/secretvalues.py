"""Known secret values found again after a transform: any case, hex (plain or as xxd/hexdump show it),
base64, or a piece of 12 characters or more (`cut -c1-20`, half of a key).

Every search is linear in the text: the needles (a value and its encodings, ASCII-lowercased) are indexed
by their 6-character grams; the text is sampled every 6 characters, and each hit is extended both ways.
Any common run of WINDOW (12) characters contains a sampled position whose gram lies inside it, so
every such piece is found. Values shorter than WINDOW are searched whole.
"""

from __future__ import annotations

import base64
import math
import re
from collections import Counter

WINDOW = 12  # the shortest piece of a known secret that is redacted on its own
GRAM = WINDOW // 2
MIN_VALUE = 8
MAX_VALUES = 2000  # learned values kept (oldest dropped): a bound on memory and search time
LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")  # keeps every index
HEXDUMP = re.compile(  # an xxd / hexdump -C / od line: offset, then the hex columns (the ASCII column is text)
    r"(?m)^[0-9a-fA-F]{6,10}:?[ \t]+((?:[0-9a-fA-F]{2,4}[ \t]{1,2}){1,16}[0-9a-fA-F]{0,4})"
)
HEX_RUN = re.compile(r"[0-9a-fA-F]{12,}")


def entropy(value: str) -> float:
    """Shannon entropy in bits per character."""
    if not value:
        return 0.0
    counts = Counter(value)
    return -sum(c / len(value) * math.log2(c / len(value)) for c in counts.values())


def secret_like(value: str) -> bool:
    """Whether a value is specific enough that its pieces and encodings may be redacted (not a URL, path or word)."""
    v = value.strip()
    return (len(v) >= WINDOW and not any(c.isspace() for c in v) and "://" not in v and not v.startswith(("/", "~"))
            and entropy(v) >= 3.0)


def encodings(value: str) -> list[str]:
    """The needles of one value: itself, its hex, and the stable part of its base64 at each byte offset."""
    raw = value.encode()
    out = [value, raw.hex()]
    for shift in range(3):  # inside a longer base64 text the value starts at byte offset 0, 1 or 2 of a group
        encoded = base64.b64encode(b"\0" * shift + raw).decode()
        start = -(-shift * 4 // 3)  # the first character made of the value's bits only
        end = 4 * (shift + len(raw)) // 3  # after it, characters hold bits of whatever follows
        if end - start >= WINDOW:
            out.append(encoded[start:end])
    return [n.translate(LOWER) for n in out]


class KnownValues:
    """Secret values the redactor knows (the environment's, and those it found), searched in their encodings."""

    def __init__(self) -> None:
        self.kinds: dict[str, str] = {}  # value -> kind, insertion-ordered
        self.short: dict[str, str] = {}  # needle shorter than WINDOW -> kind
        self.grams: dict[str, list[tuple[str, int, str]]] = {}  # gram -> (needle, offset, kind)
        self.hex_needles = False

    def add(self, value: str, kind: str) -> None:
        """Know one more value (long enough ones in every encoding, the rest as they are)."""
        value = value.strip()
        if len(value) < MIN_VALUE or value in self.kinds:
            return
        if len(self.kinds) >= MAX_VALUES:
            self._rebuild(list(self.kinds.items())[MAX_VALUES // 2:])
        self.kinds[value] = kind
        self._index(value, kind)

    def _rebuild(self, keep: list[tuple[str, str]]) -> None:
        self.kinds, self.short, self.grams = {}, {}, {}
        for value, kind in keep:
            self.kinds[value] = kind
            self._index(value, kind)

    def _index(self, value: str, kind: str) -> None:
        needles = encodings(value) if secret_like(value) else [value.translate(LOWER)]
        for needle in needles:
            if len(needle) < WINDOW:
                self.short[needle] = kind
                continue
            for i in range(len(needle) - GRAM + 1):
                self.grams.setdefault(needle[i:i + GRAM], []).append((needle, i, kind))

    def spans(self, text: str) -> list[tuple[int, int, str]]:
        """(start, end, kind) of every known value, encoding or long piece of one in `text`."""
        if not self.kinds:
            return []
        lowered = text.translate(LOWER)
        found = [(s, e, k) for s, e, k in self._search(lowered)]
        for needle, kind in list(self.short.items()):  # a copy: another thread may learn meanwhile
            start = lowered.find(needle)
            while start >= 0:
                found.append((start, start + len(needle), kind))
                start = lowered.find(needle, start + len(needle))
        view, index = _hex_view(lowered)
        if view:
            found += [(index[s], index[e - 1] + 1, k) for s, e, k in self._search(view)]
        return found

    def _search(self, view: str) -> list[tuple[int, int, str]]:
        found: list[tuple[int, int, str]] = []
        grams, q, n = self.grams, 0, len(view)
        while q + GRAM <= n:
            best = (0, 0, "")
            for needle, offset, kind in grams.get(view[q:q + GRAM], ()):
                start, end = _extend(view, needle, q, offset)
                if end - start >= WINDOW and end - start > best[1] - best[0]:
                    best = (start, end, kind)
            if best[2]:
                found.append(best)
                q = max(q + GRAM, best[1] - best[1] % GRAM)
            else:
                q += GRAM
        return found


def _extend(view: str, needle: str, q: int, offset: int) -> tuple[int, int]:
    """The common run of `view` and `needle` around view[q:] == needle[offset:] (a gram long at least)."""
    i, j = q, offset
    while i > 0 and j > 0 and view[i - 1] == needle[j - 1]:
        i, j = i - 1, j - 1
    end, k = q + GRAM, offset + GRAM
    while end < len(view) and k < len(needle) and view[end] == needle[k]:
        end, k = end + 1, k + 1
    return i, end


def _hex_view(text: str) -> tuple[str, list[int]]:
    """The hex digits of hex dumps and long hex runs in `text`, joined, with each digit's index in `text`."""
    regions = [m.span(1) for m in HEXDUMP.finditer(text)] or [m.span() for m in HEX_RUN.finditer(text)]
    chars: list[str] = []
    index: list[int] = []
    for start, end in regions:
        for i in range(start, end):
            if text[i] in "0123456789abcdef":
                chars.append(text[i])
                index.append(i)
    return "".join(chars), index
