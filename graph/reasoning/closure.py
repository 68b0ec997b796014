"""The closure of any RDF data under OWL 2 RL and the domain rules, written to a file.

What ``karabakh-kg reason FILE... --output PATH`` does once the files are read (by
:func:`read`, straight into the reasoner's encoding, or by
:func:`karabakh_kg.graph.rdf_files.load_files` into a store when a dataset is written):
:func:`compute` runs the reasoner over the ontology and asserted graphs (no support,
perspectives or write-back, which only the served graph needs) and :func:`write` streams the
result to a file atomically.

What a written closure holds:

* in a triple format (Turtle, N-Triples, RDF/XML, JSON-LD): every input triple (data and
  ontology) and every inferred triple, or the inferred triples only (``inferred_only``);
* in a dataset format (TriG, N-Quads): the dataset as ``karabakh-kg serve --data`` holds it:
  each named graph of the input as it was, ``graph/asserted`` (every data triple),
  ``graph/ontology`` and ``graph/inferred``; only ``graph/inferred`` with ``inferred_only``.

The inferred triples are those the reasoner keeps (:meth:`Reasoner.keep`): the OWL 2 RL
closure without the axiomatic noise (``x a owl:Thing``, ``x a rdfs:Resource``, types that
are blank nodes, triples about the rdf/rdfs/owl/xsd vocabularies). The domain rules' own
triples are read from the rules file, not reasoned over, so they never enter the closure.
"""

from __future__ import annotations

import gc
import gzip
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import chain
from pathlib import Path
from typing import BinaryIO

import pyoxigraph as ox

from karabakh_kg.graph import formats, rdf_files
from karabakh_kg.graph.dataset import (
    ASSERTED,
    INFERRED,
    ONTOLOGY,
    KnowledgeGraph,
    content_hash,
    is_evidence_graph,
    parse_file,
)
from karabakh_kg.graph.files import write_atomic
from karabakh_kg.graph.reasoning import FREEZE_ABOVE, Reasoner, _encode_graphs, _no_gc
from karabakh_kg.graph.reasoning.engine import TermTable, Triple
from karabakh_kg.graph.reasoning.rules import read_domain_rules
from karabakh_kg.ontology import vocab


@dataclass
class Encoded:
    """Files read straight into the reasoner's encoding (:func:`read`)."""

    kg: KnowledgeGraph
    """The files' version, with an empty store."""
    table: TermTable
    base: list[Triple]
    """The ontology's triples, then the data's, each once per side."""
    ontology_subjects: set[int]
    data_triples: int
    ontology_triples: int


def read(data: Sequence[Path], ontologies: Sequence[Path] | None = None) -> Encoded:
    """The triples of ``data`` (all asserted) and ``ontologies`` (default: ours), encoded as
    they are parsed, for a closure written as triples: what
    :func:`karabakh_kg.graph.rdf_files.load_files` then :func:`compute` would reason over,
    without a store. A store released after encoding leaves its heap with the process
    (about 220 MiB at 1M triples), so this is the lighter way. Errors are those of
    :func:`~karabakh_kg.graph.rdf_files.load_files`."""
    ontology_files = list(ontologies) if ontologies else [vocab.ontology_file()]
    for path in (*data, *ontology_files):
        rdf_files.check_file(path)  # a missing file or a wrong extension fails before parsing
    table = TermTable()
    base: list[Triple] = []
    ontology_subjects: set[int] = set()
    sizes = []
    with _no_gc():
        for paths in (ontology_files, data):  # the order of _encode_graphs
            seen: set[Triple] = set()
            for path in paths:
                for t in table.encode_quads(rdf_files.read_triples(path), ox.Literal):
                    if t not in seen:
                        seen.add(t)
                        base.append(t)
            if paths is ontology_files:
                ontology_subjects = {t[0] for t in seen}
            sizes.append(len(seen))
        _freeze_if_large(len(base))
    files = [*data, *ontology_files]
    kg = KnowledgeGraph(store=ox.Store(), version=content_hash(files), files=files)
    return Encoded(kg, table, base, ontology_subjects, sizes[1], sizes[0])


def compute(
    kg: KnowledgeGraph,
    *,
    rules: bool = True,
    encoded: Encoded | None = None,
) -> Reasoner:
    """OWL 2 RL over the ontology and asserted graphs of ``kg`` (or over ``encoded``, the
    files :func:`read` read for ``kg``), with the project's domain rules if ``rules``: the
    reasoner :func:`karabakh_kg.graph.reasoning.build` makes, except that the rules are read
    from the rules file, so their own triples are not reasoned over, and that its
    derivations name their rule without premises (nothing here is explained;
    ``r.engine.instances`` finds the premises of a fact again)."""
    domain_rules = read_domain_rules(parse_file(vocab.rules_file())) if rules else []
    with _no_gc():
        if encoded is not None:
            table, base, ontology_subjects = (
                encoded.table,
                encoded.base,
                encoded.ontology_subjects,
            )
        else:
            table = TermTable()
            base, ontology_subjects = _encode_graphs(kg.store, table, (ONTOLOGY, ASSERTED))
        r = Reasoner(table, base, domain_rules, ontology_subjects, premises=False)
        _freeze_if_large(len(r.engine.facts))
    return r


def _freeze_if_large(objects: int) -> None:
    """Move what is alive out of the collector's generations (``gc.freeze``) when that is
    more than :data:`~karabakh_kg.graph.reasoning.FREEZE_ABOVE` triples. Made while the
    collector was paused, they would all be walked by the first collection after it resumes
    (2.7 s of the 16 s of the closure at 1M asserted triples). They hold no cycles, so
    reference counting still frees them."""
    if objects > FREEZE_ABOVE:
        gc.freeze()


@dataclass
class Written:
    """What :func:`write` wrote."""

    path: Path
    format: formats.Format
    statements: int
    """Triples, or quads for a dataset format."""
    inferred_only: bool


def _decoded(r: Reasoner, encoded: Iterable[Triple]) -> Iterator[ox.Triple]:
    decode = r.table.decode
    for s, p, o in encoded:
        yield ox.Triple(decode(s), decode(p), decode(o))


def _inferred(r: Reasoner) -> Iterator[Triple]:
    """The inferred triples (``r.output``) in the order they were derived, which is the
    order they lie in memory (see :meth:`~.engine.Engine.base_in_order`)."""
    output = r.output
    return (t for t in r.engine.derived() if t in output)


def _statements(r: Reasoner, *, inferred_only: bool) -> Iterator[Triple]:
    if inferred_only:
        return _inferred(r)
    return chain(r.engine.base_in_order(), _inferred(r))


def triples(r: Reasoner, *, inferred_only: bool = False) -> Iterator[ox.Triple]:
    """The closure as triples, each once: the input (data and ontology), then the inferred
    triples (or only those)."""
    yield from _decoded(r, _statements(r, inferred_only=inferred_only))


def _ntriples(r: Reasoner, *, inferred_only: bool) -> Iterator[tuple[int, bytes]]:
    """The lines :func:`triples` would serialise as N-Triples, in chunks (with their line
    counts): each term's text is made once, by pyoxigraph (``str`` of a term is its
    N-Triples form), instead of a pyoxigraph triple per line, which took 10.4 of the 14.5 s
    of CPU that writing the 1M closure took, and grew faster than the closure."""
    text = [str(term) for term in r.table.terms]
    lines: list[str] = []
    for s, p, o in _statements(r, inferred_only=inferred_only):
        lines.append(f"{text[s]} {text[p]} {text[o]} .\n")
        if len(lines) == 4096:
            yield len(lines), "".join(lines).encode()
            lines.clear()
    if lines:
        yield len(lines), "".join(lines).encode()


def quads(kg: KnowledgeGraph, r: Reasoner, *, inferred_only: bool = False) -> Iterator[ox.Quad]:
    """The closure as a dataset: the input's named graphs, ``graph/asserted``,
    ``graph/ontology`` and ``graph/inferred`` (or only the last)."""
    store = kg.store
    if not inferred_only:
        for graph in sorted(store.named_graphs(), key=str):
            if is_evidence_graph(graph):
                yield from store.quads_for_pattern(None, None, None, graph)
        for graph in (ASSERTED, ONTOLOGY):
            yield from store.quads_for_pattern(None, None, None, graph)
    for t in _decoded(r, _inferred(r)):
        yield ox.Quad(t.subject, t.predicate, t.object, INFERRED)


def write(kg: KnowledgeGraph, r: Reasoner, path: Path, *, inferred_only: bool = False) -> Written:
    """Write the closure to ``path`` in the format its extension names (gzip-compressed
    for a name ending in ``.gz``), atomically: a failure leaves no file, or the old one whole
    (ValueError for an unknown extension). A dataset format needs the store of ``kg``."""
    found = formats.for_file(path)
    syntax = found.rdf_format
    assert syntax is not None
    count = 0

    def counted(statements: Iterator[ox.Triple] | Iterator[ox.Quad]) -> Iterator[object]:
        nonlocal count
        for statement in statements:
            count += 1
            yield statement

    statements = (
        quads(kg, r, inferred_only=inferred_only)
        if syntax.supports_datasets
        else triples(r, inferred_only=inferred_only)
    )

    prefixes = dict(vocab.PREFIXES)  # Turtle, TriG, RDF/XML and JSON-LD use them

    def to(out: BinaryIO) -> None:
        if syntax == ox.RdfFormat.N_TRIPLES:
            nonlocal count
            for lines, chunk in _ntriples(r, inferred_only=inferred_only):
                count += lines
                out.write(chunk)
            return
        ox.serialize(counted(statements), out, syntax, prefixes=prefixes)  # type: ignore[arg-type]

    def serialize(out: BinaryIO) -> None:
        if not formats.is_gzip(path):
            to(out)
            return
        with gzip.GzipFile(filename="", mode="wb", fileobj=out, mtime=0) as compressed:
            to(compressed)  # type: ignore[arg-type]

    write_atomic(path, serialize)
    return Written(path=path, format=found, statements=count, inferred_only=inferred_only)
