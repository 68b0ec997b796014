"""Start-up: the reasoned store cached on disk per data version, the reasoner built on first
use, and commands that import only what they need (graph/cache.py, server/cli/__init__.py).

Expected answers come from the article: line 37 says Mnatsakanyan "would instead meet with
Russian Foreign Minister Sergei Lavrov in Moscow", so reasoning derives that Lavrov
participated in that meeting (``kgo:participatedIn`` is the inverse of ``kgo:participant``)
and that he acts for Russia (``holdsPost ∘ postIn ⊑ actsFor``).
"""

from __future__ import annotations

import importlib
import json
import os
import re
import shutil
import subprocess
import sys
import traceback
from pathlib import Path

import pyoxigraph as ox
import pytest
import typer
from typer.testing import CliRunner

from karabakh_kg.graph import INFERRED, KnowledgeGraph, explain, load_graph
from karabakh_kg.graph import cache as graph_cache
from karabakh_kg.graph.cache import MANIFEST, ReasonedCache, entry_key, load_reasoned
from karabakh_kg.graph.cache_folder import SWITCH_VARIABLE, cache_folder
from karabakh_kg.graph.dataset import SUPPORT, content_hash, input_files
from karabakh_kg.graph.store.contributions import apply_change
from karabakh_kg.ontology import vocab
from karabakh_kg.server.cli import COMMANDS, MODULES, app

KG, KGO = str(vocab.KG), str(vocab.KGO)
LAVROV = KG + "sergei-lavrov"
MEETING = KG + "mnatsakanyan-lavrov-meeting"
PARTICIPATED = f"ASK {{ GRAPH <{INFERRED.value}> {{ <{LAVROV}> kgo:participatedIn <{MEETING}> }} }}"
ACTS_FOR_RUSSIA = f"ASK {{ GRAPH <{INFERRED.value}> {{ <{LAVROV}> kgo:actsFor kg:russia }} }}"


def ask(kg: KnowledgeGraph, query: str) -> bool:
    result = kg.query(query)
    assert isinstance(result, ox.QueryBoolean)
    return bool(result)


def explained(kg: KnowledgeGraph, s: str, p: str, o: str) -> str:
    """The explanation as JSON, blank nodes unnamed (each load of the ontology names its
    blank nodes afresh)."""
    text = json.dumps(explain(kg, s, p, o).to_dict(), sort_keys=True)
    return re.sub(r"_:[0-9a-zA-Z]+", "_:b", text)


def graph_size(kg: KnowledgeGraph, graph: ox.NamedNode) -> int:
    return sum(1 for _ in kg.store.quads_for_pattern(None, None, None, graph))


def triples(kg: KnowledgeGraph, graph: ox.NamedNode) -> set[ox.Triple]:
    return {
        ox.Triple(q.subject, q.predicate, q.object)
        for q in kg.store.quads_for_pattern(None, None, None, graph)
    }


def entries(folder: Path) -> list[Path]:
    return sorted(folder.glob("*.nq"))


@pytest.fixture()
def cache(tmp_path: Path) -> ReasonedCache:
    return ReasonedCache(tmp_path / "reasoned")


@pytest.fixture(scope="module")
def entry(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A whole entry for the installed data, written once for the tests that damage it."""
    cache = ReasonedCache(tmp_path_factory.mktemp("entry"))
    load_reasoned(cache)
    (path,) = entries(cache.folder)
    return path


@pytest.fixture()
def warm(cache: ReasonedCache, entry: Path) -> ReasonedCache:
    """``cache`` holding the entry of the installed data."""
    cache.folder.mkdir(parents=True)
    shutil.copy(entry, cache.folder / entry.name)
    return cache


def test_cached_store_answers_as_reasoning_does(kg: KnowledgeGraph, cache: ReasonedCache) -> None:
    first, report = load_reasoned(cache)
    assert report is not None and len(entries(cache.folder)) == 1  # reasoned, then kept
    again, report = load_reasoned(cache)
    assert report is None  # read back, not reasoned
    assert again.views.reasoner_deferred
    assert again.version == kg.version
    for loaded in (first, again):
        assert ask(loaded, PARTICIPATED) and ask(loaded, ACTS_FOR_RUSSIA)
        assert len(loaded.store) == len(kg.store)
        assert set(loaded.store.named_graphs()) == set(kg.store.named_graphs())
        assert graph_size(loaded, INFERRED) == graph_size(kg, INFERRED) > 0
        assert triples(loaded, INFERRED) == triples(kg, INFERRED)
        assert graph_size(loaded, SUPPORT) == graph_size(kg, SUPPORT) > 0
    # The reasoner, built on first use from the stored graphs, explains as the eager one.
    cached = explained(again, LAVROV, KGO + "actsFor", KG + "russia")
    assert not again.views.reasoner_deferred
    assert cached == explained(kg, LAVROV, KGO + "actsFor", KG + "russia")
    assert "sergei-lavrov" in cached


def test_an_edited_curated_file_is_reasoned_again(tmp_path: Path, cache: ReasonedCache) -> None:
    data = tmp_path / "data"
    shutil.copytree(vocab.curated_data_dir(), data)
    assert ask(load_reasoned(cache, data)[0], PARTICIPATED)
    events = data / "events-2020.trig"
    text = events.read_text(encoding="utf-8")
    stated = "kgo:participant kg:zohrab-mnatsakanyan , kg:sergei-lavrov ;"
    assert text.count(stated) == 1
    events.write_text(text.replace(stated, "kgo:participant kg:zohrab-mnatsakanyan ;"), "utf-8")
    edited, report = load_reasoned(cache, data)
    assert report is not None  # a new data version: reasoned, not read from the old entry
    assert not ask(edited, PARTICIPATED)
    assert ask(edited, ACTS_FOR_RUSSIA)  # his post is stated on its own
    assert len(entries(cache.folder)) == 2
    assert not ask(load_reasoned(cache, data)[0], PARTICIPATED)  # the new entry is read


def test_other_code_does_not_read_the_entry(
    warm: ReasonedCache, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An upgrade of the reasoning code (another code version) reasons again."""
    from karabakh_kg.graph import cache as cache_module
    from karabakh_kg.graph.cache_folder import code_version

    assert load_reasoned(warm)[1] is None
    key = entry_key(content_hash(input_files()))
    monkeypatch.setattr(cache_module, "code_version", lambda: "another" + code_version())
    assert entry_key(content_hash(input_files())) != key
    kg, report = load_reasoned(warm)
    assert report is not None and ask(kg, ACTS_FOR_RUSSIA)
    assert len(entries(warm.folder)) == 2


@pytest.mark.parametrize("damage", ["truncate", "flip", "header", "foreign", "count"])
def test_a_damaged_entry_is_ignored_and_rebuilt(
    kg: KnowledgeGraph, warm: ReasonedCache, damage: str
) -> None:
    cache = warm
    (path,) = entries(cache.folder)
    assert cache.read(path.stem) is not None  # whole before the damage
    data = path.read_bytes()
    head, _, payload = data.partition(b"\n")
    header = json.loads(head[2:])
    if damage == "truncate":
        data = data[: len(data) // 2]
    elif damage == "flip":
        at = len(head) + 1 + len(payload) // 2
        data = data[:at] + bytes([data[at] ^ 0x20]) + data[at + 1 :]
    elif damage == "header":
        data = b"not a header\n" + payload
    elif damage == "foreign":  # a whole, valid entry, but written for another key
        header["key"] = "0" * 64
        data = b"# " + json.dumps(header).encode() + b"\n" + payload
    else:  # a payload missing a quad, with a checksum that matches it
        lines = payload.splitlines(keepends=True)
        fewer = b"".join(lines[1:])
        header["sha256"] = __import__("hashlib").sha256(fewer).hexdigest()
        data = b"# " + json.dumps(header).encode() + b"\n" + fewer
    path.write_bytes(data)
    assert cache.read(path.stem) is None
    rebuilt, report = load_reasoned(cache)
    assert report is not None  # reasoned again
    assert ask(rebuilt, PARTICIPATED) and len(rebuilt.store) == len(kg.store)
    assert triples(rebuilt, INFERRED) == triples(kg, INFERRED)
    assert load_reasoned(cache)[1] is None  # and the entry written again is whole


def test_the_on_disk_store_answers_as_reasoning_does(
    kg: KnowledgeGraph, cache: ReasonedCache
) -> None:
    """``read_only``: the entry keeps the store on disk too, and the next start opens it
    (read-only: no change can reach the entry) instead of parsing the N-Quads file."""
    first, report = load_reasoned(cache, read_only=True)
    assert report is not None  # reasoned, then kept in both forms
    (stored,) = cache.folder.glob("*.store")
    again, report = load_reasoned(cache, read_only=True)
    assert report is None and again.views.reasoner_deferred
    with pytest.raises(RuntimeError, match="read-write"):
        again.store.add(ox.Quad(ox.NamedNode(LAVROV), ox.NamedNode(KG + "p"), ox.Literal("x")))
    for loaded in (first, again):
        assert ask(loaded, PARTICIPATED) and ask(loaded, ACTS_FOR_RUSSIA)
        assert set(loaded.store.named_graphs()) == set(kg.store.named_graphs())
        assert triples(loaded, INFERRED) == triples(kg, INFERRED)
        assert graph_size(loaded, SUPPORT) == graph_size(kg, SUPPORT)
    in_memory, report = load_reasoned(cache)  # without read_only: a store that may change
    assert report is None and len(in_memory.store) == len(kg.store)
    assert stored.exists()


@pytest.fixture(scope="module")
def on_disk(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A whole entry, N-Quads file and on-disk store, for the tests that damage the store."""
    cache = ReasonedCache(tmp_path_factory.mktemp("on-disk"))
    load_reasoned(cache, read_only=True)
    return cache.folder


@pytest.mark.parametrize(
    "damage", ["truncate", "flip", "missing", "added", "foreign", "manifest", "no manifest"]
)
def test_a_damaged_on_disk_store_is_not_opened_and_is_rebuilt(
    kg: KnowledgeGraph, tmp_path: Path, on_disk: Path, damage: str
) -> None:
    shutil.copytree(on_disk, tmp_path / "reasoned")
    cache = ReasonedCache(tmp_path / "reasoned")
    (folder,) = cache.folder.glob("*.store")
    key = folder.stem
    assert cache.open_read_only(key) is not None  # whole before the damage
    tables = sorted(folder.glob("*.sst"), key=lambda path: path.stat().st_size)
    largest = tables[-1]
    data = largest.read_bytes()
    manifest = json.loads((folder / MANIFEST).read_text())
    if damage == "truncate":
        largest.write_bytes(data[: len(data) // 2])
    elif damage == "flip":  # same size, one bit changed in the middle of the data
        at = len(data) // 2
        largest.write_bytes(data[:at] + bytes([data[at] ^ 0x01]) + data[at + 1 :])
    elif damage == "missing":
        tables[0].unlink()
    elif damage == "added":
        shutil.copy(largest, folder / "999999.sst")
    elif damage == "foreign":  # whole, but written for another key
        manifest["key"] = "0" * 64
        (folder / MANIFEST).write_text(json.dumps(manifest))
    elif damage == "manifest":
        (folder / MANIFEST).write_text("{not json")
    else:
        (folder / MANIFEST).unlink()
    assert cache.open_read_only(key) is None
    rebuilt, report = load_reasoned(cache, read_only=True)
    assert report is None  # the N-Quads file is whole: read, not reasoned
    assert ask(rebuilt, PARTICIPATED) and triples(rebuilt, INFERRED) == triples(kg, INFERRED)
    reopened = cache.open_read_only(key)  # and the store was written again, whole
    assert reopened is not None
    assert set(reopened.named_graphs()) == set(kg.store.named_graphs())


def test_a_verified_on_disk_store_opens_again_without_reading_its_files(
    tmp_path: Path, on_disk: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shutil.copytree(on_disk, tmp_path / "reasoned")
    cache = ReasonedCache(tmp_path / "reasoned")
    (folder,) = cache.folder.glob("*.store")
    assert cache.open_read_only(folder.stem) is not None  # copied: checksummed, then noted

    def read(path: Path) -> list[int]:
        raise AssertionError(f"{path.name} was read again")

    monkeypatch.setattr(graph_cache, "_size_and_crc", read)
    assert cache.open_read_only(folder.stem) is not None


def test_a_file_changed_in_place_is_caught_though_its_size_and_time_are_kept(
    tmp_path: Path, on_disk: Path
) -> None:
    """A store opened once (its files' identities noted) and then damaged, one bit flipped
    with the file's size and modification time put back as they were: refused."""
    shutil.copytree(on_disk, tmp_path / "reasoned")
    cache = ReasonedCache(tmp_path / "reasoned")
    (folder,) = cache.folder.glob("*.store")
    assert cache.open_read_only(folder.stem) is not None
    largest = max(folder.glob("*.sst"), key=lambda path: path.stat().st_size)
    before = largest.stat()
    data = bytearray(largest.read_bytes())
    data[len(data) // 2] ^= 0x01
    largest.write_bytes(bytes(data))
    os.utime(largest, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert largest.stat().st_size == before.st_size
    assert largest.stat().st_mtime_ns == before.st_mtime_ns
    assert cache.open_read_only(folder.stem) is None
    assert cache.open_read_only(folder.stem) is None  # not noted as whole meanwhile


def test_pruning_removes_a_key_in_both_forms(tmp_path: Path) -> None:
    cache = ReasonedCache(tmp_path, keep=1)
    store = ox.Store()
    store.add(ox.Quad(ox.NamedNode("urn:s"), ox.NamedNode("urn:p"), ox.Literal("o")))
    cache.write_read_only("old", store)
    cache.write("old", store)
    os.utime(cache.path("old"), (1, 1))
    os.utime(cache.store_path("old"), (1, 1))
    cache.write("new", store)
    assert not cache.path("old").exists() and not cache.store_path("old").exists()
    assert cache.read("new") is not None


def test_old_entries_are_pruned(tmp_path: Path) -> None:
    cache = ReasonedCache(tmp_path, keep=2)
    store = ox.Store()
    for index in range(4):
        store.add(ox.Quad(ox.NamedNode(f"urn:s{index}"), ox.NamedNode("urn:p"), ox.Literal("o")))
        cache.write(f"key{index}", store)
        os.utime(cache.path(f"key{index}"), (index, index))
    assert [p.stem for p in entries(tmp_path)] == ["key2", "key3"]
    read = cache.read("key3")
    assert read is not None and len(read) == 4


def test_the_settings_name_the_folder_and_the_switch(tmp_path: Path) -> None:
    assert cache_folder({"KARABAKH_KG_CACHE_DIR": str(tmp_path)}) == tmp_path / "reasoned"
    for off in ("off", "OFF", "0", "false", "no"):
        env = {"KARABAKH_KG_CACHE_DIR": str(tmp_path), SWITCH_VARIABLE: off}
        assert cache_folder(env) is None
    assert cache_folder({SWITCH_VARIABLE: "on"}) is not None


def test_disabled_cache_keeps_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kg: KnowledgeGraph
) -> None:
    monkeypatch.setenv("KARABAKH_KG_CACHE_DIR", str(tmp_path))
    monkeypatch.setenv(SWITCH_VARIABLE, "off")
    loaded = load_graph(cache=True)
    assert not loaded.views.reasoner_deferred and loaded.views.reasoner is not None
    assert graph_size(loaded, INFERRED) == graph_size(kg, INFERRED)
    assert not list(tmp_path.rglob("*.nq"))
    monkeypatch.delenv(SWITCH_VARIABLE)
    load_graph(cache=True)
    assert len(entries(tmp_path / "reasoned")) == 1


def test_command_line_cache_options(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The root options set the variables for the command; conftest's restored_environment
    # puts them back (monkeypatch would restore the "off" it saw at the second delenv).
    monkeypatch.delenv("KARABAKH_KG_CACHE_DIR", raising=False)
    monkeypatch.delenv(SWITCH_VARIABLE, raising=False)
    runner = CliRunner()
    first = tmp_path / "first"
    ask_lavrov = f"ASK {{ <{LAVROV}> kgo:actsFor kg:russia }}"
    result = runner.invoke(app, ["--no-cache", "--cache-dir", str(first), "query", ask_lavrov])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "true"
    assert not list(first.rglob("*.nq"))
    monkeypatch.delenv(SWITCH_VARIABLE, raising=False)
    second = tmp_path / "second"
    result = runner.invoke(app, ["--cache-dir", str(second), "query", ask_lavrov])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "true"
    (kept,) = entries(second / "reasoned")
    assert ReasonedCache(second / "reasoned").read(kept.stem) is not None


def test_an_update_after_a_cached_start_equals_recomputation(warm: ReasonedCache) -> None:
    """The deferred reasoner is built from the store as it was before the change, so the
    incremental update that follows gives what a full recomputation gives."""
    cached, report = load_reasoned(warm)
    assert report is None and cached.views.reasoner_deferred
    fresh = load_graph()
    # A new meeting of Lavrov's: his participation, and so his communication with the other
    # participant, follow by the same rules as for the curated meetings.
    meeting = ox.NamedNode(KG + "test-meeting")
    added = [
        ox.Triple(
            meeting, ox.NamedNode(vocab.PREFIXES["rdf"] + "type"), ox.NamedNode(KGO + "Meeting")
        ),
        ox.Triple(meeting, ox.NamedNode(KGO + "participant"), ox.NamedNode(LAVROV)),
        ox.Triple(meeting, ox.NamedNode(KGO + "participant"), ox.NamedNode(KG + "ilham-aliyev")),
    ]
    for loaded in (cached, fresh):
        apply_change(loaded, added, [])
    assert not cached.views.reasoner_deferred
    gained = ox.Triple(ox.NamedNode(LAVROV), ox.NamedNode(KGO + "participatedIn"), meeting)
    assert gained in triples(cached, INFERRED)
    assert triples(cached, INFERRED) == triples(fresh, INFERRED)
    assert triples(cached, SUPPORT).__len__() == triples(fresh, SUPPORT).__len__()


def test_durable_store_restart_defers_the_reasoner(tmp_path: Path) -> None:
    from karabakh_kg.graph import open_dataset

    folder = tmp_path / "store"
    first, opened = open_dataset(folder)
    assert opened.rebuilt and not first.views.reasoner_deferred
    expected = explained(first, LAVROV, KGO + "actsFor", KG + "russia")
    del first
    import gc

    gc.collect()
    again, opened = open_dataset(folder)
    assert not opened.rebuilt and again.views.reasoner_deferred
    assert ask(again, ACTS_FOR_RUSSIA)
    assert explained(again, LAVROV, KGO + "actsFor", KG + "russia") == expected


def test_command_table_names_each_module_of_its_commands() -> None:
    registered: dict[str, str] = {}
    for name in MODULES:
        features = typer.Typer()
        importlib.import_module(f"karabakh_kg.server.cli.{name}").register(features)
        for command in typer.main.get_group(features).commands:
            registered[command] = name
    assert registered == COMMANDS


def test_a_command_is_built_alone() -> None:
    """Running one command builds that command only (typer reads the signature of each
    command it builds), whichever module holds it, and ``--help`` still lists them all."""
    for name in COMMANDS:
        group = typer.main.get_group(app)
        command = group.get_command(None, name)  # type: ignore[arg-type]
        assert command is not None and command.name == name
        assert set(group.commands) == {"version", name}
    assert set(COMMANDS) <= set(typer.main.get_group(app).list_commands(None))  # type: ignore[arg-type]


def test_unknown_command_still_suggests() -> None:
    result = CliRunner().invoke(app, ["qurey", "ASK {}"])
    assert result.exit_code != 0
    assert "query" in result.output


HEAVY = ("fastapi", "rdflib", "owlrl", "networkx", "rapidfuzz", "uvicorn", "pyshacl")


def loaded_modules(code: str, env: dict[str, str]) -> set[str]:
    probe = code + "\nimport sys, json\nprint(json.dumps(sorted(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, env=env, check=True
    ).stdout
    return set(json.loads(out.strip().splitlines()[-1]))


def test_a_warm_query_imports_no_heavy_library(tmp_path: Path) -> None:
    env = {**os.environ, "KARABAKH_KG_CACHE_DIR": str(tmp_path)}
    env.pop(SWITCH_VARIABLE, None)
    root = loaded_modules("import karabakh_kg.server.cli", env)
    assert not {m.split(".")[0] for m in root} & {*HEAVY, "rich"}
    assert "karabakh_kg.server.cli.data" not in root
    run = (
        "from karabakh_kg.server.cli import app\n"
        "try:\n    app(['query', 'ASK {}'])\nexcept SystemExit:\n    pass\n"
    )
    cold = loaded_modules(run, env)  # reasons and fills the cache
    assert "karabakh_kg.graph.reasoning" in cold
    assert list(tmp_path.glob("reasoned/*.store"))  # the store kept on disk too
    warm = loaded_modules(run, env)
    assert not {m.split(".")[0] for m in warm} & set(HEAVY)
    assert "karabakh_kg.graph.reasoning" not in warm  # the reasoner is neither imported nor built
    assert "karabakh_kg.server.cli.graph" not in warm  # nor the other commands
    assert "karabakh_kg.server.sparql.pool" not in warm  # nor a pool of query workers
    assert not {"rich", "xml.sax.saxutils"} & warm  # an ASK prints no table, no XML
    assert not {"asyncio", "anyio", "prometheus_client"} & warm  # the server's side only
    # The SPARQL parser is read back from the cache folder, not built from the grammar.
    assert list(tmp_path.glob("reasoned/sparql-parser-*.pickle"))
    unbuilt = (
        "import karabakh_kg.server.sparql.inspect as reading\n"
        "def refused():\n    raise RuntimeError('the parser was built')\n"
        "reading.build_parser = refused\n"
    )
    assert "karabakh_kg.server.sparql.inspect" in loaded_modules(unbuilt + run, env)


def test_a_warm_query_answers_from_the_store_on_disk(tmp_path: Path) -> None:
    """Line 37's meeting and Lavrov's post: what the cold run reasoned, the warm one reads
    from the on-disk store, in its forked worker."""
    env = {**os.environ, "KARABAKH_KG_CACHE_DIR": str(tmp_path)}
    env.pop(SWITCH_VARIABLE, None)
    command = [sys.executable, "-m", "karabakh_kg.server", "query", "--format", "csv"]
    select = f"SELECT ?who WHERE {{ ?who kgo:participatedIn <{MEETING}> ; kgo:actsFor kg:russia }}"
    for _ in ("cold", "warm"):
        done = subprocess.run([*command, select], capture_output=True, text=True, env=env)
        assert done.returncode == 0, done.stderr
        assert done.stdout.split() == ["who", LAVROV]
    (folder,) = tmp_path.glob("reasoned/*.store")

    def contents() -> dict[str, bytes]:
        return {path.name: path.read_bytes() for path in folder.iterdir()}

    before = contents()
    done = subprocess.run([*command, select], capture_output=True, text=True, env=env)
    assert done.returncode == 0 and done.stdout.split() == ["who", LAVROV], done.stderr
    assert contents() == before  # opened read-only: not a byte written, not a file added


def test_a_query_needing_more_memory_than_its_worker_may_use(tmp_path: Path) -> None:
    """One row doubled to 640 MB: the forked worker's allocation fails under its bound, and
    the command says why in one line."""
    binds = " ".join(f"BIND(CONCAT(?v{i}, ?v{i}) AS ?v{i + 1})" for i in range(26))
    doubling = f'SELECT (STRLEN(?v26) AS ?n) WHERE {{ BIND("0123456789" AS ?v0) {binds} }}'
    env = {"KARABAKH_KG_CACHE_DIR": str(tmp_path), "KARABAKH_KG_WORKER_MEMORY_MB": "300"}
    result = CliRunner().invoke(app, ["query", "--no-infer", "--timeout", "60", doubling], env=env)
    assert result.exit_code == 1
    assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1
    assert "KARABAKH_KG_WORKER_MEMORY_MB" in result.stderr and "300 MB" in result.stderr


def compiled_rules(kg: KnowledgeGraph) -> list[tuple[str, ...]]:
    """The domain rules of ``kg`` compiled, their terms decoded (comparable across tables)."""
    from karabakh_kg.graph.dataset import ONTOLOGY
    from karabakh_kg.graph.reasoning.engine import TermTable
    from karabakh_kg.graph.reasoning.rules import compile_domain_rule, read_domain_rules

    table = TermTable()
    out = []
    for rule in read_domain_rules(kg.store.quads_for_pattern(None, None, None, ONTOLOGY)):
        compiled = compile_domain_rule(rule, table)

        def show(x: int) -> str:
            return f"?{-x}" if x < 0 else str(table.decode(x))

        parts = [str(part) for part in compiled.filters]
        parts += [" ".join(map(show, t)) for t in (*compiled.body, *compiled.head)]
        out.append((compiled.rule_id, *parts))
    return out


def forget_shapes() -> None:
    from karabakh_kg.graph.reasoning import rule_shapes

    rule_shapes._known.clear()
    rule_shapes._read_from.clear()


@pytest.mark.parametrize("damage", [None, "garbage", "bad shape"])
def test_compiled_rules_from_disk_equal_the_parsed_ones(
    kg: KnowledgeGraph, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, damage: str | None
) -> None:
    from karabakh_kg.graph.reasoning.rule_shapes import shapes_file

    monkeypatch.setenv(SWITCH_VARIABLE, "off")
    forget_shapes()
    parsed = compiled_rules(kg)
    assert len(parsed) >= 5  # rules.ttl holds the domain rules
    monkeypatch.delenv(SWITCH_VARIABLE)
    monkeypatch.setenv("KARABAKH_KG_CACHE_DIR", str(tmp_path))
    forget_shapes()
    assert compiled_rules(kg) == parsed  # parsed, and kept
    path = shapes_file()
    assert path is not None and path.exists()
    document = json.loads(path.read_text())
    assert len(document["shapes"]) == len(parsed)
    if damage == "garbage":
        path.write_text("{not json")
    elif damage == "bad shape":  # a shape whose variable became a positive number
        for shape in document["shapes"].values():
            shape["body"][0][0] = 7
        path.write_text(json.dumps(document))
    forget_shapes()
    assert compiled_rules(kg) == parsed  # read back (or parsed again when damaged)


def test_rules_from_disk_need_no_parser(tmp_path: Path) -> None:
    env = {**os.environ, "KARABAKH_KG_CACHE_DIR": str(tmp_path)}
    env.pop(SWITCH_VARIABLE, None)
    compile_all = (
        "from karabakh_kg.graph import load_graph\n"
        "from karabakh_kg.graph.reasoning import build\n"
        "build(load_graph(reason=False))\n"
    )
    assert "rdflib.plugins.sparql" in loaded_modules(compile_all, env)  # parses, keeps
    assert "rdflib.plugins.sparql" not in loaded_modules(compile_all, env)


def test_serve_with_a_wikidata_file_starts_from_the_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from karabakh_kg.graph import WIKIDATA
    from karabakh_kg.server.cli.serve import apply_settings, build_app

    monkeypatch.setenv("KARABAKH_KG_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv(SWITCH_VARIABLE, raising=False)
    enrichment = tmp_path / "wikidata.ttl"
    enrichment.write_text(
        "<http://www.wikidata.org/entity/Q7035479> "
        '<http://www.w3.org/2000/01/rdf-schema#label> "Nikol Pashinyan"@en .\n',
        encoding="utf-8",
    )
    settings = apply_settings({"wikidata_file": str(enrichment)})
    first = build_app(None, settings).state.kg  # type: ignore[attr-defined]
    again = build_app(None, settings).state.kg  # type: ignore[attr-defined]
    assert not first.views.reasoner_deferred and again.views.reasoner_deferred
    for kg in (first, again):
        assert graph_size(kg, WIKIDATA) == 1 and ask(kg, ACTS_FOR_RUSSIA)
    enrichment.write_text("", encoding="utf-8")  # another file: another data version
    emptied = build_app(None, settings).state.kg  # type: ignore[attr-defined]
    assert graph_size(emptied, WIKIDATA) == 0 and not emptied.views.reasoner_deferred


def test_a_read_only_server_reads_the_store_on_disk(
    warm: ReasonedCache, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without updates, ``serve`` opens the cache's on-disk copy of the reasoned store
    read-only (kept by the first start), as ``query`` does, instead of parsing it into
    memory; it answers what reasoning derives from line 37 and writes nothing there. With
    updates, the store is in memory and takes changes."""
    from karabakh_kg.server.cli.serve import apply_settings, build_app

    monkeypatch.setenv("KARABAKH_KG_CACHE_DIR", str(warm.folder.parent))
    monkeypatch.delenv(SWITCH_VARIABLE, raising=False)
    assert not list(warm.folder.glob("*.store"))
    build_app(None, apply_settings({}))  # the entry's store is parsed, and kept on disk too
    (folder,) = warm.folder.glob("*.store")
    before = {path.name: path.read_bytes() for path in folder.iterdir()}
    served = build_app(None, apply_settings({})).state.kg  # type: ignore[attr-defined]
    assert ask(served, PARTICIPATED) and ask(served, ACTS_FOR_RUSSIA)
    change = ox.Quad(ox.NamedNode(LAVROV), ox.NamedNode(KGO + "metWith"), ox.NamedNode(MEETING))
    with pytest.raises(RuntimeError, match="read-write"):
        served.store.add(change)
    assert {path.name: path.read_bytes() for path in folder.iterdir()} == before
    monkeypatch.setenv("KARABAKH_KG_UPDATE_TOKEN", "a-token-of-sixteen-chars-or-more")
    updating = apply_settings({"enable_updates": True, "ephemeral_updates": True})
    in_memory = build_app(None, updating).state.kg  # type: ignore[attr-defined]
    assert ask(in_memory, ACTS_FOR_RUSSIA)
    in_memory.store.add(change)  # takes changes


PAGES = ("networkx", "jinja2", "rapidfuzz")
"""What only the pages need: the app imports them after it can answer SPARQL."""
UNSERVED = ("rdflib", "owlrl", "pyshacl")
"""What a server over the cached graph never imports to answer SPARQL (rich is left out:
the test client's httpx imports it)."""


def test_a_server_answers_sparql_before_it_imports_its_pages(warm: ReasonedCache) -> None:
    """The app includes the SPARQL routes when built; the pages' routers (networkx, Jinja2,
    rapidfuzz) once a thread, started when the first SPARQL answer is sent, has imported
    them. A page request waits for them and is then routed by the whole app: the neighbours
    of Lavrov include the meeting of line 37, a 405 names the methods of every route of the
    path, and the API document lists the pages."""
    probe = f"""
import json, sys, warnings
warnings.simplefilter("ignore")
from starlette.testclient import TestClient
from karabakh_kg.server import deferred
from karabakh_kg.server.cli.serve import apply_settings, build_app
starts = []
def loaded():
    return sorted(m for m in sys.modules if m.split(".")[0] in {PAGES + UNSERVED!r}
                  or m.startswith("karabakh_kg.server.web.graph"))
run = deferred.DeferredRouters._run
def recorded(self):
    starts.append(loaded())  # what was imported when the pages' thread began
    run(self)
deferred.DeferredRouters._run = recorded
app = build_app(None, apply_settings({{}}))
client = TestClient(app)  # no lifespan: nothing starts the pages' thread but a request
assert not app.state.routers.started
ask = client.get("/sparql", params={{"query": "ASK {{ ?s ?p ?o }}"}}).json()
started = app.state.routers.started  # by the answer
app.state.routers._built.wait(60)
before = starts[0]
near = client.get("/graph/neighbours", params={{"node": "Lavrov"}}).json()
put = client.put("/sparql")
paths = sorted(app.openapi()["paths"])
print(json.dumps({{"ask": ask["boolean"], "before": before, "started": started,
                  "starts": len(starts), "included": app.state.routers.included,
                  "near": [n["iri"] for n in near["neighbours"]], "allow": put.headers["allow"],
                  "status": put.status_code, "paths": paths,
                  "after": sorted(m for m in {PAGES!r} if m in sys.modules)}}))
"""
    env = {**os.environ, "KARABAKH_KG_CACHE_DIR": str(warm.folder.parent)}
    env.pop(SWITCH_VARIABLE, None)
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen["ask"] is True
    assert seen["started"] is True and seen["starts"] == 1  # once, by the first answer
    assert seen["before"] == []  # answered before any page's module was imported
    assert seen["included"] is True
    assert MEETING in seen["near"]
    assert seen["status"] == 405 and seen["allow"] == "GET, HEAD, POST"
    assert {"/sparql", "/graph/neighbours", "/resource/{name}"} <= set(seen["paths"])
    assert seen["after"] == sorted(PAGES)


def test_without_requests_the_pages_are_imported_soon_after_start(
    kg: KnowledgeGraph, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A server nobody has asked anything yet imports its pages a moment after it starts
    (so that the first page request need not wait for them)."""
    from starlette.testclient import TestClient

    from karabakh_kg.server import deferred
    from karabakh_kg.server.app import create_app
    from karabakh_kg.server.sparql.protocol import LocalStore

    monkeypatch.setattr(deferred, "IDLE_START", 0.2)
    app = create_app(kg, store=LocalStore(kg.store))
    with TestClient(app):  # the lifespan: the server runs, and is asked nothing
        assert app.state.routers._built.wait(60)  # imported without any request
        assert app.state.routers.started and not app.state.routers.included


def test_routes_stand_in_the_order_of_their_modules(kg: KnowledgeGraph) -> None:
    """Included later, the pages' routes still come after the SPARQL endpoint's, in the
    order of ``ROUTE_MODULES`` (which the API document follows), and the static files are
    served once they are included."""
    from fastapi.routing import APIRoute
    from starlette.testclient import TestClient

    from karabakh_kg.server.app import ROUTE_MODULES, create_app, routers

    app = create_app(kg)
    expected = list(
        dict.fromkeys(
            route.path
            for router in routers(ROUTE_MODULES)
            for route in router.routes
            if isinstance(route, APIRoute) and route.include_in_schema
        )
    )
    assert not app.state.routers.included
    assert list(app.openapi()["paths"]) == expected
    assert app.state.routers.included
    style = TestClient(app).get("/static/site.css")
    assert style.status_code == 200 and "text/css" in style.headers["content-type"]


def test_pages_that_cannot_be_imported_are_a_503_naming_the_failure(
    kg: KnowledgeGraph, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A page module that fails to import (here one that does not exist, after one that
    does): SPARQL still answers, and every other request, the API document included, is a
    503 problem document naming the module and the error, not a 500 saying nothing."""
    from starlette.testclient import TestClient

    from karabakh_kg.server import app as application
    from karabakh_kg.server.sparql.protocol import LocalStore

    monkeypatch.setattr(application, "LATER_ROUTE_MODULES", ("web.ops", "web.missing_pages"))
    app = application.create_app(kg, store=LocalStore(kg.store))
    client = TestClient(app)
    ask = client.get("/sparql", params={"query": "ASK { ?s ?p ?o }"})
    assert ask.status_code == 200 and ask.json()["boolean"] is True
    for path in ("/graph/neighbours?node=Lavrov", "/openapi.json", "/resource/sergei-lavrov"):
        page = client.get(path)
        assert page.status_code == 503, path
        assert page.headers["content-type"].startswith("application/problem+json")
        problem = page.json()
        assert problem["code"] == "pages-unavailable" and problem["status"] == 503
        assert "karabakh_kg.server.web.missing_pages" in problem["detail"]
        assert "No module named" in problem["detail"]
    again = client.get("/sparql", params={"query": "ASK { ?s ?p ?o }"})
    assert again.status_code == 200
    # the failure is kept as it was raised: each request refused adds nothing to it (raising
    # it again would add the request's frames to its traceback, and keep them)
    failure = app.state.routers._error
    frames = len(traceback.extract_tb(failure.__traceback__))
    for _ in range(5):
        assert client.get("/resource/sergei-lavrov").status_code == 503
    assert len(traceback.extract_tb(failure.__traceback__)) == frames


READINGS = (
    "ASK {}",
    "PREFIX p: <http://p/> SELECT * FROM <http://g/> FROM NAMED <http://h/> WHERE { ?s p:x ?o }",
    "SELECT * WHERE { SERVICE SILENT <http://remote/sparql> { ?s ?p ?o } }",
    "SELECT * WHERE { ?a ?b ?c FILTER(?a<?b)SERVICE:x#>\n{ } }",  # '<' is less-than
    "SELECT * WHERE { ?s ?p 1.5e5SERVICE <http://x/> { } }",  # no boundary needed
    "LOAD <http://example.org/data.ttl> INTO GRAPH <http://g/>",
    "SELECT * WHERE { ((((( ?s ?p ?o ",  # not SPARQL: the error and a depth bound
    "SELECT ?x WHERE { ?x ?p ?o } ORDER BY",
    "CONSTRUCT { ?s ?p ?o } WHERE { GRAPH ?g { ?s ?p ?o } }",
)
"""Texts whose reading covers the form, the dataset, the calls out and the errors."""


def test_the_parser_read_back_reads_as_the_one_built(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The parser kept in the cache folder (built once, then read back in each process)
    reads every text as the parser built from the grammar: the same form, dataset, calls
    out, nesting and error messages, on which the guard decides."""
    from karabakh_kg.server.sparql import inspect as reading

    monkeypatch.setenv(SWITCH_VARIABLE, "off")
    reading.parser.cache_clear()
    assert reading.parser_file() is None
    built = [reading.inspect(text) for text in (*READINGS, *reading._WARM_UP)]
    monkeypatch.delenv(SWITCH_VARIABLE)
    monkeypatch.setenv("KARABAKH_KG_CACHE_DIR", str(tmp_path))
    try:
        reading.parser.cache_clear()
        reading.parser()  # built, and kept
        path = reading.parser_file()
        assert path is not None and path.exists()
        reading.parser.cache_clear()

        def not_built() -> None:
            raise AssertionError("built again instead of read back")

        monkeypatch.setattr(reading, "build_parser", not_built)
        read_back = [reading.inspect(text) for text in (*READINGS, *reading._WARM_UP)]
        assert read_back == built
        assert built[2].services[0].silent and built[4].services
        assert built[3].services or built[3].error  # called, or refused by the guard
        assert built[5].loads and built[6].error and built[6].depth >= 5
    finally:
        reading.parser.cache_clear()


def test_the_parser_read_back_compiles_no_lexer_pattern(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """lark builds a parser state's lexer when a text first reaches it; read back, the
    parser hands the engine the kept code of each lexer's patterns, so Python's regular
    expression compiler (about 2 ms a state) runs for none of them, and it still reads."""
    import re

    from karabakh_kg.server.sparql import inspect as reading

    monkeypatch.setenv("KARABAKH_KG_CACHE_DIR", str(tmp_path))
    monkeypatch.delenv(SWITCH_VARIABLE, raising=False)
    try:
        reading.parser.cache_clear()
        reading.parser()  # built, and kept with its patterns' code
        reading.parser.cache_clear()
        compiled: list[str] = []
        compile_in_python = re._compiler.compile  # type: ignore[attr-defined]

        def recording(pattern: str, flags: int = 0) -> re.Pattern[str]:
            compiled.append(pattern)
            return compile_in_python(pattern, flags)  # type: ignore[no-any-return]

        re.purge()
        monkeypatch.setattr(re._compiler, "compile", recording)  # type: ignore[attr-defined]
        read = [reading.inspect(text) for text in (*READINGS, *reading._WARM_UP)]
        assert [pattern for pattern in compiled if "(?P<" in pattern] == []
        assert read[0].form == "ASK" and [r.text for r in read[1].from_named] == ["<http://h/>"]
        assert read[2].services[0].silent and read[5].loads and read[6].error
    finally:
        reading.parser.cache_clear()


@pytest.mark.parametrize("damage", ["garbage", "truncated", "foreign module"])
def test_a_damaged_parser_file_is_built_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, damage: str
) -> None:
    import pickle

    from karabakh_kg.server.sparql import inspect as reading

    monkeypatch.setenv("KARABAKH_KG_CACHE_DIR", str(tmp_path))
    monkeypatch.delenv(SWITCH_VARIABLE, raising=False)
    try:
        reading.parser.cache_clear()
        reading.parser()
        path = reading.parser_file()
        assert path is not None
        whole = path.read_bytes()
        if damage == "garbage":
            path.write_bytes(b"not a pickle")
        elif damage == "truncated":
            path.write_bytes(whole[: len(whole) // 2])
        else:  # a file calling a function outside lark's: never called

            class Call:
                def __reduce__(self) -> tuple[object, tuple[str]]:
                    return (os.mkdir, (str(tmp_path / "called"),))

            path.write_bytes(pickle.dumps(Call()))
        assert reading._read_parser(path) is None
        assert not (tmp_path / "called").exists()
        reading.parser.cache_clear()
        assert reading.inspect(READINGS[2]).services  # built again
        assert path.read_bytes() != whole[: len(whole) // 2] and reading._read_parser(path)
    finally:
        reading.parser.cache_clear()


def test_the_same_data_gives_the_same_derivations_wherever_it_is_read(tmp_path: Path) -> None:
    """Each derived triple keeps the first derivation the reasoner finds: read in each
    store's own order (in memory from the files, from the cache's N-Quads, from the
    cache's on-disk store, from a durable store), the same small graph gave different ones
    for some triples (a type given both by a domain and by a subclass), so a second
    publish rewrote the derivation graph. The records must not depend on where the data
    was read."""
    import gc

    import engines

    from karabakh_kg.graph import open_dataset
    from karabakh_kg.graph.reasoning.explain import derivation_records

    data = tmp_path / "data"
    data.mkdir()
    (data / "tiny.trig").write_text(engines.TINY_DATA, encoding="utf-8")

    def records(kg: KnowledgeGraph) -> set[str]:
        found = {str(t) for t in derivation_records(kg)}
        assert found
        return found

    fresh = records(load_graph(data))
    cache = ReasonedCache(tmp_path / "reasoned")
    assert records(load_reasoned(cache, data, read_only=True)[0]) == fresh  # reasoned here
    from_nquads, report = load_reasoned(cache, data)
    assert report is None and records(from_nquads) == fresh
    on_disk, report = load_reasoned(cache, data, read_only=True)
    assert report is None and records(on_disk) == fresh
    folder = tmp_path / "store"
    first, opened = open_dataset(folder, data)
    assert opened.rebuilt and records(first) == fresh
    del first
    gc.collect()
    again, opened = open_dataset(folder, data)
    assert not opened.rebuilt and records(again) == fresh
