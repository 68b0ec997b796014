"""The RDF term a person types: for ``karabakh-kg explain`` and ``/explain`` alike.

Accepted: ``<IRI>`` or an absolute IRI, a CURIE with the project's prefixes (``kg:…``,
``kgo:metWith``), ``a`` for ``rdf:type`` in the predicate position, a literal in Turtle
syntax (``"2020-10-12"^^xsd:date``), a blank node ``_:b``, or an entity's name (label,
alternative label, Wikidata id) as :func:`karabakh_kg.graph.lookup.resolve` reads it,
then any resource whose ``rdfs:label`` is the text.
"""

from __future__ import annotations

import pyoxigraph as ox

from karabakh_kg.graph import KnowledgeGraph, Term, expand, lookup, parse_term, shorten

RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
RDFS_LABEL = ox.NamedNode("http://www.w3.org/2000/01/rdf-schema#label")


class TermError(ValueError):
    """Text that names no RDF term, or several; the message says which and why."""


def _by_label(kg: KnowledgeGraph, text: str) -> list[str]:
    """Ontology terms or entities whose rdfs:label is ``text`` (case-insensitive)."""
    wanted = text.strip().casefold()
    return sorted(
        {
            q.subject.value
            for q in kg.store.quads_for_pattern(None, RDFS_LABEL, None, None)
            if isinstance(q.subject, ox.NamedNode)
            and isinstance(q.object, ox.Literal)
            and q.object.value.casefold() == wanted
        }
    )


def resolve_term(kg: KnowledgeGraph, text: str, *, predicate: bool = False) -> Term:
    """The term ``text`` stands for, or :class:`TermError` saying why there is none."""
    text = text.strip()
    if predicate and text == "a":
        return ox.NamedNode(RDF_TYPE)
    if text.startswith(('"', "'", "_:", "<")) or "://" in text:
        try:
            term = parse_term(text)
        except (SyntaxError, ValueError) as error:
            raise TermError(f"cannot read {text!r} as an RDF term: {error}") from None
        if predicate and not isinstance(term, ox.NamedNode):
            raise TermError(f"a predicate is an IRI, not {text!r}") from None
        return term
    expanded = expand(text)
    if expanded is not None:
        return ox.NamedNode(expanded)
    try:
        return ox.NamedNode(lookup.resolve(kg, text))
    except LookupError as error:
        labelled = _by_label(kg, text)
        if len(labelled) == 1:
            return ox.NamedNode(labelled[0])
        if len(labelled) > 1:
            names = ", ".join(shorten(iri) for iri in labelled)
            raise TermError(f"{text!r} is ambiguous: {names}") from None
        raise TermError(str(error)) from None
