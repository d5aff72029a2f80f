"""Token counting with tiktoken's cl100k_base, offline.

tiktoken downloads its BPE file on first use unless it finds it in a cache directory. We never let it
reach the network: the file is looked up in TIKTOKEN_CACHE_DIR / DATA_GYM_CACHE_DIR / tiktoken's
default cache, then in the copy that litellm (a dependency) ships in its package data
(litellm_core_utils/tokenizers/, named by tiktoken's cache key). If none is found, tokens are
counted as UTF-8 bytes, an upper bound of any BPE count, so a budget still holds.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import tempfile
from collections.abc import Callable
from functools import cache
from pathlib import Path

_URL = "https://openaipublic.blob.core.windows.net/encodings/cl100k_base.tiktoken"
_KEY = hashlib.sha1(_URL.encode()).hexdigest()


def _cache_dirs() -> list[Path]:
    dirs = [os.environ.get("TIKTOKEN_CACHE_DIR"), os.environ.get("DATA_GYM_CACHE_DIR")]
    out = [Path(d) for d in dirs if d]
    out.append(Path(tempfile.gettempdir()) / "data-gym-cache")
    spec = importlib.util.find_spec("litellm")
    if spec is not None and spec.submodule_search_locations:
        for loc in spec.submodule_search_locations:
            out.append(Path(loc) / "litellm_core_utils" / "tokenizers")
    return out


def _batch_counter(enc: object) -> Callable[[list[str]], list[int]]:
    def count(texts: list[str]) -> list[int]:
        return [len(t) for t in enc.encode_ordinary_batch(texts)]  # type: ignore[attr-defined]

    return count


def _byte_counter(texts: list[str]) -> list[int]:
    return [len(t.encode("utf-8")) for t in texts]


@cache
def counter() -> tuple[Callable[[list[str]], list[int]], bool]:
    """(count a batch of texts, exact?) -- exact is False when only the byte fallback is available."""
    if importlib.util.find_spec("tiktoken") is None:  # a light install (no 'llm' extra): bytes
        return _byte_counter, False
    for d in _cache_dirs():
        if (d / _KEY).is_file():
            import tiktoken

            old = os.environ.get("TIKTOKEN_CACHE_DIR")
            os.environ["TIKTOKEN_CACHE_DIR"] = str(d)
            try:
                enc = tiktoken.get_encoding("cl100k_base")
            except Exception:  # a corrupt cache file: try the next place
                continue
            finally:
                if old is None:
                    os.environ.pop("TIKTOKEN_CACHE_DIR", None)
                else:
                    os.environ["TIKTOKEN_CACHE_DIR"] = old

            return _batch_counter(enc), True
    return _byte_counter, False


def count_tokens(text: str) -> int:
    """Tokens of `text` in cl100k_base (or its UTF-8 byte length when the tokenizer is unavailable)."""
    return counter()[0]([text])[0]
