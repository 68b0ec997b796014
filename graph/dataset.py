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

import pyoxigraph as ox

from karabakh_kg.graph.views import DerivedViews
from karabakh_kg.ontology import vocab

# The system graphs (described in the ontology file); the one place that names them.
ASSERTED = ox.NamedNode(vocab.BASE + "graph/asserted")
INFERRED = ox.NamedNode(vocab.BASE + "graph/inferred")
ONTOLOGY = ox.NamedNode(vocab.BASE + "graph/ontology")
PROVENANCE = ox.NamedNode(vocab.BASE + "graph/provenance")
WIKIDATA = ox.NamedNode(vocab.BASE + "graph/wikidata")

SYSTEM_GRAPHS = (ASSERTED, INFERRED, ONTOLOGY, PROVENANCE, WIKIDATA)


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
    """A SHA-256 over the names and bytes of ``files``: the data version."""
    digest = hashlib.sha256()
    for path in files:
        digest.update(path.name.encode())
        digest.update(b"\0")
        digest.update(path.read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()


def parse_file(path: Path) -> list[ox.Quad]:
    """Parse one RDF file, raising :class:`DataError` that names the file and line."""
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
    views: DerivedViews = field(default_factory=DerivedViews, repr=False, compare=False)
    """What is derived from the data (index, projections, the reasoner): see ``graph.views``."""

    @classmethod
    def load(
        cls, data_dir: Path | None = None, *, reason: bool = True, wikidata: Path | None = None
    ) -> KnowledgeGraph:
        """Load the ontology and the curated data; derive the inferred graph if ``reason``.

        ``wikidata``: an enrichment file (``karabakh-kg link enrich``) loaded into
        :data:`WIKIDATA` only; reasoning and the default graph never include it.
        """
        files = input_files(data_dir) + ([wikidata] if wikidata else [])
        store = ox.Store()
        kg = cls(store=store, version=content_hash(files), files=files)
        kg._load_ontology(files[0])
        if vocab.rules_file().exists():
            store.extend(_into(parse_file(vocab.rules_file()), ONTOLOGY))
        for path in curated_files(data_dir):
            kg._load_curated(path)
        if wikidata:
            store.extend(_into(parse_file(wikidata), WIKIDATA))
        if reason:
            from karabakh_kg.graph import reasoning

            reasoning.materialize(kg)
        return kg

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
        sizes = {}
        for graph in SYSTEM_GRAPHS:
            name = graph.value.rsplit("/", 1)[-1]
            sizes[name] = sum(1 for _ in self.store.quads_for_pattern(None, None, None, graph))
        return sizes

    def apply_update(self, update: str) -> ChangeReport:
        """Run a SPARQL Update against the asserted graph, atomically.

        The update sees the asserted graph as its default graph and may change only
        that graph. It runs on a scratch copy, so a failing update changes nothing; the
        difference is then applied and the inferred graph brought up to date. Callers
        must refuse ``LOAD`` and unchecked ``SERVICE`` before (this store can fetch).
        """
        from karabakh_kg.server.sparql.protocol import QueryFailed, update_difference

        try:
            added, removed = update_difference(
                self.asserted_triples(), update, dict(vocab.PREFIXES)
            )
        except QueryFailed as failure:
            if failure.kind == "syntax":
                raise UpdateError(f"malformed update: {failure.message}") from None
            if failure.kind == "named-graph":
                raise UpdateError(failure.message) from None
            raise UpdateError(f"the update failed: {failure.message}") from None
        return self.apply_changes(added, removed, reason=update)

    def apply_changes(
        self, added: Iterable[ox.Triple], removed: Iterable[ox.Triple], *, reason: str = ""
    ) -> ChangeReport:
        """Add and remove asserted triples, then update the inferred graph; all or nothing.

        Evidence graphs are left as curated: they record what the article supports.
        """
        from karabakh_kg.graph import reasoning

        current = self.asserted_triples()
        added = [t for t in dict.fromkeys(added) if t not in current]
        removed = [t for t in dict.fromkeys(removed) if t in current]
        inferred_before = list(self.store.quads_for_pattern(None, None, None, INFERRED))
        for t in removed:
            self.store.remove(ox.Quad(t.subject, t.predicate, t.object, ASSERTED))
        self.store.extend(ox.Quad(t.subject, t.predicate, t.object, ASSERTED) for t in added)
        try:
            reasoning.update(self, added, removed)
        except Exception as error:
            # Put back the asserted and inferred graphs as they were, and the reasoner's state.
            for t in added:
                self.store.remove(ox.Quad(t.subject, t.predicate, t.object, ASSERTED))
            self.store.extend(ox.Quad(t.subject, t.predicate, t.object, ASSERTED) for t in removed)
            self.store.clear_graph(INFERRED)
            self.store.extend(inferred_before)
            reasoning.materialize(self)
            raise UpdateError(
                f"reasoning failed after the change, which was undone: {error}"
            ) from None
        if added or removed:
            digest = hashlib.sha256(self.version.encode())
            digest.update(reason.encode())
            for label, triples in (("+", added), ("-", removed)):
                for line in sorted(str(t) for t in triples):
                    digest.update(f"{label}{line}\n".encode())
            self.version = digest.hexdigest()
            self.modified = time.time()
        return ChangeReport(added=len(added), removed=len(removed), version=self.version)


def _into(quads: Iterable[ox.Quad], graph: ox.NamedNode) -> list[ox.Quad]:
    return [ox.Quad(q.subject, q.predicate, q.object, graph) for q in quads]
