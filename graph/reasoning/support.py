"""Support: the evidence units every triple of the closure rests on.

The support of a triple is its minimal why-provenance: the list of minimal sets of evidence
units from which reasoning derives it. A triple holds in the closure of a set of units ``E``
exactly when one of its supports is a subset of ``E`` (Datalog is monotone, so the least
fixpoint over the PosBool semiring is exact; Green, Karvounarakis and Tannen, "Provenance
semirings", PODS 2007). An asserted triple is supported by each evidence graph holding it;
an ontology axiom by the empty set (it holds in every perspective).

A set of units is a bitmask over :attr:`SupportIndex.units`. No provenance library fits here:
the supports are computed over the engine's own rule instances (its indexes and its
backward search), which no maintained library can see.
"""

from __future__ import annotations

from bisect import insort
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence

import pyoxigraph as ox

from karabakh_kg.graph.dataset import DataError
from karabakh_kg.graph.reasoning.engine import Engine, TermTable, Triple

Masks = tuple[int, ...]
"""An antichain of unit sets (bitmasks): the minimal supports of one triple."""

MAX_SUPPORTS = 4096
"""Minimal supports kept per triple. Beyond it :class:`SupportOverflow` is raised, so a
support is never silently truncated (the curated data needs a few dozen at most)."""


class SupportOverflow(DataError):
    """A triple has more minimal supports than :data:`MAX_SUPPORTS` (a data error: the
    command line reports it in one line)."""


def minimal(masks: Iterable[int]) -> Masks:
    """The minimal elements (under set inclusion) of ``masks``, smallest first."""
    unique = set(masks)
    if len(unique) <= 1:
        return tuple(unique)
    if 0 in unique:
        return ZERO
    if len(unique) == 2:
        a, b = sorted(unique, key=_size_then_value)
        return (a,) if a | b == b else (a, b)
    out: list[int] = []
    kept: set[int] = set()
    for m in sorted(unique, key=_size_then_value):
        # smallest first: a subset of ``m``, if kept, was kept before it
        if not _covered(kept, m):
            out.append(m)
            kept.add(m)
    if len(out) > MAX_SUPPORTS:
        raise SupportOverflow(f"more than {MAX_SUPPORTS} minimal supports for one triple")
    return tuple(out)


ZERO: Masks = (0,)
"""The support of what the ontology alone gives: the empty set of units."""
_LINEAR = 12
"""Antichains up to this size are searched one by one for a subset of a new support;
beyond it, a narrow support's subsets are looked up in a set instead (the cost of one
insertion stays flat however many supports a triple has)."""


def _covered(kept: set[int], m: int) -> bool:
    """Whether some mask of ``kept`` (none of them 0) is a subset of ``m``."""
    if m in kept:
        return True
    width = m.bit_count()
    if len(kept) > _LINEAR and width < 16 and (1 << width) < 4 * len(kept):
        sub = (m - 1) & m  # every proper non-empty subset, largest first
        while sub:
            if sub in kept:
                return True
            sub = (sub - 1) & m
        return False
    return any(o | m == m for o in kept)


def _size_then_value(mask: int) -> tuple[int, int]:
    return mask.bit_count(), mask


def within(masks: Masks, allowed: int) -> bool:
    """Whether one of ``masks`` uses only units of ``allowed``."""
    return any(m | allowed == allowed for m in masks)


def bits(mask: int) -> Iterator[int]:
    """The unit numbers of a mask."""
    while mask:
        low = mask & -mask
        yield low.bit_length() - 1
        mask ^= low


class SupportIndex:
    """Minimal supports of every fact of an engine's closure, kept exact under updates."""

    def __init__(self, engine: Engine, table: TermTable) -> None:
        self.engine = engine
        self.table = table
        self.units: list[str] = []
        self.unit_number: dict[str, int] = {}
        self.base_units: dict[Triple, int] = {}
        """Unit mask of each base triple (0 for an axiom of the ontology)."""
        self.of: dict[Triple, Masks] = {}
        self.pending: dict[Triple, list[int]] = {}
        """Supports added since the triple last fired (semi-naive propagation)."""
        self.before: dict[Triple, Masks] | None = None
        """While :meth:`update` runs: the supports each triple it changed had before."""
        self._members: dict[Triple, tuple[Masks, set[int]]] = {}
        """The supports of triples that have many, as sets (valid while ``of`` holds the
        same tuple)."""
        self._axioms = [rule.axioms for rule in engine.rules]
        """The axioms of each rule (the engine's rules never change)."""

    def unit(self, iri: str) -> int:
        """The number of the unit ``iri`` (numbered if new)."""
        found = self.unit_number.get(iri)
        if found is None:
            found = self.unit_number[iri] = len(self.units)
            self.units.append(iri)
        return found

    def base_support(self, t: Triple) -> Masks:
        """The alternatives a base triple brings by itself: each unit holding it."""
        mask = self.base_units.get(t)
        if mask is None:
            return ()
        if mask == 0:
            return (0,)
        return tuple(1 << b for b in bits(mask))

    # -- computing ------------------------------------------------------------------------

    def _product(self, lists: Iterable[Masks | list[int] | None]) -> Masks | None:
        """One support of each list, united, minimised (None when a list is empty)."""
        acc: Masks = (0,)
        for found in lists:
            if not found:
                return None
            if found == (0,):
                continue
            if acc == (0,):
                acc = tuple(found)  # already minimal
            elif len(acc) == 1 and len(found) == 1:
                acc = (acc[0] | found[0],)
            else:
                acc = minimal(a | s for a in acc for s in found)
        return acc

    def _combine(
        self,
        premises: tuple[Triple, ...],
        fired: Triple | None = None,
        new: list[int] | None = None,
    ) -> Masks | None:
        """The supports of one rule instance; with ``fired`` and ``new``, only those that use
        a new support of ``fired`` (semi-naive: the others were combined before)."""
        of = self.of
        if fired is None or new is None:
            return self._product(of.get(b) for b in premises)
        out: list[int] = []
        for position, b in enumerate(premises):
            if b == fired:
                got = self._product(
                    new if k == position else of.get(c) for k, c in enumerate(premises)
                )
                out.extend(got or ())
        return minimal(out) if out else None

    def _add(self, head: Triple, masks: Sequence[int]) -> bool:
        """Add supports to ``head`` (keeping the minimal ones); whether any was new."""
        of = self.of
        old = of.get(head, ())
        if old == ZERO:
            return False
        before = self.before
        if before is not None and head not in before:
            before[head] = old
        if len(masks) > 1:
            masks = minimal(masks)
        elif masks and masks[0] == 0:
            masks = ZERO
        if not old or masks == ZERO:
            if not masks:
                return False
            fresh_min = tuple(masks)
            of[head] = fresh_min
            self._members.pop(head, None)
            self.pending.setdefault(head, []).extend(fresh_min)
            return True
        if len(old) <= _LINEAR:
            fresh = [m for m in masks if not any(o | m == m for o in old)]
            if not fresh:
                return False
            kept = [o for o in old if not any(m | o == o for m in fresh)]
            # Already an antichain: no fresh support contains an old one, no kept one a fresh one.
            union = sorted((*kept, *fresh), key=_size_then_value)
            members = None
        else:
            members = self._members_of(head, old)
            fresh = [m for m in masks if not _covered(members, m)]
            if not fresh:
                return False
            if min(m.bit_count() for m in fresh) < old[-1].bit_count():
                union = [o for o in old if not any(m | o == o for m in fresh)]
                if len(union) < len(old):
                    members = set(union)
            else:  # old is smallest first: none of it is wider than a fresh one, so none
                union = list(old)  # contains one (an equal one would have covered it)
            for m in fresh:
                insort(union, m, key=_size_then_value)
        if len(union) > MAX_SUPPORTS:
            raise SupportOverflow(f"more than {MAX_SUPPORTS} minimal supports for one triple")
        new = of[head] = tuple(union)
        if members is not None and len(new) > _LINEAR:
            members.update(fresh)
            self._members[head] = (new, members)
        self.pending.setdefault(head, []).extend(fresh)
        return True

    def _members_of(self, head: Triple, masks: Masks) -> set[int]:
        """The supports ``masks`` of ``head`` as a set (kept while they stay its supports)."""
        found = self._members.get(head)
        if found is not None and found[0] is masks:
            return found[1]
        members = set(masks)
        self._members[head] = (masks, members)
        return members

    def _offer(self, head: Triple, rule_index: int, body: tuple[Triple, ...]) -> bool:
        """Add the supports of one rule instance to ``head``; whether they changed."""
        if self.of.get(head) == (0,):
            return False
        combined = self._combine((*body, *self.engine.rules[rule_index].axioms))
        return combined is not None and self._add(head, combined)

    def _propagate(self, queue: deque[Triple], region: set[Triple] | None) -> None:
        """Fire the new supports of the queued triples until nothing changes.

        Each triple fires once per batch of new supports (in practice once: its supports
        gather while it waits in the queue). A rule instance whose other premises have one
        support each, the common case, unites them once and adds that to each new support,
        without the general product. Outside a ``region`` the closure is complete, so every
        head an instance gives is a fact."""
        engine = self.engine
        facts, unary_heads, fire_joins = engine.facts, engine._unary_heads, engine._fire_joins
        of, pending, add, rest_of, axioms = (
            self.of,
            self.pending,
            self._add,
            self._rest,
            self._axioms,
        )
        settled: set[int] = set()  # rules whose axioms all rest on nothing (final)
        waiting = set(queue)
        while queue:
            x = queue.popleft()
            waiting.discard(x)
            new = pending.pop(x, None)
            if not new:
                continue
            one = new[0] if len(new) == 1 else None
            # one-atom rules (most OWL 2 RL instances): the body is ``x`` alone
            for rule_index, head in unary_heads(x):
                if region is not None and (head not in facts or head not in region):
                    continue
                old = of.get(head)
                if old is not None and (old == ZERO or (one is not None and one in old)):
                    continue  # nothing to add, or a support it has
                combined: Sequence[int] | None = new
                if rule_index not in settled and axioms[rule_index]:
                    rest = rest_of((x, *axioms[rule_index]), x)
                    if rest == 0:
                        settled.add(rule_index)
                    elif rest > 0:
                        combined = [m | rest for m in new]
                    else:
                        combined = self._combine((x, *axioms[rule_index]), x, new)
                if combined and add(head, combined) and head not in waiting:
                    waiting.add(head)
                    queue.append(head)
            for head, rule_index, body in fire_joins(x, False):
                if region is not None and (head not in facts or head not in region):
                    continue
                old = of.get(head)
                if old == ZERO:
                    continue
                premises = body if rule_index in settled else (*body, *axioms[rule_index])
                rest = rest_of(premises, x)
                if rest == 0:
                    combined = new
                    if len(premises) > len(body):
                        settled.add(rule_index)
                elif rest > 0:
                    combined = [m | rest for m in new]
                else:  # a premise with several supports, or none yet
                    combined = self._combine(premises, x, new)
                if not combined or (old and len(combined) == 1 and combined[0] in old):
                    continue  # nothing, or a support it has
                if add(head, combined) and head not in waiting:
                    waiting.add(head)
                    queue.append(head)

    def _rest(self, premises: tuple[Triple, ...], fired: Triple) -> int:
        """The union of the one support of each premise but ``fired`` (once), or -1 when
        one has none yet or several."""
        of = self.of
        rest, seen = 0, False
        for c in premises:
            if c == fired and not seen:
                seen = True
                continue
            found = of.get(c)
            if found is None or len(found) != 1:
                return -1
            rest |= found[0]
        return rest

    def compute(self, unit_masks: dict[Triple, int]) -> None:
        """Supports of the whole closure, from the unit mask of every base triple."""
        self.base_units = dict(unit_masks)
        self._members = {}
        units = 0
        for mask in self.base_units.values():
            units |= mask
        if units & (units - 1) == 0:
            self._compute_one_unit(units)
            return
        self.of = {t: self.base_support(t) for t in self.engine.base}
        self.pending = {t: list(masks) for t, masks in self.of.items()}
        self._propagate(deque(self.engine.base), None)

    def _compute_one_unit(self, unit: int) -> None:
        """Supports when the base has one unit at most (data without evidence units: every
        asserted triple in the pseudo-unit of what no evidence graph holds). A triple then
        rests on nothing when the axioms alone derive it, and on that unit otherwise: only
        what the axioms derive is propagated, not the whole closure."""
        base_units = self.base_units
        axioms = [t for t in self.engine.base if base_units.get(t) == 0]
        self.of = dict.fromkeys(axioms, ZERO)
        self.pending = {t: [0] for t in axioms}
        self._propagate(deque(axioms), None)
        of = self.of
        if unit:
            alone = (unit,)
            for t in self.engine.facts:
                if t not in of:
                    of[t] = alone

    def update(
        self, seeds: Iterable[Triple], unit_masks: dict[Triple, int], *, removals: bool = True
    ) -> dict[Triple, Masks]:
        """After the engine changed: ``seeds`` are the triples added, removed, newly
        derived or deleted, ``unit_masks`` the new unit masks of the seeds that are base
        triples. Returns the supports that every seed and every triple whose supports
        changed had before (``()`` for a triple that had none).

        With ``removals=False`` (the change only added base triples, so supports only grow)
        the new supports propagate from the seeds semi-naively, costing what they reach;
        otherwise the supports of everything reachable from a seed through rule instances
        are recomputed (a removed triple's unit may still hold other triples, so what it
        took away cannot be subtracted)."""
        seeds = set(seeds)
        self.before = before = {t: self.of.get(t, ()) for t in seeds}
        try:
            if removals:
                self._recompute(seeds, unit_masks)
            else:
                self._grow(seeds, unit_masks)
        finally:
            self.before = None
        return before

    def _grow(self, seeds: set[Triple], unit_masks: dict[Triple, int]) -> None:
        """Add the supports that new base triples bring, and what they lead to."""
        facts = self.engine.facts
        self.base_units.update(unit_masks)
        queue: deque[Triple] = deque()
        for t in seeds:
            if t not in facts:
                continue
            if t in unit_masks and self._add(t, self.base_support(t)):
                queue.append(t)
            else:
                self.of.setdefault(t, ())  # newly derived: its supports arrive below
        self._propagate(queue, None)

    def _recompute(self, seeds: set[Triple], unit_masks: dict[Triple, int]) -> None:
        """Recompute the supports of everything reachable from ``seeds``."""
        engine = self.engine
        facts = engine.facts
        for t in seeds:
            self.base_units.pop(t, None)
        self.base_units.update(unit_masks)
        assert self.before is not None
        before = self.before
        region: set[Triple] = set()
        fired: set[Triple] = set()
        todo = list(seeds)
        # Firing a removed triple finds only the premises still there: two removed triples
        # that joined (a location and its locatedIn) reach nothing together. What rested on
        # them rested on their units, so every fact with a support naming one is recomputed.
        gone_units = 0
        for t in seeds - facts:
            for mask in before.get(t, ()):
                gone_units |= mask
        if gone_units:
            todo.extend(t for t, masks in self.of.items() if any(m & gone_units for m in masks))
        while todo:
            x = todo.pop()
            if x in fired:
                continue
            fired.add(x)
            if x in facts:
                region.add(x)
            for head, _, _ in engine._fire(x, only_new=False):
                if head in facts and head not in fired:
                    todo.append(head)
        for t in seeds - facts:
            self.of.pop(t, None)
            self.pending.pop(t, None)
        for t in region:
            before.setdefault(t, self.of.get(t, ()))
            self.of[t] = self.base_support(t)
            self.pending[t] = list(self.of[t])
        for t in region:
            if self.of[t] != (0,):
                for rule_index, body in engine.instances(t, set()):
                    self._offer(t, rule_index, body)
        self._propagate(deque(region), region)
        for t in region:  # recomputed to what they were: not a change
            if t not in seeds and before.get(t) == self.of[t]:
                del before[t]


def unit_masks(
    store: ox.Store,
    index: SupportIndex,
    is_unit: Callable[[ox.NamedNode], bool],
    ontology: ox.NamedNode,
    uncurated: str,
    only: set[Triple] | None = None,
    pending: Iterable[ox.Quad] = (),
) -> dict[Triple, int]:
    """The unit mask of every base triple of ``index.engine`` (or of those in ``only``,
    counting the ``pending`` quads, not in the store yet, as if they were): the evidence
    graphs holding it, 0 for an axiom of the ontology, and the pseudo-unit ``uncurated``
    for an asserted triple that no evidence graph holds (added by an update)."""
    engine, table = index.engine, index.table
    base = engine.base
    wanted = base if only is None else {t for t in only if t in base}
    masks: dict[Triple, int] = {}
    axioms: set[Triple] = set()
    if only is None:
        for q in store.quads_for_pattern(None, None, None, ontology):
            t = _lookup(table, q)
            if t is not None:
                axioms.add(t)
        ids = table.ids
        for g in store.named_graphs():  # graph by graph: the others are never read
            if not isinstance(g, ox.NamedNode) or not is_unit(g):
                continue
            bit = 1 << index.unit(g.value)
            for q in store.quads_for_pattern(None, None, None, g):
                s, p, o = ids.get(q.subject), ids.get(q.predicate), ids.get(q.object)
                if s is None or p is None or o is None:
                    continue
                t = (s, p, o)
                if t in base:
                    masks[t] = masks.get(t, 0) | bit
    else:
        d = table.decode
        later: dict[tuple[object, object, object], list[ox.Quad]] = {}
        for q in pending:
            later.setdefault((q.subject, q.predicate, q.object), []).append(q)
        for t in wanted:
            s, p, o = d(t[0]), d(t[1]), d(t[2])
            for q in (*store.quads_for_pattern(s, p, o, None), *later.get((s, p, o), ())):
                g = q.graph_name
                if g == ontology:
                    axioms.add(t)
                elif isinstance(g, ox.NamedNode) and is_unit(g):
                    masks[t] = masks.get(t, 0) | (1 << index.unit(g.value))
    for t in wanted:
        if t in axioms:
            masks[t] = 0
        elif t not in masks:
            masks[t] = 1 << index.unit(uncurated)
    return masks


def _lookup(table: TermTable, q: ox.Quad) -> Triple | None:
    ids = table.ids
    s, p, o = ids.get(q.subject), ids.get(q.predicate), ids.get(q.object)
    if s is None or p is None or o is None:
        return None
    return s, p, o
