"""Content negotiation for SPARQL results and RDF graphs.

``Accept`` headers are parsed by :mod:`mimeparse` (q-values, wildcards, ``q=0``); a
``format=`` parameter (a short name or a media type) wins over the header, for browsers.
"""

from __future__ import annotations

from dataclasses import replace

import mimeparse

from karabakh_kg.graph.formats import GRAPH_FORMATS, RESULT_FORMATS, Format, find

__all__ = [
    "GRAPH_FORMATS",
    "RESULT_FORMATS",
    "Format",
    "NotAcceptable",
    "accepts_html",
    "negotiate",
]


class NotAcceptable(ValueError):
    """No offered format satisfies the request; the message lists what is offered."""


def negotiate(formats: tuple[Format, ...], accept: str | None, format_param: str | None) -> Format:
    """The format to answer with, from a ``format=`` parameter or the ``Accept`` header."""
    offered = ", ".join(f.media_type for f in formats)
    if format_param:
        chosen = find(format_param, formats)
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
