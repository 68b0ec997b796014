"""Content negotiation for SPARQL results and RDF graphs.

``Accept`` headers are parsed by :mod:`mimeparse` (q-values, wildcards, ``q=0``); a
``format=`` parameter (a short name or a media type) wins over the header, for browsers.
The one place where the server negotiates: the SPARQL endpoint uses :func:`negotiate`, the
resource and evidence pages :func:`negotiate_page` (HTML beside their RDF formats).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import mimeparse

from karabakh_kg.graph import GRAPH_FORMATS, RESULT_FORMATS, Format
from karabakh_kg.graph import find_format as find

__all__ = [
    "GRAPH_FORMATS",
    "HTML_MEDIA",
    "RESULT_FORMATS",
    "Format",
    "MalformedAccept",
    "NotAcceptable",
    "accepts_html",
    "negotiate",
    "negotiate_page",
    "page_or_json",
    "prefers_html",
    "refusal",
]


class NotAcceptable(ValueError):
    """No offered format satisfies the request; the message lists what is offered."""


class MalformedAccept(NotAcceptable):
    """An ``Accept`` header that cannot be parsed (a 400 on every route: :func:`refusal`)."""


def refusal(error: ValueError) -> tuple[int, str]:
    """The status and code every route answers a negotiation that failed with: 400
    ``malformed-accept`` for a header that cannot be parsed, 406 ``not-acceptable`` when no
    offered format is acceptable, 400 ``unknown-format`` for a ``format=`` naming none."""
    if isinstance(error, MalformedAccept):
        return 400, "malformed-accept"
    if isinstance(error, NotAcceptable):
        return 406, "not-acceptable"
    return 400, "unknown-format"


HTML_MEDIA = ("text/html", "application/xhtml+xml")
"""The media types of a page."""


CLIENT_NAMES = {
    "n3": "turtle",
    "text/n3": "turtle",
    "text/rdf+n3": "turtle",
    "application/n3": "turtle",
    "application/turtle": "turtle",
    "rdf+xml": "rdfxml",
    "application/x-json+ld": "jsonld",
}
"""Names real clients send for formats we answer with another name: Turtle is N3 (N3 is a
superset), SPARQLWrapper's ``rdf+xml`` and ``application/x-json+ld``. The answer carries
the registered media type (``text/turtle`` for N3)."""


def _named(formats: tuple[Format, ...], wanted: str) -> Format | None:
    chosen = find(wanted, formats)
    if chosen is None and wanted.strip().lower() in CLIENT_NAMES:
        chosen = find(CLIENT_NAMES[wanted.strip().lower()], formats)
    return chosen


def negotiate(
    formats: tuple[Format, ...],
    accept: str | None,
    format_param: str | Sequence[str] | None,
) -> Format:
    """The format to answer with, from ``format=`` parameters or the ``Accept`` header.

    ``format=`` wins over ``Accept``. It may be repeated (SPARQLWrapper sends
    ``format=tsv&format=text/tab-separated-values``): the first value naming an offered
    format wins.
    """
    offered = ", ".join(f.media_type for f in formats)
    wanted = [format_param] if isinstance(format_param, str) else list(format_param or [])
    wanted = [value for value in wanted if value.strip()]
    if wanted:
        for value in wanted:
            chosen = _named(formats, value)
            if chosen is not None:
                return chosen
        names = ", ".join(f.name for f in formats)
        shown = ", ".join(repr(value) for value in wanted)
        raise NotAcceptable(f"format={shown} is not offered here; use one of {names}")
    header = (accept or "").strip() or "*/*"
    # mimeparse prefers the later entry on ties, so offer in reverse preference order.
    supported: list[str] = []
    owner: dict[str, Format] = {}
    renamed: set[str] = set()
    for candidate in reversed(formats):
        client_media = [
            m for m, name in CLIENT_NAMES.items() if "/" in m and name == candidate.name
        ]
        for media in (
            *client_media,
            *[a for a in candidate.aliases if "/" in a],
            candidate.media_type,
        ):
            if media not in owner:
                supported.append(media)
                owner[media] = candidate
                if media in client_media:
                    renamed.add(media)
    try:
        match = mimeparse.best_match(supported, header)
    except (mimeparse.MimeTypeParseException, ValueError, IndexError):
        raise MalformedAccept(f"cannot parse the Accept header {header!r}") from None
    if not match:
        raise NotAcceptable(
            f"none of the acceptable types ({header}) is offered; offered: {offered}"
        )
    if match in renamed:
        return owner[match]  # answered under its registered media type
    # Answer with the media type the client named (application/json, text/xml ...).
    return replace(owner[match], media_type=match)


def negotiate_page(
    formats: tuple[Format, ...], accept: str | None, format_param: str | None, *, html: bool
) -> Format | None:
    """The representation of a page offered in HTML (if ``html``) and in RDF ``formats``;
    None is HTML.

    ``format=`` wins (``html`` or an HTML media type, else read as by :func:`negotiate`); no
    ``Accept`` header means HTML; HTML wins ties with RDF, so a browser's ``*/*`` gets the
    page. XHTML counts only when the header names it: through ``*/*`` it would outweigh a
    refused ``text/html``. Raises :class:`MalformedAccept` or :class:`NotAcceptable`.
    """
    if format_param is not None:
        if html and format_param.strip().lower() in ("html", *HTML_MEDIA):
            return None
        return negotiate(formats, None, format_param)
    header = (accept or "").strip()
    if not header:
        return None
    try:
        page = max(
            mimeparse.quality(media, header)
            for media in HTML_MEDIA
            if media == "text/html" or media in header
        )
    except (ValueError, IndexError, mimeparse.MimeTypeParseException):
        raise MalformedAccept(f"malformed Accept header: {header!r}") from None
    try:
        chosen: Format | None = negotiate(formats, header, None)
    except NotAcceptable:
        chosen = None
    quality = mimeparse.quality(chosen.media_type, header) if chosen else 0.0
    if html and page > 0 and page >= quality:
        return None
    if chosen is None:
        raise NotAcceptable(f"none of the acceptable types ({header}) is offered")
    return chosen


def prefers_html(accept: str | None, others: Sequence[str], *, when_absent: bool) -> bool:
    """Whether ``accept`` ranks HTML at least as high as each media type of ``others``;
    ``when_absent`` answers for a missing header, and a malformed one is not HTML."""
    if not accept:
        return when_absent
    try:
        # mimeparse prefers the later entry on ties: HTML last, so it wins them.
        match = mimeparse.best_match([*others, "text/html"], accept)
    except (mimeparse.MimeTypeParseException, ValueError, IndexError):
        return False
    return match == "text/html"


def page_or_json(accept: str | None, wanted: str | None) -> bool:
    """Whether a view offered as a page and as JSON answers with the page: ``format=``
    (``html`` or ``json``) first, then ``accept`` (HTML wins ties; none at all is the page).
    :class:`NotAcceptable` when neither is wanted, :class:`MalformedAccept` for a header
    that cannot be parsed, ``ValueError`` for another ``format=``."""
    if wanted is not None:
        name = wanted.strip().lower()
        if name not in ("html", "json"):
            raise ValueError(f"unknown format {wanted!r}; use one of: html, json")
        return name == "html"
    if not accept or not accept.strip():
        return True
    try:
        match = mimeparse.best_match(["application/json", "text/html"], accept)
    except (mimeparse.MimeTypeParseException, ValueError, IndexError):
        raise MalformedAccept(f"cannot read the Accept header {accept!r}") from None
    if not match:
        raise NotAcceptable(
            f"cannot produce any of {accept!r}; available: text/html, application/json"
        )
    return match == "text/html"


def accepts_html(accept: str | None) -> bool:
    """Whether a browser-style Accept header (naming ``text/html``) prefers HTML over RDF and
    results formats."""
    return (
        accept is not None
        and "text/html" in accept
        and prefers_html(
            accept, ("text/turtle", "application/sparql-results+json"), when_absent=False
        )
    )
