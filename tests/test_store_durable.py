"""``serve --store DIR``: the dataset and every acknowledged update survive restarts and
``kill -9``; curated files that change are rebuilt without touching what users added;
updates go to the contributor's own graph with provenance; in memory, updates need an
explicit opt-in."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pyoxigraph as ox
import pytest
from conftest import free_port
from engines import TINY_DATA
from typer.testing import CliRunner

from karabakh_kg.graph import reasoning
from karabakh_kg.graph.dataset import ASSERTED, INFERRED, SUPPORT, KnowledgeGraph, UpdateError
from karabakh_kg.graph.loading import load_graph
from karabakh_kg.graph.reasoning.perspective_graphs import is_perspective_graph
from karabakh_kg.graph.store import QuadChange, contributions
from karabakh_kg.graph.store.contributions import (
    CONTRIBUTION_LOG,
    JOURNAL,
    apply_change,
    contributions_graph,
    pending_change,
    write_journal,
)
from karabakh_kg.graph.store.durable import open_dataset
from karabakh_kg.ontology import vocab
from karabakh_kg.server.cli import app
from karabakh_kg.server.settings import Settings

KG = str(vocab.KG)
KGO = str(vocab.KGO)
RDF_TYPE = ox.NamedNode(vocab.PREFIXES["rdf"] + "type")
PERSON = ox.NamedNode(KGO + "Person")
AGENT = ox.NamedNode(KGO + "Agent")
TOKEN = "durable-token-5b1e"
runner = CliRunner()


@pytest.fixture
def data(tmp_path: Path) -> Path:
    """A small curated folder (the ontology is the real one): the store's behaviour does
    not depend on the size of the data, and the tests start servers several times."""
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "tiny.trig").write_text(TINY_DATA, encoding="utf-8")
    return folder


def person(name: str) -> ox.Triple:
    return ox.Triple(ox.NamedNode(KG + name), RDF_TYPE, PERSON)


def has(store: ox.Store, t: ox.Triple, graph: ox.NamedNode) -> bool:
    return ox.Quad(t.subject, t.predicate, t.object, graph) in store


def graph_sizes(kg: KnowledgeGraph) -> dict[str, int]:
    """Quads per named graph, the log's left out (its times differ from run to run)."""
    sizes: dict[str, int] = {}
    for q in kg.store.quads_for_pattern(None, None, None, None):
        if q.graph_name != CONTRIBUTION_LOG:
            sizes[str(q.graph_name)] = sizes.get(str(q.graph_name), 0) + 1
    return sizes


def inferred(kg: KnowledgeGraph) -> set[ox.Quad]:
    return set(kg.store.quads_for_pattern(None, None, None, INFERRED))


def test_later_starts_reuse_the_store_and_changed_files_keep_contributions(
    tmp_path: Path, data: Path
) -> None:
    folder = tmp_path / "store"
    kg, first = open_dataset(folder, data)
    assert first.rebuilt and not first.recovered
    memory = load_graph(data)
    assert kg.graph_sizes() == memory.graph_sizes()
    added = person("durable-test-person")
    report = apply_change(kg, [added], [], contributor="alice", text="INSERT DATA { … }")
    assert report.added == 1
    version = kg.version
    del kg

    kg, second = open_dataset(folder, data)
    assert not second.rebuilt
    assert kg.version == version
    assert has(kg.store, added, ASSERTED) and has(kg.store, added, contributions_graph("alice"))
    assert has(kg.store, ox.Triple(added.subject, RDF_TYPE, AGENT), INFERRED)
    # The first update after a restart is incremental, with the closure of a fresh load.
    more = person("durable-test-person-2")
    assert apply_change(kg, [more], [], contributor="alice").change.reset is False
    apply_change(memory, [added, more], [], contributor="alice")
    assert inferred(kg) == inferred(memory)
    del kg

    # A curated file changes: its graphs are rebuilt and re-reasoned, contributions stay.
    extra = data / "zz-extra.trig"
    extra.write_text(
        "@prefix kg: <https://w3id.org/karabakh-kg/resource/> .\n"
        "@prefix kge: <https://w3id.org/karabakh-kg/evidence/> .\n"
        "@prefix kgo: <https://w3id.org/karabakh-kg/ontology#> .\n"
        "kge:zz-extra { kg:zz-extra-person a kgo:Person . }\n",
        encoding="utf-8",
    )
    kg, third = open_dataset(folder, data)
    assert third.rebuilt and not third.recovered
    assert kg.version != version
    curated = person("zz-extra-person")
    for t in (added, curated):
        assert has(kg.store, t, ASSERTED)
        assert has(kg.store, ox.Triple(t.subject, RDF_TYPE, AGENT), INFERRED)
    assert has(kg.store, added, contributions_graph("alice"))
    assert not has(kg.store, curated, contributions_graph("alice"))
    del kg
    extra.unlink()
    kg, fourth = open_dataset(folder, data)
    assert fourth.rebuilt
    assert not has(kg.store, curated, ASSERTED)
    assert has(kg.store, added, ASSERTED)


def test_a_committed_journal_is_finished_at_the_next_start_and_a_cut_one_dropped(
    tmp_path: Path, data: Path
) -> None:
    """A crash after the commit point (the journal written, the store not yet changed):
    the next start applies the change and reasons; a journal cut short was never
    committed, so nothing of it appears."""
    folder = tmp_path / "store"
    kg, _ = open_dataset(folder, data)
    del kg
    committed = person("journal-committed")
    cut = person("journal-cut")

    def journal(t: ox.Triple) -> None:
        quads = [
            ox.Quad(t.subject, t.predicate, t.object, g)
            for g in (ASSERTED, contributions_graph("fay"))
        ]
        write_journal(folder, QuadChange(added=quads))

    journal(committed)
    kg, report = open_dataset(folder, data)
    assert report.recovered
    assert has(kg.store, committed, ASSERTED)
    assert has(kg.store, ox.Triple(committed.subject, RDF_TYPE, AGENT), INFERRED)
    assert pending_change(folder) is None  # emptied once applied
    del kg
    journal(cut)
    whole = (folder / JOURNAL).read_bytes()
    (folder / JOURNAL).write_bytes(whole[: len(whole) // 2])
    kg, report = open_dataset(folder, data)
    assert not report.recovered
    assert not has(kg.store, cut, ASSERTED) and has(kg.store, committed, ASSERTED)


def test_a_change_that_removes_nothing_is_one_transaction_without_a_journal(
    tmp_path: Path, data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Additions whose reasoning removes nothing are written in one store transaction (all
    or nothing without a journal); a change that removes anything, its own or through
    reasoning, is journaled before the store changes. Either way the inferred graph is
    what a fresh load of the same changes gives."""
    folder = tmp_path / "store"
    kg, _ = open_dataset(folder, data)
    journaled: list[QuadChange] = []
    real = contributions.write_journal

    def write(where: Path, change: QuadChange) -> None:
        journaled.append(change)
        real(where, change)

    monkeypatch.setattr(contributions, "write_journal", write)
    added = person("one-transaction")
    agent = ox.Triple(added.subject, RDF_TYPE, AGENT)
    steps: list[tuple[list[ox.Triple], list[ox.Triple]]] = [
        ([added], []),  # derives kg:one-transaction a kgo:Agent: nothing removed
        ([agent], []),  # asserting what was inferred takes it out of the inferred graph
        ([], [added]),
    ]
    memory = load_graph(data)
    for number, (plus, minus) in enumerate(steps):
        apply_change(kg, plus, minus, contributor="hal")
        apply_change(memory, plus, minus, contributor="hal")
        assert len(journaled) == max(0, number), number
        assert pending_change(folder) is None
        assert inferred(kg) == inferred(memory)
    assert has(kg.store, agent, ASSERTED) and not has(kg.store, agent, INFERRED)


def test_derived_quads_written_after_the_answer_are_there_once_written_and_settled(
    tmp_path: Path, data: Path
) -> None:
    """With ``later`` (the server), a change that removes nothing is written first alone
    (asserted, contributor's graph, log) and what reasoning adds by the function handed
    to ``later``; the change given to the query workers lists both at once. The store is
    settled a second after changes stop, or when the server stops; a settled store is
    reopened without re-reasoning, and holds a fresh load's closure."""
    folder = tmp_path / "store"
    kg, _ = open_dataset(folder, data)
    writes: list[contributions.DerivedWrite] = []
    added = person("written-later")
    agent = ox.Triple(added.subject, RDF_TYPE, AGENT)
    report = apply_change(kg, [added], [], contributor="hal", later=writes.append)
    assert report.change is not None and len(writes) == 1
    assert ox.Quad(added.subject, RDF_TYPE, AGENT, INFERRED) in report.change.added
    assert has(kg.store, added, ASSERTED) and has(kg.store, added, contributions_graph("hal"))
    assert not has(kg.store, agent, INFERRED)  # not yet: after the answer
    assert (folder / contributions.DERIVED_LAGS).exists()  # before the change was written
    writes[0]()
    assert has(kg.store, agent, INFERRED)
    # Changes stop: a second later the store is flushed and the file removed.
    deadline = time.monotonic() + 30
    while (folder / contributions.DERIVED_LAGS).exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not (folder / contributions.DERIVED_LAGS).exists()
    more = person("written-later-2")
    apply_change(kg, [more], [], contributor="hal", later=writes.append)
    assert (folder / contributions.DERIVED_LAGS).exists()  # made again
    writes[1]()
    writes[1].settle()  # as the server's shutdown does
    assert not (folder / contributions.DERIVED_LAGS).exists()
    memory = load_graph(data)
    apply_change(memory, [added, more], [], contributor="hal")
    del kg, writes
    kg, report_open = open_dataset(folder, data)
    assert not report_open.rereasoned and not report_open.recovered
    assert inferred(kg) == inferred(memory)


def test_a_failed_change_leaves_nothing_to_wait_for(
    tmp_path: Path, data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A change whose reasoning fails hands no derived write to ``later``, and the store
    is settled all the same once nothing else is to come."""
    folder = tmp_path / "store"
    kg, _ = open_dataset(folder, data)
    writes: list[contributions.DerivedWrite] = []

    def failing(*_: object, **__: object) -> None:
        raise RuntimeError("reasoner stopped")

    monkeypatch.setattr(reasoning, "update", failing)
    with pytest.raises(UpdateError, match="undone"):
        apply_change(kg, [person("failed-later")], [], contributor="hal", later=writes.append)
    monkeypatch.undo()
    assert not writes and (folder / contributions.DERIVED_LAGS).exists()
    contributions.settle_all()
    assert not (folder / contributions.DERIVED_LAGS).exists()
    assert not has(kg.store, person("failed-later"), ASSERTED)


CRASH_AFTER_ANSWER = """
import os, sys
from pathlib import Path
import pyoxigraph as ox
from karabakh_kg.graph.store.contributions import apply_change
from karabakh_kg.graph.store.durable import open_dataset

kg, _ = open_dataset(Path(sys.argv[1]), Path(sys.argv[2]))
added = ox.Triple(ox.NamedNode(sys.argv[3]), ox.NamedNode(sys.argv[4]), ox.NamedNode(sys.argv[5]))
apply_change(kg, [added], [], contributor="hal", later=lambda write: None)
os._exit(0)  # dies after the answer, before the derived quads are written
"""


@pytest.mark.parametrize("record", ["whole", "cut short"])
def test_a_crash_before_the_derived_quads_are_written_is_caught_up_at_the_next_start(
    tmp_path: Path, data: Path, record: str
) -> None:
    """A server killed after answering a change and before writing what reasoning added
    (``derived-lags`` left behind, naming the change and those quads): the next start
    writes them; with a record cut short it re-reasons. Either way the store holds the
    change and a fresh load's closure and supports of it, and is settled."""
    folder = tmp_path / "store"
    added = person("crashed-before-derived")
    subprocess.run(
        [sys.executable, "-c", CRASH_AFTER_ANSWER, str(folder), str(data)]
        + [str(term.value) for term in (added.subject, RDF_TYPE, PERSON)],
        check=True,
    )
    lags = folder / contributions.DERIVED_LAGS
    assert lags.exists()
    if record == "cut short":
        lags.write_bytes(lags.read_bytes()[:-20])
    kg, report = open_dataset(folder, data)
    assert not report.recovered and not report.rebuilt
    assert (report.caught_up, report.rereasoned) == (record == "whole", record != "whole")
    assert not lags.exists()
    assert has(kg.store, added, ASSERTED)
    assert has(kg.store, ox.Triple(added.subject, RDF_TYPE, AGENT), INFERRED)
    memory = load_graph(data)
    apply_change(memory, [added], [], contributor="hal")
    assert inferred(kg) == inferred(memory)
    support = {q for q in kg.store.quads_for_pattern(None, None, None, SUPPORT)}
    assert support == set(memory.store.quads_for_pattern(None, None, None, SUPPORT))
    assert graph_sizes(kg) == graph_sizes(memory)


def test_a_crash_after_a_change_that_held_nothing_back_needs_no_re_reasoning(
    tmp_path: Path, data: Path
) -> None:
    """A change whose reasoning adds nothing (a predicate no rule reads) is written whole
    in one transaction; a crash right after it leaves a record naming it with nothing held
    back, so the next start catches up (writes nothing) instead of re-reasoning."""
    folder = tmp_path / "store"
    plain = ox.Triple(ox.NamedNode(KG + "plain-fact"), ox.NamedNode("urn:x:note"), PERSON)
    subprocess.run(
        [sys.executable, "-c", CRASH_AFTER_ANSWER, str(folder), str(data)]
        + [str(term.value) for term in (plain.subject, plain.predicate, plain.object)],
        check=True,
    )
    assert (folder / contributions.DERIVED_LAGS).exists()
    kg, report = open_dataset(folder, data)
    assert (report.caught_up, report.rereasoned) == (True, False)
    assert has(kg.store, plain, ASSERTED)


REFUSED_THEN_CRASH = """
import os, sys
from pathlib import Path
import pyoxigraph as ox
from karabakh_kg.graph.store.contributions import apply_change
from karabakh_kg.graph.store.durable import open_dataset

class Refusing:  # a store failing as pyoxigraph does for errors other than I/O
    def extend(self, quads):
        raise RuntimeError("the storage refused the write")

kg, _ = open_dataset(Path(sys.argv[1]), Path(sys.argv[2]))
kind = ox.NamedNode(sys.argv[3]), ox.NamedNode(sys.argv[4])
writes = []
for name in sys.argv[5:]:
    added = ox.Triple(ox.NamedNode(name), *kind)
    apply_change(kg, [added], [], contributor="hal", later=writes.append)
    if len(writes) == 1:
        writes[0].store = Refusing()
        writes[0]()  # refused: logged, not raised (the change was answered)
os._exit(0)  # dies after the second answer, before its derived quads are written
"""


def test_a_refused_derived_write_is_repaired_at_the_next_start(tmp_path: Path, data: Path) -> None:
    """The store refuses a change's derived quads (a ``RuntimeError``, as pyoxigraph
    raises for a storage error other than I/O), the server answers a second change and dies
    before writing its own: the next start re-reasons, so the first change's inferences are
    there too, not only the last change's."""
    folder = tmp_path / "store"
    refused, last = person("refused-derived"), person("after-the-refusal")
    subprocess.run(
        [
            sys.executable,
            "-c",
            REFUSED_THEN_CRASH,
            str(folder),
            str(data),
            RDF_TYPE.value,
            PERSON.value,
            refused.subject.value,
            last.subject.value,
        ],
        check=True,
        capture_output=True,
    )
    kg, report = open_dataset(folder, data)
    assert report.rereasoned and not report.caught_up
    for added in (refused, last):
        assert has(kg.store, added, ASSERTED)
        assert has(kg.store, ox.Triple(added.subject, RDF_TYPE, AGENT), INFERRED)


def test_a_failed_change_keeps_what_earlier_changes_recorded(
    data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Undoing a change whose reasoning failed removes what that change added, not the
    contributor's description that earlier changes wrote to the log."""
    kg = load_graph(data)
    apply_change(kg, [person("kept-before")], [], contributor="ida")
    agent = ox.NamedNode(str(vocab.BASE) + "contributor/ida")
    described = set(kg.store.quads_for_pattern(agent, None, None, CONTRIBUTION_LOG))
    assert described

    def failing(*_: object, **__: object) -> None:
        raise RuntimeError("reasoner stopped")

    monkeypatch.setattr(reasoning, "update", failing)
    with pytest.raises(UpdateError, match="undone"):
        apply_change(kg, [person("never-kept")], [], contributor="ida")
    monkeypatch.undo()
    assert set(kg.store.quads_for_pattern(agent, None, None, CONTRIBUTION_LOG)) == described
    assert not has(kg.store, person("never-kept"), ASSERTED)
    assert has(kg.store, person("kept-before"), ASSERTED)


def test_updates_go_to_the_contributors_graph_with_provenance() -> None:
    kg = load_graph()
    t = person("provenance-test-person")
    apply_change(kg, [t], [], contributor="bob", text="INSERT DATA { kg:x a kgo:Person }")
    assert has(kg.store, t, contributions_graph("bob"))
    rows = list(
        kg.store.query(
            "SELECT ?when ?who ?text WHERE { GRAPH ?log { ?a a prov:Activity ; "
            "prov:startedAtTime ?when ; prov:wasAssociatedWith ?who ; prov:value ?text } }",
            prefixes=dict(vocab.PREFIXES),
            named_graphs=[CONTRIBUTION_LOG],
        )
    )
    assert len(rows) == 1
    assert rows[0]["who"] == ox.NamedNode(vocab.BASE + "contributor/bob")
    assert rows[0]["text"].value == "INSERT DATA { kg:x a kgo:Person }"
    # Curated triples are never removed by an update; the change is refused whole.
    curated = next(
        ox.Triple(q.subject, q.predicate, q.object)
        for q in kg.store.quads_for_pattern(None, RDF_TYPE, PERSON, ASSERTED)
        if q.subject != t.subject
    )
    with pytest.raises(UpdateError, match="curated"):
        apply_change(kg, [person("never-added")], [curated, t], contributor="bob")
    assert has(kg.store, curated, ASSERTED) and has(kg.store, t, ASSERTED)
    assert not has(kg.store, person("never-added"), ASSERTED)
    # Removing one's own triple takes it out of the contributions and the inferred graph.
    apply_change(kg, [], [t], contributor="bob")
    assert not has(kg.store, t, contributions_graph("bob"))
    assert not has(kg.store, ox.Triple(t.subject, RDF_TYPE, AGENT), INFERRED)


def test_withdrawing_a_contribution_the_curated_files_also_hold_updates_its_support(
    data: Path,
) -> None:
    """A contributed triple that the curated files came to hold too stays asserted when its
    contributor withdraws it, and what it supports then rests on the curated unit alone,
    as a recomputation says."""
    kg = load_graph(data)
    t = person("later-curated-person")
    apply_change(kg, [t], [], contributor="alice")
    unit = ox.NamedNode(str(vocab.KGE) + "later-curated")  # as a rebuild would load it
    kg.store.add(ox.Quad(t.subject, t.predicate, t.object, unit))
    reasoning.materialize(kg)
    apply_change(kg, [], [t], contributor="alice", own_graph_only=True)
    assert has(kg.store, t, ASSERTED) and not has(kg.store, t, contributions_graph("alice"))
    fresh = KnowledgeGraph(store=ox.Store(), version="fresh")
    fresh.store.extend(q for q in kg.store if not is_reasoned_graph(q.graph_name))
    reasoning.materialize(fresh)
    units = ox.NamedNode(KGO + "restsOn")
    agent = [
        q.object
        for q in kg.store.quads_for_pattern(None, units, None, SUPPORT)
        if any(kg.store.quads_for_pattern(q.subject, None, AGENT, SUPPORT))
        and any(kg.store.quads_for_pattern(q.subject, None, t.subject, SUPPORT))
    ]
    assert agent == [unit]
    assert set(kg.store.quads_for_pattern(None, None, None, SUPPORT)) == set(
        fresh.store.quads_for_pattern(None, None, None, SUPPORT)
    )


def is_reasoned_graph(graph: object) -> bool:
    """The inferred, support and perspective graphs (what reasoning writes)."""
    return graph == INFERRED or (
        isinstance(graph, ox.NamedNode) and is_perspective_graph(graph.value)
    )


def test_in_memory_servers_refuse_updates_unless_ephemeral(
    server_factory: Any, kg: KnowledgeGraph
) -> None:
    live = server_factory(kg, Settings(enable_updates=True, update_token=TOKEN))
    response = httpx.post(
        live.url + "/sparql/update",
        content=b"INSERT DATA { <urn:a> <urn:b> <urn:c> }",
        headers={"Content-Type": "application/sparql-update", "Authorization": "Bearer " + TOKEN},
    )
    assert response.status_code == 403
    assert response.json()["code"] == "updates-not-durable"
    assert "--store" in response.json()["detail"]
    result = runner.invoke(
        app, ["serve", "--enable-update"], env={"KARABAKH_KG_UPDATE_TOKEN": TOKEN}
    )
    assert result.exit_code != 0
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "--store" in lines[0] and "--ephemeral-updates" in lines[0]


def test_updates_do_not_restart_the_query_workers(server_factory: Any, data: Path) -> None:
    settings = Settings(
        enable_updates=True,
        ephemeral_updates=True,
        update_tokens=(f"carol={TOKEN}",),
        query_workers=2,
    )
    live = server_factory(load_graph(data), settings)
    pool = live.server.config.app.state.sparql.store().pool
    client = httpx.Client(base_url=live.url, timeout=30)
    ask = "ASK { kg:worker-test-%d a kgo:Agent }"
    assert client.get("/sparql", params={"query": ask % 0}).json()["boolean"] is False
    deadline = time.monotonic() + 60  # workers start in the background: wait for both
    while len(before := {p.pid for p in pool._processes if p.poll() is None}) < pool.size:
        assert time.monotonic() < deadline, "the query workers did not start"
        time.sleep(0.05)
    for i in range(6):
        response = client.post(
            "/sparql/update",
            content=f"INSERT DATA {{ kg:worker-test-{i} a kgo:Person }}".encode(),
            headers={
                "Content-Type": "application/sparql-update",
                "Authorization": "Bearer " + TOKEN,
            },
        )
        assert response.status_code == 200, response.text
        # Every worker answers with the change applied (two queries reach both workers).
        for _ in range(2):
            body = client.get("/sparql", params={"query": ask % i}).json()
            assert body["boolean"] is True
    after = {p.pid for p in pool._processes if p.poll() is None}
    assert after == before
    graph = contributions_graph("carol").value
    count = client.get(
        "/sparql", params={"query": f"SELECT (COUNT(*) AS ?n) {{ GRAPH <{graph}> {{ ?s ?p ?o }} }}"}
    ).json()
    assert int(count["results"]["bindings"][0]["n"]["value"]) == 6


# -- kill -9 ------------------------------------------------------------------------------


ASK_NOTHING = {"query": "ASK {}"}


def start(folder: Path, data: Path, port: int) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "KARABAKH_KG_UPDATE_TOKENS": f"dana={TOKEN}",
        "KARABAKH_KG_UPDATE_TOKEN": "",
    }
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "karabakh_kg.server",
            "serve",
            "--store",
            str(folder),
            "--data-dir",
            str(data),
            "--enable-update",
            "--port",
            str(port),
            "--workers",
            "1",
            "--log-level",
            "warning",
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(process.stdout.read().decode() if process.stdout else "")
        try:
            # Ready once SPARQL answers (the pages, which /health is one of, load after).
            ready = httpx.get(f"http://127.0.0.1:{port}/sparql", params=ASK_NOTHING, timeout=1)
            if ready.status_code == 200:
                assert process.stdout is not None
                banner = process.stdout.readline().decode()
                assert f"durable store {folder}" in banner, banner  # the mode is said
                return process
        except httpx.HTTPError:
            time.sleep(0.1)
    process.kill()
    raise AssertionError("the server did not start")


def stream(port: int, first: int, acknowledged: list[int], stop: threading.Event) -> None:
    """Send one-triple updates until the server dies; record the acknowledged ones."""
    with httpx.Client(timeout=10) as client:
        i = first
        while not stop.is_set():
            try:
                response = client.post(
                    f"http://127.0.0.1:{port}/sparql/update",
                    content=f"INSERT DATA {{ kg:crash-test-{i} a kgo:Person }}".encode(),
                    headers={
                        "Content-Type": "application/sparql-update",
                        "Authorization": "Bearer " + TOKEN,
                    },
                )
            except httpx.HTTPError:
                return
            if response.status_code == 200 and response.json()["added"] == 1:
                acknowledged.append(i)
            i += 1


def test_every_acknowledged_update_survives_kill_9(tmp_path: Path, data: Path) -> None:
    folder = tmp_path / "store"
    rng = random.Random(14)
    acknowledged: list[int] = []
    first = 0
    port = free_port()
    process = start(folder, data, port)
    for _round in range(3):
        stop = threading.Event()
        # Two clients at once, so that updates also wait for one another when the kill
        # comes: each acknowledged one must be there all the same.
        senders = [
            threading.Thread(target=stream, args=(port, begin, acknowledged, stop))
            for begin in (first, first + 1_000_000)
        ]
        for sender in senders:
            sender.start()
        # Kill at a random point once updates flow (the first after a start may wait for
        # the reasoner), so that every round kills some acknowledged and some pending ones.
        deadline, seen = time.monotonic() + 60, len(acknowledged)
        while len(acknowledged) == seen and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(rng.uniform(0.05, 0.6))
        os.killpg(process.pid, signal.SIGKILL)  # the server and its query workers
        process.wait()
        stop.set()
        for sender in senders:
            sender.join()
        port = free_port()
        process = start(folder, data, port)
        graph = contributions_graph("dana").value
        answer = httpx.get(
            f"http://127.0.0.1:{port}/sparql",
            params={
                "query": f"SELECT ?s ?inGraph ?agent WHERE {{ GRAPH <{ASSERTED.value}> "
                "{ ?s a kgo:Person } "
                f"BIND(EXISTS {{ GRAPH <{graph}> {{ ?s a kgo:Person }} }} AS ?inGraph) "
                f"BIND(EXISTS {{ GRAPH <{INFERRED.value}> {{ ?s a kgo:Agent }} }} AS ?agent) "
                "FILTER(STRSTARTS(STR(?s), STR(kg:crash-test-))) }",
                "timeout": "20",
            },
            timeout=30,
        ).json()["results"]["bindings"]
        present = {int(row["s"]["value"].rsplit("-", 1)[1]) for row in answer}
        # Every acknowledged update is there; nothing is half-applied.
        assert set(acknowledged) <= present
        assert all(row["inGraph"]["value"] == "true" for row in answer)
        assert all(row["agent"]["value"] == "true" for row in answer)
        log = httpx.get(
            f"http://127.0.0.1:{port}/sparql",
            params={
                "query": "SELECT (COUNT(?a) AS ?n) WHERE "
                f"{{ GRAPH <{CONTRIBUTION_LOG.value}> {{ ?a a prov:Activity }} }}"
            },
        ).json()["results"]["bindings"][0]["n"]["value"]
        assert int(log) == len(present)
        first = max(present | {first}) + 1
    os.killpg(process.pid, signal.SIGTERM)
    process.wait(timeout=20)
    assert len(acknowledged) > 0


def test_export_updates_writes_the_contributions_as_trig(tmp_path: Path, data: Path) -> None:
    folder = tmp_path / "store"
    kg, _ = open_dataset(folder, data)
    t = person("export-test-person")
    apply_change(kg, [t], [], contributor="erin", text="INSERT DATA { … }")
    del kg
    result = runner.invoke(app, ["export-updates", "--store", str(folder)])
    assert result.exit_code == 0, result.output
    quads = list(ox.parse(result.stdout_bytes, format=ox.RdfFormat.TRIG))
    graphs = {q.graph_name for q in quads}
    assert graphs == {contributions_graph("erin"), CONTRIBUTION_LOG}
    assert ox.Quad(t.subject, t.predicate, t.object, contributions_graph("erin")) in quads
    assert not any(q.subject == ox.NamedNode(KG + "tiny-person") for q in quads)  # curated
    missing = runner.invoke(app, ["export-updates", "--store", str(tmp_path / "nothing")])
    assert missing.exit_code != 0
    assert missing.output.strip().splitlines() == [
        f"error: {tmp_path / 'nothing'} is not a karabakh-kg store "
        "(made by 'karabakh-kg serve --store DIR')"
    ]
