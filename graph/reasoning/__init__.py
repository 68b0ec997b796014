"""Reasoning: OWL 2 RL plus the domain rules, materialised into ``graph/inferred``.

``materialize(kg)`` computes the closure of asserted ∪ ontology under the compiled OWL 2 RL
rules of the ontology and the SPARQL rules of ``rules.ttl`` (one fixpoint), then writes the
meaningful derived triples (see :func:`Reasoner.keep`) to the inferred graph. The reasoner
is kept in ``kg.views.reasoner`` (its one owner, :class:`karabakh_kg.graph.views.DerivedViews`)
so :func:`update` can apply changes incrementally and
:mod:`karabakh_kg.graph.reasoning.explain` can show one derivation per derived triple.
"""

from __future__ import annotations

import gc
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pyoxigraph as ox

from karabakh_kg.graph.dataset import ASSERTED, INFERRED, ONTOLOGY, SYSTEM_GRAPHS
from karabakh_kg.graph.prefixes import shorten
from karabakh_kg.graph.reasoning.blank_labels import BlankLabels
from karabakh_kg.graph.reasoning.engine import Engine, Rule, TermTable, Triple
from karabakh_kg.graph.reasoning.perspective_graphs import (
    UNCURATED,
    Perspectives,
    changed_quads,
    is_perspective_graph,
    write_all,
)
from karabakh_kg.graph.reasoning.rules import (
    BUILTIN_NAMESPACES,
    OWL,
    RDF,
    RDFS,
    RULE_LABELS,
    SCHEMA_PREDICATES,
    SCHEMA_TYPES,
    DomainRule,
    Schema,
    compile_domain_rule,
    compile_owl,
    read_domain_rules,
)
from karabakh_kg.graph.reasoning.support import SupportIndex, unit_masks

if TYPE_CHECKING:
    from karabakh_kg.graph.dataset import KnowledgeGraph

SYSTEM = {g.value for g in SYSTEM_GRAPHS}
NOISE_CLASSES = {OWL + "Thing", RDFS + "Resource"}
FREEZE_ABOVE = 200_000
"""Closures with more triples than this are frozen out of the garbage collector's sight."""


@dataclass
class ReasoningReport:
    """What one reasoning run did."""

    base: int
    derived: int
    by_rule: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    inferred_added: int = 0
    inferred_removed: int = 0
    full: bool = True
    phases: dict[str, float] = field(default_factory=dict)
    """Seconds per step of a full run: closure, support, inferred graph, perspectives."""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary."""
        return {
            "base_triples": self.base,
            "inferred_triples": self.derived,
            "by_rule": dict(sorted(self.by_rule.items(), key=lambda kv: (-kv[1], kv[0]))),
            "seconds": round(self.seconds, 4),
            "inferred_added": self.inferred_added,
            "inferred_removed": self.inferred_removed,
            "full_recomputation": self.full,
            "phases": self.phases,
        }


class Reasoner:
    """The compiled rules and the closure of one knowledge graph."""

    def __init__(
        self,
        table: TermTable,
        base: list[Triple],
        domain_rules: list[DomainRule],
        ontology_subjects: set[int],
        *,
        premises: bool = True,
    ) -> None:
        """``premises=False``: derivations name their rule only (nothing to explain)."""
        self.table = table
        self.domain_rules = {r.iri: r for r in domain_rules}
        schema = Schema(table, base)
        owl_rules, self.constraints = compile_owl(schema)
        rules: list[Rule] = owl_rules + [compile_domain_rule(r, table) for r in domain_rules]
        self.type_id = table.encode(ox.NamedNode(RDF + "type"))
        self.same_as_id = table.encode(ox.NamedNode(OWL + "sameAs"))
        self.has_equality = any(r.rule_id.startswith("eq-") for r in rules)
        self.engine = Engine(
            rules, self.type_id, self.same_as_id, table.literals, premises=premises
        )
        self.ontology_subjects = ontology_subjects
        self._noise = {table.encode(ox.NamedNode(c)) for c in NOISE_CLASSES}
        self._builtin: dict[int, bool] = {}
        self.engine.run(base)
        self.output: set[Triple] = self._kept()
        self.support = SupportIndex(self.engine, table)
        self.perspectives: Perspectives

    def attach_support(self, kg: KnowledgeGraph) -> None:
        """Compute the support of every fact and the perspectives of ``kg``."""
        self.support.compute(
            unit_masks(kg.store, self.support, is_evidence_graph, ONTOLOGY, UNCURATED)
        )
        self.perspectives = Perspectives(kg, self.support)

    def is_builtin(self, term_id: int) -> bool:
        """Whether the term is an IRI of the rdf, rdfs, owl or xsd vocabularies."""
        found = self._builtin.get(term_id)
        if found is None:
            term = self.table.decode(term_id)
            found = isinstance(term, ox.NamedNode) and term.value.startswith(BUILTIN_NAMESPACES)
            self._builtin[term_id] = found
        return found

    def keep(self, t: Triple) -> bool:
        """Whether a derived triple is meaningful to users (the noise policy)."""
        s, p, o = t
        if self.is_builtin(s):
            return False
        return not (
            p == self.type_id
            and (o in self._noise or isinstance(self.table.decode(o), ox.BlankNode))
        )

    def _kept(self) -> set[Triple]:
        """The derived triples :meth:`keep` keeps, filtered in bulk: the terms it drops
        found once in the term table, their triples through the indexes (1.5 s of method
        calls per triple at 1M before, 0.7 s now)."""
        builtin: set[int] = set()
        noise = set(self._noise)
        for number, term in enumerate(self.table.terms):
            if isinstance(term, ox.BlankNode):
                noise.add(number)
            elif isinstance(term, ox.NamedNode) and term.value.startswith(BUILTIN_NAMESPACES):
                builtin.add(number)
        return self.engine.derived_without(builtin, noise)

    def rule_id(self, rule_index: int) -> str:
        """The W3C OWL 2 RL rule name or the CURIE of the domain rule."""
        return shorten(self.engine.rules[rule_index].rule_id)

    def rule_label(self, rule_index: int) -> str:
        """What the rule says, for explanations."""
        rid = self.engine.rules[rule_index].rule_id
        if rid in self.domain_rules:
            return self.domain_rules[rid].label
        return RULE_LABELS.get(rid, rid)

    def encode_term(self, term: ox.NamedNode | ox.BlankNode | ox.Literal) -> int:
        """The id of a pyoxigraph term (numbered if new)."""
        return self.table.encode(term, literal=isinstance(term, ox.Literal))

    def lookup(self, s: object, p: object, o: object) -> Triple | None:
        """The encoded triple if all three terms are known."""
        si, pi, oi = self.table.get(s), self.table.get(p), self.table.get(o)
        if si is None or pi is None or oi is None:
            return None
        return si, pi, oi

    def decode(self, t: Triple) -> tuple[Any, Any, Any]:
        """The pyoxigraph terms of an encoded triple."""
        d = self.table.decode
        return d(t[0]), d(t[1]), d(t[2])

    def by_rule(self) -> dict[str, int]:
        """How many kept derived triples each rule produced."""
        counts: Counter[str] = Counter()
        for index, n in self.engine.rule_counts(self.output).items():
            counts[self.rule_id(index)] += n
        return dict(counts)


def is_evidence_graph(graph: ox.NamedNode) -> bool:
    """Whether a named graph is an evidence unit (not a system, support or perspective
    graph)."""
    return graph.value not in SYSTEM and not is_perspective_graph(graph.value)


def _encode_graphs(
    store: ox.Store, table: TermTable, graphs: Iterable[ox.NamedNode]
) -> tuple[list[Triple], set[int]]:
    base: list[Triple] = []
    ontology_subjects: set[int] = set()
    for graph in graphs:
        quads = store.quads_for_pattern(None, None, None, graph)
        for t in table.encode_quads(quads, ox.Literal):
            base.append(t)
            if graph == ONTOLOGY:
                ontology_subjects.add(t[0])
    return base, ontology_subjects


def _in_canonical_order(
    store: ox.Store,
    table: TermTable,
    base: list[Triple],
    ontology_subjects: set[int],
    graphs: tuple[ox.NamedNode, ...],
) -> tuple[TermTable, list[Triple], set[int]]:
    """``table`` renumbered in the order of its terms' text (blank nodes by their
    :class:`~karabakh_kg.graph.reasoning.blank_labels.BlankLabels` over ``graphs``), and
    ``base`` sorted in the new numbering.

    The derivation a triple keeps is the first one the engine finds, which depends on the
    order it reads its input in and on the numbers of the terms; a store iterates in an
    order of its own (in memory, the reverse of insertion; on disk, by its own term ids),
    so the same data read from its files, from the reasoned-store cache or from a durable
    store gave different derivations (and a second publish rewrote them). Read in this
    order, the same data gives the same derivations from wherever it is read. It costs
    3% of :func:`build` (0.11 s at 100k asserted triples, 1.4 s at 1M, 2026-12-02);
    ``karabakh-kg reason``, which explains nothing, does without it."""
    labels = BlankLabels(store, graphs)
    terms = table.terms

    def text(number: int) -> str:
        term = terms[number]
        return "_:" + labels.label(term) if isinstance(term, ox.BlankNode) else str(term)

    canonical = TermTable()
    renumbered = [0] * len(terms)
    for number in sorted(range(len(terms)), key=text):
        renumbered[number] = canonical.encode(terms[number], literal=number in table.literals)
    ordered = sorted([(renumbered[s], renumbered[p], renumbered[o]) for s, p, o in base])
    return canonical, ordered, {renumbered[s] for s in ontology_subjects}


def build(kg: KnowledgeGraph, *, domain_rules: bool = True) -> Reasoner:
    """Compile the rules of ``kg`` and compute its closure (without touching the store).

    ``domain_rules=False`` runs OWL 2 RL alone (to compare with other OWL reasoners).
    """
    table = TermTable()
    base, ontology_subjects = _encode_graphs(kg.store, table, (ONTOLOGY, ASSERTED))
    table, base, ontology_subjects = _in_canonical_order(
        kg.store, table, base, ontology_subjects, (ONTOLOGY, ASSERTED)
    )
    rules = (
        read_domain_rules(kg.store.quads_for_pattern(None, None, None, ONTOLOGY))
        if domain_rules
        else []
    )
    return Reasoner(table, base, rules, ontology_subjects)


@contextmanager
def _no_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector: the closure allocates millions of tuples that
    hold no cycles, and collections triggered by them made reasoning superlinear."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def reasoner(kg: KnowledgeGraph) -> Reasoner:
    """The reasoner attached to ``kg``, materialising first if it has none."""
    found = kg.views.reasoner
    if found is None:
        materialize(kg)
        found = kg.views.reasoner
    assert isinstance(found, Reasoner)
    return found


def attach(kg: KnowledgeGraph) -> Reasoner:
    """Give ``kg`` its reasoner without writing anything: for a store that already holds
    the inferred, support and perspective graphs as :func:`materialize` wrote them (so a
    restart does not rewrite every inferred quad, nor make the first update a full
    recomputation)."""
    with _no_gc():
        r = build(kg)
        r.attach_support(kg)
    kg.views.reasoner = r
    return r


def _quads(r: Reasoner, triples: Iterable[Triple]) -> list[ox.Quad]:
    d = r.table.decode
    return [ox.Quad(d(s), d(p), d(o), INFERRED) for s, p, o in triples]


def _write_inferred(kg: KnowledgeGraph, r: Reasoner) -> None:
    """Replace the inferred graph by ``r.output``, streamed: the store reads the quads as
    they are made, never a list of all of them (1.4 million at 1M asserted triples)."""
    d = r.table.decode
    kg.store.clear_graph(INFERRED)
    kg.store.extend(ox.Quad(d(s), d(p), d(o), INFERRED) for s, p, o in r.output)


def _report(r: Reasoner, start: float, phases: dict[str, float]) -> ReasoningReport:
    return ReasoningReport(
        base=len(r.engine.base),
        derived=len(r.output),
        by_rule=r.by_rule(),
        seconds=time.perf_counter() - start,
        inferred_added=len(r.output),
        phases={name: round(seconds, 4) for name, seconds in phases.items()},
    )


def materialize(kg: KnowledgeGraph) -> ReasoningReport:
    """Fill the inferred graph of ``kg`` from scratch (clearing it first)."""
    start = time.perf_counter()
    with _no_gc():
        r = build(kg)
        closed = time.perf_counter()
        r.attach_support(kg)
        supported = time.perf_counter()
        _write_inferred(kg, r)
        written = time.perf_counter()
        write_all(kg, r)
        if len(r.engine.facts) > FREEZE_ABOVE:
            # Move the closure out of the collector's generations: otherwise the first
            # collections after this one walk millions of tuples, stalling later updates.
            # They hold no cycles, so reference counting still frees them.
            gc.freeze()
    kg.views.reasoner = r
    return _report(
        r,
        start,
        {
            "closure": closed - start,
            "support": supported - closed,
            "inferred graph": written - supported,
            "perspectives": time.perf_counter() - written,
        },
    )


def _changes_rules(r: Reasoner, triple: Any) -> bool:
    p = triple.predicate.value
    if p in SCHEMA_PREDICATES:
        return True
    if p == RDF + "type" and isinstance(triple.object, ox.NamedNode):
        return triple.object.value in SCHEMA_TYPES
    return p == OWL + "sameAs" and not r.has_equality


def update(
    kg: KnowledgeGraph,
    added: Iterable[ox.Triple],
    removed: Iterable[ox.Triple],
    *,
    pending: Sequence[ox.Quad] = (),
    before_removing: Callable[[], None] | None = None,
) -> ReasoningReport:
    """After ``added``/``removed`` changed the asserted graph, bring the inferred graph to
    exactly what :func:`materialize` would give: a triple that lost a premise is deleted only
    when no other derivation remains (Backward/Forward), then additions saturate.

    ``pending`` are quads of the change that are not in the store yet (``added`` in the
    asserted graph and the graphs holding them): they are written with what reasoning adds,
    in one transaction, so a change that removes nothing is applied atomically.
    ``before_removing`` is called once before anything is removed or the graphs are
    rewritten (the caller's commit point for a change that cannot be one transaction).

    Changes to schema axioms (sub-class, domain, property characteristics ...) recompile the
    rules, so they fall back to a full recomputation.
    """
    start = time.perf_counter()
    added, removed = list(added), list(removed)
    r = kg.views.reasoner
    if r is None or any(_changes_rules(r, t) for t in (*added, *removed)):
        if before_removing is not None:
            before_removing()
        if pending:
            kg.store.extend(pending)
        return materialize(kg)
    store = kg.store
    add_ids = [
        (r.encode_term(t.subject), r.encode_term(t.predicate), r.encode_term(t.object))
        for t in added
    ]
    remove_ids: list[Triple] = []
    relabelled: set[Triple] = set()  # removed from one graph, still asserted: units changed
    for t in removed:
        still = any(
            True
            for g in (ASSERTED, ONTOLOGY)
            for _ in store.quads_for_pattern(t.subject, t.predicate, t.object, g)
        )
        found = r.lookup(t.subject, t.predicate, t.object)
        if found is not None:
            if still:
                relabelled.add(found)
            else:
                remove_ids.append(found)
    with _no_gc():
        touched = r.engine.update(add_ids, remove_ids)
        seeds = touched | (relabelled & r.engine.base)
        masks = unit_masks(store, r.support, is_evidence_graph, ONTOLOGY, UNCURATED, seeds, pending)
        previous = r.support.update(seeds, masks, removals=bool(removed))
    was_inferred = {t for t in previous if t in r.output}
    derivations = r.engine.derivations
    gained: list[Triple] = []
    lost: list[Triple] = []
    for t in touched:
        now = t in derivations and r.keep(t)
        if now and t not in r.output:
            gained.append(t)
            r.output.add(t)
        elif not now and t in r.output:
            lost.append(t)
            r.output.discard(t)
    added_quads, removed_quads = changed_quads(store, r, previous, was_inferred)
    removals = [*_quads(r, lost), *removed_quads]
    if removals and before_removing is not None:
        before_removing()
    for quad in removals:
        store.remove(quad)
    store.extend([*pending, *_quads(r, gained), *added_quads])  # one transaction
    return ReasoningReport(
        base=len(r.engine.base),
        derived=len(r.output),
        seconds=time.perf_counter() - start,
        inferred_added=len(gained),
        inferred_removed=len(lost),
        full=False,
    )
