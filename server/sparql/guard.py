r"""The decision whether SPARQL text may reach the network, from the one reading of it.

pyoxigraph has its own HTTP client: it calls ``SERVICE`` endpoints and fetches ``LOAD``
sources itself, with no hook to refuse a call (oxigraph's Rust
``QueryOptions::with_service_handler`` is not exposed in pyoxigraph 0.5, nor is its parse).
So before the store evaluates a text that could call out, the text is read with the
SPARQL 1.1 grammar by :func:`karabakh_kg.server.sparql.inspect.inspect`, the same reading
the server uses for the form, the dataset clauses and the nesting depth, which finds every
``SERVICE`` and ``LOAD`` at any depth (subqueries, ``OPTIONAL``, ``UNION``, ``EXISTS``,
``SILENT`` or not); here their endpoints are resolved (``PREFIX``, ``BASE``, ``\u``
escapes) and checked against the allowlist. The same reading gives the query's ``FROM`` /
``FROM NAMED`` graphs, which the endpoint needs when it leaves graphs out of the dataset.
This runs in the query worker (:func:`checked_text` is called by
:func:`karabakh_kg.server.sparql.protocol.run_job`), right before evaluation, so no other
process's decision is trusted. The one evaluation outside a worker, of an update made of
``INSERT DATA`` / ``DELETE DATA`` alone (found by a scan of its data blocks), is done only
for a text naming neither ``load`` nor ``service``, so that scan never decides a call.

Why the decision is sound:

* pyoxigraph only recognises keywords spelled out (a ``\u`` escape is not allowed in a
  keyword; ``tests/test_sparql_guard.py`` checks it), so a text in which ``service`` (or,
  for an update, ``load``) does not occur in any case cannot call out and is not read;
* the reading's tokens are the engine's where it matters: escapes are read where the
  engine reads them (in IRIs and strings, not before parsing), ``<`` is an IRI only where
  the grammar lets an IRI stand, keywords need no boundary (``1.5e5SERVICE``); the
  inspect module says how;
* a text that mentions the keyword and does not follow the grammar is refused, and so is
  one whose ``SERVICE SILENT`` rewriting does not read back as the same calls.

Where a scan of tokens cannot decide, and so was not kept: ``FILTER(?a<?b)SERVICE:x#>``
(``<`` is less-than there; a scanner reads an IRI and misses the call) and
``?s ?p 1.5e5SERVICE <…>`` (a scanner of words sees ``e5SERVICE``); both are bypass cases
of ``tests/test_sparql_guard.py``, made with pyoxigraph against a listening socket.

``SERVICE SILENT`` to an endpoint outside the allowlist keeps its SPARQL meaning (a failed
silent call is one empty solution, Federated Query 4.1) without any connection: its
endpoint, where the reading found it, is replaced by an IRI without an authority, which
pyoxigraph cannot call, and the rewritten text is read and checked again.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urljoin, urlsplit

if TYPE_CHECKING:
    from karabakh_kg.server.sparql.inspect import Reference

MENTIONS_SERVICE = re.compile("service", re.IGNORECASE)
MENTIONS_LOAD = re.compile("load", re.IGNORECASE)
MENTIONS_FROM = re.compile("from", re.IGNORECASE)
REFUSED_ENDPOINT = "urn:karabakh-kg:service-not-allowed"
"""What a refused ``SERVICE SILENT`` endpoint becomes: no authority, so no connection."""
_ESCAPE = re.compile(r"\\u([0-9A-Fa-f]{4})|\\U([0-9A-Fa-f]{8})")
_LOCAL_ESCAPE = re.compile(r"\\(.)")
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:")


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
    endpoint_start: int = 0
    endpoint_end: int = 0
    """Where the endpoint (IRI, prefixed name or variable) stands in the text."""


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


def warm_up() -> None:
    """Build the parser and read texts of each kind, so that a worker's first check is not
    slow (workers call it in a background thread once they are ready)."""
    from karabakh_kg.server.sparql.inspect import warm_up as warm_up_reading

    warm_up_reading()
    parse("SELECT * WHERE { SERVICE SILENT <urn:x:y> { ?s ?p ?o } } LIMIT 1", {})


def parse(text: str, prefixes: Mapping[str, str], *, update: bool = False) -> Parsed:
    """Read ``text`` as sent (a query, or an update when ``update``); what it calls, with
    every endpoint and source resolved.

    Raises :class:`GuardError` saying why when the text does not follow the grammar, is
    not of the kind asked for, or uses a prefix that is declared nowhere.
    """
    # Imported here: a worker's first job, for a text that cannot call out, needs no
    # grammar (lark and the pickled parser cost 0.05-0.14 s at a server's first answer).
    from karabakh_kg.server.sparql.inspect import inspect

    inspection = inspect(text)
    if inspection.error is not None:
        raise GuardError(inspection.error)
    if update and inspection.form not in {"UPDATE", None}:
        raise GuardError(f"this is a {inspection.form} query, not an update")
    if not update and (inspection.form is None or inspection.is_update):
        raise GuardError("this is an update, not a query")
    calls = sorted(
        (
            ServiceCall(
                _resolve(clause.endpoint, prefixes),
                clause.silent,
                clause.start,
                clause.endpoint.start,
                clause.endpoint.end,
            )
            for clause in inspection.services
        ),
        key=lambda call: call.start,
    )
    return Parsed(
        tuple(calls),
        tuple(_resolve(source, prefixes) for source in inspection.loads),
        tuple(_resolve(graph, prefixes) for graph in inspection.from_default),
        tuple(_resolve(graph, prefixes) for graph in inspection.from_named),
    )


def _resolve(reference: Reference, prefixes: Mapping[str, str]) -> str:
    """The IRI ``reference`` names as pyoxigraph reads it (``?name`` for a variable):
    prefixes expanded, escapes read, relative IRIs resolved against the ``BASE`` in force."""
    if reference.kind == "VAR":
        return "?" + reference.text[1:]
    base: str | None = None
    declared = dict(prefixes)
    for declaration in reference.prologue:
        iri = _join(base, _unescape(declaration.iri))
        if declaration.kind == "BASE":
            base = iri
        else:
            declared[declaration.name] = iri
    if reference.kind == "IRIREF":
        return _join(base, _unescape(reference.text[1:-1]))
    prefix, _, local = reference.text.partition(":")
    if prefix not in declared:
        raise GuardError(f"the prefix '{prefix}:' of {reference.text} is not declared")
    return declared[prefix] + _LOCAL_ESCAPE.sub(r"\1", local)


def _unescape(iri: str) -> str:
    return _ESCAPE.sub(lambda found: chr(int(found.group(1) or found.group(2), 16)), iri)


def _join(base: str | None, iri: str) -> str:
    """``iri`` resolved against ``base`` (RFC 3986, strictly: a reference with a scheme is
    absolute, where ``urljoin`` would read ``http:x`` against an ``http`` base as relative).
    A base ``urljoin`` cannot use leaves the reference relative: never on an allowlist."""
    if base is None or _SCHEME.match(iri):
        return iri
    return urljoin(base, iri)


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
        pieces.append(text[position : call.endpoint_start])
        pieces.append(f"<{REFUSED_ENDPOINT}>")
        position = call.endpoint_end
    pieces.append(text[position:])
    return "".join(pieces)


def query_dataset(text: str, prefixes: Mapping[str, str]) -> Parsed | None:
    """The parse of a query's ``FROM`` / ``FROM NAMED`` (None when the text has no ``from``)."""
    if not MENTIONS_FROM.search(text):
        return None
    return parse(text, prefixes)


_POSITION = re.compile(r"^error at (\d+):(\d+): ")
_DIGITS = re.compile(r"\['0'\s*\.\.=\s*'9'\]")
_NAME_CHARACTERS = re.compile(r"\['A'\s*\.\.=\s*'Z'[^\]]*\]")
_ANY_CHARACTER = re.compile(r"\[_\], |(?:, )?\[_\]")  # first, or after another


def _tidy_expectations(message: str) -> str:
    """pyoxigraph's expectations in words, on one line: its parser names character classes
    by their Unicode ranges (several lines of them for the letters a name may start with)
    and any character as ``[_]``, which says nothing and is left out.

    >>> _tidy_expectations("error at 1:6: expected one of [_], '{'")
    "error at 1:6: expected one of '{'"
    >>> _tidy_expectations("error at 1:6: expected one of '{', [_], '('")
    "error at 1:6: expected one of '{', '('"
    >>> _tidy_expectations("error at 1:6: expected [_]")
    'error at 1:6: expected more text'
    """
    message = _NAME_CHARACTERS.sub("a letter", _DIGITS.sub("a digit", message))
    message = _ANY_CHARACTER.sub("", message)
    message = re.sub(r"expected(?: one of)?\s*$", "expected more text", message.rstrip())
    return " ".join(message.split())


_PNAME_BEFORE = re.compile(r"([A-Za-z][\w.\-]*)?:[\w.\-%\\]*$")


def explain_syntax_error(message: str, text: str, prefixes: Mapping[str, str]) -> str:
    """pyoxigraph's syntax error, made readable: an undeclared prefix named, and any other
    error followed by the SPARQL 1.1 grammar's reading of the text where it has one.

    pyoxigraph reports an unknown prefix as "expected one of Prefix not found" and a dump
    of character ranges; this names the prefix, where it is, and the prefixes that may be
    used without declaring them. Its other messages name where its parser stopped, which
    is often past the mistake, and what it expected there as character classes (``SELEC``
    gives "error at 1:6: expected [_]"); the grammar's reading
    (:attr:`~karabakh_kg.server.sparql.inspect.Inspection.error`) names the first token
    that does not fit and the tokens that would. The engine's message comes first: it
    decides what is SPARQL (it reads some syntax beyond 1.1). (Shared by the endpoint and
    the command line.)
    """
    position = _POSITION.match(message)
    if position is None or "Prefix not found" not in message:
        from karabakh_kg.server.sparql.inspect import inspect

        reading = inspect(text).error
        message = _tidy_expectations(message)
        return message if reading is None else f"{message} ({reading})"
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
