r"""A real parse of the SPARQL text that could make the store reach the network.

pyoxigraph has its own HTTP client: it calls ``SERVICE`` endpoints and fetches ``LOAD``
sources itself, with no hook to refuse a call. So before a request reaches the store,
every ``SERVICE`` and ``LOAD`` is found from a parse with rdflib's SPARQL 1.1 grammar,
with ``PREFIX`` and ``BASE`` resolved, at any depth (subqueries, ``OPTIONAL``, ``UNION``,
``EXISTS``, ``SILENT`` or not). The same parse gives the query's ``FROM`` / ``FROM NAMED``
graphs, which the endpoint needs when it leaves graphs out of the dataset.

Why this is sound:

* pyoxigraph only recognises these keywords spelled out (a ``\u`` escape is not allowed
  in a keyword; ``tests/test_sparql_guard.py`` checks it), so a text in which
  ``service`` / ``load`` do not occur, in any case, cannot call out and is not parsed;
* a text in which they occur must parse, or it is refused; it may not hold ``\u``
  escapes, which rdflib expands everywhere before parsing and pyoxigraph does not;
* the parse must find at least as many ``SERVICE`` (and ``LOAD``) clauses as the token
  scanner of :mod:`sparql_inspect`, or the text is refused; the caller checks the
  endpoints that either of them found.
"""

from __future__ import annotations

import functools
import re
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from karabakh_kg.server.sparql.inspect import Inspection

MENTIONS_SERVICE = re.compile("service", re.IGNORECASE)
MENTIONS_LOAD = re.compile("load", re.IGNORECASE)
CODEPOINT_ESCAPE = re.compile(r"\\[uU]")

# pyparsing keeps global state while parsing: one parse at a time.
_PARSE_LOCK = threading.Lock()


class GuardError(ValueError):
    """The text names a remote call (or a dataset) that could not be checked."""


@dataclass(frozen=True)
class Parsed:
    """What a parse found: remote calls and the query's own dataset."""

    services: tuple[str, ...] = ()
    """Resolved SERVICE endpoints, in order; ``?name`` for a variable endpoint."""
    loads: tuple[str, ...] = ()
    """Resolved ``LOAD`` sources."""
    from_default: tuple[str, ...] = ()
    """``FROM`` graphs."""
    from_named: tuple[str, ...] = ()
    """``FROM NAMED`` graphs."""

    @property
    def has_dataset_clause(self) -> bool:
        return bool(self.from_default or self.from_named)


def may_call_out(text: str, *, update: bool) -> bool:
    """Whether ``text`` could hold a ``SERVICE`` (or, for an update, a ``LOAD``)."""
    if MENTIONS_SERVICE.search(text):
        return True
    return update and MENTIONS_LOAD.search(text) is not None


def parse(text: str, prefixes: Mapping[str, str], *, update: bool = False) -> Parsed:
    """Parse ``text`` (a query, or an update when ``update``) and list what it calls.

    Raises :class:`GuardError` with the parser's message when it does not parse.
    """
    return _parse(text, tuple(sorted(prefixes.items())), update)


@functools.cache
def _fix_rdflib_service_pattern() -> None:
    """Work around an rdflib parser bug, once per process.

    rdflib's ``Comp.postParse`` finds the text of a ``SERVICE`` clause by searching the
    whole query from its start; that search skips the rest of a line after any ``#``,
    even one inside an IRI (``<http://www.w3.org/2000/01/rdf-schema#label>``), so a
    ``SERVICE`` later on that line is not found and a valid query fails to parse. Here
    the clause's own text is taken from where the clause starts. Only the
    ``ServiceGraphPattern`` element changes; its result is what rdflib meant.
    """
    from pyparsing import original_text_for
    from rdflib.plugins.sparql import parser
    from rdflib.plugins.sparql.parserutils import CompValue, ParamValue

    element = parser.ServiceGraphPattern
    text_of = original_text_for(element.expr.copy())

    def post_parse(instring: str, loc: int, tokens: Any) -> CompValue:
        result = CompValue("ServiceGraphPattern")
        for token in tokens:
            if isinstance(token, ParamValue):
                if token.isList:
                    result.setdefault(token.name, []).append(token.tokenList)
                else:
                    result[token.name] = token.tokenList
        return result

    def add_text(instring: str, start: int, tokens: Any) -> None:
        found = text_of.search_string(instring[start:], max_matches=1)
        if found:
            tokens[0]["service_string"] = found[0][0]

    element.postParse = post_parse  # type: ignore[method-assign,assignment]
    element.add_parse_action(add_text)


@functools.lru_cache(maxsize=512)
def _parse(text: str, prefixes: tuple[tuple[str, str], ...], update: bool) -> Parsed:
    from rdflib.plugins.sparql.algebra import translatePName, translatePrologue, traverse
    from rdflib.plugins.sparql.parser import parseQuery, parseUpdate

    namespaces = dict(prefixes)
    _fix_rdflib_service_pattern()
    try:
        with _PARSE_LOCK:
            parts: list[tuple[Any, Any]]
            if update:
                request = parseUpdate(text)
                parts = list(zip(request.prologue or [], request.request or [], strict=False))
            else:
                query = parseQuery(text)
                parts = [(query[0], query[1])]
            resolved = []
            prologue = None
            for head, body in parts:
                prologue = translatePrologue(head, None, namespaces, prologue)
                resolved.append(
                    traverse(body, visitPost=functools.partial(translatePName, prologue=prologue))
                )
    except RecursionError:
        raise GuardError("the text is nested too deeply to be checked") from None
    except Exception as error:  # pyparsing and rdflib raise many kinds
        raise GuardError(_one_line(error)) from None
    services: list[str] = []
    loads: list[str] = []
    from_default: list[str] = []
    from_named: list[str] = []
    for body in resolved:
        for node in _nodes(body):
            name = getattr(node, "name", None)
            if name == "ServiceGraphPattern":
                services.append(_term(_field(node, "term")))
            elif name == "Load":
                loads.append(_term(_field(node, "iri")))
        if not update:
            for clause in _field(body, "datasetClause") or []:
                if _field(clause, "default") is not None:
                    from_default.append(_term(_field(clause, "default")))
                if _field(clause, "named") is not None:
                    from_named.append(_term(_field(clause, "named")))
    return Parsed(tuple(services), tuple(loads), tuple(from_default), tuple(from_named))


def remote_calls(
    text: str, prefixes: Mapping[str, str], scanned: Inspection, *, update: bool
) -> tuple[list[str], list[str]]:
    """Every SERVICE endpoint and LOAD source of ``text``: (services, loads).

    ``scanned`` is the token scanner's reading of the same text; the endpoints of both
    readings are returned. Raises :class:`GuardError` when the text names ``SERVICE``
    or ``LOAD`` and cannot be parsed, or when the two readings disagree.
    """
    services = list(scanned.services)
    loads = list(scanned.loads)
    if not may_call_out(text, update=update):
        return services, loads
    if CODEPOINT_ESCAPE.search(text):
        # rdflib expands \u escapes everywhere before parsing, pyoxigraph only inside
        # IRIs and strings: the two would not read the same text.
        raise GuardError(
            "a text with SERVICE or LOAD may not use \\u or \\U escapes: write the "
            "characters themselves (the request is UTF-8)"
        )
    try:
        parsed = parse(text, prefixes, update=update)
    except GuardError as error:
        raise GuardError(
            "the text mentions SERVICE or LOAD and could not be parsed to check where it "
            f"would connect: {error}"
        ) from None
    if len(parsed.services) < len(scanned.services) or len(parsed.loads) < len(scanned.loads):
        raise GuardError(
            "the SERVICE or LOAD clauses of this text could not be read unambiguously; "
            "write them plainly (SERVICE <https://…> { … })"
        )
    return _merge(services, parsed.services), _merge(loads, parsed.loads)


def _merge(first: list[str], second: tuple[str, ...]) -> list[str]:
    return list(dict.fromkeys([*first, *second]))


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
