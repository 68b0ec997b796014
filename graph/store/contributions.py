"""What users write: each contributor's own named graph, a provenance log, a journal.

Accepted updates never touch the curated graphs. The triples a contributor adds go to the
contributor's graph ``…/graph/contributions/{name}`` (the name the operator gave the
token) and to the asserted graph, so reasoning, queries and pages cover them; each accepted
change is a ``prov:Activity`` in ``…/graph/contribution-log`` (when, who, what was asked,
how many triples). A change may remove triples that contributors added, never curated ones
(those change in the curated files). ``karabakh-kg export-updates`` writes the
contributions and the log as TriG for a curator to review and merge.

A change that removes nothing, and whose reasoning removes nothing (the usual one-triple
``INSERT DATA``), is written together with what reasoning adds in one store transaction,
which the store applies wholly or not at all; or, when the caller takes the derived
quads' write for later (``apply_change(..., later=...)``: the server, which answers
first), the change itself (the asserted triples, the contributor's graph, the log) in one
transaction and what reasoning adds (inferred, support and perspective graphs, which are
recomputable from the rest) in a second one after it. A durable store's folder then holds
the file ``derived-lags`` from before the first such change until the store is settled
(flushed, a second after changes stop or at the server's shutdown), naming the last change
and the derived quads it holds back; a store opened with it writes them, or re-reasons if
the file cannot tell. On a durable store
(:mod:`.durable`) any other change is first written to a journal file and flushed to disk
(the commit point), then applied, then the journal is emptied and flushed again; a store
opened with a journal left by a crash finishes the change and re-reasons, so a change is
either wholly there or not at all.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import hashlib
import json
import logging
import os
import re
import secrets
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

import pyoxigraph as ox

from karabakh_kg.graph.dataset import (
    ASSERTED,
    CONTRIBUTIONS_GRAPHS,
    INFERRED,
    PERSPECTIVE_GRAPHS,
    SUPPORT,
    ChangeReport,
    KnowledgeGraph,
    UpdateError,
)
from karabakh_kg.graph.files import sync_folder
from karabakh_kg.graph.store import QuadChange
from karabakh_kg.ontology import vocab

CONTRIBUTIONS_PREFIX = CONTRIBUTIONS_GRAPHS
CONTRIBUTION_LOG = ox.NamedNode(vocab.BASE + "graph/contribution-log")
ACTIVITY_PREFIX = vocab.BASE + "contribution/"
CONTRIBUTOR_PREFIX = vocab.BASE + "contributor/"
NAME = re.compile(r"[a-z0-9][a-z0-9-]{0,62}")
"""Contributor names: lower-case ASCII kebab-case, as entity names (they end up in IRIs)."""
DEFAULT_CONTRIBUTOR = "operator"
JOURNAL = "journal.json"
DERIVED_LAGS = "derived-lags"
"""The file that says a durable store's derived graphs may lag its asserted ones."""

log = logging.getLogger(__name__)

_PROV = vocab.PREFIXES["prov"]
_RDF_TYPE = ox.NamedNode(vocab.PREFIXES["rdf"] + "type")
_XSD = vocab.PREFIXES["xsd"]
_ACTIVITY = ox.NamedNode(_PROV + "Activity")
_AGENT = ox.NamedNode(_PROV + "Agent")
_ASSOCIATED = ox.NamedNode(_PROV + "wasAssociatedWith")
_STARTED = ox.NamedNode(_PROV + "startedAtTime")
_VALUE = ox.NamedNode(_PROV + "value")
_ATTRIBUTED = ox.NamedNode(_PROV + "wasAttributedTo")
_DATE_TIME = ox.NamedNode(_XSD + "dateTime")
_LABEL = ox.NamedNode(vocab.PREFIXES["rdfs"] + "label")
_COMMENT = ox.NamedNode(vocab.PREFIXES["rdfs"] + "comment")


def contributions_graph(name: str) -> ox.NamedNode:
    """The named graph of what contributor ``name`` added."""
    return ox.NamedNode(CONTRIBUTIONS_PREFIX + name)


def is_user_graph(graph: object) -> bool:
    """Whether ``graph`` holds what users wrote (a contributions graph or the log)."""
    return isinstance(graph, ox.NamedNode) and (
        graph.value.startswith(CONTRIBUTIONS_PREFIX) or graph == CONTRIBUTION_LOG
    )


def is_curated_graph(graph: object) -> bool:
    """Whether ``graph`` is an evidence graph (``kge:…``) from the curated files."""
    return isinstance(graph, ox.NamedNode) and graph.value.startswith(str(vocab.KGE))


def contribution_graphs(store: ox.Store) -> list[ox.NamedNode]:
    """Every contributor's graph in ``store``."""
    return sorted(
        (
            g
            for g in store.named_graphs()
            if isinstance(g, ox.NamedNode) and g.value.startswith(CONTRIBUTIONS_PREFIX)
        ),
        key=lambda g: g.value,
    )


def check_name(name: str) -> str:
    """``name`` if it is a valid contributor name, else :class:`ValueError`."""
    if not NAME.fullmatch(name):
        raise ValueError(
            f"contributor name {name!r} must be lower-case letters, digits and '-' "
            "(up to 63, starting with a letter or digit)"
        )
    return name


# -- recording what reasoning writes ---------------------------------------------------------


class RecordingStore:
    """A :class:`pyoxigraph.Store` stand-in that records the quads written through it.

    Incremental reasoning writes the inferred graph directly; wrapping the store while it
    runs tells the query workers exactly what changed (pyoxigraph's ``Store`` cannot be
    subclassed, so this delegates).
    """

    def __init__(
        self,
        store: ox.Store,
        new: Iterable[ox.Quad] = (),
        *,
        defer: bool = False,
        holding: Callable[[list[ox.Quad]], None] | None = None,
    ) -> None:
        self._store = store
        self.change = QuadChange()
        self._new = set(new)
        """Quads the caller knows are not in the store (not looked up)."""
        self._rewritten: dict[object, bool] = {}
        """Graph name -> :func:`_rewritten_by_reasoning`."""
        self._defer = defer
        self.deferred: list[ox.Quad] = []
        """With ``defer``: quads of the graphs reasoning writes, recorded (the workers get
        them with the change) but not yet written, while nothing was removed."""
        self._holding = holding
        """Called with :attr:`deferred` before the quads written with them are."""

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    # Python looks special methods up on the type, past __getattr__: while an update's
    # reasoning runs, the other requests read the knowledge graph's store through this.
    def __len__(self) -> int:
        return len(self._store)

    def __iter__(self) -> Iterator[ox.Quad]:
        return iter(self._store)

    def __contains__(self, quad: object) -> bool:
        return quad in self._store

    def add(self, quad: ox.Quad) -> None:
        self.extend([quad])

    def extend(self, quads: Iterable[ox.Quad]) -> None:
        # Only quads that were not there: undoing the change must not remove older ones.
        # Not looked up for the graphs reasoning writes (on disk, a lookup per quad cost as
        # much as writing them): the incremental reasoner writes there only what is new,
        # and an undo rewrites them whole (``_undo``), so listing one twice is harmless.
        rewritten = self._rewritten
        items = []
        for q in quads:
            graph = q.graph_name
            found = rewritten.get(graph)
            if found is None:
                found = rewritten[graph] = _rewritten_by_reasoning(graph)
            if found or q in self._new or q not in self._store:
                items.append(q)
        self.change.added.extend(items)
        if self._defer and not self.change.removed and not self.change.reset:
            held = [q for q in items if rewritten[q.graph_name]]
            if held:
                self.deferred.extend(held)
                items = [q for q in items if not rewritten[q.graph_name]]
                if self._holding is not None:
                    self._holding(self.deferred)
        self._store.extend(items)

    def bulk_extend(self, quads: Iterable[ox.Quad]) -> None:
        self.extend(quads)

    def _write_deferred(self) -> None:
        """Before anything is removed: what was held back first, in order."""
        self._defer = False
        if self.deferred:
            self._store.extend(self.deferred)
            self.deferred = []

    def remove(self, quad: ox.Quad) -> None:
        self._write_deferred()
        if quad in self._store:
            self._store.remove(quad)
            self.change.removed.append(quad)

    def clear_graph(self, graph: Any) -> None:
        self._write_deferred()
        self._store.clear_graph(graph)
        self.change.reset = True

    def clear(self) -> None:
        self._write_deferred()
        self._store.clear()
        self.change.reset = True


def _rewritten_by_reasoning(graph: object) -> bool:
    """Whether ``graph`` is one of the graphs :func:`karabakh_kg.graph.reasoning.materialize`
    rewrites whole (inferred, support, perspectives)."""
    return graph == INFERRED or (
        isinstance(graph, ox.NamedNode)
        and (graph == SUPPORT or graph.value.startswith(PERSPECTIVE_GRAPHS))
    )


@contextlib.contextmanager
def recording(
    kg: KnowledgeGraph,
    new: Iterable[ox.Quad] = (),
    *,
    defer: bool = False,
    holding: Callable[[list[ox.Quad]], None] | None = None,
) -> Iterator[RecordingStore]:
    """Route ``kg``'s writes through a :class:`RecordingStore` for the ``with`` block
    (``new``: quads known not to be in the store; ``defer``: hold back the derived
    graphs' quads, :attr:`RecordingStore.deferred`, telling ``holding``)."""
    real = kg.store
    recorder = RecordingStore(real, new, defer=defer, holding=holding)
    kg.store = cast(ox.Store, recorder)
    try:
        yield recorder
    finally:
        kg.store = real


# -- the journal -----------------------------------------------------------------------------


def _nquads(quads: list[ox.Quad]) -> str:
    body = ox.serialize(quads, format=ox.RdfFormat.N_QUADS) if quads else b""
    return (body or b"").decode()


def write_journal(folder: Path, change: QuadChange) -> None:
    """Record ``change`` as the pending change of the store in ``folder``: the commit point.

    The record is one JSON object written over the (empty) journal file and flushed to
    disk before this returns. A write cut short leaves a text that is not a whole JSON
    object, which :func:`pending_change` reads as no change (nothing was applied yet: the
    change is applied only after this returns). Writing in place, rather than renaming a
    new file, costs one flush of the file instead of a file and a folder (the folder is
    flushed only when the journal file is first created)."""
    text = json.dumps({"added": _nquads(change.added), "removed": _nquads(change.removed)})
    path = folder / JOURNAL
    created = not path.exists()
    handle = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        with os.fdopen(handle, "wb", closefd=False) as out:
            out.write(text.encode("utf-8"))
            out.flush()
        os.fsync(handle)
    finally:
        os.close(handle)
    if created:
        sync_folder(folder)


def clear_journal(folder: Path) -> None:
    """Mark the pending change as applied: the journal is emptied and flushed to disk, so
    no crash, not even a power failure, can bring an applied change back to be replayed
    over later ones."""
    try:
        handle = os.open(folder / JOURNAL, os.O_WRONLY)
    except FileNotFoundError:
        return
    try:
        os.ftruncate(handle, 0)
        os.fsync(handle)
    finally:
        os.close(handle)


def pending_change(folder: Path) -> QuadChange | None:
    """The change a crash left half-applied, if any (an empty journal, or one whose write
    was cut short before the commit point, holds none)."""
    path = folder / JOURNAL
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except UnicodeDecodeError:
        return None  # cut short inside a character: never committed
    try:
        record = json.loads(text) if text else None
    except ValueError:
        return None  # cut short: never committed, never applied
    if not isinstance(record, dict) or set(record) != {"added", "removed"}:
        return None

    def quads(text: str) -> list[ox.Quad]:
        return list(ox.parse(text.encode(), format=ox.RdfFormat.N_QUADS)) if text else []

    return QuadChange(added=quads(record["added"]), removed=quads(record["removed"]))


SETTLE_AFTER = 1.0
"""Seconds without a change after which a server settles its durable store."""


class _Lag:
    """A durable store whose derived graphs may lag (``derived-lags``, made by this
    process, open): how many changes' derived writes are still to come, and when the last
    one ended."""

    def __init__(self, store: ox.Store, handle: int) -> None:
        self.pid, self.store, self.handle = os.getpid(), store, handle
        self.outstanding = 0
        self.last = time.monotonic()
        self.failed = False
        """A derived write failed: the file names no change from then on."""


_lagging: dict[Path, _Lag] = {}
_lag_lock = threading.Lock()
_settler: threading.Thread | None = None


def mark_lagging(folder: Path, store: ox.Store) -> None:
    """Before a change whose derived quads are written after its answer: the file
    ``derived-lags`` (made once and flushed to disk with its folder), so that a crash, or
    a power failure, until :func:`settle` removes it leaves the next start catching up
    (:func:`catch_up`); counted until :meth:`DerivedWrite.__call__` ends."""
    global _settler
    with _lag_lock:
        lag = _lagging.get(folder)
        if lag is None:
            handle = os.open(folder / DERIVED_LAGS, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            os.fsync(handle)
            sync_folder(folder)
            lag = _lagging[folder] = _Lag(store, handle)
        lag.outstanding += 1
        if _settler is None:
            atexit.register(settle_all)
            _settler = threading.Thread(
                target=_settle_when_idle, name="karabakh-kg-settler", daemon=True
            )
            _settler.start()


def _written(folder: Path) -> None:
    with _lag_lock:
        lag = _lagging.get(folder)
        if lag is not None:
            lag.outstanding -= 1
            lag.last = time.monotonic()


def hold(folder: Path, activity: ox.NamedNode, quads: list[ox.Quad]) -> None:
    """Before change ``activity`` is written: ``derived-lags`` says which derived quads it
    holds back, written over the last change's (without a flush: the store's own log is
    not flushed either; a record cut short, or one a power failure left stale, does not
    name the log's last change, and the next start then re-reasons)."""
    lag = _lagging.get(folder)
    if lag is None or lag.failed:
        return
    record = json.dumps({"activity": activity.value, "quads": _nquads(quads)}).encode()
    os.pwrite(lag.handle, record, 0)
    os.ftruncate(lag.handle, len(record))


def _failed(folder: Path) -> None:
    """A change's derived quads were not written: the next start must re-reason, whatever
    changes come after (the file's record is emptied and no longer written)."""
    with _lag_lock:
        lag = _lagging.get(folder)
        if lag is not None:
            lag.failed = True
            os.ftruncate(lag.handle, 0)


def lagging(folder: Path) -> bool:
    """Whether the derived graphs of the store in ``folder`` may lag its asserted ones."""
    return (folder / DERIVED_LAGS).exists()


def catch_up(folder: Path, store: ox.Store) -> bool:
    """With ``derived-lags`` left by a server that did not settle: write the derived quads
    it names if they belong to the log's last change (every earlier change's were written
    before the next change began), and say so; False if the record does not tell (the
    caller re-reasons)."""
    try:
        record = json.loads((folder / DERIVED_LAGS).read_bytes())
        activity, quads = record["activity"], record["quads"]
    except (OSError, ValueError, TypeError, KeyError):
        return False
    found = activities(store)
    if not isinstance(activity, str) or not found or found[-1][0] != activity:
        return False
    try:
        store.extend(ox.parse(quads.encode(), format=ox.RdfFormat.N_QUADS) if quads else [])
    except (SyntaxError, ValueError, AttributeError):
        return False
    return True


def settle(folder: Path, store: ox.Store) -> None:
    """The derived graphs are whole (no write of them is to come): flush the store to
    disk, then remove ``derived-lags``."""
    store.flush()
    with contextlib.suppress(FileNotFoundError):
        (folder / DERIVED_LAGS).unlink()
    sync_folder(folder)


def settle_all(idle: float = 0.0) -> None:
    """:func:`settle` every store this process marked whose derived writes are all done
    and whose last one ended ``idle`` seconds ago or more (at a clean exit, where the
    interpreter has joined the thread that writes them before it runs ``atexit``
    functions; and from a thread of its own once changes stop). Not in a forked child,
    whose parent still writes."""
    with _lag_lock:  # a change waits in mark_lagging meanwhile: its file stays until after
        for folder, lag in list(_lagging.items()):
            quiet = time.monotonic() - lag.last >= idle
            if lag.pid != os.getpid() or lag.outstanding or not quiet:
                continue
            try:
                settle(folder, lag.store)
            except Exception as error:  # (OSError or RuntimeError) the next start catches up
                log.warning("could not settle the store in %s: %s", folder, error)
            finally:  # the next change makes the file again
                del _lagging[folder]
                with contextlib.suppress(OSError):
                    os.close(lag.handle)


def _settle_when_idle() -> None:
    """The settler thread: the store of a server whose changes stopped is settled, so
    that a later crash leaves the next start nothing to catch up."""
    while True:
        time.sleep(SETTLE_AFTER / 2)
        if _lagging:
            settle_all(SETTLE_AFTER)


def apply_quads(store: ox.Store, change: QuadChange) -> None:
    """Apply ``change`` to ``store``; applying it twice is the same as once."""
    for quad in change.removed:
        store.remove(quad)
    store.extend(change.added)


# -- versions ----------------------------------------------------------------------------------


def next_version(version: str, activity: str) -> str:
    """The data version after ``activity`` (the same chain on every start of a store)."""
    return hashlib.sha256(f"{version}\0{activity}".encode()).hexdigest()


def activities(store: ox.Store) -> list[tuple[str, float]]:
    """(IRI, POSIX time) of every recorded change, oldest first."""
    found = []
    for quad in store.quads_for_pattern(None, _STARTED, None, CONTRIBUTION_LOG):
        when = datetime.fromisoformat(cast(ox.Literal, quad.object).value)
        found.append((cast(ox.NamedNode, quad.subject).value, when.timestamp()))
    return sorted(found, key=lambda item: (item[1], item[0]))


def replay_versions(kg: KnowledgeGraph, curated_version: str) -> None:
    """Set ``kg.version`` and ``kg.modified`` from the curated version and the log."""
    version = curated_version
    for iri, when in activities(kg.store):
        version = next_version(version, iri)
        kg.modified = max(kg.modified, when)
    kg.version = version


# -- one change ----------------------------------------------------------------------------------


def _activity_quads(
    iri: ox.NamedNode, contributor: str, when: datetime, text: str, added: int, removed: int
) -> list[ox.Quad]:
    agent = ox.NamedNode(CONTRIBUTOR_PREFIX + contributor)
    log = CONTRIBUTION_LOG
    return [
        ox.Quad(iri, _RDF_TYPE, _ACTIVITY, log),
        ox.Quad(iri, _ASSOCIATED, agent, log),
        ox.Quad(iri, _STARTED, ox.Literal(when.isoformat(), datatype=_DATE_TIME), log),
        ox.Quad(iri, _VALUE, ox.Literal(text), log),
        ox.Quad(
            iri, _COMMENT, ox.Literal(f"added {added}, removed {removed} asserted triples"), log
        ),
        ox.Quad(agent, _RDF_TYPE, _AGENT, log),
        ox.Quad(agent, _LABEL, ox.Literal(contributor), log),
        ox.Quad(contributions_graph(contributor), _ATTRIBUTED, agent, log),
    ]


def _holders(store: ox.Store, triple: ox.Triple) -> list[ox.NamedNode | ox.BlankNode]:
    return [
        q.graph_name
        for q in store.quads_for_pattern(triple.subject, triple.predicate, triple.object, None)
        if not isinstance(q.graph_name, ox.DefaultGraph)
    ]


def apply_change(
    kg: KnowledgeGraph,
    added: Iterable[ox.Triple],
    removed: Iterable[ox.Triple],
    *,
    contributor: str = DEFAULT_CONTRIBUTOR,
    text: str = "",
    own_graph_only: bool = False,
    later: Callable[[DerivedWrite], None] | None = None,
) -> ChangeReport:
    """Add and remove asserted triples on behalf of ``contributor``; all or nothing.

    Added triples go to the contributor's graph and the asserted graph. Removed ones leave
    the asserted graph and every contributions graph holding them (a SPARQL update sees the
    asserted graph); removing a curated triple is refused (:class:`UpdateError`). With
    ``own_graph_only`` (Graph Store writes to the contributor's graph), removals apply to
    that graph, and to the asserted graph only when no other graph still holds the triple.
    Then the inferred graph is brought up to date; if that fails everything is put back.
    ``report.change`` lists every quad that changed.

    ``later``: for a change that removes nothing (nor does its reasoning), the derived
    graphs' new quads are not written here but by a function handed to ``later``, which
    must run it before the next change (the server answers in between, on a durable store
    once the change itself is written: what reasoning adds is recomputable from it, and
    ``derived-lags`` says so until the store is settled; module docstring).
    """
    from karabakh_kg.graph import reasoning

    store = kg.store
    own = contributions_graph(check_name(contributor))

    def asserted(t: ox.Triple) -> bool:
        return ox.Quad(t.subject, t.predicate, t.object, ASSERTED) in store

    new = [t for t in dict.fromkeys(added) if not asserted(t)]
    change = QuadChange()
    gone: list[ox.Triple] = []
    relabelled: list[ox.Triple] = []  # leave one graph, still asserted: their units change
    for t in dict.fromkeys(removed):
        holders = _holders(store, t)
        if own_graph_only:
            if own not in holders:
                continue
            change.removed.append(ox.Quad(t.subject, t.predicate, t.object, own))
            if any(g not in (own, ASSERTED, INFERRED) for g in holders):
                relabelled.append(t)
                continue  # still asserted by someone else
        elif not asserted(t):
            continue
        curated = [g for g in holders if is_curated_graph(g)]
        if curated:
            raise UpdateError(
                f"{t.subject} {t.predicate} {t.object} is curated (evidence graph "
                f"{curated[0]}); curated triples change only in the curated files"
            )
        gone.append(t)
        for graph in holders:
            if (graph == ASSERTED or is_user_graph(graph)) and not own_graph_only:
                change.removed.append(ox.Quad(t.subject, t.predicate, t.object, graph))
        if own_graph_only:
            change.removed.append(ox.Quad(t.subject, t.predicate, t.object, ASSERTED))
    if not new and not change.removed:
        return ChangeReport(added=0, removed=0, version=kg.version)
    for t in new:
        change.added.append(ox.Quad(t.subject, t.predicate, t.object, ASSERTED))
        change.added.append(ox.Quad(t.subject, t.predicate, t.object, own))
    when = datetime.now(UTC)
    iri = ox.NamedNode(
        f"{ACTIVITY_PREFIX}{contributor}/{when.strftime('%Y%m%dT%H%M%S%fZ')}-{secrets.token_hex(3)}"
    )
    activity = _activity_quads(iri, contributor, when, text, len(new), len(gone))
    # Only what is new (the contributor's own description is there after its first change):
    # undoing the change must not remove older quads, and the workers need only the news.
    change.added.extend(q for q in activity if q.subject == iri or q not in store)  # iri: new
    kg.views.build_deferred()  # from the store as it is before the change
    folder = kg.store_dir
    journaled = False

    def commit() -> None:
        nonlocal journaled
        if folder is not None and not journaled:
            write_journal(folder, change)  # the commit point
            journaled = True

    # A change that removes nothing, and whose reasoning removes nothing, is written with
    # what reasoning adds in one store transaction: atomic without a journal. Any other
    # change is journaled before the store changes.
    at_once = not change.removed
    defer = at_once and later is not None
    if defer and folder is not None:
        mark_lagging(folder, store)  # before the change is written
        # Named, holding nothing yet (reasoning rewrites it before the change is written if
        # it holds quads back): a crash after a change that held none needs no re-reasoning.
        hold(folder, iri, [])
    completed = written_whole = False
    try:
        if not at_once:
            commit()
            apply_quads(store, change)
        holding = functools.partial(hold, folder, iri) if defer and folder is not None else None
        with recording(
            kg, change.added if at_once else (), defer=defer, holding=holding
        ) as recorder:
            try:
                reasoning.update(
                    kg,
                    new,
                    [*gone, *relabelled],
                    pending=change.added if at_once else (),
                    before_removing=commit,
                )
            except Exception as error:
                _undo(kg, change, recorder.change)
                raise UpdateError(
                    f"reasoning failed after the change, which was undone: {error}"
                ) from None
        written_whole, completed = not recorder.deferred, True
    finally:
        if journaled:
            assert folder is not None
            clear_journal(folder)
        kg.views.changed()  # written or undone: views read during the change are stale
        if defer and folder is not None and (written_whole or not completed):
            _written(folder)  # no derived write to come (the change failed, or held none)
    if at_once:  # the change itself was written through the recorder: listed once
        written = set(change.added)
        recorder.change.added = [q for q in recorder.change.added if q not in written]
    change.added.extend(recorder.change.added)
    change.removed.extend(recorder.change.removed)
    change.reset = recorder.change.reset
    kg.version = next_version(kg.version, iri.value)
    kg.modified = time.time()
    if recorder.deferred:
        assert later is not None
        later(DerivedWrite(kg, store, recorder.deferred, folder))
    return ChangeReport(added=len(new), removed=len(gone), version=kg.version, change=change)


class DerivedWrite:
    """What reasoning added for a change already written, to be written later
    (``apply_change(..., later=...)``): calling it writes the quads; :meth:`settle`, run
    after it, says the store's derived graphs are whole again."""

    def __init__(
        self, kg: KnowledgeGraph, store: ox.Store, quads: list[ox.Quad], folder: Path | None
    ) -> None:
        self.kg, self.store, self.quads, self.folder = kg, store, quads, folder

    def __call__(self) -> None:
        """Write the quads. Should the store refuse, the next start re-reasons
        (``derived-lags`` stays): logged, not raised, since the change was answered."""
        try:
            self.store.extend(self.quads)
        except Exception as error:  # pyoxigraph raises OSError or RuntimeError
            # The change was answered: whatever refused, the record says the next start
            # re-reasons, and it is counted as outstanding for good (never settled).
            log.error("the store refused a change's derived quads (start re-reasons): %s", error)
            if self.folder is not None:
                _failed(self.folder)
        else:
            if self.folder is not None:
                _written(self.folder)
        finally:
            self.kg.views.changed()  # views read before these quads were there are stale

    def settle(self) -> None:
        """Once this and every earlier write ran (the server stops): :func:`settle_all`."""
        settle_all()


def _undo(kg: KnowledgeGraph, change: QuadChange, reasoned: QuadChange) -> None:
    """Put the store back as it was before ``change`` and the reasoning after it."""
    from karabakh_kg.graph import reasoning

    store = kg.store
    for quad in reasoned.added:
        store.remove(quad)
    store.extend(reasoned.removed)
    for quad in change.added:
        store.remove(quad)
    store.extend(change.removed)
    if reasoned.reset:
        store.clear_graph(INFERRED)
    reasoning.materialize(kg)


# -- export ----------------------------------------------------------------------------------


def export_updates(store: ox.Store) -> bytes:
    """The contributions graphs and the log, as TriG a curator can review and merge."""
    graphs = [*contribution_graphs(store), CONTRIBUTION_LOG]
    quads = [q for g in graphs for q in store.quads_for_pattern(None, None, None, g)]
    quads.sort(key=lambda q: (str(q.graph_name), str(q.subject), str(q.predicate), str(q.object)))
    body = ox.serialize(quads, format=ox.RdfFormat.TRIG, prefixes=dict(vocab.PREFIXES))
    return body or b""
