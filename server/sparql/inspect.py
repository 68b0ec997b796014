r"""A light look at SPARQL text before it is sent to a worker: form, dataset clauses, depth.

The query engine parses the query for real; this linear scan of the tokens outside
strings, comments and IRIs only finds what the server needs first:

* the query form (``SELECT``, ``ASK``, ``CONSTRUCT``, ``DESCRIBE``) or an update keyword,
  for content negotiation and to send updates to the update endpoint;
* whether ``FROM`` / ``FROM NAMED`` clauses are present;
* how deeply brackets nest, so that texts the engines cannot take are refused first
  (pyoxigraph's parser overflows its stack, and kills the worker, some thousands deep).

Tokens are the SPARQL grammar's terminals: IRIs may hold ``\u`` escapes, as pyoxigraph
reads them (without them, ``<http://a/\u0041#x>`` would end at the ``\`` and the rest
of the line read as a comment). One terminal depends on where it stands: ``<`` opens an
IRI, or is the less-than operator inside an expression, and ``FILTER(?a<?b)…#>`` may be
read either way. So where an IRI stands inside parentheses after an operand and holds a
bracket, a quote or ``#`` (what could change the reading of the rest), the depth counted
from there on is an upper bound: every opening bracket of the rest of the text.

Whether a text may call out (``SERVICE``, ``LOAD``) is not decided here but by the one
parse of :mod:`karabakh_kg.server.sparql.guard`, in the worker (which says why a scan
cannot decide it).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

QUERY_FORMS = ("SELECT", "ASK", "CONSTRUCT", "DESCRIBE")
UPDATE_KEYWORDS = frozenset(
    {"INSERT", "DELETE", "LOAD", "CLEAR", "CREATE", "DROP", "COPY", "MOVE", "ADD", "WITH"}
)

_TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<comment>\#[^\r\n]*)
  | (?P<iri><(?:[^<>"{}|^`\\\x00-\x20]|\\u[0-9A-Fa-f]{4}|\\U[0-9A-Fa-f]{8})*>)
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


_OPENING = re.compile(r"[({\[]")
_AFTER_NO_OPERAND = frozenset("({[,;=!<>&|+-*/^")
"""Tokens after which ``<`` cannot be the less-than operator (no operand before it)."""
_CHANGES_READING = re.compile(r"[()\['#\]]")


def inspect(text: str) -> Inspection:
    """Scan SPARQL query or update text (see the module documentation)."""
    result = Inspection()
    brackets: list[str] = []  # open brackets; "D" for a VALUES data block
    values_block = False  # a VALUES keyword waits for its data block
    previous: Token | None = None
    bounded = False  # the depth of the rest is bounded by its opening brackets
    for match in _TOKEN.finditer(text):
        kind = match.lastgroup or "other"
        if kind in {"ws", "comment"}:
            continue
        token = Token(kind, match.group())
        if kind == "other" and token.text in "({[":
            brackets.append("D" if token.text == "{" and values_block else token.text)
            values_block = values_block and token.text != "{"
            result.depth = max(result.depth, len(brackets))
        elif kind == "other" and token.text in ")}]":
            if brackets:
                brackets.pop()
        elif kind == "iri" and not bounded and _may_compare(brackets, previous, token):
            # Read as an operator, the IRI's text is code: count every bracket from here
            # (once: this bound is at least any later one, and the scan stays linear).
            rest = len(_OPENING.findall(text, match.start()))
            result.depth = max(result.depth, len(brackets) + rest)
            bounded = True
        upper = token.text.upper() if kind == "word" else ""
        if upper == "VALUES":
            values_block = True
        if result.form is None:
            if upper in QUERY_FORMS:
                result.form = upper
            elif upper in UPDATE_KEYWORDS:
                result.form = "UPDATE"
        if upper == "FROM" and result.form != "UPDATE":
            result.has_dataset_clause = True
        previous = token
    return result


def _may_compare(brackets: list[str], previous: Token | None, iri: Token) -> bool:
    """Whether ``iri`` could also be read as ``<`` comparing, with a different reading of
    what follows: inside parentheses (where expressions are), after an operand, holding a
    bracket, a quote or ``#``."""
    if not brackets or brackets[-1] != "(" or "D" in brackets or previous is None:
        return False  # data blocks (VALUES) hold terms only
    if previous.kind == "other" and previous.text in _AFTER_NO_OPERAND:
        return False
    return _CHANGES_READING.search(iri.text) is not None


_DATA_WORDS = frozenset({"PREFIX", "BASE", "INSERT", "DELETE", "DATA"})


def data_as_insert(text: str) -> str | None:
    """For an update made only of ``INSERT DATA`` and ``DELETE DATA`` operations without
    blank nodes or ``GRAPH``: the same text with every ``DELETE DATA`` written ``INSERT
    DATA``, which, run on an empty store, lists every triple the update names (the only
    triples such an update can change). None for any other update."""
    pieces: list[str] = []
    level = 0
    last = ""  # the previous significant word outside the data blocks
    done = 0
    for match in _TOKEN.finditer(text):
        kind = match.lastgroup or "other"
        token = match.group()
        if kind in {"ws", "comment"}:
            continue
        if kind == "var":
            return None
        if kind == "other":
            if token in "[(":
                return None  # blank nodes
            if token == "{":
                if last != "DATA":
                    return None
                level += 1
            elif token == "}":
                level -= 1
            continue
        if kind == "word":
            upper = token.upper()
            if upper in {"GRAPH", "_"}:
                return None
            if level == 0:
                if upper not in _DATA_WORDS:
                    return None
                if last in {"INSERT", "DELETE"} and upper != "DATA":
                    return None
                if upper == "DELETE":
                    pieces.append(text[done : match.start()] + "INSERT")
                    done = match.end()
                last = upper
        elif kind == "pname" and token.startswith("_:"):
            return None
    if last in {"INSERT", "DELETE"}:
        return None
    return "".join(pieces) + text[done:]
