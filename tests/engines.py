"""Real SPARQL engines for the store tests: the Oxigraph server (the ``oxigraph`` command of
the PyPI package) and Virtuoso (Debian's ``virtuoso-t``), each started on 127.0.0.1 with
its own ports, a temporary database folder and, for Virtuoso, its own credentials."""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

TINY_DATA = """@prefix kg: <https://w3id.org/karabakh-kg/resource/> .
@prefix kge: <https://w3id.org/karabakh-kg/evidence/> .
@prefix kgo: <https://w3id.org/karabakh-kg/ontology#> .
@prefix prov: <http://www.w3.org/ns/prov#> .
kge:tiny-unit { kg:tiny-person a kgo:Person ; kgo:memberOf kg:tiny-group . }
kge:tiny-unit a kgo:Evidence ; prov:wasAttributedTo kg:seed-article .
"""
"""A small curated file (with the real ontology) for tests that start servers or engines
several times: what they check does not depend on the size of the data."""

VIRTUOSO = "virtuoso-t"
VIRTUOSO_ISQL = "isql-vt"
VIRTUOSO_VAD = "/usr/share/virtuoso-opensource-7/vad"
VIRTUOSO_VSP = "/var/lib/virtuoso-opensource-7/vsp"


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Engine:
    """A running engine: where to query, update and reach the Graph Store, and as whom."""

    name: str
    query_url: str
    update_url: str
    gsp_url: str
    user: str | None = None
    password: str | None = None
    auth: str = "basic"
    process: subprocess.Popen[bytes] | None = None

    def store(self, kind: Any = None, **options: Any) -> Any:
        """A :class:`RemoteStore` on this engine (or of the sub-class ``kind``), with
        ``options`` (``timeout``, ``upload_triples``)."""
        from karabakh_kg.graph.store.remote import RemoteStore

        return (kind or RemoteStore)(
            self.query_url,
            update_url=self.update_url,
            gsp_url=self.gsp_url,
            user=self.user,
            password=self.password,
            auth=self.auth,
            **options,
        )

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


def _wait(url: str, process: subprocess.Popen[bytes], what: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited with status {process.returncode}")
        try:
            response = httpx.get(url, params={"query": "ASK {}"}, timeout=2)
            if response.status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{what} did not answer at {url} within {seconds:g} s")


def oxigraph_command() -> str:
    """The ``oxigraph`` server of the PyPI package, beside this interpreter."""
    found = Path(sys.executable).with_name("oxigraph")
    return str(found) if found.exists() else (shutil.which("oxigraph") or "oxigraph")


@contextlib.contextmanager
def oxigraph_server(folder: Path) -> Iterator[Engine]:
    """``oxigraph serve`` on a fresh store in ``folder`` (queries see the union of graphs,
    as karabakh-kg serves its named graphs)."""
    port = _free_port()
    log = (folder / "oxigraph.log").open("wb")
    process = subprocess.Popen(
        [
            oxigraph_command(),
            "serve",
            "--location",
            str(folder / "data"),
            "--bind",
            f"127.0.0.1:{port}",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    engine = Engine("oxigraph", base + "/query", base + "/update", base + "/store", process=process)
    try:
        _wait(engine.query_url, process, "the Oxigraph server")
        yield engine
    finally:
        engine.stop()
        log.close()


VIRTUOSO_INI = """[Database]
DatabaseFile = {dir}/virtuoso.db
ErrorLogFile = {dir}/virtuoso.log
LockFile = {dir}/virtuoso.lck
TransactionFile = {dir}/virtuoso.trx
xa_persistent_file = {dir}/virtuoso.pxa
ErrorLogLevel = 7
FileExtend = 200
MaxCheckpointRemap = 2000
Striping = 0
TempStorage = TempDatabase

[TempDatabase]
DatabaseFile = {dir}/virtuoso-temp.db
TransactionFile = {dir}/virtuoso-temp.trx
MaxCheckpointRemap = 2000
Striping = 0

[Parameters]
ServerPort = 127.0.0.1:{sql_port}
DisableUnixSocket = 1
MaxClientConnections = 10
CheckpointInterval = 60
CaseMode = 2
DirsAllowed = ., {dir}, {vad}
VADInstallDir = {vad}/
NumberOfBuffers = {buffers}
MaxDirtyBuffers = {dirty_buffers}
ThreadsPerQuery = 2
TransactionAfterImageLimit = {after_image}

[HTTPServer]
ServerPort = 127.0.0.1:{http_port}
ServerRoot = {vsp}
MaxClientConnections = 10
ServerThreads = 10
Charset = UTF-8
EnabledGzipContent = 0

[SPARQL]
ResultSetMaxRows = {max_rows}
MaxQueryExecutionTime = 120
MaxQueryCostEstimationTime = 0
"""

VIRTUOSO_USER = "karabakh"


def _isql(sql_port: int, password: str, statements: str) -> None:
    result = subprocess.run(
        [VIRTUOSO_ISQL, f"127.0.0.1:{sql_port}", "dba", password, "VERBOSE=OFF"],
        input=statements.encode(),
        capture_output=True,
        timeout=60,
        check=False,
    )
    output = (result.stdout + result.stderr).decode(errors="replace")
    if result.returncode != 0 or "*** Error" in output:
        raise RuntimeError(f"Virtuoso setup failed: {output.strip()[-500:]}")


VIRTUOSO_AFTER_IMAGE = 2_000_000_000
"""Bytes one transaction may change. A publish needs no more than Virtuoso's default
(50 MB): no request of it grows with the data (graph/store/publish.py). In-engine reasoning
does: the first round writes each rule's conclusions over all the data in one update (at
1M triples, more than 50 MB; docs/deployment.md)."""


VIRTUOSO_BUFFERS = 10_000
"""Pages of 8 kB Virtuoso keeps in memory (80 MB): enough for the tests' data. At 100k
triples and more, in-engine reasoning outgrows them and waits on the disk (the benchmark
gives Virtuoso more; Virtuoso's own guide: about two thirds of the memory it may use)."""


VIRTUOSO_MAX_ROWS = 1_000_000
"""Rows Virtuoso puts in one answer at most (``ResultSetMaxRows``; 10 000 in its default
configuration): more than the server's bounds on what it reads (docs/deployment.md)."""


@contextlib.contextmanager
def virtuoso_server(
    folder: Path,
    password: str,
    after_image: int = VIRTUOSO_AFTER_IMAGE,
    buffers: int = VIRTUOSO_BUFFERS,
    max_rows: int = VIRTUOSO_MAX_ROWS,
) -> Iterator[Engine]:
    """Virtuoso on a fresh database in ``folder``: its own ports, a new ``dba`` password and
    a user ``karabakh`` (that ``password`` too) allowed SPARQL updates, over digest auth;
    ``after_image``: its ``TransactionAfterImageLimit``; ``buffers``: its
    ``NumberOfBuffers`` (pages of 8 kB held in memory); ``max_rows``: its
    ``[SPARQL] ResultSetMaxRows`` (the most rows of one answer)."""
    sql_port, http_port = _free_port(), _free_port()
    (folder / "virtuoso.ini").write_text(
        VIRTUOSO_INI.format(
            dir=folder,
            sql_port=sql_port,
            http_port=http_port,
            vad=VIRTUOSO_VAD,
            vsp=VIRTUOSO_VSP,
            after_image=after_image,
            buffers=buffers,
            dirty_buffers=buffers * 3 // 5,
            max_rows=max_rows,
        )
    )
    log = (folder / "virtuoso.out").open("wb")
    process = subprocess.Popen(
        [VIRTUOSO, "+foreground", "+configfile", str(folder / "virtuoso.ini")],
        cwd=folder,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{http_port}"
    engine = Engine(
        "virtuoso",
        base + "/sparql-auth",
        base + "/sparql-auth",
        base + "/sparql-graph-crud-auth",
        user=VIRTUOSO_USER,
        password=password,
        auth="digest",
        process=process,
    )
    try:
        _wait(base + "/sparql", process, "Virtuoso", seconds=90)
        _isql(
            sql_port,
            "dba",
            f"DB.DBA.USER_CREATE('{VIRTUOSO_USER}', '{password}');\n"
            f'GRANT SPARQL_UPDATE TO "{VIRTUOSO_USER}";\n'
            f"DB.DBA.RDF_DEFAULT_USER_PERMS_SET('{VIRTUOSO_USER}', 7);\n"
            f"USER_SET_PASSWORD('dba', '{password}');\n",
        )
        yield engine
    finally:
        engine.stop()
        log.close()


def dataset(graphs: dict[str, list[Any]]) -> Any:
    """A knowledge graph of these named graphs (IRI -> triples) alone, what publish writes."""
    import pyoxigraph as ox

    from karabakh_kg.graph.dataset import KnowledgeGraph

    store = ox.Store()
    for name, triples in graphs.items():
        graph = ox.NamedNode(name)
        store.extend(ox.Quad(t.subject, t.predicate, t.object, graph) for t in triples)
    return KnowledgeGraph(store=store, version=str(len(store)), files=[])
