"""IRI ↔ CURIE with the project's prefixes (:data:`karabakh_kg.ontology.vocab.PREFIXES`).

One converter (a :class:`curies.Converter`, longest namespace first) and one rule, both ways:
an IRI is written ``prefix:local`` only when ``local`` is a SPARQL/Turtle local name that
needs no escaping, so every CURIE shown can be pasted into a query unchanged, and only such
CURIEs are read back.

>>> compact("https://w3id.org/karabakh-kg/resource/sergei-lavrov")
'kg:sergei-lavrov'
>>> compact("https://w3id.org/karabakh-kg/graph/asserted")
'https://w3id.org/karabakh-kg/graph/asserted'
>>> turtle("http://example.org/a")
'<http://example.org/a>'
>>> expand("kgo:metWith")
'https://w3id.org/karabakh-kg/ontology#metWith'
>>> expand("https://example.org") is None
True
"""

from __future__ import annotations

import re
from functools import cache
from typing import TYPE_CHECKING

from karabakh_kg.ontology import vocab

if TYPE_CHECKING:
    import curies

# PN_LOCAL of SPARQL 1.1 / Turtle without backslash escapes: name characters, '-', '.', ':'
# and %-escapes, never ending with '.'.
_LOCAL = re.compile(
    r"(?:[\w:]|%[0-9A-Fa-f]{2})(?:(?:[\w.:-]|%[0-9A-Fa-f]{2})*(?:[\w:-]|%[0-9A-Fa-f]{2}))?"
)


@cache
def converter() -> curies.Converter:
    """The converter over the project's prefixes (the library is imported on first use)."""
    import curies

    return curies.Converter.from_prefix_map(vocab.PREFIXES)


def curie(iri: str) -> str | None:
    """The CURIE of ``iri`` (longest known namespace, a plain local name), or None."""
    found = converter().compress(iri)
    if found is None:
        return None
    local = found.partition(":")[2]
    return found if _LOCAL.fullmatch(local) else None


def compact(iri: str) -> str:
    """The CURIE of ``iri``, or the IRI itself (for JSON fields and labels)."""
    return curie(iri) or iri


def turtle(iri: str) -> str:
    """``iri`` as SPARQL and Turtle text: the CURIE, or ``<iri>``."""
    return curie(iri) or f"<{iri}>"


def expand(name: str) -> str | None:
    """The IRI of a CURIE with a known prefix and a plain local name, else None.

    ``<iri>`` and absolute IRIs are not CURIEs here: ``http://x`` would otherwise read as
    prefix ``http`` with local name ``//x``.
    """
    prefix, sep, local = name.strip().partition(":")
    if not sep or prefix not in vocab.PREFIXES or (local and not _LOCAL.fullmatch(local)):
        return None
    return converter().expand(f"{prefix}:{local}")


def shorten(term: str) -> str:
    """An N-Triples term (``<iri>``, ``"literal"``, ``_:b``) or a bare IRI as people read it:
    IRIs as CURIEs where the rule allows, ``<iri>`` otherwise; other terms unchanged."""
    if term.startswith("<") and term.endswith(">"):
        return turtle(term[1:-1])
    return compact(term)
