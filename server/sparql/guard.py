r"""The one parse that decides whether SPARQL text may reach the network.

pyoxigraph has its own HTTP client: it calls ``SERVICE`` endpoints and fetches ``LOAD``
sources itself, with no hook to refuse a call. So before the store evaluates a text that
could call out, the text is parsed with rdflib's SPARQL 1.1 grammar, ``PREFIX`` and
``BASE`` resolved, and every ``SERVICE`` and ``LOAD`` is found at any depth (subqueries,
``OPTIONAL``, ``UNION``, ``EXISTS``, ``SILENT`` or not). The same parse gives the query's
``FROM`` / ``FROM NAMED`` graphs, which the endpoint needs when it leaves graphs out of
the dataset. This runs in the query worker (:func:`checked_text` is called by
:func:`karabakh_kg.server.sparql.protocol.run_job`), so it is bounded by the query's time
limit and never holds up another request.

Why the decision is sound:

* pyoxigraph only recognises keywords spelled out (a ``\u`` escape is not allowed in a
  keyword; ``tests/test_sparql_guard.py`` checks it), so a text in which ``service`` (or,
  for an update, ``load``) does not occur in any case cannot call out and is not parsed;
* the text is parsed **as sent**: rdflib's own entry points expand ``\u`` escapes
  everywhere before parsing, pyoxigraph only inside IRIs and strings, so the two could
  read different texts (``"a\u005c" SERVICE <…>`` is a string then a ``SERVICE`` for
  pyoxigraph, one string for rdflib after expansion). Unexpanded, an escape inside a
  string or IRI does not parse and the text is refused; one in a comment is a comment for
  both;
* a text that mentions the keyword and does not parse is refused.

Why a private copy of rdflib's grammar: rdflib's ``ServiceGraphPattern`` records the
clause's text by searching the whole query from its start, and that search skips the rest
of a line after any ``#``, even one inside an IRI; a valid one-line query
``… <http://www.w3.org/2000/01/rdf-schema#label> … SERVICE <…> { … }`` then fails to
parse, and the search costs a scan of the whole text per clause. The copy (made once per
process, rdflib's module untouched) renames that element, which turns the search off, and
records where each clause starts instead.

Why a parse, and not one scan of the tokens deciding everything before execution (the text
is read three times: :mod:`~karabakh_kg.server.sparql.inspect` scans it in the server for
the form, ``FROM`` and the nesting depth; this module parses it in the worker when it
mentions ``service`` or ``load``; pyoxigraph parses it to evaluate it). A scan would decide
soundly only if its tokens were exactly pyoxigraph's, and two of pyoxigraph's readings
depend on the grammar, not on the characters alone (both are bypass cases of
``tests/test_sparql_guard.py``, made with pyoxigraph 0.5 against a listening socket):

* ``<`` opens an IRI, or is less-than inside an expression.
  ``FILTER(?a<?b)SERVICE:x#>`` then a new line and ``{ … }``: a scanner reads the IRI
  ``<?b)SERVICE:x#>``; pyoxigraph reads ``?a < ?b``, calls ``SERVICE :x``, and ``#>`` is a
  comment. Which reading holds depends on whether the parentheses are an expression or
  an RDF collection, which only the grammar says.
* keywords need no boundary: ``?s ?p 1.5e5SERVICE <…> { … }`` is the number ``1.5e5`` and
  a call for pyoxigraph (rdflib's keywords need one, so the text does not parse and is
  refused), while a scanner of words sees the word ``e5SERVICE``.

A scan made sound would have to follow the grammar (an LL(1) parser of SPARQL 1.1's
productions, of the size of rdflib's), or refuse every text where any spelling of the
keywords is not plainly a keyword, string, comment, IRI, variable or prefixed name, which
refuses ordinary queries. The parse needs no such rules, and rewriting is checked by
parsing again. It would go if pyoxigraph let the caller decide calls (oxigraph's Rust
``QueryOptions::with_service_handler`` is not exposed in pyoxigraph 0.5): the engine's own
parse would then be the one that decides. The scan keeps what it can decide soundly: the
depth is an upper bound of pyoxigraph's nesting (see its module docs); the form routes the
request, and a ``FROM`` it would miss at worst gives way to the request's dataset (dataset
clauses name local graphs only: they never connect).

``SERVICE SILENT`` to an endpoint outside the allowlist keeps its SPARQL meaning (a failed
silent call is one empty solution, Federated Query 4.1) without any connection: its
endpoint is replaced by an IRI without an authority, which pyoxigraph cannot call, and
the rewritten text is checked again.
"""

from __future__ import annotations

import copy
import functools
import re
import sys
import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

MENTIONS_SERVICE = re.compile("service", re.IGNORECASE)
MENTIONS_LOAD = re.compile("load", re.IGNORECASE)
MENTIONS_FROM = re.compile("from", re.IGNORECASE)
REFUSED_ENDPOINT = "urn:karabakh-kg:service-not-allowed"
"""What a refused ``SERVICE SILENT`` endpoint becomes: no authority, so no connection."""
PARSE_RECURSION_LIMIT = 40_000
_SERVICE_NODE = "KarabakhGuardedService"
_GAP = re.compile(r"(?:\s+|#[^\r\n]*)*")
_PNAME_END = re.compile(r"[\s{#]")


class GuardError(ValueError):
    """The text could not be parsed to check it."""


class Refusal(Exception):
    """A remote call that is not allowed; ``kind`` is the problem code."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message


@dataclass(frozen=True)
class ServiceCall:
    endpoint: str
    """The resolved IRI, or ``?name`` for a variable endpoint."""
    silent: bool
    start: int
    """Offset of the ``SERVICE`` keyword in the text."""


@dataclass(frozen=True)
class Parsed:
    """What a parse found: remote calls and the query's own dataset."""

    calls: tuple[ServiceCall, ...] = ()
    loads: tuple[str, ...] = ()
    """Resolved ``LOAD`` sources."""
    from_default: tuple[str, ...] = ()
    """``FROM`` graphs."""
    from_named: tuple[str, ...] = ()
    """``FROM NAMED`` graphs."""

    @property
    def services(self) -> tuple[str, ...]:
        return tuple(call.endpoint for call in self.calls)

    @property
    def has_dataset_clause(self) -> bool:
        return bool(self.from_default or self.from_named)


def endpoint_allowed(endpoint: str, allowlist: Sequence[str]) -> bool:
    """Whether a ``SERVICE`` call to ``endpoint`` is allowed by ``allowlist``.

    An entry is an exact IRI, or a prefix ending in ``*`` that allows IRIs starting with it
    *on the same scheme and host*: ``http://127.0.0.1:8000*`` does not allow
    ``http://127.0.0.1:8000.evil.example/`` nor ``http://127.0.0.1:8000@evil.example/``.
    """
    for entry in allowlist:
        if entry.endswith("*"):
            prefix = entry[:-1]
            if endpoint.startswith(prefix) and _origin(endpoint) == _origin(prefix):
                return True
        elif endpoint == entry:
            return True
    return False


def _origin(iri: str) -> tuple[str, str]:
    parts = urlsplit(iri)
    return parts.scheme.lower(), parts.netloc.lower()


def may_call_out(text: str, *, update: bool) -> bool:
    """Whether ``text`` could hold a ``SERVICE`` (or, for an update, a ``LOAD``)."""
    if MENTIONS_SERVICE.search(text):
        return True
    return update and MENTIONS_LOAD.search(text) is not None


_GRAMMAR_LOCK = threading.Lock()
"""Held while parsing: in a worker, only the warm-up thread and the current job parse."""


def warm_up() -> None:
    """Build the grammar and parse once, so that a worker's first check is not slow
    (workers call it in a background thread once they are ready)."""
    parse("SELECT * WHERE { SERVICE SILENT <urn:x:y> { ?s ?p ?o } } LIMIT 1", {})
    parse("INSERT { ?s ?p ?o } WHERE { SERVICE <urn:x:y> { ?s ?p ?o } }", {}, update=True)


@functools.cache
def _build_grammar() -> tuple[Any, Any]:
    """rdflib's query and update grammars, copied, with the SERVICE text search off."""
    from rdflib.plugins.sparql import parser

    memo: dict[int, Any] = {}
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, 20_000))  # the grammar is deeply recursive
    try:
        query, update = copy.deepcopy((parser.Query, parser.UpdateUnit), memo)
    finally:
        sys.setrecursionlimit(limit)
    service = memo[id(parser.ServiceGraphPattern)]
    service.name = _SERVICE_NODE  # Comp.postParse searches the text only for its own name

    def record_start(instring: str, loc: int, tokens: Any) -> None:
        tokens[0]["start"] = loc

    service.add_parse_action(record_start)
    return query, update


def parse(text: str, prefixes: Mapping[str, str], *, update: bool = False) -> Parsed:
    """Parse ``text`` as sent (a query, or an update when ``update``); what it calls.

    Raises :class:`GuardError` with the parser's message when it does not parse.
    """
    with _GRAMMAR_LOCK:  # pyparsing keeps state while parsing; one job per worker anyway
        return _parse(text, prefixes, update)


def _parse(text: str, prefixes: Mapping[str, str], update: bool) -> Parsed:
    from rdflib.plugins.sparql.algebra import translatePName, translatePrologue, traverse

    query_grammar, update_grammar = _build_grammar()
    # pyparsing recurses some 100 frames per nesting level; the endpoint refuses texts
    # nested deeper than KARABAKH_KG_MAX_QUERY_DEPTH (200) first, which this allows.
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, PARSE_RECURSION_LIMIT))
    try:
        parts: list[tuple[Any, Any]]
        if update:
            request = update_grammar.parse_string(text, parse_all=True)[0]
            parts = list(zip(request.prologue or [], request.request or [], strict=False))
        else:
            tree = query_grammar.parse_string(text, parse_all=True)
            parts = [(tree[0], tree[1])]
        resolved = []
        prologue = None
        for head, body in parts:
            prologue = translatePrologue(head, None, dict(prefixes), prologue)
            resolved.append(
                traverse(body, visitPost=functools.partial(translatePName, prologue=prologue))
            )
    except RecursionError:
        raise GuardError("the text is nested too deeply to be checked") from None
    except Exception as error:  # pyparsing and rdflib raise many kinds
        raise GuardError(_one_line(error)) from None
    finally:
        sys.setrecursionlimit(limit)
    calls: list[ServiceCall] = []
    loads: list[str] = []
    from_default: list[str] = []
    from_named: list[str] = []
    for body in resolved:
        for node in _nodes(body):
            name = getattr(node, "name", None)
            if name == _SERVICE_NODE:
                silent = _field(node, "silent") is not None
                calls.append(
                    ServiceCall(_term(_field(node, "term")), silent, _field(node, "start"))
                )
            elif name == "Load":
                loads.append(_term(_field(node, "iri")))
        if not update:
            for clause in _field(body, "datasetClause") or []:
                if _field(clause, "default") is not None:
                    from_default.append(_term(_field(clause, "default")))
                if _field(clause, "named") is not None:
                    from_named.append(_term(_field(clause, "named")))
    calls.sort(key=lambda call: call.start)
    return Parsed(tuple(calls), tuple(loads), tuple(from_default), tuple(from_named))


def checked_text(
    text: str, prefixes: Mapping[str, str], allowlist: Sequence[str], *, update: bool
) -> tuple[str, Parsed | None]:
    """The text to evaluate, and its parse when one was needed.

    Raises :class:`Refusal` (``service-not-checked``, ``service-not-allowed``,
    ``load-not-allowed``) before anything could be sent. A ``SERVICE SILENT`` outside the
    allowlist is rewritten so that it fails without a connection (see the module docs).
    """
    if not may_call_out(text, update=update):
        return text, None
    parsed = _parse_to_check(text, prefixes, update)
    if parsed.loads:
        raise Refusal(
            "load-not-allowed", "LOAD is not allowed: this server never fetches data from the web"
        )
    silenced: list[ServiceCall] = []
    for call in parsed.calls:
        if call.endpoint.startswith(("?", "$")):
            raise Refusal(
                "service-not-allowed",
                f"SERVICE with a variable endpoint ({call.endpoint}) is not allowed: "
                "name the endpoint with an IRI",
            )
        if endpoint_allowed(call.endpoint, allowlist):
            continue
        if not call.silent:
            listed = ", ".join(allowlist) or "none"
            raise Refusal(
                "service-not-allowed",
                f"SERVICE <{call.endpoint}> is not in this server's allowlist "
                f"(KARABAKH_KG_SERVICE_ALLOWLIST; allowed: {listed})",
            )
        silenced.append(call)
    if not silenced:
        return text, parsed
    rewritten = _silence(text, silenced)
    again = _parse_to_check(rewritten, prefixes, update)
    if len(again.calls) != len(parsed.calls) or not all(
        call.endpoint == REFUSED_ENDPOINT or endpoint_allowed(call.endpoint, allowlist)
        for call in again.calls
    ):
        raise Refusal(
            "service-not-checked",
            "the SERVICE SILENT clauses of this text could not be read unambiguously; "
            "write them plainly (SERVICE SILENT <https://…> { … })",
        )
    return rewritten, parsed


def _parse_to_check(text: str, prefixes: Mapping[str, str], update: bool) -> Parsed:
    try:
        return parse(text, prefixes, update=update)
    except GuardError as error:
        raise Refusal(
            "service-not-checked",
            "the text mentions SERVICE or LOAD and could not be parsed to check where it "
            f"would connect: {error}",
        ) from None


def _silence(text: str, calls: Sequence[ServiceCall]) -> str:
    """``text`` with the endpoint of each of ``calls`` replaced by :data:`REFUSED_ENDPOINT`."""
    pieces = []
    position = 0
    for call in calls:
        start = _skip_gap(text, call.start + len("SERVICE"))
        start = _skip_gap(text, start + len("SILENT"))
        if text.startswith("<", start):
            end = text.index(">", start) + 1
        else:
            found = _PNAME_END.search(text, start)
            end = found.start() if found else len(text)
        pieces.append(text[position:start])
        pieces.append(f"<{REFUSED_ENDPOINT}>")
        position = end
    pieces.append(text[position:])
    return "".join(pieces)


def _skip_gap(text: str, position: int) -> int:
    """The offset after the white space and comments at ``position``."""
    gap = _GAP.match(text, position)
    return gap.end() if gap else position


def query_dataset(text: str, prefixes: Mapping[str, str]) -> Parsed | None:
    """The parse of a query's ``FROM`` / ``FROM NAMED`` (None when the text has no ``from``)."""
    if not MENTIONS_FROM.search(text):
        return None
    return parse(text, prefixes)


_POSITION = re.compile(r"^error at (\d+):(\d+): ")
_PNAME_BEFORE = re.compile(r"([A-Za-z][\w.\-]*)?:[\w.\-%\\]*$")


def explain_syntax_error(message: str, text: str, prefixes: Mapping[str, str]) -> str:
    """pyoxigraph's syntax error, with a readable message for an undeclared prefix.

    pyoxigraph reports an unknown prefix as "expected one of Prefix not found" and a dump
    of character ranges; this names the prefix, where it is, and the prefixes that may be
    used without declaring them. Other messages are returned unchanged. (Shared by the
    endpoint and the command line.)
    """
    position = _POSITION.match(message)
    if position is None or "Prefix not found" not in message:
        return message
    line_number, column = int(position.group(1)), int(position.group(2))
    lines = text.splitlines() or [""]
    line = lines[line_number - 1] if 0 < line_number <= len(lines) else ""
    found = _PNAME_BEFORE.search(line[: max(0, column - 1)])
    if found is None:
        return message
    prefix = found.group(1) or ""
    start = found.start() + 1
    name = line[found.start() :].split()[0] if line[found.start() :].split() else prefix + ":"
    known = ", ".join(f"{p}:" for p in sorted(prefixes)) or "none"
    return (
        f"unknown prefix '{prefix}:' at line {line_number}, column {start} (in {name}); "
        f"declare it (PREFIX {prefix}: <…>) or use a predeclared prefix: {known}"
    )


def _field(node: Any, key: str) -> Any:
    # rdflib's CompValue.get returns the key itself when it is missing: read the dict.
    return dict.get(node, key) if isinstance(node, dict) else None


def _term(term: Any) -> str:
    from rdflib.term import URIRef, Variable

    if isinstance(term, Variable):
        return "?" + str(term)
    if isinstance(term, URIRef):
        return str(term)
    return repr(term)  # not an IRI: never on an allowlist


def _nodes(tree: Any) -> Iterator[Any]:
    """Every parse-tree node under ``tree`` (CompValues, lists, ParseResults), iteratively."""
    from pyparsing import ParseResults

    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):  # rdflib's CompValue is an OrderedDict
            yield node
            stack.extend(node.values())
        elif isinstance(node, (list, tuple, ParseResults)):
            stack.extend(node)


def _one_line(error: BaseException) -> str:
    text = " ".join(str(error).split())
    return text[:300] or type(error).__name__
