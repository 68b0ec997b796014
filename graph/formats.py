"""The serialisations karabakh-kg reads and writes, in one registry.

Each :class:`Format` wraps a pyoxigraph :class:`~pyoxigraph.RdfFormat` or
:class:`~pyoxigraph.QueryResultsFormat`, which carry the media type, the file extension and
the W3C format IRI, and adds what people type for it (``format=turtle``, ``ttl``,
``text/plain``). The SPARQL endpoint, the resource pages, the exports and the command line
all look formats up here.

>>> get("ttl").media_type, get("turtle").extension
('text/turtle', 'ttl')
>>> get("application/sparql-results+json").name
'json'
>>> get("jsonld").iri
'http://www.w3.org/ns/formats/JSON-LD'
"""

from __future__ import annotations

import gzip
import re
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path, PurePath

import pyoxigraph as ox

W3C_FORMATS = "http://www.w3.org/ns/formats/"

RESULTS = "results"
GRAPH = "graph"
DATASET = "dataset"


@dataclass(frozen=True)
class Format:
    """One serialisation: its short name, the pyoxigraph format and what it can carry."""

    name: str
    syntax: ox.RdfFormat | ox.QueryResultsFormat
    kind: str
    """``results`` (SELECT/ASK), ``graph`` (triples) or ``dataset`` (quads)."""
    aliases: tuple[str, ...] = ()
    """Other names and media types that clients use for this format."""
    media_type: str = field(default="")
    """The media type answered (pyoxigraph's, without parameters, unless given)."""

    def __post_init__(self) -> None:
        if not self.media_type:
            object.__setattr__(self, "media_type", self.syntax.media_type.split(";")[0].strip())

    @property
    def content_type(self) -> str:
        """The ``Content-Type`` header value."""
        return f"{self.media_type}; charset=utf-8"

    @property
    def extension(self) -> str:
        """The usual file extension (``ttl``, ``nt``, ``srj``)."""
        return self.syntax.file_extension

    @property
    def label(self) -> str:
        """The format's name for people (``Turtle``, ``SPARQL Results in JSON``)."""
        return self.syntax.name

    @property
    def iri(self) -> str:
        """The format's IRI in the W3C list of Unique URIs for File Formats."""
        if self.syntax == ox.RdfFormat.JSON_LD:
            # pyoxigraph 0.5 names .../ns/formats/data/JSON-LD; the W3C list has this one.
            return W3C_FORMATS + "JSON-LD"
        return self.syntax.iri

    @property
    def rdf_format(self) -> ox.RdfFormat | None:
        """The pyoxigraph RDF format, or None for a results format."""
        return self.syntax if isinstance(self.syntax, ox.RdfFormat) else None

    @property
    def results_format(self) -> ox.QueryResultsFormat | None:
        """The pyoxigraph results format, or None for an RDF format."""
        return self.syntax if isinstance(self.syntax, ox.QueryResultsFormat) else None

    def names(self) -> tuple[str, ...]:
        """Every name this format answers to: name, extension, media type and aliases."""
        return tuple(dict.fromkeys((self.name, self.extension, self.media_type, *self.aliases)))


# Order is the server's preference when a client's q-values tie.
RESULT_FORMATS = (
    Format("json", ox.QueryResultsFormat.JSON, RESULTS, ("application/json",)),
    Format("xml", ox.QueryResultsFormat.XML, RESULTS, ("application/xml", "text/xml")),
    Format("csv", ox.QueryResultsFormat.CSV, RESULTS),
    Format("tsv", ox.QueryResultsFormat.TSV, RESULTS),
)
TRIPLE_FORMATS = (
    Format("turtle", ox.RdfFormat.TURTLE, GRAPH, ("application/x-turtle",)),
    Format("ntriples", ox.RdfFormat.N_TRIPLES, GRAPH, ("n-triples", "text/plain")),
    Format("rdfxml", ox.RdfFormat.RDF_XML, GRAPH, ("xml", "rdf/xml", "rdf+xml", "application/xml")),
    Format("jsonld", ox.RdfFormat.JSON_LD, GRAPH, ("json-ld", "json", "application/json")),
)
QUAD_FORMATS = (
    Format("trig", ox.RdfFormat.TRIG, DATASET),
    Format("nquads", ox.RdfFormat.N_QUADS, DATASET, ("n-quads",)),
)
GRAPH_FORMATS = TRIPLE_FORMATS + QUAD_FORMATS
"""What CONSTRUCT and DESCRIBE answers, resource pages and graph stores can be written in."""
ALL = RESULT_FORMATS + GRAPH_FORMATS


def find(wanted: str, formats: tuple[Format, ...] = ALL) -> Format | None:
    """The first of ``formats`` that answers to ``wanted`` (case-insensitive), or None."""
    key = wanted.strip().lower()
    return next((f for f in formats if key in f.names()), None)


def get(wanted: str, formats: tuple[Format, ...] = ALL) -> Format:
    """Like :func:`find`, but a ValueError naming the choices when nothing answers."""
    found = find(wanted, formats)
    if found is None:
        names = ", ".join(f.name for f in formats)
        raise ValueError(f"unknown format {wanted!r}; use one of {names}")
    return found


def of(syntax: ox.RdfFormat | ox.QueryResultsFormat) -> Format:
    """The registered format of a pyoxigraph format."""
    return next(f for f in ALL if f.syntax == syntax)


def rdf_syntax(wanted: str) -> ox.RdfFormat:
    """The pyoxigraph RDF format that ``wanted`` names (ValueError if none)."""
    found = get(wanted, GRAPH_FORMATS).rdf_format
    assert found is not None
    return found


def results_syntax(wanted: str) -> ox.QueryResultsFormat:
    """The pyoxigraph results format that ``wanted`` names (ValueError if none)."""
    found = get(wanted, RESULT_FORMATS).results_format
    assert found is not None
    return found


GZIP_SUFFIX = ".gz"
"""A file name ending in ``.gz`` (``data.nt.gz``) is the gzip-compressed form of its format."""


def for_file(path: str | PathLike[str]) -> Format:
    """The RDF format a file's extension names (``.ttl``, ``.nt``, ``.trig``, ``.nq``,
    ``.rdf``, ``.jsonld``; a trailing ``.gz`` is looked through, see :func:`is_gzip`), or a
    ValueError naming the extensions understood."""
    pure = PurePath(path)
    if is_gzip(pure):
        pure = pure.with_suffix("")
    suffix = pure.suffix
    found = find(suffix[1:], GRAPH_FORMATS) if len(suffix) > 1 else None
    if found is None:
        known = ", ".join("." + f.extension for f in GRAPH_FORMATS)
        problem = f"unknown RDF file extension {suffix!r}" if suffix else "no RDF file extension"
        raise ValueError(f"{path}: {problem}; use one of {known} (each may end in .gz)")
    return found


def is_gzip(path: str | PathLike[str]) -> bool:
    """Whether a file's name says it is gzip-compressed."""
    return PurePath(path).suffix.lower() == GZIP_SUFFIX


MAX_JSON_LD_DEPTH = 200
"""Deepest nesting of objects and arrays read in JSON-LD. pyoxigraph's JSON-LD parser
recurses: a few thousand levels (a 40 KB text) crash the process, so a deeper text is
refused before it is parsed. Documents nest a few levels; SPARQL texts have the same bound."""

_JSON_STRUCTURE = re.compile(rb'"(?:[^"\\]|\\.)*(?:"|\\?\Z)|[\[\]{}]', re.DOTALL)
"""A string, or a bracket. A string left open runs to the end of the data (then its
brackets are not counted): a pattern that could fail on one would try again from each
later quote, so quadratic time on a run of escaped quotes; this one matches at every
quote."""


def json_nested_past(data: bytes, limit: int = MAX_JSON_LD_DEPTH) -> bool:
    r"""Whether JSON ``data`` nests objects and arrays deeper than ``limit`` (brackets in
    strings do not count). It reads the data once, as tokens, without recursion, in time
    linear in its length whatever it holds.

    >>> json_nested_past(b'{"a": [[1, "]]]]"]]}', 3), json_nested_past(b'[[[[]]]]', 3)
    (False, True)
    >>> json_nested_past(b'["\\"", [[[', 2), json_nested_past(b'"\\"' * 3 + b'\\', 1)
    (True, False)
    """
    depth = 0
    for token in _JSON_STRUCTURE.finditer(data):
        bracket = token.group()[0]
        if bracket in b"{[":
            depth += 1
            if depth > limit:
                return True
        elif bracket in b"}]":
            depth -= 1
    return False


def refuse_deep_json_ld(path: Path, syntax: ox.RdfFormat) -> None:
    """A ValueError naming ``path`` when it is JSON-LD nested deeper than the parser takes
    (it recurses and would crash the process: :data:`MAX_JSON_LD_DEPTH`); to be called
    just before the file is parsed, which reads it one more time, whole (through gzip for
    ``.gz``), and only if it is JSON-LD."""
    if syntax != ox.RdfFormat.JSON_LD:
        return
    data = gzip.decompress(path.read_bytes()) if is_gzip(path) else path.read_bytes()
    if json_nested_past(data):
        raise ValueError(
            f"{path}: the JSON-LD nests objects and arrays more than {MAX_JSON_LD_DEPTH} "
            "deep, which is not read; flatten it"
        )
