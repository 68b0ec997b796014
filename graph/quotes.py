"""Locate verbatim quotes in the seed article.

Every curated evidence unit quotes the seed with ``prov:value`` and names the 1-based line
where the quote occurs with ``kgo:line``; these helpers answer where a quote really is.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from karabakh_kg.ontology import vocab


@lru_cache(maxsize=4)
def _read(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def seed_text(path: Path | None = None) -> str:
    """The seed article as text (UTF-8, byte for byte)."""
    return _read(path or vocab.seed_file())


def quote_lines(quote: str, text: str | None = None) -> list[int]:
    """The 1-based lines of the seed on which an occurrence of ``quote`` starts (may be empty)."""
    if not quote:
        return []
    source = seed_text() if text is None else text
    lines: list[int] = []
    start = source.find(quote)
    while start != -1:
        lines.append(source.count("\n", 0, start) + 1)
        start = source.find(quote, start + 1)
    return sorted(set(lines))


def near_miss(quote: str, text: str | None = None) -> str | None:
    """A hint for a quote that is not in the seed: the longest prefix of it that is."""
    source = seed_text() if text is None else text
    low, high = 0, len(quote)
    while low < high:
        middle = (low + high + 1) // 2
        if quote[:middle] in source:
            low = middle
        else:
            high = middle - 1
    if low < 8:
        return None
    return f"the seed has {quote[:low]!r} but then differs at {quote[low : low + 20]!r}"
