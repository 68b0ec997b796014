"""The served dataset in an on-disk pyoxigraph store (``karabakh-kg serve --store DIR``).

Layout of ``DIR``: ``oxigraph/`` (the RocksDB store), ``state.json`` (the data version the
curated graphs were built from), only while a change is being applied,
``journal.json``, and, while a server writes the derived quads of its changes after
answering them, ``derived-lags`` (:mod:`.contributions`).

The first start loads the ontology, the curated files and the reasoned graph. Later starts
reuse them. When the curated files change (their content hash, the data version), the
graphs that come from the files are rebuilt and re-reasoned; contributions graphs and their log
are kept, and their triples go back into the asserted graph.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

import pyoxigraph as ox

from karabakh_kg.graph.dataset import (
    ASSERTED,
    KnowledgeGraph,
    content_hash,
    input_files,
)
from karabakh_kg.graph.files import write_atomic
from karabakh_kg.graph.store import StoreError
from karabakh_kg.graph.store.contributions import (
    apply_quads,
    catch_up,
    clear_journal,
    contribution_graphs,
    is_user_graph,
    lagging,
    pending_change,
    replay_versions,
    settle,
)

RDF_FOLDER = "oxigraph"
STATE_FILE = "state.json"


@dataclass
class OpenReport:
    """What opening a durable store did."""

    rebuilt: bool
    """The curated graphs were (re)built: first start, or the curated files changed."""
    recovered: bool
    """A change interrupted by a crash was finished."""
    caught_up: bool
    """The last server on the store stopped without settling it (``derived-lags``), and
    the derived quads of its last change were written from that file."""
    rereasoned: bool
    """The same, but the file did not name the log's last change (cut short, or a power
    failure), so the derived graphs were recomputed."""
    seconds: float


def _read_state(folder: Path) -> dict[str, str]:
    try:
        state = json.loads((folder / STATE_FILE).read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        return {}
    return state if isinstance(state, dict) else {}


def _write_state(folder: Path, state: dict[str, str]) -> None:
    write_atomic(folder / STATE_FILE, json.dumps(state, indent=1))


def open_store_folder(folder: Path) -> ox.Store:
    """The RocksDB store of ``folder`` (created if missing), or :class:`StoreError`."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        return ox.Store(str(folder / RDF_FOLDER))
    except OSError as error:
        reason = str(error)
        if "lock" in reason.lower():
            reason = "it is in use by another process (one server per store)"
        raise StoreError(f"cannot open the store in {folder}: {reason}") from None


def rebuild_curated(kg: KnowledgeGraph, data_dir: Path | None, wikidata: Path | None) -> None:
    """Replace the curated and system graphs of ``kg`` from the files; keep contributions."""
    from karabakh_kg.graph import reasoning

    store = kg.store
    for graph in list(store.named_graphs()):
        if not is_user_graph(graph):  # everything else comes from the files
            store.remove_graph(graph)
    kg.fill(data_dir, wikidata=wikidata)
    for graph in contribution_graphs(store):
        store.extend(
            ox.Quad(q.subject, q.predicate, q.object, ASSERTED)
            for q in store.quads_for_pattern(None, None, None, graph)
        )
    reasoning.materialize(kg)


def attach_reasoner(kg: KnowledgeGraph) -> None:
    """Give ``kg`` its reasoner without rewriting the inferred graphs, which the store
    already holds as :func:`karabakh_kg.graph.reasoning.materialize` wrote them: built on
    first use (:func:`karabakh_kg.graph.cache.defer_reasoner`), so a restart that serves
    queries does not wait for it."""
    from karabakh_kg.graph.cache import defer_reasoner

    defer_reasoner(kg)


def open_dataset(
    folder: Path, data_dir: Path | None = None, *, wikidata: Path | None = None
) -> tuple[KnowledgeGraph, OpenReport]:
    """The knowledge graph kept in ``folder``, built or brought up to date as needed."""
    started = time.perf_counter()
    files = input_files(data_dir) + ([wikidata] if wikidata else [])
    curated_version = content_hash(files)
    store = open_store_folder(folder)
    kg = KnowledgeGraph(store=store, version=curated_version, files=files, store_dir=folder)
    pending = pending_change(folder)
    if pending is not None:
        apply_quads(store, pending)
    lags = lagging(folder)
    rebuilt = _read_state(folder).get("curated_version") != curated_version
    caught_up = lags and not rebuilt and pending is None and catch_up(folder, store)
    if rebuilt:
        rebuild_curated(kg, data_dir, wikidata)
    elif pending is not None or (lags and not caught_up):
        from karabakh_kg.graph import reasoning

        # The crash may have left the inferred graph half-updated, or without what
        # reasoning added for the last changes answered.
        reasoning.materialize(kg)
    else:
        attach_reasoner(kg)
    store.flush()
    if pending is not None:
        clear_journal(folder)
    if lags:
        settle(folder, store)
    if rebuilt:
        _write_state(folder, {"curated_version": curated_version})
    kg.modified = 0.0
    replay_versions(kg, curated_version)
    if not kg.modified:
        kg.modified = (folder / STATE_FILE).stat().st_mtime
    return kg, OpenReport(
        rebuilt=rebuilt,
        recovered=pending is not None,
        caught_up=caught_up,
        rereasoned=lags and not rebuilt and not caught_up,
        seconds=time.perf_counter() - started,
    )
