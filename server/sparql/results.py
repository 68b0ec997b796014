"""SPARQL SELECT results: the rows counted in pyoxigraph's own serialization, and written
piece by piece from an iterator of solutions.

An answer sent in one piece (the endpoint's) is written by pyoxigraph's serializer
(``QuerySolutions.serialize``) into a writer that counts the rows as the bytes go by
(:class:`RowCounter`: the serialization's own row marks, outside quoted strings), so that
the row cap holds exactly without a Python object per row, and the byte cap is checked on
the same bytes; so are CONSTRUCT and DESCRIBE answers in N-Triples and N-Quads (a line per
triple). A streamed answer (``karabakh-kg query``) must be cut where a row ends, in
chunks of at most a given size, which needs each row's place: ``PIECES[name]`` yields the
document's head, one piece per row and its tail, in the W3C formats: JSON
(sparql11-results-json), XML (rdf-sparql-XMLres), CSV and TSV (sparql11-results-csv-tsv);
``WRITERS[name]`` joins them into one body. Tests check them against pyoxigraph's own
serializer and parser.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
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


_XML_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&apos;"})
_XML_SPACE = " \t\n\r"


def _xml_text(value: str) -> str:
    """``value`` escaped as pyoxigraph's XML results writer escapes it, so that a streamed
    answer is byte for byte the one the engine writes in one piece: the five markup
    characters as entities, and white space at either end as character references."""
    escaped = value.translate(_XML_ESCAPES)
    lead = len(escaped) - len(escaped.lstrip(_XML_SPACE))
    if not lead and escaped[-1:] not in _XML_SPACE:  # ("" is in any string)
        return escaped
    trail = len(escaped) - len(escaped.rstrip(_XML_SPACE)) if lead < len(escaped) else 0

    def references(space: str) -> str:
        return "".join(f"&#{ord(char)};" for char in space)

    end = len(escaped) - trail
    return references(escaped[:lead]) + escaped[lead:end] + references(escaped[end:])


def _xml_term(term: Any) -> str:
    if isinstance(term, ox.NamedNode):
        return f"<uri>{_xml_text(term.value)}</uri>"
    if isinstance(term, ox.BlankNode):
        return f"<bnode>{_xml_text(term.value)}</bnode>"
    if isinstance(term, ox.Literal):
        text = _xml_text(term.value)
        if term.language:
            return f'<literal xml:lang="{_xml_text(term.language)}">{text}</literal>'
        if term.datatype.value != XSD_STRING:
            return f'<literal datatype="{_xml_text(term.datatype.value)}">{text}</literal>'
        return f"<literal>{text}</literal>"
    if isinstance(term, ox.Triple):
        return (
            f"<triple><subject>{_xml_term(term.subject)}</subject>"
            f"<predicate>{_xml_term(term.predicate)}</predicate>"
            f"<object>{_xml_term(term.object)}</object></triple>"
        )
    raise TypeError(f"unexpected term {term!r}")


def xml_pieces(variables: Sequence[str], rows: Iterable[Row]) -> Iterator[str]:
    head = ['<?xml version="1.0"?><sparql xmlns="http://www.w3.org/2005/sparql-results#"><head>']
    head.extend(f'<variable name="{_xml_text(name)}"/>' for name in variables)
    head.append("</head><results>")
    yield "".join(head)
    for row in rows:
        parts = ["<result>"]
        for name, value in zip(variables, row, strict=True):
            if value is not None:
                parts.append(f'<binding name="{_xml_text(name)}">{_xml_term(value)}</binding>')
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


XSD = "http://www.w3.org/2001/XMLSchema#"
TURTLE_SHORT_FORMS = {
    XSD + "integer": re.compile(r"[+-]?[0-9]+"),
    XSD + "decimal": re.compile(r"[+-]?[0-9]*\.[0-9]+"),
    XSD + "double": re.compile(r"[+-]?(?:[0-9]+\.[0-9]*|\.[0-9]+|[0-9]+)[eE][+-]?[0-9]+"),
    XSD + "boolean": re.compile(r"true|false"),
}
"""Literals that Turtle writes bare (its INTEGER, DECIMAL, DOUBLE and BooleanLiteral
productions), as the TSV format allows and pyoxigraph's TSV writer does."""


def _tsv_term(term: Any) -> str:
    if isinstance(term, ox.Literal):
        short = TURTLE_SHORT_FORMS.get(term.datatype.value)
        if short is not None and short.fullmatch(term.value):
            return term.value
    return str(term)  # Turtle/N-Triples syntax


def tsv_pieces(variables: Sequence[str], rows: Iterable[Row]) -> Iterator[str]:
    yield "\t".join(f"?{name}" for name in variables) + "\n"
    for row in rows:
        yield "\t".join("" if value is None else _tsv_term(value) for value in row) + "\n"


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


@dataclass(frozen=True)
class RowMarks:
    """How the rows of one results format show in its serialization: ``mark`` (or
    ``extra_mark``) starts or ends each row, outside double-quoted strings when ``quoted``
    (in which a backslash escapes the next byte when ``escapes``); ``header`` marks come
    before the first row."""

    mark: bytes
    extra_mark: bytes = b""
    quoted: bool = False
    escapes: bool = False
    header: int = 0


ROW_MARKS: dict[str, RowMarks] = {
    # {"head":…,"results":{"bindings":[{…},{…}]}}: with the strings taken out, "[{" and
    # ",{" occur only where a solution starts (terms and bindings follow ":").
    "json": RowMarks(b",{", extra_mark=b"[{", quoted=True, escapes=True),
    # Each solution is one <result> element; "<" in text and attributes is escaped.
    "xml": RowMarks(b"<result>"),
    # A line per row after the header line; quoted fields may hold line breaks ("" inside
    # a field is two quoted runs side by side, which keeps the count right).
    "csv": RowMarks(b"\r\n", quoted=True, header=1),
    # A line per row after the header line; terms escape their line breaks.
    "tsv": RowMarks(b"\n", header=1),
    # CONSTRUCT and DESCRIBE answers: a line per triple (literals escape line breaks).
    "ntriples": RowMarks(b"\n"),
    "nquads": RowMarks(b"\n"),
}


class RowCounter:
    """Counts the rows of one serialized results document as it is written, chunk by
    chunk, in a few C-speed passes over each chunk (no Python code per row): escape
    pairs are dropped, then quoted strings, and the row marks counted in what is left."""

    def __init__(self, format_name: str) -> None:
        self.marks = ROW_MARKS[format_name]
        self.found = 0
        self.tail = b""
        """The end of the text counted, so that a mark split between chunks is found."""
        self.in_string = False
        self.carry = b""
        """A backslash ending the last chunk: it escapes the first byte of the next."""

    @property
    def rows(self) -> int:
        """Rows written so far (for formats whose marks end rows: the complete ones)."""
        return max(0, self.found - self.marks.header)

    def feed(self, data: bytes) -> None:
        marks = self.marks
        if not marks.quoted:
            self._count(data)
            return
        if marks.escapes:
            data = self.carry + data
            run = len(data) - len(data.rstrip(b"\\"))
            self.carry = b"\\" if run % 2 else b""
            if run % 2:
                data = data[:-1]
            # Only strings hold backslashes: dropping each escape pair leaves the quotes
            # that open and close strings.
            data = data.replace(b"\\\\", b"").replace(b'\\"', b"")
        # Between quotes, in turn, outside and inside strings; the quotes stay in the text
        # counted (no mark holds one), so nothing on either side of a string joins up.
        parts = data.split(b'"')
        began_inside = self.in_string
        if len(parts) % 2 == 0:  # an odd number of quotes
            self.in_string = not self.in_string
        outside = parts[1::2] if began_inside else parts[::2]
        if began_inside:
            outside.insert(0, b"")
        if self.in_string:
            outside.append(b"")
        self._count(b'"'.join(outside))

    def _count(self, text: bytes) -> None:
        joined = self.tail + text
        for mark in (self.marks.mark, self.marks.extra_mark):
            if mark:
                self.found += joined.count(mark) - self.tail.count(mark)
        keep = max(len(self.marks.mark), len(self.marks.extra_mark)) - 1
        self.tail = joined[-keep:] if keep else b""
