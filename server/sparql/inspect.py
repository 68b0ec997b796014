"""A light look at SPARQL text before it is run: its form, dataset clauses, SERVICE calls.

The query engine parses the query for real; this scanner only needs the tokens that
matter for safety and content negotiation, outside strings, comments and IRIs:

* the query form (``SELECT``, ``ASK``, ``CONSTRUCT``, ``DESCRIBE``) or an update keyword;
* whether ``FROM`` / ``FROM NAMED`` clauses are present;
* every ``SERVICE`` endpoint, resolved against ``BASE`` and the prefixes, so that calls
  outside the allowlist are refused before any request is made;
* ``LOAD`` in updates (which would fetch from the web);
* how deeply brackets nest, so that texts the engines cannot take are refused first.

Whether a text may call out is not decided here but from a real parse
(:mod:`karabakh_kg.server.sparql.guard`, in the worker).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urljoin

QUERY_FORMS = ("SELECT", "ASK", "CONSTRUCT", "DESCRIBE")
UPDATE_KEYWORDS = frozenset(
    {"INSERT", "DELETE", "LOAD", "CLEAR", "CREATE", "DROP", "COPY", "MOVE", "ADD", "WITH"}
)

_TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<comment>\#[^\r\n]*)
  | (?P<iri><[^<>"{}|^`\\\x00-\x20]*>)
  | (?P<string>\"\"\"(?:[^"\\]|\\.|"(?!""))*\"\"\"
              | '''(?:[^'\\]|\\.|'(?!''))*'''
              | "(?:[^"\\\r\n]|\\.)*"
              | '(?:[^'\\\r\n]|\\.)*')
  | (?P<var>[?$][^\W][\w\u00b7\u0300-\u036f\u203f-\u2040]*)
  | (?P<pname>(?:[^\W\d_][\w.\-]*)?:(?:[\w\-:%]|\\.|\.(?=[\w\-:%]))*)
  | (?P<word>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<other>.)
    """,
    re.VERBOSE | re.DOTALL,
)


@dataclass
class Token:
    kind: str
    text: str


@dataclass
class Inspection:
    """What the scanner found in one request's SPARQL text."""

    form: str | None = None
    """``SELECT``/``ASK``/``CONSTRUCT``/``DESCRIBE``, ``UPDATE``, or None if not recognised."""
    has_dataset_clause: bool = False
    services: list[str] = field(default_factory=list)
    """Resolved SERVICE endpoint IRIs (``?var`` for a variable endpoint)."""
    loads: list[str] = field(default_factory=list)
    """Resolved IRIs of ``LOAD`` operations."""
    depth: int = 0
    """Deepest nesting of ``(``, ``{`` and ``[`` outside strings, comments and IRIs."""

    @property
    def is_update(self) -> bool:
        return self.form == "UPDATE"

    @property
    def returns_graph(self) -> bool:
        return self.form in {"CONSTRUCT", "DESCRIBE"}


def tokens(text: str) -> list[Token]:
    """The significant tokens of ``text`` (whitespace and comments dropped)."""
    found = []
    for match in _TOKEN.finditer(text):
        kind = match.lastgroup or "other"
        if kind in {"ws", "comment"}:
            continue
        found.append(Token(kind, match.group()))
    return found


def inspect(text: str, default_prefixes: Mapping[str, str] | None = None) -> Inspection:
    """Scan SPARQL query or update text (see the module documentation)."""
    prefixes = dict(default_prefixes or {})
    base = ""
    result = Inspection()
    items = tokens(text)

    def resolve(token: Token) -> str:
        if token.kind == "iri":
            iri = token.text[1:-1]
            return urljoin(base, iri) if base else iri
        if token.kind == "pname":
            name, _, local = token.text.partition(":")
            if name not in prefixes:
                return token.text  # undeclared: the engine will reject the query
            return prefixes[name] + re.sub(r"\\(.)", r"\1", local)
        return token.text

    level = 0
    for token in items:
        if token.kind == "other":
            if token.text in "({[":
                level += 1
                result.depth = max(result.depth, level)
            elif token.text in ")}]":
                level -= 1
    index = 0
    while index < len(items):
        token = items[index]
        upper = token.text.upper() if token.kind == "word" else ""
        nxt = items[index + 1] if index + 1 < len(items) else None
        if upper == "BASE" and nxt is not None and nxt.kind == "iri":
            base = resolve(nxt)
            index += 2
            continue
        if upper == "PREFIX" and nxt is not None and nxt.kind == "pname":
            after = items[index + 2] if index + 2 < len(items) else None
            if after is not None and after.kind == "iri":
                prefixes[nxt.text.rstrip(":").partition(":")[0]] = resolve(after)
                index += 3
                continue
        if result.form is None:
            if upper in QUERY_FORMS:
                result.form = upper
            elif upper in UPDATE_KEYWORDS:
                result.form = "UPDATE"
        if upper == "FROM" and result.form != "UPDATE":
            result.has_dataset_clause = True
        if upper in {"SERVICE", "LOAD"}:
            target = index + 1
            if target < len(items) and items[target].text.upper() == "SILENT":
                target += 1
            endpoint = resolve(items[target]) if target < len(items) else ""
            (result.services if upper == "SERVICE" else result.loads).append(endpoint)
        index += 1
    return result
