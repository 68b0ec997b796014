"""Reasoning where the data lives: OWL 2 RL and the domain rules as a fixpoint of SPARQL
``INSERT … WHERE`` run by the engine itself, into the inferred graph.

For data too large to pull into this process, the engine does the joins: each rule (the
generic OWL 2 RL rules of ``owl-rl.rq``, with the schema as variables, and the
``sh:SPARQLRule`` CONSTRUCTs of ``rules.ttl``) becomes one update
``INSERT { GRAPH inferred { … } } USING asserted USING ontology USING inferred WHERE { … }``
(the axioms of a generic rule read from the ontology graph alone);
rounds repeat until one adds nothing. Then the same noise policy as the embedded reasoner
(:meth:`karabakh_kg.graph.reasoning.Reasoner.keep`) removes what users do not need: facts
already asserted, statements about the rdf/rdfs/owl/xsd vocabularies, ``owl:Thing`` and
``rdfs:Resource`` types and types that are blank nodes. On the curated graph the result is
the embedded reasoner's inferred graph (tested).

After a change of the asserted graph, :func:`update_in_engine` continues the fixpoint
from the current closure when triples were only added (reasoning is monotonic), and
recomputes it when some were removed (a naive fixpoint cannot tell which derived triples
lost their last support; the embedded reasoner can, and is the one to use for small data).

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


def as_insert(construct: str) -> str:
    """``CONSTRUCT { T } WHERE { B }`` as an update adding ``T`` to the inferred graph, with
    asserted ∪ ontology ∪ inferred as the default graph of ``B``, for the solutions whose
    ``T`` is not all in the inferred graph yet."""
    start = construct.upper().index("CONSTRUCT") + len("CONSTRUCT")
    prologue = construct[: start - len("CONSTRUCT")]
    open_at = construct.index("{", start)
    end = _block(construct, open_at)
    template = construct[open_at + 1 : end - 1]
    where = construct[end:].strip()
    if where.upper().startswith("WHERE"):
        where = where[len("WHERE") :]
    where = where.replace("SCHEMA {", f"GRAPH <{ONTOLOGY.value}> {{").strip()
    # Only what the inferred graph lacks: writing a triple again costs an engine about as
    # much as a new one (the Oxigraph server spent half of each round rewriting the closure).
    where = f"{where[:-1]} MINUS {{ GRAPH <{INFERRED.value}> {{ {template} }} }} }}"
    using = " ".join(f"USING <{g.value}>" for g in (ASSERTED, ONTOLOGY, INFERRED))
    using += f" USING NAMED <{ONTOLOGY.value}> USING NAMED <{INFERRED.value}>"
    return f"{prologue}INSERT {{ GRAPH <{INFERRED.value}> {{ {template} }} }} {using} WHERE {where}"


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


def _fixpoint(store: GraphStore, updates: list[str], full: bool) -> EngineReasoningReport:
    start = time.perf_counter()
    size = _count(store, INFERRED)
    rounds = 0
    while True:
        rounds += 1
        if rounds > MAX_ROUNDS:
            raise StoreError(f"{store.location}: reasoning did not converge in {MAX_ROUNDS} rounds")
        for update in updates:
            store.update(update)
        now = _count(store, INFERRED)
        if now == size:
            break
        size = now
    _clean(store)
    return EngineReasoningReport(
        rounds=rounds,
        inferred=_count(store, INFERRED),
        seconds=time.perf_counter() - start,
        full=full,
    )


def _block(text: str, start: int) -> int:
    """The index just past the ``}`` closing the ``{`` at ``start``."""
    depth = 0
    for index in range(start, len(text)):
        if text[index] == "{":
            depth += 1
        elif text[index] == "}":
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


def rule_updates(store: GraphStore) -> list[str]:
    """Every rule that can fire as an update, the domain rules read from the engine's
    ontology graph."""
    rules = owl_rl_rules()
    rules.update(domain_rules(store.get_graph(ONTOLOGY.value)))
    bound = (with_axioms(store, text) for text in rules.values())
    return [as_insert(text) for text in bound if text is not None]


def materialize_in_engine(store: GraphStore) -> EngineReasoningReport:
    """Recompute the inferred graph on the engine from the asserted and ontology graphs."""
    forget(store, [INFERRED.value])
    store.drop_graph(INFERRED.value)
    return _fixpoint(store, rule_updates(store), full=True)


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
    return _fixpoint(store, rule_updates(store), full=False)
