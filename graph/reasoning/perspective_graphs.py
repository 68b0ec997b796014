"""The perspectives' records and graphs, written by the reasoner.

:class:`Perspectives` lists the perspectives of one reasoned graph (``all``, ``article``, each
claimant) with the evidence units of each as a bitmask; :func:`write_all` and
:func:`changed_quads` keep their graphs ``graph/perspective/{slug}/{asserted,inferred}`` and the
support graph in the store. The reasoner (:mod:`karabakh_kg.graph.reasoning`) imports this
module; reading a perspective through the reasoner is :mod:`.perspectives`, which imports the
reasoner, so the two never import each other.
"""

from __future__ import annotations

import hashlib
import queue
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pyoxigraph as ox

from karabakh_kg.graph import dataset as system_graphs
from karabakh_kg.graph.dataset import PROVENANCE
from karabakh_kg.graph.reasoning.engine import Triple
from karabakh_kg.graph.reasoning.support import Masks, SupportIndex, bits, within
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
ALL, ARTICLE, CURATED = "all", "article", "curated"
CONTRIBUTIONS = system_graphs.CONTRIBUTIONS_GRAPHS


class UnknownPerspective(LookupError):
    """A perspective that is neither ``all``, ``curated``, ``article`` nor a claimant of the
    data."""

    def __init__(self, text: str, known: list[Perspective]) -> None:
        names = ", ".join(p.name for p in known[:12])
        more = f" and {len(known) - 12} more" if len(known) > 12 else ""
        super().__init__(
            f"unknown perspective {text!r}: expected all, curated, article or a claimant "
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
CURATED_PERSPECTIVE = Perspective(
    CURATED, "every curated evidence unit, without what contributors added", CURATED
)


def is_contribution(unit: str) -> bool:
    """Whether an evidence unit holds what users added (a contributor's graph, or the
    pseudo-unit of asserted triples no evidence graph holds) rather than curated files."""
    return unit == UNCURATED or unit.startswith(CONTRIBUTIONS)


def _slug(iri: str) -> str:
    if iri.startswith(KG) and iri[len(KG) :].replace("-", "").isalnum():
        return "claimant/" + iri[len(KG) :]
    return "claimant/h" + hashlib.sha256(iri.encode()).hexdigest()[:16]


def _name(iri: str) -> str:
    return "kg:" + iri[len(KG) :] if iri.startswith(KG) else f"<{iri}>"


class Perspectives:
    """The perspectives of one reasoned graph and the unit mask of each."""

    def __init__(self, kg: KnowledgeGraph, support: SupportIndex) -> None:
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
        self._masks: dict[str, tuple[int, int]] = {}
        """Perspective name -> (number of units it was computed for, mask)."""
        self._terms: dict[str, ox.NamedNode] = {}
        self._graphs: tuple[int, list[tuple[int, ox.NamedNode, ox.NamedNode]], int] = (-1, [], 0)
        """(number of units, :meth:`graphs`, the union of their masks)."""

    def unit_terms(self, iri: str) -> ox.NamedNode:
        """The IRI ``iri`` as a term, made once (support nodes name units and voices)."""
        found = self._terms.get(iri)
        if found is None:
            found = self._terms[iri] = ox.NamedNode(iri)
        return found

    def listed(self) -> list[Perspective]:
        """Every perspective: all, curated, article, then the claimants by IRI."""
        return [ALL_PERSPECTIVE, CURATED_PERSPECTIVE, ARTICLE_PERSPECTIVE, *self.claimants]

    def named(self) -> list[Perspective]:
        """The perspectives with graphs of their own (all but ``all``)."""
        return [CURATED_PERSPECTIVE, ARTICLE_PERSPECTIVE, *self.claimants]

    def mask(self, perspective: Perspective) -> int:
        """The units of ``perspective`` as a bitmask (-1: every unit)."""
        if perspective.name == ALL:
            return -1
        units = self.support.units
        known, mask = self._masks.get(perspective.name, (0, 0))
        # Units are only ever appended (numbered on first sight): extend the cached mask.
        for number in range(known, len(units)):
            if perspective.name == CURATED:
                if not is_contribution(units[number]):
                    mask |= 1 << number
                continue
            who = self.attributed.get(units[number], set())
            if not who:
                continue
            if who <= ARTICLE_VOICES or (perspective.iri is not None and perspective.iri in who):
                mask |= 1 << number
        self._masks[perspective.name] = (len(units), mask)
        return mask

    def graphs(self) -> tuple[list[tuple[int, ox.NamedNode, ox.NamedNode]], int]:
        """(mask, asserted graph, inferred graph) of each perspective of :meth:`named`, and
        every unit some of them holds (kept until a unit is numbered)."""
        known, graphs, units = self._graphs
        if known != len(self.support.units):
            graphs = [(self.mask(p), p.asserted_graph, p.inferred_graph) for p in self.named()]
            units = 0
            for mask, _, _ in graphs:
                units |= mask
            self._graphs = (len(self.support.units), graphs, units)
        return graphs, units

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


_TYPE = ox.NamedNode(RDF + "type")
_SUPPORT_CLASS = ox.NamedNode(KGO + "Support")
_SUBJECT = ox.NamedNode(RDF + "subject")
_PREDICATE = ox.NamedNode(RDF + "predicate")
_OBJECT = ox.NamedNode(RDF + "object")
_RESTS_ON = ox.NamedNode(KGO + "restsOn")
_VOICE = ox.NamedNode(KGO + "voice")


UnitText = tuple[list[str], list[str], str]
"""The units of one support (sorted IRIs), their voices, and the units as the node digest
reads them."""


def _unit_text(r: Reasoner, mask: int, memo: dict[int, UnitText] | None = None) -> UnitText:
    """The units and voices of the support ``mask`` (from ``memo`` when it has them: the
    same units support many triples)."""
    found = memo.get(mask) if memo is not None else None
    if found is None:
        units = r.support.units
        attributed = r.perspectives.attributed
        members = sorted(units[b] for b in bits(mask))
        voices = sorted({w for u in members for w in attributed.get(u, ())})
        found = (members, voices, " ".join(members))
        if memo is not None:
            memo[mask] = found
    return found


def _support_nodes(
    r: Reasoner, key: str, supports: Masks, memo: dict[int, UnitText] | None = None
) -> Iterator[tuple[str, list[str], list[str]]]:
    """(node IRI, its units, their voices) of each support of the triple written ``key``
    (its terms as N-Triples). A node's IRI is a digest of the triple and its units, so the
    same support always has the same node."""
    for mask in supports:
        members, voices, joined = _unit_text(r, mask, memo)
        digest = hashlib.sha256((key + joined).encode()).hexdigest()[:24]
        yield SUPPORT_NODES + digest, members, voices


def support_quads(
    r: Reasoner,
    t: Triple,
    supports: Masks | None = None,
    memo: dict[int, UnitText] | None = None,
) -> list[ox.Quad]:
    """The ``kgo:Support`` nodes of one inferred triple (for ``supports``, by default the
    triple's current ones; ``memo``: the units of supports seen before, see
    :func:`_unit_text`)."""
    s, p, o = r.decode(t)
    terms = r.perspectives.unit_terms
    out: list[ox.Quad] = []
    chosen = r.support.of.get(t, ()) if supports is None else supports
    for iri, members, voices in _support_nodes(r, f"{s} {p} {o}|", chosen, memo):
        node = ox.NamedNode(iri)
        out += (
            ox.Quad(node, _TYPE, _SUPPORT_CLASS, SUPPORT),
            ox.Quad(node, _SUBJECT, s, SUPPORT),
            ox.Quad(node, _PREDICATE, p, SUPPORT),
            ox.Quad(node, _OBJECT, o, SUPPORT),
        )
        out += (ox.Quad(node, _RESTS_ON, terms(u), SUPPORT) for u in members)
        out += (ox.Quad(node, _VOICE, terms(who), SUPPORT) for who in voices)
    return out


CHUNK = 1 << 22
"""Characters of N-Quads text handed to the store at a time (4 MiB): the text of the whole
support graph would be hundreds of megabytes on large data."""


class _Loader:
    """Loads N-Quads text into a store chunk by chunk, in a thread of its own: pyoxigraph
    parses and indexes without holding the interpreter lock, so the store takes one chunk
    while the next is written (the support graph is the bulk of what reasoning writes)."""

    def __init__(self, store: ox.Store) -> None:
        self.store = store
        self.lines: list[str] = []
        self.size = 0
        self.chunks: queue.Queue[str | None] = queue.Queue(maxsize=2)
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name="support-graph-loader")
        self.thread.start()

    def _run(self) -> None:
        while (text := self.chunks.get()) is not None:
            if self.error is None:
                try:
                    self.store.load(text, format=ox.RdfFormat.N_QUADS, lenient=True)
                except BaseException as error:  # raised again in the writing thread
                    self.error = error

    def add(self, text: str) -> None:
        """Queue the N-Quads lines ``text`` (loaded once a chunk is full)."""
        self.lines.append(text)
        self.size += len(text)
        if self.size >= CHUNK:
            self.flush()

    def flush(self) -> None:
        if self.lines:
            self.chunks.put("".join(self.lines))
            self.lines, self.size = [], 0

    def close(self) -> None:
        """Load what is left and wait for the store; raise what loading raised."""
        try:
            self.flush()
        finally:
            self.chunks.put(None)
            self.thread.join()
        if self.error is not None:
            raise self.error


def _support_text(
    r: Reasoner, t: Triple, terms: tuple[str, str, str], memo: dict[int, UnitText], out: _Loader
) -> None:
    """Write the N-Quads lines of :func:`support_quads` for ``t`` (its terms as N-Triples;
    much cheaper to make than quad objects when the whole support graph is written)."""
    s, p, o = terms
    key = f"{s} {p} {o}|"
    graph = f" <{SUPPORT.value}> .\n"
    head = f" {_TYPE} {_SUPPORT_CLASS}{graph}"
    for iri, members, voices in _support_nodes(r, key, r.support.of.get(t, ()), memo):
        node = f"<{iri}>"
        out.add(
            f"{node}{head}{node} {_SUBJECT} {s}{graph}{node} {_PREDICATE} {p}{graph}"
            f"{node} {_OBJECT} {o}{graph}"
            + "".join(f"{node} {_RESTS_ON} <{u}>{graph}" for u in members)
            + "".join(f"{node} {_VOICE} <{who}>{graph}" for who in voices)
        )


def write_all(kg: KnowledgeGraph, r: Reasoner) -> None:
    """(Re)write the support graph and every perspective's graphs from scratch.

    Triples without a blank node are written as N-Quads text, the others as quad objects
    (a loaded blank node would get a new label)."""
    store = kg.store
    for g in list(store.named_graphs()):
        if isinstance(g, ox.NamedNode) and g.value.startswith(PERSPECTIVE_GRAPHS):
            store.clear_graph(g)
            store.remove_graph(g)
    store.clear_graph(SUPPORT)
    quads: list[ox.Quad] = []
    decode = r.table.decode
    written: dict[int, str | None] = {}  # term id -> N-Triples (None: a blank node)

    def text(term_id: int) -> str | None:
        found = written.get(term_id, "")
        if found == "":
            term = decode(term_id)
            found = written[term_id] = None if isinstance(term, ox.BlankNode) else str(term)
        return found

    views = r.perspectives
    graphs = [(views.mask(p), p.asserted_graph, p.inferred_graph) for p in views.named()]
    targets = [(mask, f" {ag} .\n", f" {ig} .\n", ag, ig) for mask, ag, ig in graphs]
    base, base_units, output, keep = r.engine.base, r.support.base_units, r.output, r.keep
    memo: dict[int, UnitText] = {}
    loader = _Loader(store)
    try:
        for t in output:
            s, p, o = text(t[0]), text(t[1]), text(t[2])
            if s is None or p is None or o is None:
                quads += support_quads(r, t)
            else:
                _support_text(r, t, (s, p, o), memo, loader)
        del memo
        for t, masks in r.support.of.items():
            units = base_units.get(t) or 0
            kept = (base_units.get(t) != 0 and keep(t)) if t in base else t in output
            if not units and not kept:
                continue
            s, p, o = text(t[0]), text(t[1]), text(t[2])
            plain = s is not None and p is not None and o is not None
            for mask, asserted, inferred, ag, ig in targets:
                if units & mask:
                    graph, g = asserted, ag
                elif kept and any(m | mask == mask for m in masks):
                    graph, g = inferred, ig
                else:
                    continue
                if plain:
                    loader.add(f"{s} {p} {o}{graph}")
                else:
                    quads.append(ox.Quad(decode(t[0]), decode(t[1]), decode(t[2]), g))
    finally:
        loader.close()
    store.extend(quads)


def changed_quads(
    store: ox.Store, r: Reasoner, previous: dict[Triple, Masks], was_inferred: set[Triple]
) -> tuple[list[ox.Quad], list[ox.Quad]]:
    """(quads to add, quads to remove) that bring the support and perspective graphs up to
    date for the triples of ``previous`` (each with the supports it had before the change;
    ``was_inferred``: those that were in the inferred graph then). Only what differs: the
    support nodes that appeared or went, the perspective graphs a triple joined or left."""
    d = r.table.decode
    graphs, named_units = r.perspectives.graphs()  # named_units: every unit some one holds
    facts, base, output = r.engine.facts, r.engine.base, r.output
    base_units_of, supports_of = r.support.base_units, r.support.of
    added: list[ox.Quad] = []
    removed: list[ox.Quad] = []
    memo: dict[int, UnitText] = {}
    for t, before in previous.items():
        if t in was_inferred:
            old = set(support_quads(r, t, before, memo))
            new = set(support_quads(r, t, None, memo)) if t in output else set()
            removed += old - new
            added += new - old
        elif t in output:
            added += support_quads(r, t, None, memo)  # every node is new, and none twice
        wanted: set[ox.NamedNode] = set()
        units = base_units_of.get(t)
        supports = supports_of.get(t, ())
        # A triple resting on units no named perspective holds (contributions) is in none.
        if t in facts and ((units or 0) & named_units or within(supports, named_units)):
            kept = (units != 0 and r.keep(t)) if t in base else t in output
            for mask, asserted_graph, inferred_graph in graphs:
                if units is not None and units & mask:
                    wanted.add(asserted_graph)
                elif kept and within(supports, mask):
                    wanted.add(inferred_graph)
        if not before and not wanted:
            continue  # not in the closure before, so in no perspective's graph: none to change
        s, p, o = d(t[0]), d(t[1]), d(t[2])
        held = (
            {
                q.graph_name
                for q in store.quads_for_pattern(s, p, o, None)
                if isinstance(q.graph_name, ox.NamedNode)
                and q.graph_name.value.startswith(PERSPECTIVE_GRAPHS)
            }
            if before
            else set()
        )
        removed += (ox.Quad(s, p, o, g) for g in held - wanted)
        added += (ox.Quad(s, p, o, g) for g in wanted - held)
    return added, removed


def is_perspective_graph(name: str) -> bool:
    """Whether a graph IRI is one of the support or perspective graphs."""
    return name == SUPPORT.value or name.startswith(PERSPECTIVE_GRAPHS)
