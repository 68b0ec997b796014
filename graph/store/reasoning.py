"""Reasoning where the data lives: OWL 2 RL and the domain rules as a fixpoint of SPARQL
``INSERT … WHERE`` run by the engine itself, into the inferred graph.

For data too large to pull into this process, the engine does the joins: each rule (the
generic OWL 2 RL rules of ``owl-rl.rq``, with the schema as variables, and the
``sh:SPARQLRule`` CONSTRUCTs of ``rules.ttl``) becomes one update
``INSERT { GRAPH inferred { … } } USING asserted USING ontology USING inferred WHERE { … }``
(the axioms of a generic rule read from the ontology graph alone), writing only what the
inferred graph lacks. Evaluation is semi-naive: the first round reads all the data; in each
later one a rule with n data atoms runs as n updates, atom i matched in the delta graph (what
the previous round added, see :data:`DELTA`) and the others in all the data, so the engine
joins from the few new triples instead of the whole closure; rounds repeat until one adds
nothing. Then the same noise policy as the embedded reasoner
(:meth:`karabakh_kg.graph.reasoning.Reasoner.keep`) removes what users do not need: facts
already asserted, statements about the rdf/rdfs/owl/xsd vocabularies, ``owl:Thing`` and
``rdfs:Resource`` types and types that are blank nodes. On the curated graph the result is
the embedded reasoner's inferred graph (tested).

After a change of the asserted graph, :func:`update_in_engine` continues the fixpoint
from the current closure when triples were only added (reasoning is monotonic), and
recomputes it when some were removed (a fixpoint cannot tell which derived triples lost
their last support; the embedded reasoner can, and is the one to use for small data). Its
first round reads all the data too, not just the added triples: the noise policy removed
derived triples (``owl:Thing`` types, say) that new data may join with.

The engine keeps evaluating: this module only needs a :class:`GraphStore`.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from importlib import resources

import pyoxigraph as ox

from karabakh_kg.graph.dataset import ASSERTED, INFERRED, ONTOLOGY
from karabakh_kg.graph.store import GraphStore, StoreError
from karabakh_kg.graph.store.publish import forget
from karabakh_kg.ontology import vocab

MAX_ROUNDS = 100
"""A fixpoint that has not converged after this many rounds is stopped with an error."""
BUILTIN = ("rdf", "rdfs", "owl", "xsd")


@dataclass
class EngineReasoningReport:
    """What one in-engine run did."""

    rounds: int
    inferred: int
    seconds: float
    full: bool


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


DELTA = (ox.NamedNode(INFERRED.value + "/delta/a"), ox.NamedNode(INFERRED.value + "/delta/b"))
"""The two graphs of semi-naive evaluation: one holds what the previous round added (read),
the other collects what this round adds (written); they swap each round, and are dropped at
the end of a run, after a failure and before a run (what a killed run left)."""


@dataclass
class EngineRule:
    """One rule ready for the engine: its template, the axioms part of its body (``VALUES``
    or a pattern on the ontology graph, constant during reasoning), its data atoms (triple
    patterns over asserted ∪ ontology ∪ inferred) and its filters; ``atoms`` is None when
    the data part is not a plain basic graph pattern (then ``data`` holds it as text, and
    every round evaluates it in full)."""

    prologue: str
    template: str
    schema: str
    atoms: list[str] | None
    data: str
    filters: str

    def insert(self, where: str, read: ox.NamedNode | None, write: ox.NamedNode) -> str:
        """The update adding the template's solutions of ``where`` that the inferred graph
        lacks to the inferred graph and to ``write``."""
        # Only what the inferred graph lacks: writing a triple again costs an engine about
        # as much as a new one. A round reading everything subtracts the inferred graph
        # (MINUS); a later one has few solutions, and checks each (NOT EXISTS), since the
        # Oxigraph server evaluates a MINUS over the whole inferred graph (a 10k graph's
        # later rounds: 1.0 s with MINUS, 0.2 s with NOT EXISTS; Virtuoso 0.1 s both).
        inferred = f"GRAPH <{INFERRED.value}> {{ {self.template} }}"
        lacking = (
            f"MINUS {{ {inferred} }}" if read is None else f"FILTER NOT EXISTS {{ {inferred} }}"
        )
        graphs = [ASSERTED, ONTOLOGY, INFERRED]
        using = " ".join(f"USING <{g.value}>" for g in graphs)
        named = [ONTOLOGY, INFERRED] + ([read] if read is not None else [])
        using += " " + " ".join(f"USING NAMED <{g.value}>" for g in named)
        return (
            f"{self.prologue}INSERT {{ GRAPH <{INFERRED.value}> {{ {self.template} }} "
            f"GRAPH <{write.value}> {{ {self.template} }} }} {using} "
            f"WHERE {{ {where} {self.filters} {lacking} }}"
        )

    def full(self, write: ox.NamedNode) -> str:
        """The update of a round that reads everything (the first)."""
        data = self.data if self.atoms is None else " ".join(self.atoms)
        return self.insert(f"{self.schema} {data}", None, write)

    def seminaive(self, read: ox.NamedNode, write: ox.NamedNode, predicates: set[str]) -> list[str]:
        """The updates of a later round: one per data atom, that atom matched in ``read``
        (what the previous round added) and the others in all the data, so each solution
        uses at least one new triple. An atom whose predicate is an IRI not among
        ``predicates`` (those of ``read``) matches nothing there, and a rule without data
        atoms cannot fire again."""
        if self.atoms is None:
            return [self.full(write)]
        updates = []
        for index, atom in enumerate(self.atoms):
            predicate = atom.split(" ")[1]
            if predicate.startswith("<") and predicate[1:-1] not in predicates:
                continue
            others = " ".join(self.atoms[:index] + self.atoms[index + 1 :])
            where = f"{self.schema} GRAPH <{read.value}> {{ {atom} }} {others}"
            updates.append(self.insert(where, read, write))
        return updates


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
    added to the inferred graph (and to the first delta graph), with asserted ∪ ontology ∪
    inferred as the default graph of ``B``, for the solutions whose ``T`` is not all in the
    inferred graph yet."""
    return engine_rule(construct).full(DELTA[0])


def _count(store: GraphStore, graph: ox.NamedNode) -> int:
    rows = store.select(f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH <{graph.value}> {{ ?s ?p ?o }} }}")
    term = rows[0].get("n") if rows else None
    return int(term.value) if isinstance(term, ox.Literal) else 0


def _clean(store: GraphStore) -> None:
    """The noise policy of the embedded reasoner, applied to the inferred graph."""
    inferred = f"<{INFERRED.value}>"
    builtin = " || ".join(f'STRSTARTS(STR(?s), "{vocab.PREFIXES[p]}")' for p in BUILTIN)
    noise = f"<{vocab.PREFIXES['owl']}Thing>, <{vocab.PREFIXES['rdfs']}Resource>"
    store.update(
        f"DELETE {{ GRAPH {inferred} {{ ?s ?p ?o }} }} WHERE {{ GRAPH {inferred} {{ ?s ?p ?o }} "
        f"FILTER(isIRI(?s) && ({builtin})) }} ;\n"
        f"DELETE {{ GRAPH {inferred} {{ ?s a ?c }} }} WHERE {{ GRAPH {inferred} {{ ?s a ?c }} "
        f"FILTER(isBlank(?c) || ?c IN ({noise})) }} ;\n"
        f"DELETE {{ GRAPH {inferred} {{ ?s ?p ?o }} }} WHERE {{ GRAPH {inferred} {{ ?s ?p ?o }} "
        f"{{ GRAPH <{ASSERTED.value}> {{ ?s ?p ?o }} }} UNION "
        f"{{ GRAPH <{ONTOLOGY.value}> {{ ?s ?p ?o }} }} }}"
    )


def _fixpoint(store: GraphStore, rules: list[EngineRule], full: bool) -> EngineReasoningReport:
    """Semi-naive rounds: the first evaluates every rule on all the data, each later one
    only the solutions using a triple the previous round added; stop when a round adds
    nothing. The delta graphs are dropped whatever happens."""
    start = time.perf_counter()
    _drop_deltas(store)
    rounds = 0
    try:
        read: ox.NamedNode | None = None
        write = DELTA[0]
        while True:
            rounds += 1
            if rounds > MAX_ROUNDS:
                raise StoreError(
                    f"{store.location}: reasoning did not converge in {MAX_ROUNDS} rounds"
                )
            if read is None:
                updates = [rule.full(write) for rule in rules]
            else:
                predicates = _predicates(store, read)
                updates = [u for rule in rules for u in rule.seminaive(read, write, predicates)]
            for update in updates:
                store.update(update)
            if not store.ask(f"ASK {{ GRAPH <{write.value}> {{ ?s ?p ?o }} }}"):
                break
            if read is not None:
                store.drop_graph(read.value)
            read, write = write, DELTA[1] if write == DELTA[0] else DELTA[0]
    finally:
        _drop_deltas(store, quiet=True)
    _clean(store)
    return EngineReasoningReport(
        rounds=rounds,
        inferred=_count(store, INFERRED),
        seconds=time.perf_counter() - start,
        full=full,
    )


def _predicates(store: GraphStore, graph: ox.NamedNode) -> set[str]:
    rows = store.select(f"SELECT DISTINCT ?p WHERE {{ GRAPH <{graph.value}> {{ ?s ?p ?o }} }}")
    return {term.value for row in rows if isinstance(term := row.get("p"), ox.NamedNode)}


def _drop_deltas(store: GraphStore, quiet: bool = False) -> None:
    """Drop both delta graphs; ``quiet``: after a failure, whose error is the one to report
    (the next run drops them again)."""
    try:
        for graph in DELTA:
            store.drop_graph(graph.value)
    except StoreError:
        if not quiet:
            raise


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
    """Every rule that can fire, the domain rules read from the engine's ontology graph."""
    rules = owl_rl_rules()
    rules.update(domain_rules(store.get_graph(ONTOLOGY.value)))
    bound = (with_axioms(store, text) for text in rules.values())
    return [engine_rule(text) for text in bound if text is not None]


def materialize_in_engine(store: GraphStore) -> EngineReasoningReport:
    """Recompute the inferred graph on the engine from the asserted and ontology graphs."""
    forget(store, [INFERRED.value])
    store.drop_graph(INFERRED.value)
    return _fixpoint(store, engine_rules(store), full=True)


def update_in_engine(
    store: GraphStore, added: list[ox.Triple], removed: list[ox.Triple]
) -> EngineReasoningReport:
    """Change the engine's asserted graph, then bring its inferred graph up to date."""
    graph = f"<{ASSERTED.value}>"

    def data(triples: list[ox.Triple]) -> str:
        return (ox.serialize(triples, format=ox.RdfFormat.N_TRIPLES) or b"").decode()

    forget(store, [ASSERTED.value, INFERRED.value])
    if removed:
        store.update(f"DELETE DATA {{ GRAPH {graph} {{ {data(removed)} }} }}")
    if added:
        store.update(f"INSERT DATA {{ GRAPH {graph} {{ {data(added)} }} }}")
    if removed:
        return materialize_in_engine(store)
    return _fixpoint(store, engine_rules(store), full=False)
