"""SPARQL SELECT results written piece by piece from an iterator of solutions.

pyoxigraph serializes a whole ``QuerySolutions`` iterator and cannot stop at a row
cap or a byte cap, so the endpoint writes solutions with these functions, in the W3C
formats: JSON (sparql11-results-json), XML (rdf-sparql-XMLres), CSV and TSV
(sparql11-results-csv-tsv). ``PIECES[name]`` yields the document's head, one piece per
row and its tail, so the worker can count rows and bytes as it goes and send the answer
on in chunks that end where a row ends; ``WRITERS[name]`` joins them into one body.
Tests check them against pyoxigraph's own serializer and parser.
"""

from __future__ import annotations

import csv
import functools
import io
import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

import pyoxigraph as ox

Row = Sequence[Any]
XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"
RDF_LANG_STRING = "http://www.w3.org/1999/02/22-rdf-syntax-ns#langString"
RDF_DIR_LANG_STRING = "http://www.w3.org/1999/02/22-rdf-syntax-ns#dirLangString"


def _json_term(term: Any) -> dict[str, Any]:
    if isinstance(term, ox.NamedNode):
        return {"type": "uri", "value": term.value}
    if isinstance(term, ox.BlankNode):
        return {"type": "bnode", "value": term.value}
    if isinstance(term, ox.Literal):
        out: dict[str, Any] = {"type": "literal", "value": term.value}
        if term.language:
            out["xml:lang"] = term.language
            direction = getattr(term, "direction", None)
            if direction is not None:
                out["its:dir"] = str(direction.value if hasattr(direction, "value") else direction)
        elif term.datatype.value != XSD_STRING:
            out["datatype"] = term.datatype.value
        return out
    if isinstance(term, ox.Triple):
        return {
            "type": "triple",
            "value": {
                "subject": _json_term(term.subject),
                "predicate": _json_term(term.predicate),
                "object": _json_term(term.object),
            },
        }
    raise TypeError(f"unexpected term {term!r}")


def json_pieces(variables: Sequence[str], rows: Iterable[Row]) -> Iterator[str]:
    names = json.dumps(list(variables), ensure_ascii=False, separators=(",", ":"))
    yield '{"head":{"vars":' + names + '},"results":{"bindings":['
    separator = ""
    for row in rows:
        binding = {
            name: _json_term(value)
            for name, value in zip(variables, row, strict=True)
            if value is not None
        }
        yield separator + json.dumps(binding, ensure_ascii=False, separators=(",", ":"))
        separator = ","
    yield "]}}"


@functools.cache
def _xml_escapes() -> tuple[Callable[[str], str], Callable[[str], str]]:
    """``xml.sax.saxutils``' escape and quoteattr, imported for the first XML answer only:
    that module imports ``urllib.request`` (and with it the HTTP and e-mail packages), a
    cost every command and worker start paid otherwise."""
    from xml.sax.saxutils import escape, quoteattr

    return escape, quoteattr


def _xml_term(term: Any) -> str:
    escape, quoteattr = _xml_escapes()
    if isinstance(term, ox.NamedNode):
        return f"<uri>{escape(term.value)}</uri>"
    if isinstance(term, ox.BlankNode):
        return f"<bnode>{escape(term.value)}</bnode>"
    if isinstance(term, ox.Literal):
        if term.language:
            return f"<literal xml:lang={quoteattr(term.language)}>{escape(term.value)}</literal>"
        if term.datatype.value != XSD_STRING:
            return (
                f"<literal datatype={quoteattr(term.datatype.value)}>{escape(term.value)}</literal>"
            )
        return f"<literal>{escape(term.value)}</literal>"
    if isinstance(term, ox.Triple):
        return (
            f"<triple><subject>{_xml_term(term.subject)}</subject>"
            f"<predicate>{_xml_term(term.predicate)}</predicate>"
            f"<object>{_xml_term(term.object)}</object></triple>"
        )
    raise TypeError(f"unexpected term {term!r}")


def xml_pieces(variables: Sequence[str], rows: Iterable[Row]) -> Iterator[str]:
    quoteattr = _xml_escapes()[1]
    head = ['<?xml version="1.0"?><sparql xmlns="http://www.w3.org/2005/sparql-results#"><head>']
    head.extend(f"<variable name={quoteattr(name)}/>" for name in variables)
    head.append("</head><results>")
    yield "".join(head)
    for row in rows:
        parts = ["<result>"]
        for name, value in zip(variables, row, strict=True):
            if value is not None:
                parts.append(f"<binding name={quoteattr(name)}>{_xml_term(value)}</binding>")
        parts.append("</result>")
        yield "".join(parts)
    yield "</results></sparql>"


def _csv_value(term: Any) -> str:
    if term is None:
        return ""
    if isinstance(term, ox.BlankNode):
        return f"_:{term.value}"
    if isinstance(term, ox.Triple):
        return str(term)
    return str(term.value)


def csv_pieces(variables: Sequence[str], rows: Iterable[Row]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")

    def line(cells: Sequence[str]) -> str:
        buffer.seek(0)
        buffer.truncate()
        writer.writerow(cells)
        return buffer.getvalue()

    yield line(variables)
    for row in rows:
        yield line([_csv_value(value) for value in row])


def tsv_pieces(variables: Sequence[str], rows: Iterable[Row]) -> Iterator[str]:
    # TSV cells are terms in Turtle/N-Triples syntax, which str() of a pyoxigraph term gives.
    yield "\t".join(f"?{name}" for name in variables) + "\n"
    for row in rows:
        yield "\t".join("" if value is None else str(value) for value in row) + "\n"


Pieces = Callable[[Sequence[str], Iterable[Row]], Iterator[str]]
PIECES: dict[str, Pieces] = {
    "json": json_pieces,
    "xml": xml_pieces,
    "csv": csv_pieces,
    "tsv": tsv_pieces,
}


def _joined(pieces: Pieces) -> Callable[[Sequence[str], Sequence[Row]], bytes]:
    def write(variables: Sequence[str], rows: Sequence[Row]) -> bytes:
        return "".join(pieces(variables, rows)).encode()

    return write


WRITERS: dict[str, Callable[[Sequence[str], Sequence[Row]], bytes]] = {
    name: _joined(pieces) for name, pieces in PIECES.items()
}
