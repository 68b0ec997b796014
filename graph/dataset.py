"""Load the ontology and the curated TriG files into one pyoxigraph store.

Layout of the store (every graph is a named graph; the store's own default graph
stays empty):

* one named graph per evidence unit (``kge:...``): the triples one quote supports;
* :data:`ASSERTED`: the union of every evidence graph, what the curators assert;
* :data:`PROVENANCE`: what is said *about* each evidence graph (quote, line,
  who claims it, when);
* :data:`ONTOLOGY`: the OWL ontology and the domain rules;
* :data:`INFERRED`: what reasoning derives, never mixed into the asserted graph.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pyoxigraph as ox

from karabakh_kg.graph.views import DerivedViews
from karabakh_kg.ontology import vocab

if TYPE_CHECKING:
    from karabakh_kg.graph.store import QuadChange

# The system graphs (described in the ontology file); the one place that names them.
ASSERTED = ox.NamedNode(vocab.BASE + "graph/asserted")
INFERRED = ox.NamedNode(vocab.BASE + "graph/inferred")
ONTOLOGY = ox.NamedNode(vocab.BASE + "graph/ontology")
PROVENANCE = ox.NamedNode(vocab.BASE + "graph/provenance")
WIKIDATA = ox.NamedNode(vocab.BASE + "graph/wikidata")

SYSTEM_GRAPHS = (ASSERTED, INFERRED, ONTOLOGY, PROVENANCE, WIKIDATA)
SUPPORT = ox.NamedNode(vocab.BASE + "graph/support")
"""The reasoner's graph of kgo:Support nodes (see karabakh_kg.graph.reasoning.perspectives)."""
DERIVATIONS = ox.NamedNode(vocab.BASE + "graph/derivation")
"""On an engine: the recorded derivation of each derived triple, which ``publish`` writes
for explanations over the engine (karabakh_kg.graph.reasoning.explain)."""
PERSPECTIVE_GRAPHS = vocab.BASE + "graph/perspective/"
"""Prefix of the reasoner's per-perspective asserted and inferred graphs."""
CONTRIBUTIONS_GRAPHS = vocab.BASE + "graph/contributions/"
"""Prefix of the contributors' graphs (karabakh_kg.graph.store.contributions)."""
INFERRED_WITHHELD = ox.NamedNode(INFERRED.value + "/withheld")
"""On an engine reasoning in place (karabakh_kg.graph.store.reasoning): derived triples the
noise policy keeps out of the inferred graph, kept for later changes to join (with the
inferred graph, the closure minus what is asserted)."""
INFERRED_STATE = ox.NamedNode(INFERRED.value + "/state")
"""On an engine reasoning in place: one triple, written at the end of a successful run: the
inferred and withheld graphs are the closure of the asserted and ontology graphs, so a
change can be maintained (a publish rewriting those graphs drops it)."""


def is_evidence_graph(graph: object) -> bool:
    """Whether a named graph is an evidence unit: neither a system graph nor one of the
    reasoner's support, perspective and derivation graphs."""
    return (
        isinstance(graph, ox.NamedNode)
        and graph not in SYSTEM_GRAPHS
        and graph not in (SUPPORT, DERIVATIONS)
        and not graph.value.startswith(PERSPECTIVE_GRAPHS)
    )


class DataError(ValueError):
    """A curated or ontology file that cannot be read, with the file and line."""


class UpdateError(ValueError):
    """A change to the asserted graph that was refused or failed; nothing was changed."""


@dataclass
class ChangeReport:
    """What one change of the asserted graph did."""

    added: int
    removed: int
    version: str
    change: QuadChange | None = None
    """Every quad that changed (asserted, contributions, log, inferred), for copies of the
    store to follow."""

    def to_dict(self) -> dict[str, object]:
        return {"added": self.added, "removed": self.removed, "version": self.version}


def curated_files(data_dir: Path | None = None) -> list[Path]:
    """The curated TriG/Turtle files, in a stable order."""
    folder = data_dir or vocab.curated_data_dir()
    return sorted([*folder.glob("*.trig"), *folder.glob("*.ttl")])


def input_files(data_dir: Path | None = None) -> list[Path]:
    """Every file whose content determines the reasoned graph."""
    files = [vocab.ontology_file()]
    if vocab.rules_file().exists():
        files.append(vocab.rules_file())
    return files + curated_files(data_dir)


def content_hash(files: Iterable[Path]) -> str:
    """A SHA-256 over the names and bytes of ``files``: the data version. Files are read in
    blocks, so a large data file (``serve --data``) is never held whole for its hash."""
    digest = hashlib.sha256()
    for path in files:
        digest.update(path.name.encode())
        digest.update(b"\0")
        with path.open("rb") as content:
            while block := content.read(1 << 20):
                digest.update(block)
        digest.update(b"\0")
    return digest.hexdigest()


def parse_file(path: Path) -> list[ox.Quad]:
    """Parse one RDF file, raising :class:`DataError` that names the file and line."""
    from karabakh_kg.graph.formats import refuse_deep_json_ld

    syntax = ox.RdfFormat.from_extension(path.suffix[1:].lower())  # as the parser guesses
    if syntax is not None:
        try:
            refuse_deep_json_ld(path, syntax)
        except ValueError as error:  # (it names the file)
            raise DataError(str(error)) from None
    try:
        return list(ox.parse(path=path))
    except SyntaxError as error:
        raise DataError(f"{path}: {error}") from None
    except ValueError as error:
        raise DataError(f"{path}: {error}") from None


@dataclass
class KnowledgeGraph:
    """The store with the asserted, provenance, ontology and inferred graphs."""

    store: ox.Store
    version: str
    files: list[Path] = field(default_factory=list)
    modified: float = field(default_factory=time.time)
    """When the data last changed (load or update), as a POSIX timestamp."""
    store_dir: Path | None = None
    """The folder of a durable store (``karabakh_kg.graph.store.durable``); None: in memory."""
    views: DerivedViews = field(default_factory=DerivedViews, repr=False, compare=False)
    """What is derived from the data (index, projections, the reasoner): see ``graph.views``."""

    @classmethod
    def from_files(
        cls, data_dir: Path | None = None, *, wikidata: Path | None = None
    ) -> KnowledgeGraph:
        """The ontology and the curated data in a new in-memory store, not reasoned
        (:func:`karabakh_kg.graph.loading.load_graph` reasons too).

        ``wikidata``: an enrichment file (``karabakh-kg link enrich``) loaded into
        :data:`WIKIDATA` only; reasoning and the default graph never include it.
        """
        files = input_files(data_dir) + ([wikidata] if wikidata else [])
        kg = cls(store=ox.Store(), version=content_hash(files), files=files)
        kg.fill(data_dir, wikidata=wikidata)
        return kg

    def fill(self, data_dir: Path | None = None, *, wikidata: Path | None = None) -> None:
        """Load the ontology, the rules, the curated files (and ``wikidata``) into the store."""
        self._load_ontology(vocab.ontology_file())
        if vocab.rules_file().exists():
            self.store.extend(_into(parse_file(vocab.rules_file()), ONTOLOGY))
        for path in curated_files(data_dir):
            self._load_curated(path)
        if wikidata:
            self.store.extend(_into(parse_file(wikidata), WIKIDATA))

    def _load_ontology(self, path: Path) -> None:
        self.store.extend(_into(parse_file(path), ONTOLOGY))

    def _load_curated(self, path: Path) -> None:
        quads = parse_file(path)
        for quad in quads:
            if isinstance(quad.graph_name, ox.DefaultGraph):
                self.store.add(ox.Quad(quad.subject, quad.predicate, quad.object, PROVENANCE))
            else:
                self.store.add(quad)
                self.store.add(ox.Quad(quad.subject, quad.predicate, quad.object, ASSERTED))

    def default_graphs(self, *, include_inferred: bool = True) -> list[ox.NamedNode]:
        """The graphs that make up the SPARQL default graph."""
        graphs = [ASSERTED, PROVENANCE, ONTOLOGY]
        if include_inferred:
            graphs.append(INFERRED)
        return graphs

    def named_graphs(self, *, include_inferred: bool = True) -> list[ox.NamedNode | ox.BlankNode]:
        """Every named graph a ``GRAPH`` clause may see."""
        return [g for g in self.store.named_graphs() if include_inferred or g != INFERRED]

    def query(
        self,
        sparql: str,
        *,
        include_inferred: bool = True,
        default_graph: Sequence[ox.NamedNode] | None = None,
        named_graphs: Sequence[ox.NamedNode | ox.BlankNode] | None = None,
    ) -> ox.QuerySolutions | ox.QueryBoolean | ox.QueryTriples:
        """Evaluate a SPARQL query over the default and named graphs of this dataset."""
        graphs: list[ox.NamedNode | ox.BlankNode | ox.DefaultGraph] = list(
            default_graph
            if default_graph is not None
            else self.default_graphs(include_inferred=include_inferred)
        )
        return self.store.query(
            sparql,
            prefixes=dict(vocab.PREFIXES),
            default_graph=graphs,
            named_graphs=list(named_graphs)
            if named_graphs is not None
            else self.named_graphs(include_inferred=include_inferred),
        )

    def asserted_triples(self) -> set[ox.Triple]:
        """The triples of the asserted graph."""
        return {
            ox.Triple(q.subject, q.predicate, q.object)
            for q in self.store.quads_for_pattern(None, None, None, ASSERTED)
        }

    def graph_sizes(self) -> dict[str, int]:
        """Number of triples in each system graph, by short name."""
        counts = self.triples_per_graph()
        return {
            graph.value.rsplit("/", 1)[-1]: counts.get(graph.value, 0) for graph in SYSTEM_GRAPHS
        }

    def triples_per_graph(self) -> dict[str, int]:
        """Number of triples in each non-empty named graph, by IRI: one query counted by the
        engine (several times faster than iterating the quads in Python)."""
        solutions = self.store.query(_TRIPLES_PER_GRAPH)
        assert isinstance(solutions, ox.QuerySolutions)
        return {
            row["g"].value: int(row["n"].value)
            for row in solutions
            if isinstance(row["g"], ox.NamedNode) and row["n"] is not None
        }


_TRIPLES_PER_GRAPH = "SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g"


def _into(quads: Iterable[ox.Quad], graph: ox.NamedNode) -> list[ox.Quad]:
    return [ox.Quad(q.subject, q.predicate, q.object, graph) for q in quads]
