"""Content negotiation for SPARQL results and RDF graphs.

``Accept`` headers are parsed by :mod:`mimeparse` (q-values, wildcards, ``q=0``); a
``format=`` parameter (a short name or a media type) wins over the header, for browsers.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import mimeparse


@dataclass(frozen=True)
class Format:
    """One serialization: its short name, media type and what it can carry."""

    name: str
    media_type: str
    kind: str
    """``results`` (SELECT/ASK), ``graph`` (triples) or ``dataset`` (quads)."""
    aliases: tuple[str, ...] = ()

    @property
    def content_type(self) -> str:
        return f"{self.media_type}; charset=utf-8"


# Order is the server's preference when the client's q-values tie.
RESULT_FORMATS = (
    Format(
        "json",
        "application/sparql-results+json",
        "results",
        ("application/json", "srj"),
    ),
    Format(
        "xml", "application/sparql-results+xml", "results", ("application/xml", "text/xml", "srx")
    ),
    Format("csv", "text/csv", "results"),
    Format("tsv", "text/tab-separated-values", "results"),
)
GRAPH_FORMATS = (
    Format("turtle", "text/turtle", "graph", ("ttl", "application/x-turtle")),
    Format("ntriples", "application/n-triples", "graph", ("nt", "n-triples", "text/plain")),
    Format("rdfxml", "application/rdf+xml", "graph", ("rdf", "xml", "rdf/xml", "application/xml")),
    Format("jsonld", "application/ld+json", "graph", ("json-ld", "json", "application/json")),
    Format("trig", "application/trig", "dataset"),
    Format("nquads", "application/n-quads", "dataset", ("nq", "n-quads")),
)


class NotAcceptable(ValueError):
    """No offered format satisfies the request; the message lists what is offered."""


def _lookup(formats: tuple[Format, ...], wanted: str) -> Format | None:
    key = wanted.strip().lower()
    for candidate in formats:
        if key in {candidate.name, candidate.media_type, *candidate.aliases}:
            return candidate
    return None


def negotiate(formats: tuple[Format, ...], accept: str | None, format_param: str | None) -> Format:
    """The format to answer with, from a ``format=`` parameter or the ``Accept`` header."""
    offered = ", ".join(f.media_type for f in formats)
    if format_param:
        chosen = _lookup(formats, format_param)
        if chosen is None:
            names = ", ".join(f.name for f in formats)
            raise NotAcceptable(f"format={format_param!r} is not offered here; use one of {names}")
        return chosen
    header = (accept or "").strip() or "*/*"
    # mimeparse prefers the later entry on ties, so offer in reverse preference order.
    supported: list[str] = []
    owner: dict[str, Format] = {}
    for candidate in reversed(formats):
        for media in (*[a for a in candidate.aliases if "/" in a], candidate.media_type):
            if media not in owner:
                supported.append(media)
                owner[media] = candidate
    try:
        match = mimeparse.best_match(supported, header)
    except (mimeparse.MimeTypeParseException, ValueError, IndexError):
        raise NotAcceptable(f"cannot parse the Accept header {header!r}") from None
    if not match:
        raise NotAcceptable(
            f"none of the acceptable types ({header}) is offered; offered: {offered}"
        )
    # Answer with the media type the client named (application/json, text/xml ...).
    return replace(owner[match], media_type=match)


def accepts_html(accept: str | None) -> bool:
    """Whether a browser-style Accept header prefers HTML over RDF and results formats."""
    if not accept:
        return False
    try:
        match = mimeparse.best_match(
            ["text/turtle", "application/sparql-results+json", "text/html"], accept
        )
    except (mimeparse.MimeTypeParseException, ValueError, IndexError):
        return False
    return match == "text/html" and "text/html" in accept
