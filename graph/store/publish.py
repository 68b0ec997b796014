"""Publish the dataset into a store (``karabakh-kg publish --to URL``), graph by graph.

Every named graph of the knowledge graph (evidence graphs, asserted, provenance, ontology,
inferred, and what contributors added) is written as it is. Publishing is

* **idempotent**: the engine keeps a manifest (graph ``…/graph/publication``) with a digest
  of each published graph; graphs whose digest did not change are not sent again, so
  publishing twice changes nothing;
* **all or nothing for readers**, in one small final update (the switch) that changes the
  published graphs, drops the graphs that are gone and writes the new manifest. A changed
  graph with blank nodes is written whole to a staging graph first and moved in place by
  the switch; a changed graph without is compared with the engine's version and the switch
  deletes and inserts the difference, unless the difference holds a literal engines keep in
  a form of their own (:data:`REWRITTEN_DATATYPES`): that graph is moved whole too. A
  graph the engine does not hold yet (a first publish) is written in place before the
  switch, in batches that commit one by one, outside the manifest until the switch: no one
  transaction grows with the data (Virtuoso refused to move 1M triples in one). A publish
  that fails before the switch leaves the previous version as it was: the staging graphs
  and the graphs it wrote in place are dropped, or at the next publish (their names are
  written first in the graph ``…/graph/publication-staging``, so finding them needs no
  scan of the store).

One exception, for sizes: when the differences come to more than :data:`SWITCH_DIFFERENCE`
triples, the graphs whose difference does not fit are staged whole and moved by the switch
up to :data:`SWITCH_MOVED` triples in all, and the largest graphs' differences beyond
that are applied before the switch, in batches; if the
publish fails meanwhile, such a graph is left partly changed (the manifest still names the
previous version, which a server over the engine keeps serving from its copy) until the
next publish, which compares again and completes it.

Large graphs are sent in batches (:data:`karabakh_kg.graph.store.remote.UPLOAD_TRIPLES`);
the switch may take longer than a query (:data:`SWITCH_TRIPLES_PER_SECOND`).
"""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass, field

import pyoxigraph as ox

from karabakh_kg.graph.dataset import (
    ASSERTED,
    INFERRED,
    INFERRED_STATE,
    INFERRED_WITHHELD,
    ONTOLOGY,
    KnowledgeGraph,
)
from karabakh_kg.graph.store import GraphStore, StoreError
from karabakh_kg.graph.store.remote import RemoteStore
from karabakh_kg.ontology import vocab

PUBLICATION = vocab.BASE + "graph/publication"
STAGING_PREFIX = vocab.BASE + "graph/staging/"
STAGING_RECORD = vocab.BASE + "graph/publication-staging"
"""The staging graphs of a publish under way (or one that failed), for the next to drop."""
SWITCH_TRIPLES_PER_SECOND = 1_000
"""The slowest rate the update moving the staged graphs in place is allowed (the Oxigraph
server moved about 4 000 triples a second on a loaded machine): its time limit is the
store's or one second per this many triples moved, whichever is longer."""
SWITCH_DIFFERENCE = 20_000
"""Triples (added and removed, over all graphs) the switch applies at most; larger
differences are applied before it, in batches of :data:`DIFFERENCE_BATCH`."""
SWITCH_MOVED = 20_000
"""Triples of the graphs whose difference does not fit in the switch that are written
whole to staging graphs and moved in place by it instead (readers see the previous version
until the switch); larger ones are applied before it (the module's one exception)."""
DIFFERENCE_BATCH = 10_000
"""Triples per ``INSERT DATA`` / ``DELETE DATA`` of a difference applied before the switch
(Virtuoso limits the size of one ``INSERT DATA``)."""
DATA_OPERATION_TRIPLES = 4_000
"""Triples per ``INSERT DATA`` / ``DELETE DATA`` operation (a request may hold several):
Virtuoso 7.2's SPARQL compiler refuses one of 5 000 triples or more (``SP030 … memory
exhausted``), whatever their terms."""
REWRITTEN_DATATYPES = frozenset(
    {
        vocab.PREFIXES["xsd"] + "duration",
        "http://www.opengis.net/ont/geosparql#wktLiteral",
        "http://www.openlinksw.com/schemas/virtrdf#Geometry",
    }
)
"""Datatypes of literals an engine keeps otherwise than written, so that ``INSERT DATA`` /
``DELETE DATA`` cannot name them (Virtuoso 7.2: a duration becomes seconds and a data
operation naming one fails, ``SR066``, or ``SP031`` in a large update; a WKT point becomes
a ``virtrdf:Geometry`` in single precision): a difference holding one is not sent as such,
its graph is moved whole."""
_HAS_PART = vocab.PREFIXES["dcterms"] + "hasPart"
_VERSION = vocab.PREFIXES["dcterms"] + "hasVersion"


@dataclass
class PublishReport:
    """What one publish did."""

    graphs: int
    triples: int
    written: list[str] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def changed(self) -> bool:
        return bool(self.written or self.dropped)

    def to_text(self) -> str:
        if not self.changed:
            return f"up to date: {self.graphs} graphs, {self.triples} triples unchanged"
        return (
            f"published {len(self.written)} changed graphs of {self.graphs} "
            f"({self.triples} triples in all), dropped {len(self.dropped)}, "
            f"in {self.seconds:.1f} s"
        )


def dataset_graphs(kg: KnowledgeGraph) -> dict[str, list[ox.Triple]]:
    """Every non-empty named graph of ``kg`` with its triples, and the derivation records
    of its reasoner (``graph/derivation``: explanations over the engine)."""
    graphs: dict[str, list[ox.Triple]] = {}
    for graph in kg.store.named_graphs():
        if not isinstance(graph, ox.NamedNode):
            continue
        triples = [
            ox.Triple(q.subject, q.predicate, q.object)
            for q in kg.store.quads_for_pattern(None, None, None, graph)
        ]
        if triples:
            graphs[graph.value] = triples
    from karabakh_kg.graph.reasoning.explain import derivation_graph

    graphs.update(derivation_graph(kg))  # the reasoner's derivations, for explanations
    return graphs


def digest(triples: list[ox.Triple]) -> str:
    """A digest of a graph that does not depend on blank node labels (canonical form) nor
    on the order of ``triples``. A graph without blank nodes is its own canonical form, so
    it is not canonicalized (most of the time of a publish that changes nothing, for large
    graphs)."""
    quads = [ox.Quad(t.subject, t.predicate, t.object) for t in triples]
    if has_blank_nodes(triples):
        dataset = ox.Dataset(quads)
        dataset.canonicalize(ox.CanonicalizationAlgorithm.UNSTABLE)
        quads = list(dataset)
    lines = sorted(set(map(str, quads)))
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()


def published(target: GraphStore) -> dict[str, str]:
    """The manifest on ``target``: graph IRI → digest of the published version."""
    rows = target.select(
        f"SELECT ?g ?d WHERE {{ GRAPH <{PUBLICATION}> {{ <{PUBLICATION}> <{_HAS_PART}> ?g . "
        f"?g <{_VERSION}> ?d }} }}"
    )
    return {row["g"].value: row["d"].value for row in rows if "g" in row and "d" in row}


def forget(target: GraphStore, names: list[str]) -> None:
    """Drop the manifest's digests of ``names``, graphs changed on ``target`` by something
    other than :func:`publish` (in-engine reasoning, say), so the next publish rewrites them
    instead of trusting a digest that no longer describes them."""
    for name in names:
        target.update(
            f"DELETE WHERE {{ GRAPH <{PUBLICATION}> {{ <{PUBLICATION}> <{_HAS_PART}> <{name}> . "
            f"<{name}> <{_VERSION}> ?digest }} }}"
        )


def _manifest(digests: dict[str, str]) -> str:
    lines = []
    for name, value in sorted(digests.items()):
        lines.append(f"<{PUBLICATION}> <{_HAS_PART}> <{name}> .")
        lines.append(f'<{name}> <{_VERSION}> "{value}" .')
    return "\n".join(lines)


def _drop_leftovers(target: GraphStore, manifest: dict[str, str]) -> None:
    """Drop what a failed publish left (named in :data:`STAGING_RECORD`): its staging graphs,
    and the graphs it wrote in place that the ``manifest`` does not name (they were not
    there before it)."""
    rows = target.select(
        f"SELECT ?g WHERE {{ GRAPH <{STAGING_RECORD}> {{ <{STAGING_RECORD}> <{_HAS_PART}> ?g }} }}"
    )
    for row in rows:
        name = row.get("g")
        if isinstance(name, ox.NamedNode) and (
            name.value.startswith(STAGING_PREFIX) or name.value not in manifest
        ):
            target.drop_graph(name.value)
    if rows:
        target.drop_graph(STAGING_RECORD)


def has_blank_nodes(triples: list[ox.Triple]) -> bool:
    """Whether a triple of ``triples`` has a blank node."""
    return any(
        isinstance(t.subject, ox.BlankNode) or isinstance(t.object, ox.BlankNode) for t in triples
    )


@dataclass
class _Difference:
    """What turns the engine's version of one graph (``before`` triples) into the new one."""

    added: list[ox.Triple]
    removed: list[ox.Triple]
    before: int = 0

    @property
    def size(self) -> int:
        return len(self.added) + len(self.removed)

    def nameable(self) -> bool:
        """Whether ``DELETE DATA`` / ``INSERT DATA`` can name every triple of it: no blank
        node removed, no literal of :data:`REWRITTEN_DATATYPES`."""
        if has_blank_nodes(self.removed):
            return False
        return not any(
            isinstance(t.object, ox.Literal) and t.object.datatype.value in REWRITTEN_DATATYPES
            for t in (*self.added, *self.removed)
        )

    def operations(self, name: str) -> list[str]:
        """``DELETE DATA`` then ``INSERT DATA`` (each when not empty), in operations of at
        most :data:`DATA_OPERATION_TRIPLES` triples."""
        found = []
        step = DATA_OPERATION_TRIPLES
        for verb, triples in (("DELETE", self.removed), ("INSERT", self.added)):
            for at in range(0, len(triples), step):
                part = triples[at : at + step]
                text = (ox.serialize(part, format=ox.RdfFormat.N_TRIPLES) or b"").decode()
                found.append(f"{verb} DATA {{ GRAPH <{name}> {{\n{text}}} }}")
        return found

    def batches(self) -> list[_Difference]:
        """This difference in parts of at most :data:`DIFFERENCE_BATCH` triples each."""
        step = DIFFERENCE_BATCH
        parts = [
            _Difference([], self.removed[at : at + step])
            for at in range(0, len(self.removed), step)
        ]
        parts += [
            _Difference(self.added[at : at + step], []) for at in range(0, len(self.added), step)
        ]
        return parts


def _difference(target: GraphStore, name: str, triples: list[ox.Triple]) -> _Difference:
    """The difference between ``target``'s graph ``name`` and ``triples`` (no blank nodes)."""
    new, old = set(triples), set(target.get_graph(name))
    return _Difference(added=list(new - old), removed=list(old - new), before=len(old))


def _switch(target: GraphStore, update: str, moved: int) -> None:
    """The update that moves ``moved`` staged triples in place, with the time it needs."""
    if not isinstance(target, RemoteStore):
        target.update(update)
        return
    target.update(update, timeout=max(target.timeout, moved / SWITCH_TRIPLES_PER_SECOND))


def _stale_reasoning(written: list[str]) -> list[str]:
    """The graphs in-engine reasoning keeps beside the inferred graph, when a publish
    rewrites a graph they follow from: the next change then recomputes the closure."""
    if not {ASSERTED.value, ONTOLOGY.value, INFERRED.value} & set(written):
        return []
    return [INFERRED_STATE.value, INFERRED_WITHHELD.value]


def publish(kg: KnowledgeGraph, target: GraphStore) -> PublishReport:
    """Write ``kg`` into ``target`` (see the module); :class:`StoreError` if it fails, with
    the previous version still in place."""
    started = time.perf_counter()
    graphs = dataset_graphs(kg)
    digests = {name: digest(triples) for name, triples in graphs.items()}
    before = published(target)
    _drop_leftovers(target, before)
    changed = sorted(name for name, value in digests.items() if before.get(name) != value)
    gone = sorted(set(before) - set(digests))
    report = PublishReport(
        graphs=len(graphs),
        triples=sum(len(t) for t in graphs.values()),
        written=changed,
        dropped=gone,
    )
    if not changed and not gone:
        report.seconds = time.perf_counter() - started
        return report
    run = secrets.token_hex(4)
    whole = [name for name in changed if has_blank_nodes(graphs[name])]
    differences = {
        name: _difference(target, name, graphs[name]) for name in changed if name not in whole
    }
    # DELETE DATA cannot name blank nodes: a graph holding some on the engine is moved whole,
    # as one whose difference a data operation cannot name.
    whole += [name for name, change in differences.items() if not change.nameable()]
    differences = {name: change for name, change in differences.items() if name not in whole}
    # Graphs the engine lacks are written in place before the switch; the smallest
    # differences go into the switch, as long as they fit; of the others, the smallest
    # graphs are staged whole and moved by it, as long as they fit; the rest before it.
    new = [name for name, change in differences.items() if not change.before]
    fitting, budget = [], SWITCH_DIFFERENCE
    for name in sorted(set(differences) - set(new), key=lambda n: differences[n].size):
        if differences[name].size <= budget:
            fitting.append(name)
            budget -= differences[name].size
    ahead, room = [], SWITCH_MOVED
    for name in sorted(set(differences) - set(new) - set(fitting), key=lambda n: len(graphs[n])):
        if len(graphs[name]) <= room:
            whole.append(name)
            room -= len(graphs[name])
        else:
            ahead.append(name)
    ahead.sort()
    staged = {name: f"{STAGING_PREFIX}{run}/{index}" for index, name in enumerate(whole)}
    record = "\n".join(
        f"<{STAGING_RECORD}> <{_HAS_PART}> <{g}> ." for g in [*staged.values(), *new]
    )
    if record:  # (Virtuoso refuses an empty INSERT DATA)
        target.update(f"INSERT DATA {{ GRAPH <{STAGING_RECORD}> {{\n{record}\n}} }}")
    try:
        for name, staging in staged.items():
            target.put_graph(staging, graphs[name])
        for name in new:
            target.put_graph(name, graphs[name])
        for name in ahead:
            for part in differences[name].batches():
                target.update(" ;\n".join(part.operations(name)))
        operations = [
            f"MOVE SILENT GRAPH <{staging}> TO GRAPH <{name}>" for name, staging in staged.items()
        ]
        operations += [op for name in fitting for op in differences[name].operations(name)]
        operations += [f"DROP SILENT GRAPH <{name}>" for name in gone]
        operations += [f"DROP SILENT GRAPH <{name}>" for name in _stale_reasoning(changed + gone)]
        operations.append(f"DROP SILENT GRAPH <{PUBLICATION}>")
        operations.append(f"DROP SILENT GRAPH <{STAGING_RECORD}>")
        operations.append(f"INSERT DATA {{ GRAPH <{PUBLICATION}> {{\n{_manifest(digests)}\n}} }}")
        moved = sum(len(graphs[name]) for name in whole)
        moved += sum(differences[name].size for name in fitting)
        _switch(target, " ;\n".join(operations), moved)
    except StoreError:
        try:
            # (A switch whose answer was lost may have been applied: then they are published.)
            if published(target) != digests:
                for written in [*staged.values(), *new, STAGING_RECORD]:
                    target.drop_graph(written)
        except StoreError:
            pass  # the engine is gone: the next publish drops them, named in the record
        raise
    report.seconds = time.perf_counter() - started
    return report


def read_published(source: GraphStore) -> KnowledgeGraph:
    """A local copy of what :func:`publish` wrote into ``source`` (every graph of its
    manifest), for what needs the whole graph at hand: pages, traversal, explanations."""
    manifest = published(source)
    if not manifest:
        raise StoreError(
            f"{source.location}: nothing published there yet (run 'karabakh-kg publish --to "
            f"{source.location}')"
        )
    store = ox.Store()
    for name in sorted(manifest):
        graph = ox.NamedNode(name)
        store.extend(
            ox.Quad(t.subject, t.predicate, t.object, graph) for t in source.get_graph(name)
        )
    return KnowledgeGraph(store=store, version=publication_version(manifest), files=[])


def published_version(source: GraphStore) -> str | None:
    """The data version of what is published on ``source`` now (one small query of its
    manifest), or None when nothing is: how a server over ``source`` notices a new publish."""
    manifest = published(source)
    return publication_version(manifest) if manifest else None


def publication_version(manifest: dict[str, str]) -> str:
    """The data version of a publication: one digest over its manifest (graph → digest),
    so the copy :func:`read_published` takes carries it and a new publish changes it."""
    lines = "\n".join(f"{graph} {digest}" for graph, digest in sorted(manifest.items()))
    return hashlib.sha256(lines.encode()).hexdigest()
