"""Perspectives: what reasoning derives from one side's evidence alone.

A perspective is a set of evidence units: ``all`` (every unit), ``article`` (the units in the
article's own voice: attributed to the article or its author) or a claimant (the article's
units plus every unit attributed to that claimant). Its closure is what reasoning derives
from those units and the ontology alone, read off the supports
(:mod:`karabakh_kg.graph.reasoning.support`): a triple holds in a perspective when one of
its minimal supports lies inside it. So a claim of one side never becomes a fact of another.

Each perspective is materialised in the store as two graphs (for the SPARQL endpoint's
worker processes, which only see the store): ``graph/perspective/{slug}/asserted`` (the
union of its units) and ``graph/perspective/{slug}/inferred`` (what it derives beyond
them, under the same noise policy as ``graph/inferred``). The support of every inferred
triple is in ``graph/support`` (see docs/reasoning.md).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pyoxigraph as ox

from karabakh_kg.graph import dataset as system_graphs
from karabakh_kg.graph.reasoning.engine import Triple
from karabakh_kg.graph.reasoning.support import SupportIndex, bits, within
from karabakh_kg.ontology import vocab

if TYPE_CHECKING:
    from karabakh_kg.graph.dataset import KnowledgeGraph
    from karabakh_kg.graph.reasoning import Reasoner

KG = str(vocab.KG)
KGO = str(vocab.KGO)
PROV = str(vocab.PROV)
RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
SUPPORT = system_graphs.SUPPORT
"""The graph of :class:`kgo:Support` nodes: one per minimal support of an inferred triple."""
SUPPORT_NODES = vocab.BASE + "support/"
PERSPECTIVE_GRAPHS = system_graphs.PERSPECTIVE_GRAPHS
"""Prefix of the per-perspective graphs."""
UNCURATED = vocab.BASE + "graph/asserted"
"""Pseudo-unit of asserted triples no evidence graph holds (added by a SPARQL Update)."""
ARTICLE_VOICES = frozenset({KG + "seed-article", KG + "seed-article-author"})
"""Who speaks when the article speaks in its own voice."""
ALL, ARTICLE = "all", "article"


class UnknownPerspective(LookupError):
    """A perspective that is neither ``all``, ``article`` nor a claimant of the data."""

    def __init__(self, text: str, known: list[Perspective]) -> None:
        names = ", ".join(p.name for p in known[:12])
        more = f" and {len(known) - 12} more" if len(known) > 12 else ""
        super().__init__(
            f"unknown perspective {text!r}: expected all, article or a claimant "
            f"(perspectives: {names}{more})"
        )
        self.text = text
        self.known = known


@dataclass(frozen=True)
class Perspective:
    """One perspective: ``name`` as users write it, ``iri`` of the claimant (if any)."""

    name: str
    label: str
    slug: str
    iri: str | None = None

    @property
    def asserted_graph(self) -> ox.NamedNode:
        return ox.NamedNode(f"{PERSPECTIVE_GRAPHS}{self.slug}/asserted")

    @property
    def inferred_graph(self) -> ox.NamedNode:
        return ox.NamedNode(f"{PERSPECTIVE_GRAPHS}{self.slug}/inferred")

    def to_dict(self) -> dict[str, str | None]:
        """JSON-ready form."""
        return {
            "name": self.name,
            "label": self.label,
            "claimant": self.iri,
            "asserted_graph": None if self.name == ALL else self.asserted_graph.value,
            "inferred_graph": None if self.name == ALL else self.inferred_graph.value,
        }


ALL_PERSPECTIVE = Perspective(ALL, "every evidence unit", ALL)
ARTICLE_PERSPECTIVE = Perspective(ARTICLE, "the article's own statements", ARTICLE)


def _slug(iri: str) -> str:
    if iri.startswith(KG) and iri[len(KG) :].replace("-", "").isalnum():
        return "claimant/" + iri[len(KG) :]
    return "claimant/h" + hashlib.sha256(iri.encode()).hexdigest()[:16]


def _name(iri: str) -> str:
    return "kg:" + iri[len(KG) :] if iri.startswith(KG) else f"<{iri}>"


class Perspectives:
    """The perspectives of one reasoned graph and the unit mask of each."""

    def __init__(self, kg: KnowledgeGraph, support: SupportIndex) -> None:
        from karabakh_kg.graph.dataset import PROVENANCE

        self.support = support
        self.attributed: dict[str, set[str]] = {}
        labels: dict[str, str] = {}
        for q in kg.store.quads_for_pattern(
            None, ox.NamedNode(PROV + "wasAttributedTo"), None, PROVENANCE
        ):
            if isinstance(q.subject, ox.NamedNode) and isinstance(q.object, ox.NamedNode):
                self.attributed.setdefault(q.subject.value, set()).add(q.object.value)
        claimants = sorted({w for ws in self.attributed.values() for w in ws} - ARTICLE_VOICES)
        label = ox.NamedNode("http://www.w3.org/2000/01/rdf-schema#label")
        for iri in claimants:
            for q in kg.store.quads_for_pattern(ox.NamedNode(iri), label, None, None):
                labels.setdefault(iri, q.object.value)
        self.claimants = [
            Perspective(_name(iri), labels.get(iri, _name(iri)), _slug(iri), iri)
            for iri in claimants
        ]
        self.by_iri = {p.iri: p for p in self.claimants}

    def listed(self) -> list[Perspective]:
        """Every perspective: all, article, then the claimants by IRI."""
        return [ALL_PERSPECTIVE, ARTICLE_PERSPECTIVE, *self.claimants]

    def named(self) -> list[Perspective]:
        """The perspectives with graphs of their own (all but ``all``)."""
        return [ARTICLE_PERSPECTIVE, *self.claimants]

    def mask(self, perspective: Perspective) -> int:
        """The units of ``perspective`` as a bitmask (-1: every unit)."""
        if perspective.name == ALL:
            return -1
        mask = 0
        for number, unit in enumerate(self.support.units):
            who = self.attributed.get(unit, set())
            if not who:
                continue
            if who <= ARTICLE_VOICES or (perspective.iri is not None and perspective.iri in who):
                mask |= 1 << number
        return mask

    def units(self, perspective: Perspective) -> list[str]:
        """IRIs of the evidence units of ``perspective`` (every unit for ``all``)."""
        mask = self.mask(perspective)
        if mask == -1:
            return list(self.support.units)
        return [self.support.units[b] for b in bits(mask)]

    def claimants_of(self, masks: Iterable[int]) -> set[str]:
        """The claimants (other than the article) of the units in ``masks``."""
        found: set[str] = set()
        for m in masks:
            for b in bits(m):
                found |= self.attributed.get(self.support.units[b], set())
        return found - ARTICLE_VOICES

    def single_claimant(self, masks: Iterable[int]) -> str | None:
        """The one claimant (besides the article) every support needs, if there is one."""
        masks = list(masks)
        sides = [self.claimants_of([m]) for m in masks]
        if not masks or any(len(s) != 1 for s in sides):
            return None
        first = sides[0]
        return next(iter(first)) if all(s == first for s in sides) else None


# -- writing the graphs -----------------------------------------------------------------


def support_quads(r: Reasoner, t: Triple) -> list[ox.Quad]:
    """The ``kgo:Support`` nodes of one inferred triple."""
    s, p, o = r.decode(t)
    units = r.support.units
    out: list[ox.Quad] = []
    key = f"{s} {p} {o}"
    rests_on = ox.NamedNode(KGO + "restsOn")
    voice = ox.NamedNode(KGO + "voice")
    attributed = r.perspectives.attributed
    for mask in r.support.of.get(t, ()):
        members = sorted(units[b] for b in bits(mask))
        digest = hashlib.sha256((key + "|" + " ".join(members)).encode()).hexdigest()[:24]
        node = ox.NamedNode(SUPPORT_NODES + digest)
        out += [
            ox.Quad(node, ox.NamedNode(RDF + "type"), ox.NamedNode(KGO + "Support"), SUPPORT),
            ox.Quad(node, ox.NamedNode(RDF + "subject"), s, SUPPORT),
            ox.Quad(node, ox.NamedNode(RDF + "predicate"), p, SUPPORT),
            ox.Quad(node, ox.NamedNode(RDF + "object"), o, SUPPORT),
        ]
        out += [ox.Quad(node, rests_on, ox.NamedNode(u), SUPPORT) for u in members]
        out += [
            ox.Quad(node, voice, ox.NamedNode(who), SUPPORT)
            for who in sorted({w for u in members for w in attributed.get(u, ())})
        ]
    return out


def membership(r: Reasoner, t: Triple, mask: int) -> tuple[bool, bool]:
    """(asserted in, inferred in) the perspective of units ``mask`` for one fact."""
    base_units = r.support.base_units.get(t)
    if base_units is not None and base_units & mask:
        return True, False
    kept = (base_units != 0 and r.keep(t)) if t in r.engine.base else t in r.output
    return False, kept and within(r.support.of.get(t, ()), mask)


def write_all(kg: KnowledgeGraph, r: Reasoner) -> None:
    """(Re)write the support graph and every perspective's graphs from scratch."""
    store = kg.store
    for g in list(store.named_graphs()):
        if isinstance(g, ox.NamedNode) and g.value.startswith(PERSPECTIVE_GRAPHS):
            store.clear_graph(g)
            store.remove_graph(g)
    store.clear_graph(SUPPORT)
    quads: list[ox.Quad] = []
    for t in r.output:
        quads += support_quads(r, t)
    d = r.table.decode
    base, base_units, output, keep = r.engine.base, r.support.base_units, r.output, r.keep
    facts = []  # (s, p, o, unit mask, kept as inferred, supports), decoded once
    for t, masks in r.support.of.items():
        units = base_units.get(t) or 0
        kept = (base_units.get(t) != 0 and keep(t)) if t in base else t in output
        if units or kept:
            facts.append((d(t[0]), d(t[1]), d(t[2]), units, kept, masks))
    views = r.perspectives
    for perspective in views.named():
        mask = views.mask(perspective)
        ag, ig = perspective.asserted_graph, perspective.inferred_graph
        for s, p, o, units, kept, masks in facts:
            if units & mask:
                quads.append(ox.Quad(s, p, o, ag))
            elif kept and any(m & ~mask == 0 for m in masks):
                quads.append(ox.Quad(s, p, o, ig))
    store.extend(quads)


def write_changes(kg: KnowledgeGraph, r: Reasoner, changed: set[Triple]) -> None:
    """Bring the support and perspective graphs up to date for the ``changed`` triples."""
    store = kg.store
    d = r.table.decode
    views = r.perspectives
    masks = [(p, views.mask(p)) for p in views.named()]
    for t in changed:
        s, p, o = d(t[0]), d(t[1]), d(t[2])
        for q in list(store.quads_for_pattern(None, ox.NamedNode(RDF + "subject"), s, SUPPORT)):
            node = q.subject
            if any(
                True
                for _ in store.quads_for_pattern(node, ox.NamedNode(RDF + "predicate"), p, SUPPORT)
            ) and any(
                True
                for _ in store.quads_for_pattern(node, ox.NamedNode(RDF + "object"), o, SUPPORT)
            ):
                for old in list(store.quads_for_pattern(node, None, None, SUPPORT)):
                    store.remove(old)
        if t in r.output:
            store.extend(support_quads(r, t))
        for perspective, mask in masks:
            asserted, inferred = membership(r, t, mask) if t in r.engine.facts else (False, False)
            for graph, wanted in (
                (perspective.asserted_graph, asserted),
                (perspective.inferred_graph, inferred),
            ):
                quad = ox.Quad(s, p, o, graph)
                if wanted:
                    store.add(quad)
                else:
                    store.remove(quad)


# -- reading ----------------------------------------------------------------------------


def perspectives(kg: KnowledgeGraph) -> Perspectives:
    """The perspectives of ``kg`` (reasoning first if needed)."""
    from karabakh_kg.graph.reasoning import reasoner

    return reasoner(kg).perspectives


def resolve(kg: KnowledgeGraph, text: str | None) -> Perspective:
    """The perspective named ``text``: ``all`` (also for None or ""), ``article``, or a
    claimant by CURIE, IRI or label. Raises :class:`UnknownPerspective`."""
    views = perspectives(kg)
    raw = (text or "").strip()
    if not raw or raw.lower() == ALL:
        return ALL_PERSPECTIVE
    if raw.lower() == ARTICLE:
        return ARTICLE_PERSPECTIVE
    iri = raw[1:-1] if raw.startswith("<") and raw.endswith(">") else raw
    if iri.startswith("kg:"):
        iri = KG + iri[3:]
    found = views.by_iri.get(iri)
    if found is None:
        from karabakh_kg.graph import lookup

        try:
            found = views.by_iri.get(lookup.resolve(kg, raw))
        except LookupError:
            found = None
    if found is None:
        raise UnknownPerspective(raw, views.listed())
    return found


def dataset(
    perspective: Perspective, *, include_inferred: bool = True
) -> list[ox.NamedNode] | None:
    """The default graph of a query in ``perspective`` (None: the standard one)."""
    from karabakh_kg.graph.dataset import ONTOLOGY, PROVENANCE

    if perspective.name == ALL:
        return None
    graphs = [perspective.asserted_graph, PROVENANCE, ONTOLOGY]
    if include_inferred:
        graphs.append(perspective.inferred_graph)
    return graphs


def is_perspective_graph(name: str) -> bool:
    """Whether a graph IRI is one of the support or perspective graphs."""
    return name == SUPPORT.value or name.startswith(PERSPECTIVE_GRAPHS)


def holds(kg: KnowledgeGraph, perspective: Perspective, s: Any, p: Any, o: Any) -> bool:
    """Whether the triple (terms, IRIs or N-Triples text) holds in ``perspective``."""
    from karabakh_kg.graph.reasoning import reasoner
    from karabakh_kg.graph.reasoning.explain import parse_term

    r = reasoner(kg)
    t = r.lookup(parse_term(s), parse_term(p), parse_term(o))
    if t is None or t not in r.engine.facts:
        return False
    mask = r.perspectives.mask(perspective)
    return within(r.support.of.get(t, ()), mask)


def view(kg: KnowledgeGraph, perspective: Perspective) -> KnowledgeGraph:
    """A knowledge graph holding only ``perspective``: its evidence graphs, its asserted
    and inferred graphs as ``graph/asserted`` and ``graph/inferred``, the provenance and
    the ontology; so every traversal, projection and export works on it unchanged.
    ``all`` is ``kg`` itself. Views are kept per data version, bounded (``kg.views``)."""

    if perspective.name == ALL:
        return kg
    from karabakh_kg.graph.views import view as derived

    return derived(kg, ("perspective", perspective.name), lambda: _build_view(kg, perspective))


def _build_view(kg: KnowledgeGraph, perspective: Perspective) -> KnowledgeGraph:
    from karabakh_kg.graph.dataset import (
        ASSERTED,
        INFERRED,
        ONTOLOGY,
        PROVENANCE,
        WIKIDATA,
        KnowledgeGraph,
    )

    views = perspectives(kg)
    store = ox.Store()
    quads: list[ox.Quad] = []
    for graph in (PROVENANCE, ONTOLOGY, WIKIDATA):
        quads += kg.store.quads_for_pattern(None, None, None, graph)
    for target, source in (
        (ASSERTED, perspective.asserted_graph),
        (INFERRED, perspective.inferred_graph),
    ):
        quads += [
            ox.Quad(q.subject, q.predicate, q.object, target)
            for q in kg.store.quads_for_pattern(None, None, None, source)
        ]
    for unit in views.units(perspective):
        if unit != UNCURATED:
            quads += kg.store.quads_for_pattern(None, None, None, ox.NamedNode(unit))
    store.extend(quads)
    return KnowledgeGraph(store=store, version=f"{kg.version}:{perspective.name}")
