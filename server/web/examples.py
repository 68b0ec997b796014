"""Example SPARQL queries of the query UI: one ``.rq`` file each in ``queries/``.

The files are package data. Each starts with comment lines, then the query, which declares
its own prefixes so that it runs unchanged in other SPARQL tools::

    # Title: Who communicated with whom
    # Question: Which people or parties met, spoke or negotiated with each other, and how?
    # Article (line 1): "The foreign ministers of Azerbaijan and Armenia ... met."
    # Expected: kg:ceyhun-bayramov | Ceyhun Bayramov | kgo:metWith | kg:zohrab-mnatsakanyan | …
    PREFIX kgo: <https://w3id.org/karabakh-kg/ontology#>
    SELECT …

``# Expected:`` lines are rows the answer must include (cells separated by ``|``, IRIs as
CURIEs, literals by their lexical form, ``*`` for any value; a CONSTRUCT's rows are its
triples); ``tests/test_examples.py`` runs every file against the curated data. The file
name (``01-negotiations.rq``) gives the order and the id (``/query?example=negotiations``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from importlib import resources

QUERY_FOLDER = "queries"
_NAME = re.compile(r"^\d+-(?P<id>[a-z0-9-]+)\.rq$")


@dataclass(frozen=True)
class Example:
    """One example query: a short id, a title, what it answers, the SPARQL text, and rows
    its answer must include."""

    id: str
    title: str
    question: str
    sparql: str
    expected: tuple[tuple[str, ...], ...]


class ExampleError(ValueError):
    """An example file without its title, question, expected rows or query."""


def parse_example(example_id: str, text: str) -> Example:
    """The example in ``text`` (a ``.rq`` file as described in the module docs)."""
    fields: dict[str, str] = {}
    expected: list[tuple[str, ...]] = []
    lines = text.splitlines()
    body = 0
    for number, line in enumerate(lines):
        if not line.startswith("#"):
            body = number
            break
        key, sep, value = line[1:].strip().partition(":")
        if not sep:
            continue
        if key == "Expected":
            expected.append(tuple(cell.strip() for cell in value.split("|")))
        elif key in ("Title", "Question"):
            fields[key] = value.strip()
    else:
        body = len(lines)
    sparql = "\n".join(lines[body:]).strip() + "\n"
    missing = [k for k in ("Title", "Question") if k not in fields]
    if missing or not expected or not sparql.strip():
        what = ", ".join(
            missing + ([] if expected else ["Expected"]) + ([] if sparql.strip() else ["the query"])
        )
        raise ExampleError(f"example {example_id!r} lacks {what}")
    return Example(example_id, fields["Title"], fields["Question"], sparql, tuple(expected))


@cache
def load_examples() -> tuple[Example, ...]:
    """Every example of the installed package, in file-name order."""
    folder = resources.files("karabakh_kg.server.web").joinpath(QUERY_FOLDER)
    found = []
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        match = _NAME.match(entry.name)
        if match:
            found.append(parse_example(match["id"], entry.read_text(encoding="utf-8")))
    return tuple(found)


EXAMPLES: tuple[Example, ...] = load_examples()


def by_id(example_id: str) -> Example:
    """The example with this id (``KeyError`` if none)."""
    for example in EXAMPLES:
        if example.id == example_id:
            return example
    raise KeyError(example_id)
