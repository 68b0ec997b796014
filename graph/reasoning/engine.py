"""A semi-naive forward chainer over integer-encoded triples, with derivations and DRed.

Terms are numbered (:class:`TermTable`); a triple is a tuple of three ints; in rule atoms,
negative ints are variables. Every rule is a conjunction of triple patterns (plus simple
FILTERs) implying one or more triple patterns: the OWL 2 RL axioms of the ontology are
compiled into such rules with their schema terms as constants (see
:mod:`karabakh_kg.graph.reasoning.rules`), and the SPARQL domain rules translate to the same
form, so one join engine runs both to a common fixpoint.

Each derived triple keeps one derivation (the rule and the premise triples that fired it),
recorded when it is first derived, so premises are always older than their conclusion and an
explanation can recurse without cycles. Deletions use the Backward/Forward algorithm, which
keeps that property (see :class:`_BackwardForward`). A closure nobody explains (``reason
FILE``) is computed with ``premises=False``: each record then names the rule alone, and
the derived triples are kept in one list per rule until a record is asked for (no table of
records: a hash table fewer per derived triple); :meth:`Engine.instances` finds the
premises of any fact again when asked.

Why our own engine rather than a compiled Datalog reasoner from PyPI: explanations need one
well-founded derivation per triple, and incremental maintenance and the supports need the
rule instances of any triple on demand (:meth:`Engine.instances`, :meth:`Engine._fire`);
``reasonable`` gives neither and drops property chains. ``nemo-python`` 0.10.1 (Nemo's Rust
engine) computed the same OWL 2 RL closure of the generated graphs (324 142 triples at 100k
asserted; the same IRI triples at 10k), but more slowly than this engine, measured
2026-12-01 on the same input in one process: 15.8 s against 2.5 s at 100k with our compiled
rules (one rule per axiom, 323 of them), 8.5 s with ten generic schema-level rules (its
memory stayed lower: 200 MB peak). Full materialisation would also need our indexes and
derivations afterwards for the explanations, so it is not used.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import chain
from typing import Any

Triple = tuple[int, int, int]
Binding = dict[int, int]
JoinFunction = Callable[[Triple, bool], Iterator[tuple[Triple, int, tuple[Triple, ...]]]]
"""A trigger compiled to Python: ``(fact, only_new)`` -> (head, rule index, ground body)."""
Members = set[int] | tuple[int, ...]
"""The objects of one subject and predicate (or subjects of one object): a tuple while
there are at most :data:`SMALL_MEMBERS`, then a set."""
SMALL_MEMBERS = 16
"""Members kept in a tuple up to this many: a tuple of 16 ints costs 168 bytes, a set of
2 to 4 costs 216 and one of 5 to 18 costs 728; most keys have fewer than 16 members (the
types of one subject, the objects of one property), and these tables were half of the
engine's memory. Scanning 16 ints for a membership test is as fast as hashing."""
_EMPTY: dict[int, Members] = {}


@dataclass(frozen=True)
class Rule:
    """``body`` (with ``filters``) implies ``head``; ``axioms`` are the schema premises.

    ``rule_id`` names the OWL 2 RL rule (``cax-sco``, ``prp-trp`` ...) or the domain rule.
    Filters are ``(op, left, right)`` with ``op`` in ``"!="``, ``"="``.
    """

    rule_id: str
    body: tuple[Triple, ...]
    head: tuple[Triple, ...]
    filters: tuple[tuple[str, int, int], ...] = ()
    axioms: tuple[Triple, ...] = ()


@dataclass
class _Trigger:
    rule_index: int
    atom: Triple
    rest: tuple[Triple, ...]
    fire: JoinFunction | None = None


Derivation = tuple[int, tuple[Triple, ...]]
"""How one triple was first derived: (rule index, instantiated body atoms).

The rule's schema ``axioms`` are premises too; they are not repeated in every record.
"""


class TermTable:
    """Numbers RDF terms (any hashable) densely from 0; remembers which are literals."""

    def __init__(self) -> None:
        self.terms: list[object] = []
        self.ids: dict[object, int] = {}
        self.literals: set[int] = set()

    def encode(self, term: object, *, literal: bool = False) -> int:
        """The id of ``term``, numbering it if new."""
        found = self.ids.get(term)
        if found is not None:
            return found
        number = len(self.terms)
        self.terms.append(term)
        self.ids[term] = number
        if literal:
            self.literals.add(number)
        return number

    def encode_quads(self, quads: Iterable[Any], literal: type) -> Iterator[Triple]:
        """The subject, predicate and object of each quad encoded (numbered if new), an
        object of type ``literal`` marked as a literal: the one loop that encodes input."""
        ids, encode = self.ids, self.encode
        for s, p, o, _ in quads:
            si = ids.get(s)
            if si is None:
                si = encode(s)
            pi = ids.get(p)
            if pi is None:
                pi = encode(p)
            oi = ids.get(o)
            if oi is None:
                oi = encode(o, literal=isinstance(o, literal))
            yield si, pi, oi

    def get(self, term: object) -> int | None:
        """The id of ``term`` or None when it was never seen."""
        return self.ids.get(term)

    def decode(self, number: int) -> object:
        """The term numbered ``number``."""
        return self.terms[number]


def _is_var(x: int) -> bool:
    return x < 0


def _filters_pass(filters: Sequence[tuple[str, int, int]], b: Binding) -> bool:
    for op, left, right in filters:
        lv = b.get(left, left) if left < 0 else left
        rv = b.get(right, right) if right < 0 else right
        if lv < 0 or rv < 0:
            continue  # not bound yet: checked later
        if (op == "!=" and lv == rv) or (op == "=" and lv != rv):
            return False
    return True


def _ground_all(atoms: Sequence[Triple], b: Binding) -> tuple[Triple, ...]:
    return tuple(
        (b[s] if s < 0 else s, b[p] if p < 0 else p, b[o] if o < 0 else o) for s, p, o in atoms
    )


def _order(atoms: Sequence[Triple], bound: set[int], type_id: int = -1) -> tuple[Triple, ...]:
    """Greedy join order: next the atom whose subject/object are most bound.

    A class of ``rdf:type`` is not selective (many members), so ``?x a C`` with ``?x`` free
    comes last: it would scan every member of the class.
    """
    left = list(atoms)
    ordered: list[Triple] = []
    bound = set(bound)

    def score(atom: Triple) -> tuple[int, int]:
        s, p, o = atom
        s_bound = not _is_var(s) or s in bound
        o_bound = not _is_var(o) or o in bound
        if p == type_id and not s_bound:
            o_bound = False
        return (int(s_bound) + int(o_bound), int(not _is_var(p) or p in bound))

    while left:
        best = max(left, key=score)
        left.remove(best)
        ordered.append(best)
        bound.update(x for x in best if _is_var(x))
    return tuple(ordered)


def _compile_trigger(
    rule_index: int, rule: Rule, position: int, rest: tuple[Triple, ...], engine: Engine
) -> JoinFunction | None:
    """The rule instances in which a fact matches body atom ``position``, as one generated
    function of nested loops over the engine's indexes (None for a variable predicate,
    which the generic join handles).

    The generated code visits the same index entries in the same order as the generic join
    (:meth:`Engine._join`), so it finds the same instances and records the same derivations;
    it only avoids a binding dictionary and a generator per step, which made joins the bulk
    of the closure's time. The source holds only integers (term and rule numbers), never
    text from the rules.
    """
    if any(_is_var(atom[1]) for atom in (*rule.body, *rule.head)):
        return None
    atom = rule.body[position]
    bound: set[int] = set()
    lines: list[str] = ["def fire(t, only_new):"]
    pending = [f for f in rule.filters if _is_var(f[1]) or _is_var(f[2])]
    depth = 1

    def name(x: int) -> str:
        return f"v{-x}" if _is_var(x) else str(x)

    def emit(text: str) -> None:
        lines.append("    " * depth + text)

    def check_filters() -> None:
        for f in list(pending):
            op, left, right = f
            if all(not _is_var(x) or x in bound for x in (left, right)):
                pending.remove(f)
                emit(f"if {name(left)} {'==' if op == '!=' else '!='} {name(right)}: return")

    for i, x in enumerate(atom):
        if i == 1:
            continue  # the predicate (and the class of a type) chose the trigger
        if not _is_var(x) or x in bound:
            emit(f"if t[{i}] != {name(x)}: return")
        else:
            emit(f"{name(x)} = t[{i}]")
            bound.add(x)
    check_filters()
    # one loop level per remaining atom: from here a check opens a block (a ``return``
    # inside a loop would end the other iterations too)
    for s, p, o in rest:
        s_bound = not _is_var(s) or s in bound
        o_bound = not _is_var(o) or o in bound
        if s_bound and o_bound:
            emit(f"if ({name(s)}, {p}, {name(o)}) in facts:")
            depth += 1
        elif s_bound:
            emit(f"for {name(o)} in ps.get({p}, EMPTY).get({name(s)}, ()):")
            depth += 1
            bound.add(o)
        elif o_bound:
            emit(f"for {name(s)} in po.get({p}, EMPTY).get({name(o)}, ()):")
            depth += 1
            bound.add(s)
        elif s == o:
            emit(f"for {name(s)}, objects in ps.get({p}, EMPTY).items():")
            depth += 1
            emit(f"if {name(s)} in objects:")
            depth += 1
            bound.add(s)
        else:
            emit(f"for {name(s)}, objects in ps.get({p}, EMPTY).items():")
            depth += 1
            emit(f"for {name(o)} in objects:")
            depth += 1
            bound.update((s, o))
        for f in list(pending):
            op, left, right = f
            if all(not _is_var(x) or x in bound for x in (left, right)):
                pending.remove(f)
                emit(f"if {name(left)} {'!=' if op == '!=' else '=='} {name(right)}:")
                depth += 1
    premises = ", ".join(
        "t" if k == position else f"({name(a)}, {b}, {name(c)})"
        for k, (a, b, c) in enumerate(rule.body)
    )
    for hs, hp, ho in rule.head:
        checks = [f"{name(x)} not in literals" for x in (hs,) if _is_var(x)]
        if (not _is_var(hs) and hs in engine.literals) or hp in engine.literals:
            continue  # never RDF: a literal subject or predicate
        if hp == engine.same_as_id:
            checks.append(f"{name(hs)} != {name(ho)}")
        head = f"({name(hs)}, {hp}, {name(ho)})"
        emit(f"h = {head}")
        checks.append("not (only_new and h in facts)")
        emit(f"if {' and '.join(checks)}:")
        emit(f"    yield h, {rule_index}, ({premises},)")
    namespace: dict[str, Any] = {
        "EMPTY": _EMPTY,
        "facts": engine.facts,
        "ps": engine.ps,
        "po": engine.po,
        "literals": engine.literals,
    }
    exec("\n".join(lines), namespace)  # the source holds integers only
    # taken out of its own globals: a function in the namespace it closes over is a cycle,
    # which would keep the closure's indexes alive until a collection (forever once frozen)
    fire: JoinFunction = namespace.pop("fire")
    return fire


class Engine:
    """The closure of a set of base triples under a list of rules."""

    def __init__(
        self,
        rules: Sequence[Rule],
        type_id: int,
        same_as_id: int,
        literals: set[int],
        *,
        premises: bool = True,
    ) -> None:
        self.rules = list(rules)
        self.premises = premises
        """Whether a derivation records its premises (else ``(rule index, ())``)."""
        self._rule_only: list[Derivation] | None = (
            None if premises else [(index, ()) for index in range(len(self.rules))]
        )
        self.type_id = type_id
        self.same_as_id = same_as_id
        self.literals = literals
        self.base: set[Triple] = set()
        self.facts: set[Triple] = set()
        self._derivations: dict[Triple, Derivation] = {}
        self._by_rule: list[list[Triple]] | None = (
            None if premises else [[] for _ in range(len(self.rules))]
        )
        """Without premises: the derived triples in one list per rule, in place of the
        records (:attr:`derivations` makes them when asked)."""
        self._base_order: list[Triple] | None = None if premises else []
        """Without premises, until the first change: the base in the order it was read."""
        # p -> s -> objects and p -> o -> subjects (see ``Members``)
        self.ps: dict[int, dict[int, Members]] = {}
        self.po: dict[int, dict[int, Members]] = {}
        self.sp: dict[int, set[tuple[int, int]]] = {}
        self.op: dict[int, set[tuple[int, int]]] = {}
        self.by_pred: dict[int, list[_Trigger]] = {}
        self.by_class: dict[int, list[_Trigger]] = {}
        self.wildcard: list[_Trigger] = []
        self.heads_by_pred: dict[int, list[tuple[int, Triple]]] = {}
        self.heads_by_class: dict[int, list[tuple[int, Triple]]] = {}
        self.heads_by_subclass: dict[int, dict[int, list[tuple[int, Triple]]]] = {}
        self.heads_any: list[tuple[int, Triple]] = []
        self.needs_node_index = False
        # rules of one body atom (?x p ?y) or (?x a C): a head template per rule, where
        # ~0 and ~2 copy the subject or object of the matched triple and c >= 0 is constant
        # c, the rule's own int object, so a derived triple allocates no int of its own
        self.unary_by_pred: dict[int, list[tuple[int, int, int, int]]] = {}
        self.unary_by_class: dict[int, list[tuple[int, int, int, int]]] = {}
        for index, rule in enumerate(self.rules):
            self._index_rule(index, rule)

    # -- compilation ------------------------------------------------------------------

    def _unary(self, index: int, rule: Rule) -> bool:
        if len(rule.body) != 1 or len(rule.head) != 1 or rule.filters:
            return False
        s, p, o = rule.body[0]
        if _is_var(p) or not _is_var(s) or s == o:
            return False
        is_class = p == self.type_id and not _is_var(o)
        if not is_class and not _is_var(o):
            return False
        where = {s: ~0} if is_class else {s: ~0, o: ~2}
        template = []
        for x in rule.head[0]:
            if _is_var(x):
                if x not in where:
                    return False
                template.append(where[x])
            else:
                template.append(x)
        entry = (index, template[0], template[1], template[2])
        if is_class:
            self.unary_by_class.setdefault(o, []).append(entry)
        else:
            self.unary_by_pred.setdefault(p, []).append(entry)
        return True

    def _index_rule(self, index: int, rule: Rule) -> None:
        for atom in rule.head:
            if _is_var(atom[1]):
                self.heads_any.append((index, atom))
            elif atom[1] == self.type_id and not _is_var(atom[2]):
                body = rule.body[0]
                if (
                    len(rule.body) == 1
                    and not rule.filters
                    and body[1] == self.type_id
                    and not _is_var(body[2])
                    and body[0] == atom[0]
                ):
                    # ?x a D -> ?x a C: found from the types of ?x, not tried one by one
                    by_body = self.heads_by_subclass.setdefault(atom[2], {})
                    by_body.setdefault(body[2], []).append((index, atom))
                else:
                    self.heads_by_class.setdefault(atom[2], []).append((index, atom))
            else:
                self.heads_by_pred.setdefault(atom[1], []).append((index, atom))
        if self._unary(index, rule):
            return
        for position, atom in enumerate(rule.body):
            rest = rule.body[:position] + rule.body[position + 1 :]
            ordered = _order(rest, {x for x in atom if _is_var(x)}, self.type_id)
            trigger = _Trigger(
                index, atom, ordered, _compile_trigger(index, rule, position, ordered, self)
            )
            _, p, o = atom
            if _is_var(p):
                self.wildcard.append(trigger)
            elif p == self.type_id and not _is_var(o):
                self.by_class.setdefault(o, []).append(trigger)
            else:
                self.by_pred.setdefault(p, []).append(trigger)
            if _is_var(p):
                self.needs_node_index = True

    # -- the fact store ---------------------------------------------------------------

    @property
    def derivations(self) -> dict[Triple, Derivation]:
        """The derivation of every derived triple. Without premises, the records are made
        from the per-rule lists on first use (from then on kept as records): a closure
        nobody explains or updates never has them, one hash table fewer (a miss of the
        processor's cache per derived triple at 1M asserted triples)."""
        lists = self._by_rule
        if lists is not None:
            assert self._rule_only is not None
            records = self._derivations
            for record, triples in zip(self._rule_only, lists, strict=True):
                for t in triples:
                    records[t] = record
            self._by_rule = None
        return self._derivations

    def base_in_order(self) -> Iterable[Triple]:
        """The base triples, in the order :meth:`run` read them while no change followed
        (else the set's order). Read in that order, they are read from memory in the
        order they were made: writing the 1M closure (3.3 M triples) this way and
        :meth:`derived` took 3.9 s of CPU instead of 5.8 in the sets' order, whose every
        triple is a miss of the processor's cache."""
        return self.base if self._base_order is None else self._base_order

    def derived(self) -> Iterable[Triple]:
        """The derived triples (those with a derivation), without making records, in the
        order they were derived (by rule, then in order, without premises)."""
        if self._by_rule is not None:
            return chain.from_iterable(self._by_rule)
        return self._derivations.keys()

    def derived_without(self, subjects: set[int], classes: set[int]) -> set[Triple]:
        """The derived triples, less those whose subject is in ``subjects`` and the types
        whose class is in ``classes``: found through the indexes and taken out of a set
        made by C code, rather than a test per triple in Python (0.7 s instead of 1.0 at
        1M asserted triples, for a closure of 3.3 M)."""
        out = set(self.derived())
        discard = out.discard
        for s in subjects:
            for p, by_s in self.ps.items():
                for o in by_s.get(s, ()):
                    discard((s, p, o))
        members = self.po.get(self.type_id, _EMPTY)
        for o in classes:
            for s in members.get(o, ()):
                discard((s, self.type_id, o))
        return out

    def rule_counts(self, triples: set[Triple]) -> Counter[int]:
        """How many of ``triples`` (derived ones) each rule index derived first."""
        if self._by_rule is not None:
            return Counter(
                {
                    index: n
                    for index, found in enumerate(self._by_rule)
                    if (n := sum(1 for t in found if t in triples))
                }
            )
        records = self._derivations
        return Counter(records[t][0] for t in triples)

    def record(self, rule_index: int, body: tuple[Triple, ...]) -> Derivation:
        """The derivation to keep for a rule instance (see ``premises``)."""
        return (rule_index, body) if self._rule_only is None else self._rule_only[rule_index]

    def _insert(self, t: Triple) -> None:
        s, p, o = t
        self.facts.add(t)
        by_s = self.ps.get(p)
        if by_s is None:
            by_s = self.ps[p] = {}
            self.po[p] = {}
        # ``t`` is new, so its members are not there yet
        objects = by_s.get(s)
        if objects is None:
            by_s[s] = (o,)
        elif type(objects) is tuple:
            by_s[s] = (*objects, o) if len(objects) < SMALL_MEMBERS else {*objects, o}
        else:
            objects.add(o)  # type: ignore[union-attr]
        by_o = self.po[p]
        subjects = by_o.get(o)
        if subjects is None:
            by_o[o] = (s,)
        elif type(subjects) is tuple:
            by_o[o] = (*subjects, s) if len(subjects) < SMALL_MEMBERS else {*subjects, s}
        else:
            subjects.add(s)  # type: ignore[union-attr]
        if self.needs_node_index:
            self.sp.setdefault(s, set()).add((p, o))
            self.op.setdefault(o, set()).add((s, p))

    def _delete(self, t: Triple) -> None:
        s, p, o = t
        self.facts.discard(t)
        self.derivations.pop(t, None)
        for index, key, member in ((self.ps[p], s, o), (self.po[p], o, s)):
            found = index[key]
            if type(found) is not tuple:
                found.discard(member)  # type: ignore[union-attr]
            elif len(found) == 1:
                del index[key]
            else:
                index[key] = tuple(x for x in found if x != member)
        if self.needs_node_index:
            self.sp[s].discard((p, o))
            self.op[o].discard((s, p))

    def _matches(self, atom: Triple, b: Binding) -> Iterator[Binding]:
        """Bindings extending ``b`` under which ``atom`` is a current fact."""
        s, p, o = atom
        sv = b.get(s, s) if s < 0 else s
        pv = b.get(p, p) if p < 0 else p
        ov = b.get(o, o) if o < 0 else o
        if pv >= 0:
            if sv >= 0:
                objects = self.ps.get(pv, {}).get(sv)
                if not objects:
                    return
                if ov >= 0:
                    if ov in objects:
                        yield b
                    return
                for x in objects:
                    yield {**b, o: x}
            elif ov >= 0:
                subjects = self.po.get(pv, {}).get(ov)
                if not subjects:
                    return
                for x in subjects:
                    yield {**b, s: x}
            else:
                for subj, objects in self.ps.get(pv, {}).items():
                    for x in objects:
                        if s == o and subj != x:
                            continue
                        yield {**b, s: subj, o: x}
            return
        # variable predicate: go through the node indexes
        if sv >= 0:
            for pp, x in self.sp.get(sv, ()):
                if ov >= 0 and x != ov:
                    continue
                nb = {**b, p: pp}
                if ov < 0:
                    nb[o] = x
                yield nb
        elif ov >= 0:
            for x, pp in self.op.get(ov, ()):
                yield {**b, s: x, p: pp}
        else:
            for t in self.facts:
                yield {**b, s: t[0], p: t[1], o: t[2]}

    def _join(self, atoms: tuple[Triple, ...], k: int, b: Binding, rule: Rule) -> Iterator[Binding]:
        if k == len(atoms):
            yield b
            return
        for nb in self._matches(atoms[k], b):
            if rule.filters and not _filters_pass(rule.filters, nb):
                continue
            yield from self._join(atoms, k + 1, nb, rule)

    def _count(self, atom: Triple, b: Binding) -> int:
        """How many facts match ``atom`` under ``b`` (exact when a subject or object is
        bound, an overestimate otherwise)."""
        s, p, o = atom
        sv = b.get(s, s) if s < 0 else s
        pv = b.get(p, p) if p < 0 else p
        ov = b.get(o, o) if o < 0 else o
        if pv >= 0:
            if sv >= 0:
                objects = self.ps.get(pv, {}).get(sv)
                if not objects:
                    return 0
                return int(ov in objects) if ov >= 0 else len(objects)
            if ov >= 0:
                return len(self.po.get(pv, {}).get(ov, ()))
            return 2 * len(self.ps.get(pv, ())) + 1
        if sv >= 0:
            return len(self.sp.get(sv, ()))
        if ov >= 0:
            return len(self.op.get(ov, ()))
        return len(self.facts)

    def _join_adaptive(self, atoms: list[Triple], b: Binding, rule: Rule) -> Iterator[Binding]:
        """Like :meth:`_join`, choosing at each step the atom with the fewest matches under
        the current binding (the backward searches bind constants no static order foresees)."""
        if not atoms:
            yield b
            return
        counts = [self._count(atom, b) for atom in atoms]
        best = min(range(len(atoms)), key=counts.__getitem__)
        if counts[best] == 0:
            return
        rest = atoms[:best] + atoms[best + 1 :]
        for nb in self._matches(atoms[best], b):
            if rule.filters and not _filters_pass(rule.filters, nb):
                continue
            yield from self._join_adaptive(rest, nb, rule)

    @staticmethod
    def _bind_atom(atom: Triple, t: Triple) -> Binding | None:
        b: Binding = {}
        for x, v in zip(atom, t, strict=True):
            if x >= 0:
                if x != v:
                    return None
            else:
                seen = b.get(x)
                if seen is None:
                    b[x] = v
                elif seen != v:
                    return None
        return b

    def _triggers(self, t: Triple) -> Iterable[_Trigger]:
        found = self.by_pred.get(t[1], ())
        if t[1] == self.type_id:
            by_class = self.by_class.get(t[2])
            if by_class:
                found = [*found, *by_class]
        if self.wildcard:
            return [*found, *self.wildcard]
        return found

    def _instantiate(self, atom: Triple, b: Binding) -> Triple | None:
        s, p, o = atom
        h = (b[s] if s < 0 else s, b[p] if p < 0 else p, b[o] if o < 0 else o)
        if h[0] in self.literals or h[1] in self.literals:
            return None  # not RDF: a literal in subject or predicate position
        if h[1] == self.same_as_id and h[0] == h[2]:
            return None  # reflexive sameAs adds nothing
        return h

    def _fire(
        self, t: Triple, only_new: bool = True
    ) -> Iterator[tuple[Triple, int, tuple[Triple, ...]]]:
        """Conclusions of every rule instance in which ``t`` matches a body atom."""
        for rule_index, head in self._unary_heads(t):
            if not (only_new and head in self.facts):
                yield head, rule_index, (t,)
        yield from self._fire_joins(t, only_new)

    def _unary_heads(self, t: Triple) -> Iterator[tuple[int, Triple]]:
        literals = self.literals
        entries = self.unary_by_pred.get(t[1], ())
        if t[1] == self.type_id:
            entries = self.unary_by_class.get(t[2], ())
        for rule_index, a, b, c in entries:
            h = (t[~a] if a < 0 else a, t[~b] if b < 0 else b, t[~c] if c < 0 else c)
            if h[0] not in literals:
                yield rule_index, h

    def _saturate(self, todo: list[Triple], added: set[Triple] | None = None) -> None:
        facts = self.facts
        by_rule = self._by_rule
        derivations = self._derivations
        rule_only = self._rule_only
        literals = self.literals
        unary_by_pred = self.unary_by_pred
        unary_by_class = self.unary_by_class
        type_id = self.type_id
        insert = self._insert
        has_joins = bool(self.by_pred or self.by_class or self.wildcard)
        by_pred, by_class = self.by_pred, self.by_class
        while todo:
            t = todo.pop()
            # the hot path: one-atom rules, inlined
            entries = (
                unary_by_class.get(t[2], ()) if t[1] == type_id else unary_by_pred.get(t[1], ())
            )
            premises: tuple[Triple] | None = None  # one body for every head of ``t``
            for rule_index, a, b, c in entries:
                h = (t[~a] if a < 0 else a, t[~b] if b < 0 else b, t[~c] if c < 0 else c)
                if h in facts or h[0] in literals:
                    continue
                insert(h)
                if by_rule is not None:
                    by_rule[rule_index].append(h)
                elif rule_only is not None:
                    derivations[h] = rule_only[rule_index]
                else:
                    if premises is None:
                        premises = (t,)
                    derivations[h] = (rule_index, premises)
                if added is not None:
                    added.add(h)
                todo.append(h)
            if not has_joins or not (
                t[1] in by_pred or (t[1] == type_id and t[2] in by_class) or self.wildcard
            ):
                continue
            # collect first: the indexes must not change while a join walks them
            for h, rule_index, body in list(self._fire_joins(t)):
                if h in facts:
                    continue
                insert(h)
                if by_rule is not None:
                    by_rule[rule_index].append(h)
                else:
                    derivations[h] = (
                        (rule_index, body) if rule_only is None else rule_only[rule_index]
                    )
                if added is not None:
                    added.add(h)
                todo.append(h)

    def _fire_joins(
        self, t: Triple, only_new: bool = True
    ) -> Iterator[tuple[Triple, int, tuple[Triple, ...]]]:
        """Conclusions of the multi-atom rule instances in which ``t`` matches a body atom."""
        for trig in self._triggers(t):
            if trig.fire is not None:
                yield from trig.fire(t, only_new)
                continue
            b = self._bind_atom(trig.atom, t)
            if b is None:
                continue
            rule = self.rules[trig.rule_index]
            if rule.filters and not _filters_pass(rule.filters, b):
                continue
            for full in self._join(trig.rest, 0, b, rule):
                for atom in rule.head:
                    h = self._instantiate(atom, full)
                    if h is None or (only_new and h in self.facts):
                        continue
                    yield h, trig.rule_index, _ground_all(rule.body, full)

    # -- public operations ------------------------------------------------------------

    def run(self, base: Iterable[Triple]) -> None:
        """Compute the closure of ``base`` from scratch."""
        todo: list[Triple] = []
        for t in base:
            if t in self.facts:
                continue
            self.base.add(t)
            self._insert(t)
            todo.append(t)
        if self._base_order is not None:
            self._base_order.extend(todo)
        self._saturate(todo)

    def update(self, added: Iterable[Triple], removed: Iterable[Triple]) -> set[Triple]:
        """Change the base; return every triple whose status may have changed.

        Deletions use the Backward/Forward algorithm (Motik et al., AAAI 2015): a triple that
        lost a premise is deleted, and its consequences examined, only when a backward search
        finds no other derivation of it from what remains; so removing one participant no
        longer over-deletes every triple that shared a premise with it. Additions then
        saturate semi-naively.
        """
        added = list(added)
        self._base_order = None  # the set alone from now on
        gone = [t for t in removed if t in self.base]
        for t in gone:
            self.base.discard(t)
        deleted = _BackwardForward(self).run(gone) if gone else set()
        newly: set[Triple] = set()
        todo: list[Triple] = []
        for t in added:
            if t in self.base:
                continue
            self.base.add(t)
            if t in self.facts:
                self.derivations.pop(t, None)  # now asserted
                continue
            self._insert(t)
            newly.add(t)
            todo.append(t)
        self._saturate(todo, newly)
        return set(gone) | deleted | newly | set(added)

    def instances(self, t: Triple, excluded: set[Triple]) -> Iterator[Derivation]:
        """Every rule instance (rule index, body) that derives ``t`` from current facts,
        skipping those with a body triple in ``excluded``."""
        if t[1] == self.type_id:
            by_body = self.heads_by_subclass.get(t[2], {})
            types = self.ps.get(t[1], {}).get(t[0], ()) if by_body else ()
            candidates = [
                *(entry for d in types if d in by_body for entry in by_body[d]),
                *self.heads_by_class.get(t[2], ()),
                *self.heads_by_pred.get(t[1], ()),
                *self.heads_any,
            ]
        else:
            candidates = [*self.heads_by_pred.get(t[1], ()), *self.heads_any]
        for rule_index, atom in candidates:
            b = self._bind_atom(atom, t)
            if b is None:
                continue
            rule = self.rules[rule_index]
            if rule.filters and not _filters_pass(rule.filters, b):
                continue
            if len(rule.body) == 1:  # most OWL rules: one index look-up, no planning
                found: Iterable[Binding] = (
                    x
                    for x in self._matches(rule.body[0], b)
                    if not rule.filters or _filters_pass(rule.filters, x)
                )
            else:
                found = self._join_adaptive(list(rule.body), b, rule)
            for full in found:
                ground = _ground_all(rule.body, full)
                if excluded and any(x in excluded for x in ground):
                    continue
                yield rule_index, ground

    def matches(self, rule: Rule) -> Iterator[tuple[Triple, ...]]:
        """Every instance of ``rule``'s body in the closure (for constraint rules)."""
        body = _order(rule.body, set(), self.type_id)
        for full in self._join(body, 0, {}, rule):
            yield _ground_all(rule.body, full)


class _BackwardForward:
    """One deletion pass of the Backward/Forward algorithm over an engine.

    ``checked`` triples were searched for a derivation from the remaining base; ``proved``
    ones have one (recorded as their new derivation, so explanations stay well-founded:
    a proof only uses triples proved before it). A triple checked but not proved once the
    outermost search returns has no derivation at all: it is ``dead``, to be deleted.
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.checked: set[Triple] = set()
        self.proved: set[Triple] = set()
        self.dead: set[Triple] = set()
        # rule instances waiting for body triples to be proved: body triple -> instances
        self.waiting: dict[Triple, list[tuple[Triple, int, tuple[Triple, ...]]]] = {}
        self._log: list[Triple] = []

    def run(self, removed: list[Triple]) -> set[Triple]:
        """Delete what no longer follows from the base; return the deleted triples."""
        engine = self.engine
        facts, base = engine.facts, engine.base
        deleted: set[Triple] = set()
        queue = list(removed)
        while queue:
            t = queue.pop()
            if t in deleted or t in self.proved or t not in facts:
                continue
            if t not in self.dead:
                self.check(t)
                if t in self.proved:
                    continue
            deleted.add(t)
            for h, _, _ in engine._fire(t, only_new=False):
                if h in facts and h not in base and h not in deleted and h not in self.proved:
                    queue.append(h)
            engine._delete(t)
        return deleted

    def check(self, root: Triple) -> None:
        """Search for a derivation of ``root`` (depth first, without recursion)."""
        if root in self.checked:
            return
        self._log = []
        stack = [self._search(root)]
        while stack:
            needed = next(stack[-1], None)
            if needed is None:
                stack.pop()
            elif needed not in self.checked:
                stack.append(self._search(needed))
        for t in self._log:
            if t not in self.proved:
                self.dead.add(t)

    def _search(self, t: Triple) -> Iterator[Triple]:
        """Yield the body triples to check before each rule instance of ``t`` is tried."""
        self.checked.add(t)
        self._log.append(t)
        if t in self.engine.base:
            self._prove(t, None)
            return
        proved = self.proved
        # ``dead`` only grows between outermost searches, so excluding it here is enough
        for rule_index, body in self.engine.instances(t, self.dead):
            for x in body:
                if x not in self.checked:
                    yield x
                if t in proved:
                    return
            missing = [x for x in body if x not in proved]
            if not missing:
                self._prove(t, (rule_index, body))
                return
            # another search may prove the missing ones later (a cycle through ``t``)
            for x in missing:
                self.waiting.setdefault(x, []).append((t, rule_index, body))

    def _prove(self, t: Triple, derivation: Derivation | None) -> None:
        """Record ``t`` as proved, then every waiting instance that this completes."""
        proved, derivations = self.proved, self.engine.derivations
        record = self.engine.record
        proved.add(t)
        if derivation is not None:
            derivations[t] = record(*derivation)
        todo = [t]
        while todo:
            x = todo.pop()
            for head, rule_index, body in self.waiting.pop(x, ()):
                if head not in proved and all(y in proved for y in body):
                    proved.add(head)
                    derivations[head] = record(rule_index, body)
                    todo.append(head)
