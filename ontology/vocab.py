"""Namespaces and file locations shared by every part of karabakh-kg.

The IRI base ``https://w3id.org/karabakh-kg/`` is stable but not yet registered with
w3id.org, so it does not dereference on the web; a running server answers for
``/resource/{name}`` and ``/ontology`` instead.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rdflib import URIRef


class Namespace(str):
    """An IRI namespace as rdflib's ``Namespace`` has it: the IRI text itself, and its terms
    as rdflib ``URIRef`` (``KGO.Meeting``, ``KGO["Meeting"]``). Ours only so that importing
    the vocabulary, which every command does, does not import rdflib (a fifth of a short
    command's start-up); rdflib is imported when a term is first asked for."""

    __slots__ = ()

    def term(self, name: str) -> URIRef:
        """The IRI of ``name`` in this namespace."""
        from rdflib import URIRef

        return URIRef(str(self) + name)

    def __getitem__(self, name: str) -> URIRef:  # type: ignore[override]
        return self.term(name)

    def __getattr__(self, name: str) -> URIRef:
        if name.startswith("__"):  # copy, pickle and friends probe dunder names
            raise AttributeError(name)
        return self.term(name)

    @property
    def title(self) -> URIRef:  # type: ignore[override]
        """The term ``title`` (not :meth:`str.title`), as in rdflib."""
        return self.term("title")

    def __repr__(self) -> str:
        return f"Namespace({str(self)!r})"


BASE = "https://w3id.org/karabakh-kg/"

KGO = Namespace(BASE + "ontology#")
"""Classes and properties of the ontology."""
KG = Namespace(BASE + "resource/")
"""Curated entities: people, states, places, events, claims."""
KGE = Namespace(BASE + "evidence/")
"""Evidence units: one named graph per quoted passage of the seed article."""

WD = Namespace("http://www.wikidata.org/entity/")
WDT = Namespace("http://www.wikidata.org/prop/direct/")
ORG = Namespace("http://www.w3.org/ns/org#")
PROV = Namespace("http://www.w3.org/ns/prov#")
SEM = Namespace("http://semanticweb.cs.vu.nl/2009/11/sem/")
TIME = Namespace("http://www.w3.org/2006/time#")
SCHEMA = Namespace("https://schema.org/")
OA = Namespace("http://www.w3.org/ns/oa#")

PREFIXES: dict[str, str] = {
    "kgo": str(KGO),
    "kg": str(KG),
    "kge": str(KGE),
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "rdfs": "http://www.w3.org/2000/01/rdf-schema#",
    "owl": "http://www.w3.org/2002/07/owl#",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
    "skos": "http://www.w3.org/2004/02/skos/core#",
    "dcterms": "http://purl.org/dc/terms/",
    "prov": str(PROV),
    "org": str(ORG),
    "time": str(TIME),
    "sem": str(SEM),
    "schema": str(SCHEMA),
    "foaf": "http://xmlns.com/foaf/0.1/",
    "oa": str(OA),
    "sh": "http://www.w3.org/ns/shacl#",
    "wd": str(WD),
    "wdt": str(WDT),
}


def sparql_prefixes() -> str:
    """The PREFIX declarations of :data:`PREFIXES`, one per line, for SPARQL text."""
    return "".join(f"PREFIX {name}: <{iri}>\n" for name, iri in PREFIXES.items())


def _package_file(package: str, name: str) -> Path:
    return Path(str(resources.files(package).joinpath(name)))


def ontology_file() -> Path:
    """The OWL ontology in Turtle."""
    return _package_file("karabakh_kg.ontology", "karabakh.ttl")


def shapes_file() -> Path:
    """The SHACL shapes that the curated data must satisfy."""
    return _package_file("karabakh_kg.ontology", "shapes.ttl")


def rules_file() -> Path:
    """The domain rules (SHACL-AF ``sh:SPARQLRule`` CONSTRUCT rules)."""
    return _package_file("karabakh_kg.ontology", "rules.ttl")


def seed_file() -> Path:
    """The source article, byte for byte."""
    return _package_file("karabakh_kg.seeds", "000_6c5eba7e6c231d75.txt")


def curated_data_dir() -> Path:
    """The folder of hand-curated TriG files."""
    return _package_file("karabakh_kg.graph", "data")
