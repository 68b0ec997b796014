"""Reasoning where the data lives: OWL 2 RL and the domain rules as a fixpoint of SPARQL
``INSERT … WHERE`` run by the engine itself, into the inferred graph.

For data too large to pull into this process, the engine does the joins: each rule (the
generic OWL 2 RL rules of ``owl-rl.rq``, with the schema as variables, and the
``sh:SPARQLRule`` CONSTRUCTs of ``rules.ttl``), one per triple of its template, becomes
updates ``INSERT { GRAPH inferred { … } } USING asserted USING ontology USING inferred
USING withheld WHERE { … }`` (the axioms of a generic rule read from the ontology graph
alone), writing only what the data lacks. Evaluation is semi-naive: the first round reads
all the data; in each later one a rule with n data atoms runs as n updates, atom i matched
in the delta graph (what the previous round added, see :data:`DELTA`) and the others in all
the data, so the engine joins from the few new triples instead of the whole closure; rounds
repeat until one adds nothing.

The noise policy of the embedded reasoner
(:meth:`karabakh_kg.graph.reasoning.Reasoner.keep`) is applied round by round: derived
statements about the rdf/rdfs/owl/xsd vocabularies, ``owl:Thing`` and ``rdfs:Resource``
types and types that are blank nodes move from the inferred graph to :data:`INFERRED_WITHHELD`, and
facts already asserted are not kept. The withheld triples stay on the engine because later
changes may join them (a type that is a restriction, say). On the curated graph the
inferred graph is the embedded reasoner's (tested).

After a change of the asserted graph, :func:`update_in_engine` maintains the closure
instead of recomputing it, when :data:`INFERRED_STATE` says the inferred and withheld graphs are
the closure of the graphs they come from (a run writes it at its end; a failed run, a
publish or anything that writes those graphs leaves it out, and then the change
recomputes):

* additions are the first delta: only the added triples the data lacked, joined
  semi-naively from there (the old data is never joined again);
* removals follow DRed (delete and re-derive; Gupta, Mumick and Subrahmanian, 1993):
  every derived triple with a derivation using a removed triple, transitively, is deleted
  (over-deletion, semi-naive from the removed triples, over the data before the change),
  then those of them that still have a derivation from what is left are derived again and
  joined semi-naively, as additions are. A removal whose over-deletion grows past
  :data:`RECOMPUTE_FRACTION` of the inferred graph stops there (nothing is deleted before
  it ends) and recomputes.

The engine keeps evaluating: this module only needs a :class:`GraphStore`.
"""

from __future__ import annotations

import functools
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from importlib import resources

import pyoxigraph as ox

from karabakh_kg.graph.dataset import (
    ASSERTED,
    INFERRED,
    INFERRED_STATE,
    INFERRED_WITHHELD,
    ONTOLOGY,
)
from karabakh_kg.graph.store import GraphStore, StoreError
from karabakh_kg.graph.store.publish import forget
from karabakh_kg.ontology import vocab

MAX_ROUNDS = 100
"""A fixpoint that has not converged after this many rounds is stopped with an error."""
BUILTIN = ("rdf", "rdfs", "owl", "xsd")

DELTA = (ox.NamedNode(INFERRED.value + "/delta/a"), ox.NamedNode(INFERRED.value + "/delta/b"))
"""The two graphs of semi-naive evaluation: one holds what the previous round added (read),
the other collects what this round adds (written); they swap each round, and are dropped at
the end of a run, after a failure and before a run (what a killed run left)."""
OVERDELETED = ox.NamedNode(INFERRED.value + "/overdeleted")
"""During a removal: every triple deleted so far (the removed ones and what they derived)."""
CHANGE = ox.NamedNode(INFERRED.value + "/change")
"""During a change: the added or removed triples, staged for the updates that seed deltas."""
SCRATCH = (*DELTA, OVERDELETED, CHANGE)
BATCH = 10_000
RECOMPUTE_FRACTION = 0.05
RECOMPUTE_MINIMUM = 1_000
"""A removal whose over-deletion reaches more than this fraction of the inferred graph (and
more than the minimum) recomputes instead: re-deriving most of what was deleted costs more
than a full run (10 triples removed from a generated 10k graph over-deleted 11% of its
closure, and DRed took twice a full run on Virtuoso)."""
"""Rule updates reading a delta of at most this many triples go to the engine together."""
PARTS = 256
"""Buckets of subjects (the first two hex digits of the MD5 of a term's string; blank
nodes, which have none, in the first): a rule update reading much is sent in parts, each
for a range of buckets (:func:`subject_part`)."""
PART_ABOVE = 200_000
"""A rule update reading more triples than this (all the asserted data in a first round, a
delta graph later) is sent in parts: one request running past the client's time limit
(:data:`karabakh_kg.graph.store.remote.TIMEOUT`, 120 s) failed the whole run at 1M
triples on Virtuoso."""
PART_TRIPLES = 100_000
"""Triples read per part at first: a rule over 1M asserted triples starts in 10 parts."""
PART_SECONDS = 30.0
"""A part that took longer than this (a quarter of the client's limit) makes the next
parts of that update smaller in proportion."""
DATA = (ASSERTED, ONTOLOGY, INFERRED, INFERRED_WITHHELD)
"""The graphs rule bodies read (their default graph)."""
_MAINTAINED = (
    f"<{INFERRED.value}> <{vocab.PREFIXES['dcterms']}hasPart> <{INFERRED_WITHHELD.value}> ."
)


@dataclass
class EngineReasoningReport:
    """What one in-engine run did: ``full``, the closure recomputed from all the data;
    ``updates``, the rule updates sent; ``deltas``, the size of each delta graph joined, the
    first being what the run started from (the added triples the data lacked, with what a
    removal derived again); ``requests``, the requests they took (several updates share
    one after a small delta; one reading much is sent in parts); ``overdeleted`` and
    ``rederived``, for removals."""

    rounds: int
    inferred: int
    seconds: float
    full: bool
    updates: int = 0
    requests: int = 0
    deltas: list[int] = field(default_factory=list)
    overdeleted: int = 0
    rederived: int = 0


def owl_rl_rules() -> dict[str, str]:
    """Rule name → CONSTRUCT text, from ``owl-rl.rq``."""
    text = resources.files("karabakh_kg.graph.store").joinpath("owl-rl.rq").read_text()
    rules: dict[str, str] = {}
    for block in re.split(r"^# rule: ", text, flags=re.M)[1:]:
        name, _, body = block.partition("\n")
        rules[name.strip()] = body.strip()
    return rules


def domain_rules(ontology: list[ox.Triple]) -> dict[str, str]:
    """The ``sh:SPARQLRule`` CONSTRUCTs of the ontology graph, by rule IRI."""
    from karabakh_kg.graph.reasoning.rules import read_domain_rules

    quads = [ox.Quad(t.subject, t.predicate, t.object, ONTOLOGY) for t in ontology]
    return {rule.iri: rule.construct for rule in read_domain_rules(quads)}


def _using(named: tuple[ox.NamedNode, ...]) -> str:
    graphs = [f"USING <{g.value}>" for g in DATA]
    graphs += [f"USING NAMED <{g.value}>" for g in (ONTOLOGY, INFERRED, INFERRED_WITHHELD, *named)]
    return " ".join(graphs)


def _in(graph: ox.NamedNode, pattern: str) -> str:
    return f"GRAPH <{graph.value}> {{ {pattern} }}"


def subject_part(variable: str, low: int, high: int) -> str:
    """A ``FILTER`` keeping the solutions whose ``variable`` falls in the buckets
    ``[low, high)`` of :data:`PARTS`. The ranges compare strings, the first without a
    lower bound and the last without an upper one, so consecutive ranges from 0 to
    :data:`PARTS` take every solution exactly once whatever an engine's MD5 gives."""
    bucket = f"SUBSTR(MD5(STR({variable})), 1, 2)"
    bounds = [f'{bucket} >= "{low:02x}"'] if low > 0 else []
    bounds += [f'{bucket} < "{high:02x}"'] if high < PARTS else []
    test = " && ".join(bounds) or "true"
    return f"FILTER(isBlank({variable}) || ({test}))" if low == 0 else f"FILTER({test})"


class RuleUpdate(str):
    """The text of one rule update, which can also be sent in parts: ``subject`` is the
    variable partitioning its solutions (the template's subject, so parts write disjoint
    conclusions; None: not partitioned), and :meth:`part` the update for one range of
    buckets, ``parted`` its text around the part's filter; ``reads``, the predicate (IRI)
    of the atom it matches in a delta graph, when that is a constant (then it reads only
    that predicate's share of the delta)."""

    subject: str | None
    parted: tuple[str, str]
    reads: str | None

    def __new__(
        cls, text: str, subject: str | None, parted: tuple[str, str], reads: str | None = None
    ) -> RuleUpdate:
        update = super().__new__(cls, text)
        update.subject, update.parted, update.reads = subject, parted, reads
        return update

    def part(self, low: int, high: int) -> str:
        assert self.subject is not None
        before, after = self.parted
        return f"{before}{subject_part(self.subject, low, high)}{after}"


@dataclass
class EngineRule:
    """One rule ready for the engine: its template (one triple pattern, after
    :meth:`split`), the axioms part of its body (``VALUES`` or a pattern on the ontology
    graph, constant during reasoning), its data atoms (triple patterns over the
    :data:`DATA` graphs) and its filters; ``atoms`` is None when the data part is not a
    plain basic graph pattern (then ``data`` holds it as text, and every round evaluates
    it in full)."""

    prologue: str
    template: str
    schema: str
    atoms: list[str] | None
    data: str
    filters: str

    def split(self) -> list[EngineRule]:
        """One rule per triple of the template (the same body): a removal must decide for
        each conclusion on its own whether it still holds."""
        parts = _atoms(self.prologue, self.template)
        if parts is None or len(parts) < 2:
            return [self]
        return [replace(self, template=part) for part in parts]

    def _update(
        self,
        where: str,
        write: tuple[ox.NamedNode, ...],
        condition: str,
        named: tuple[ox.NamedNode, ...] = (),
        in_parts: str | None = None,
        reads: str | None = None,
    ) -> RuleUpdate:
        """``in_parts``: the condition when sent in parts, if not ``condition``; ``reads``:
        see :class:`RuleUpdate`."""
        targets = " ".join(_in(graph, self.template) for graph in write)
        head = f"{self.prologue}INSERT {{ {targets} }} {_using(named)} WHERE {{ {where} "
        subject = self.template.split(" ")[0]
        return RuleUpdate(
            f"{head}{self.filters} {condition} }}",
            subject if subject[:1] in "?$" else None,
            (f"{head}{self.filters} {in_parts or condition} ", " }"),
            reads,
        )

    def _variants(
        self, read: ox.NamedNode, predicates: set[str]
    ) -> list[tuple[str, str | None]] | None:
        """The bodies with one data atom matched in ``read`` and the others in all the
        data, one per atom, each with that atom's predicate when it is an IRI (None when the
        body is not a basic graph pattern). An atom whose predicate is an IRI not among
        ``predicates`` (those of ``read``) matches nothing there, and a rule without data
        atoms cannot fire again."""
        if self.atoms is None:
            return None
        bodies: list[tuple[str, str | None]] = []
        for index, atom in enumerate(self.atoms):
            predicate = atom.split(" ")[1]
            constant = predicate[1:-1] if predicate.startswith("<") else None
            if constant is not None and constant not in predicates:
                continue
            others = " ".join(self.atoms[:index] + self.atoms[index + 1 :])
            bodies.append((f"{self.schema} {_in(read, atom)} {others}", constant))
        return bodies

    def _body(self) -> str:
        return f"{self.schema} {self.data if self.atoms is None else ' '.join(self.atoms)}"

    def full(self, write: ox.NamedNode) -> RuleUpdate:
        """The update of a round that reads everything (the first): it adds to the
        inferred graph and to ``write`` the template's solutions the inferred graph lacks."""
        # Only what is lacking: writing a triple again costs an engine about as much as a
        # new one. A round reading everything subtracts the inferred graph (MINUS; what is
        # asserted is swept out after the round); a later one has few solutions, and checks
        # each (NOT EXISTS), since the Oxigraph server evaluates a MINUS over the whole
        # graph (a 10k graph's later rounds: 1.0 s with MINUS, 0.2 s with NOT EXISTS;
        # Virtuoso 0.1 s both).
        # In parts, each part has a share of the solutions: checked one by one (NOT
        # EXISTS), not against all of the inferred graph each time (MINUS).
        lacking = f"MINUS {{ {_in(INFERRED, self.template)} }}"
        each = f"FILTER NOT EXISTS {{ {_in(INFERRED, self.template)} }}"
        return self._update(self._body(), (INFERRED, write), lacking, in_parts=each)

    def seminaive(
        self, read: ox.NamedNode, write: ox.NamedNode, predicates: set[str]
    ) -> list[RuleUpdate]:
        """The updates of a later round: each solution uses at least one triple of
        ``read`` (what the previous round added), and its conclusion is not in the data."""
        bodies = self._variants(read, predicates)
        if bodies is None:
            return [self._update(self._body(), (INFERRED, write), f"MINUS {{ {self.template} }}")]
        lacking = f"FILTER NOT EXISTS {{ {self.template} }}"
        return [
            self._update(body, (INFERRED, write), lacking, (read,), reads=reads)
            for body, reads in bodies
        ]

    def overdelete(
        self, read: ox.NamedNode, write: ox.NamedNode, predicates: set[str]
    ) -> list[RuleUpdate]:
        """Over-deletion (DRed): the derived conclusions (inferred or withheld) of solutions
        using a triple of ``read`` (deleted in the previous round), over the data before the
        removal, not marked yet: marked in :data:`OVERDELETED` and in ``write``. A body that
        is not a basic graph pattern marks every derived conclusion it has."""
        derived = (
            f"{{ {_in(INFERRED, self.template)} }} "
            f"UNION {{ {_in(INFERRED_WITHHELD, self.template)} }}"
        )
        condition = (
            f"FILTER EXISTS {{ {derived} }} "
            f"FILTER NOT EXISTS {{ {_in(OVERDELETED, self.template)} }}"
        )
        bodies = self._variants(read, predicates)
        if bodies is None:
            return [self._update(self._body(), (OVERDELETED, write), condition, (OVERDELETED,))]
        named = (read, OVERDELETED)
        return [
            self._update(body, (OVERDELETED, write), condition, named, reads=reads)
            for body, reads in bodies
        ]

    def rederive(self, write: ox.NamedNode) -> RuleUpdate:
        """Re-derivation (DRed): the over-deleted conclusions that have a derivation from
        what is left, back into the inferred graph and into ``write``."""
        where = f"{_in(OVERDELETED, self.template)} {self._body()}"
        lacking = f"FILTER NOT EXISTS {{ {self.template} }}"
        return self._update(where, (INFERRED, write), lacking, (OVERDELETED,))


def engine_rule(construct: str) -> EngineRule:
    """Split ``CONSTRUCT { T } WHERE { B }`` (after :func:`with_axioms`) into its parts.
    The data atoms are read with rdflib's SPARQL parser; axioms and filters are kept as
    text (they are the first and the last parts of every body of ``owl-rl.rq``, and domain
    rules have no axioms part)."""
    start = construct.upper().index("CONSTRUCT") + len("CONSTRUCT")
    prologue = construct[: start - len("CONSTRUCT")]
    open_at = construct.index("{", start)
    end = _block(construct, open_at)
    template = construct[open_at + 1 : end - 1].strip()
    body = construct[end:].strip()
    if body.upper().startswith("WHERE"):
        body = body[len("WHERE") :].strip()
    body = body[1 : _block(body, 0) - 1]
    schema = ""
    for opening in ("VALUES (", "SCHEMA {"):
        at = body.find(opening)
        if at >= 0:
            close = _block(body, body.index("{", at))
            schema = body[at:close].replace("SCHEMA {", f"GRAPH <{ONTOLOGY.value}> {{")
            body = body[:at] + body[close:]
            break
    filters = []
    while found := re.search(r"(?<![\w:#/])FILTER\s*\(", body, re.I):
        close = _block(body, found.end() - 1, "(", ")")
        filters.append(body[found.start() : close])
        body = body[: found.start()] + body[close:]
    return EngineRule(
        prologue=prologue,
        template=template,
        schema=schema,
        atoms=_atoms(prologue, body),
        data=body.strip(),
        filters=" ".join(filters),
    )


def _atoms(prologue: str, data: str) -> list[str] | None:
    """The triple patterns of ``data`` when it is a basic graph pattern without paths."""
    from rdflib.paths import Path
    from rdflib.plugins.sparql import prepareQuery

    try:
        algebra = prepareQuery(f"{vocab.sparql_prefixes()}{prologue}SELECT * WHERE {{ {data} }}")
    except Exception:  # the SPARQL parser raises many types; such a rule runs in full
        return None
    pattern = algebra.algebra.p.p
    if pattern.name != "BGP" or not pattern.triples:
        return None
    if any(isinstance(p, Path) or not hasattr(p, "n3") for _, p, _ in pattern.triples):
        return None
    return [f"{s.n3()} {p.n3()} {o.n3()} ." for s, p, o in pattern.triples]


def as_insert(construct: str) -> str:
    """``CONSTRUCT { T } WHERE { B }`` as the update of a round reading everything: ``T``
    added to the inferred graph (and to the first delta graph), with the :data:`DATA`
    graphs as the default graph of ``B``, for the solutions whose ``T`` is not in the
    inferred graph yet."""
    return engine_rule(construct).full(DELTA[0])


def _count(store: GraphStore, graph: ox.NamedNode) -> int:
    rows = store.select(f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH <{graph.value}> {{ ?s ?p ?o }} }}")
    term = rows[0].get("n") if rows else None
    return int(term.value) if isinstance(term, ox.Literal) else 0


def _sweep(written: ox.NamedNode, predicate: str | None = None) -> str:
    """The noise policy of the embedded reasoner on what a round wrote: a fact that is
    asserted (or in the ontology) is neither inferred nor new; noise moves to the withheld
    graph (still a fact to join). ``predicate``: only the triples of that predicate (IRI)."""
    rdf_type = f"{vocab.PREFIXES['rdf']}type"
    triple = f"?s <{predicate}> ?o" if predicate else "?s ?p ?o"
    builtin = " || ".join(f'STRSTARTS(STR(?s), "{vocab.PREFIXES[p]}")' for p in BUILTIN)
    noise_types = f"<{vocab.PREFIXES['owl']}Thing>, <{vocab.PREFIXES['rdfs']}Resource>"
    typed = f"(isBlank(?o) || ?o IN ({noise_types}))"
    if predicate is None:
        noise = f"(isIRI(?s) && ({builtin})) || (?p = <{rdf_type}> && {typed})"
    else:
        noise = f"(isIRI(?s) && ({builtin}))" + (f" || {typed}" if predicate == rdf_type else "")
    return (
        f"DELETE {{ {_in(INFERRED, triple)} {_in(written, triple)} }} "
        f"WHERE {{ {_in(written, triple)} {{ {_in(ASSERTED, triple)} }} UNION "
        f"{{ {_in(ONTOLOGY, triple)} }} }} ;\n"
        f"DELETE {{ {_in(INFERRED, triple)} }} INSERT {{ {_in(INFERRED_WITHHELD, triple)} }} "
        f"WHERE {{ {_in(written, triple)} FILTER({noise}) }}"
    )


def _swept(store: GraphStore, written: ox.NamedNode) -> None:
    """:func:`_sweep` of ``written``; one request per predicate when it holds more than
    :data:`PART_ABOVE` triples. Not in ranges of subject buckets, as rule updates are: no
    index answers a bucket filter, and the sweep joins nothing for it to prune, so each part
    read the whole graph (on Virtuoso at 1M, 36-52 s a part for the 30-40 parts of the
    first round's sweep), where a predicate's triples are one range of the engine's index."""
    if _count(store, written) <= PART_ABOVE:
        store.update(_sweep(written))
        return
    for predicate in sorted(_predicates(store, written)):
        store.update(_sweep(written, predicate))


def part_bounds(parts: int) -> list[int]:
    """The first bucket of each of ``parts`` ranges of about equal size, then :data:`PARTS`."""
    parts = min(max(parts, 1), PARTS)
    return [PARTS * index // parts for index in range(parts)] + [PARTS]


def _predicates(store: GraphStore, graph: ox.NamedNode) -> dict[str, int]:
    """The predicates of ``graph`` with their number of triples."""
    rows = store.select(
        f"SELECT ?p (COUNT(*) AS ?n) WHERE {{ GRAPH <{graph.value}> {{ ?s ?p ?o }} }} GROUP BY ?p"
    )
    return {
        term.value: int(count.value)
        for row in rows
        if isinstance(term := row.get("p"), ox.NamedNode)
        and isinstance(count := row.get("n"), ox.Literal)
    }


def _drop(store: GraphStore, graphs: tuple[ox.NamedNode, ...], quiet: bool = False) -> None:
    """Drop ``graphs``; ``quiet``: after a failure, whose error is the one to report (the
    next run drops them again)."""
    try:
        for graph in graphs:
            store.drop_graph(graph.value)
    except StoreError:
        if not quiet:
            raise


Round = Callable[[ox.NamedNode | None, ox.NamedNode, set[str]], list[RuleUpdate]]
"""The updates of one round: from what the previous one added (None: the first round of a
recomputation, reading everything), with the predicates found there, into the graph given."""


def _rounds(
    store: GraphStore,
    report: EngineReasoningReport,
    updates: Round,
    read: ox.NamedNode | None,
    sizes: list[int],
    sweep: bool = True,
    limit: int | None = None,
) -> None:
    """Rounds until one adds nothing, each round's additions the next one's ``read``
    (``read``: the first delta, filled by the caller, or None); the size of each delta
    joined goes to ``sizes``, the first one's included. Past ``limit`` triples in all the
    deltas, :class:`_Recompute` is raised."""
    if read is not None:
        sizes.append(_count(store, read))
        if not sizes[-1]:
            store.drop_graph(read.value)
            return
    while True:
        report.rounds += 1
        if report.rounds > MAX_ROUNDS:
            raise StoreError(f"{store.location}: reasoning did not converge in {MAX_ROUNDS} rounds")
        write = DELTA[1] if read == DELTA[0] else DELTA[0]
        shares = {} if read is None else _predicates(store, read)
        reading = _count(store, ASSERTED) if read is None else sizes[-1]
        _send(store, report, updates(read, write, set(shares)), reading, read is None, shares)
        if sweep:
            _swept(store, write)
        if read is not None:
            store.drop_graph(read.value)
        size = _count(store, write)
        if not size:
            return
        sizes.append(size)
        if limit is not None and sum(sizes) > limit:
            raise _Recompute
        read = write


def _send(
    store: GraphStore,
    report: EngineReasoningReport,
    updates: list[RuleUpdate],
    read: int,
    everything: bool = False,
    shares: dict[str, int] | None = None,
) -> None:
    """The rule updates of one round, reading ``read`` triples (``everything``: a first
    round, reading all the data): one request when they read a delta of at most
    :data:`BATCH` triples (then each is little work, and a request each would cost more
    than the work: on Virtuoso a round of about 100 updates took 2 s one by one); past
    :data:`PART_ABOVE`, each in parts (:func:`_in_parts`); else one request each (one
    transaction each, within the engine's limits). ``shares``: the delta's triples per
    predicate, so that an update matching one predicate in the delta is sent in parts by
    that predicate's share, not the whole delta's (at 1M on Virtuoso, the second round
    read a delta of 2.6M triples, and every update sent in 26 parts, whatever the share of
    the delta it matched: that round alone ran more than 35 minutes)."""
    report.updates += len(updates)
    if not everything and 0 < read <= BATCH and updates:
        store.update(" ;\n".join(updates))
        report.requests += 1
        return
    for update in updates:
        reads = read if update.reads is None or shares is None else shares.get(update.reads, 0)
        if reads > PART_ABOVE and update.subject is not None:
            report.requests += _in_parts(store, update, reads)
        else:
            store.update(update)
            report.requests += 1


def _in_parts(store: GraphStore, update: RuleUpdate, read: int) -> int:
    """``update`` sent as consecutive ranges of subject buckets, each at first of about
    :data:`PART_TRIPLES` of the ``read`` triples, smaller after a part that took more than
    :data:`PART_SECONDS`; the requests sent."""
    step = -(-PARTS // min(PARTS, -(-read // PART_TRIPLES)))  # equal parts, rounded up
    low, sent = 0, 0
    while low < PARTS:
        high = min(PARTS, low + step)
        started = time.perf_counter()
        store.update(update.part(low, high))
        took = time.perf_counter() - started
        sent += 1
        low = high
        if took > PART_SECONDS:
            step = max(1, int(step * PART_SECONDS / took))
    return sent


class _Recompute(Exception):
    """Maintaining the closure would cost more than recomputing it."""


def _derive(rules: list[EngineRule]) -> Round:
    """Semi-naive rounds of the rules (all of the data in a first round without ``read``)."""

    def updates(
        read: ox.NamedNode | None, write: ox.NamedNode, predicates: set[str]
    ) -> list[RuleUpdate]:
        if read is None:
            return [rule.full(write) for rule in rules]
        return [u for rule in rules for u in rule.seminaive(read, write, predicates)]

    return updates


def _overdelete(rules: list[EngineRule]) -> Round:
    """Over-deletion rounds of the rules, from the triples deleted in the previous one."""

    def updates(
        read: ox.NamedNode | None, write: ox.NamedNode, predicates: set[str]
    ) -> list[RuleUpdate]:
        assert read is not None
        return [u for rule in rules for u in rule.overdelete(read, write, predicates)]

    return updates


def _block(text: str, start: int, opening: str = "{", closing: str = "}") -> int:
    """The index just past the ``closing`` matching the ``opening`` at ``start``."""
    depth = 0
    for index in range(start, len(text)):
        if text[index] == opening:
            depth += 1
        elif text[index] == closing:
            depth -= 1
            if depth == 0:
                return index + 1
    raise ValueError("unbalanced braces")


def with_axioms(store: GraphStore, construct: str) -> str | None:
    """``construct`` with its ``SCHEMA { … }`` part replaced by the axioms themselves, as
    ``VALUES`` (read once: reasoning never writes the ontology graph), so the engine joins
    from constants; None when the ontology has no such axiom (the rule cannot fire). A rule
    whose axioms involve blank nodes keeps the pattern (blank nodes cannot be sent back)."""
    at = construct.find("SCHEMA {")
    if at < 0:
        return construct
    end = _block(construct, at + len("SCHEMA "))
    inner = construct[at + len("SCHEMA {") : end - 1]
    outside = construct[:at] + construct[end:]
    names = sorted(set(re.findall(r"\?(\w+)", inner)) & set(re.findall(r"\?(\w+)", outside)))
    projection = " ".join(f"?{n}" for n in names)
    rows = store.select(
        f"SELECT DISTINCT {projection} WHERE {{ GRAPH <{ONTOLOGY.value}> {{ {inner} }} }}"
    )
    if not rows:
        return None
    if any(isinstance(term, ox.BlankNode) for row in rows for term in row.values()):
        return construct
    values = " ".join("(" + " ".join(str(row[n]) for n in names) + ")" for row in rows)
    return f"{construct[:at]}VALUES ({projection}) {{ {values} }}{construct[end:]}"


def engine_rules(store: GraphStore) -> list[EngineRule]:
    """Every rule that can fire, one per triple of its template, the domain rules read
    from the engine's ontology graph."""
    rules = owl_rl_rules()
    rules.update(domain_rules(store.get_graph(ONTOLOGY.value)))
    bound = (with_axioms(store, text) for text in rules.values())
    return [part for text in bound if text is not None for part in _parsed(text)]


@functools.lru_cache(maxsize=256)
def _parsed(construct: str) -> tuple[EngineRule, ...]:
    """:func:`engine_rule`, split, kept per text: rdflib's parser takes about a second for
    all the rules, more than a small change takes on an engine (the rules' texts change only
    with the ontology's axioms)."""
    return tuple(engine_rule(construct).split())


def maintained(store: GraphStore) -> bool:
    """Whether the engine's inferred and withheld graphs are the closure that a change can
    be maintained from (:data:`INFERRED_STATE`)."""
    return store.ask(f"ASK {{ {_in(INFERRED_STATE, _MAINTAINED)} }}")


def _start(store: GraphStore) -> None:
    """Before a run changes anything: no longer maintained until it ends; no scratch graph
    of a run that was killed."""
    store.drop_graph(INFERRED_STATE.value)
    _drop(store, SCRATCH)


def _finish(store: GraphStore, report: EngineReasoningReport, started: float) -> None:
    store.update(f"INSERT DATA {{ {_in(INFERRED_STATE, _MAINTAINED)} }}")
    report.inferred = _count(store, INFERRED)
    report.seconds = time.perf_counter() - started


def materialize_in_engine(store: GraphStore) -> EngineReasoningReport:
    """Recompute the inferred graph on the engine from the asserted and ontology graphs."""
    started = time.perf_counter()
    forget(store, [INFERRED.value])
    _start(store)
    report = EngineReasoningReport(rounds=0, inferred=0, seconds=0.0, full=True)
    try:
        _drop(store, (INFERRED, INFERRED_WITHHELD))
        _rounds(store, report, _derive(engine_rules(store)), None, report.deltas)
    finally:
        _drop(store, SCRATCH, quiet=True)
    _finish(store, report, started)
    return report


def _ntriples(triples: list[ox.Triple]) -> str:
    return (ox.serialize(triples, format=ox.RdfFormat.N_TRIPLES) or b"").decode()


def update_in_engine(
    store: GraphStore, added: list[ox.Triple], removed: list[ox.Triple]
) -> EngineReasoningReport:
    """Change the engine's asserted graph (``removed`` out, then ``added`` in), then bring
    its inferred graph up to date: maintained (see the module) when the engine holds a
    maintained closure, else recomputed."""
    forget(store, [ASSERTED.value, INFERRED.value])
    adding = set(added)
    removed = [t for t in removed if t not in adding]
    if not maintained(store):
        return _recompute(store, added, removed)
    started = time.perf_counter()
    _start(store)
    report = EngineReasoningReport(rounds=0, inferred=0, seconds=0.0, full=False)
    seed = DELTA[0]
    triple = "?s ?p ?o"
    try:
        rules = engine_rules(store)
        if removed:
            limit = max(RECOMPUTE_MINIMUM, int(RECOMPUTE_FRACTION * _count(store, INFERRED)))
            _remove(store, report, rules, removed, limit)
            report.rederived = _rederive(store, report, rules, seed)
        if added:
            # Only what the data lacks is new: the rest was joined when it came in.
            present = " UNION ".join(f"{{ {_in(graph, triple)} }}" for graph in DATA)
            store.update(
                f"INSERT DATA {{ {_in(CHANGE, _ntriples(added))} }} ;\n"
                f"INSERT {{ {_in(seed, triple)} }} WHERE {{ {_in(CHANGE, triple)} "
                f"FILTER NOT EXISTS {{ {present} }} }} ;\n"
                f"INSERT {{ {_in(ASSERTED, triple)} }} WHERE {{ {_in(CHANGE, triple)} }} ;\n"
                f"DELETE {{ {_in(INFERRED, triple)} {_in(INFERRED_WITHHELD, triple)} }} "
                f"WHERE {{ {_in(CHANGE, triple)} }}"
            )
        _rounds(store, report, _derive(rules), seed, report.deltas)
    except _Recompute:
        pass  # nothing was deleted yet: over-deletion only marks
    else:
        _finish(store, report, started)
        return report
    finally:
        _drop(store, SCRATCH, quiet=True)
    return _recompute(store, added, removed)


def _recompute(
    store: GraphStore, added: list[ox.Triple], removed: list[ox.Triple]
) -> EngineReasoningReport:
    """The change applied to the asserted graph, then the closure recomputed."""
    if removed:
        store.update(f"DELETE DATA {{ {_in(ASSERTED, _ntriples(removed))} }}")
    if added:
        store.update(f"INSERT DATA {{ {_in(ASSERTED, _ntriples(added))} }}")
    return materialize_in_engine(store)


def _remove(
    store: GraphStore,
    report: EngineReasoningReport,
    rules: list[EngineRule],
    removed: list[ox.Triple],
    limit: int,
) -> None:
    """Over-deletion: the removed asserted triples (those not also in the ontology) and
    everything derived from them, marked in :data:`OVERDELETED` over the data before the
    removal, then deleted; :class:`_Recompute` past ``limit`` marked, before deleting."""
    triple = "?s ?p ?o"
    first = DELTA[1]
    store.update(
        f"INSERT DATA {{ {_in(CHANGE, _ntriples(removed))} }} ;\n"
        f"INSERT {{ {_in(OVERDELETED, triple)} {_in(first, triple)} }} WHERE {{ "
        f"{_in(CHANGE, triple)} {_in(ASSERTED, triple)} "
        f"FILTER NOT EXISTS {{ {_in(ONTOLOGY, triple)} }} }}"
    )
    _rounds(store, report, _overdelete(rules), first, [], sweep=False, limit=limit)
    store.drop_graph(CHANGE.value)
    report.overdeleted = _count(store, OVERDELETED)
    store.update(
        f"DELETE DATA {{ {_in(ASSERTED, _ntriples(removed))} }} ;\n"
        f"DELETE {{ {_in(INFERRED, triple)} {_in(INFERRED_WITHHELD, triple)} }} "
        f"WHERE {{ {_in(OVERDELETED, triple)} }}"
    )


def _rederive(
    store: GraphStore, report: EngineReasoningReport, rules: list[EngineRule], write: ox.NamedNode
) -> int:
    """Re-derivation: the over-deleted triples with a derivation from what is left, back in
    the inferred graph (or withheld) and in ``write``, for the rounds that follow to join."""
    _send(store, report, [rule.rederive(write) for rule in rules], report.overdeleted)
    _swept(store, write)
    return _count(store, write)
