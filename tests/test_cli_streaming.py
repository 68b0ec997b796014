"""``karabakh-kg query`` streams its answer (issue 13): rows reach standard output while
the query runs, the command's memory does not grow with the answer, and a cap or the time
limit reached on the way ends the output after the last complete row, with one line
saying which limit and which option raises it.

Each test runs the command as a real process and reads its output as it comes. The
answers are SPARQL ``VALUES`` cross products, so their size is known in advance."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyoxigraph as ox
import pytest

from karabakh_kg.server.sparql.protocol import QueryJob, run_job

NUMBERS = " ".join(str(i) for i in range(200))
PAD_LENGTH = 2000
PAD = "x" * PAD_LENGTH
HEADER = b"a,b,c,pad\r\n"
MANY_ROWS = (
    f"SELECT ?a ?b ?c ?pad WHERE {{ VALUES ?a {{ {NUMBERS} }} VALUES ?b {{ {NUMBERS} }} "
    f'VALUES ?c {{ {NUMBERS} }} BIND("{PAD}" AS ?pad) }}'
)
"""8 million rows of about 2 KB each: no run here reads them all."""
STREAMED_ROWS = 30_000
"""About 60 MB of CSV."""
NO_CAPS = ("--max-rows", "100000000", "--max-bytes", "100000000000")
SELECT_ALL = "SELECT ?s ?o WHERE { ?s ?p ?o } ORDER BY ?s"
CONSTRUCT_ALL = "CONSTRUCT WHERE { ?s ?p ?o }"


@dataclass
class Run:
    """What one ``query`` process wrote, and how much memory it held at most."""

    code: int
    head: bytes
    """The first chunk read from its standard output."""
    running_at_first_output: bool
    size: int
    tail: bytes
    """The last 100 KB of its standard output."""
    stderr: str
    peak_kb: int
    """VmHWM of the command's process (its own peak resident memory, not its worker's)."""
    rows: int = field(default=0)


def peak_kb(pid: int) -> int:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    found = re.search(r"VmHWM:\s+(\d+) kB", status)
    return int(found.group(1)) if found else 0


def run_query(query: str, *options: str) -> Run:
    """Run ``karabakh-kg query --format csv`` and read its output incrementally."""
    command = [sys.executable, "-m", "karabakh_kg.server", "query", "--no-infer"]
    process = subprocess.Popen(
        [*command, "--format", "csv", *options, query],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert process.stdout is not None and process.stderr is not None
    head, tail, size, rows, peak = b"", b"", 0, 0, 0
    running = False
    carry = b""  # a line end split between two reads
    while True:
        data = os.read(process.stdout.fileno(), 1 << 20)  # what has arrived
        if not data:
            break
        if not head:
            head, running = data, process.poll() is None
        size += len(data)
        rows += (carry + data).count(b"\r\n")
        carry = data[-1:] if data.endswith(b"\r") else b""
        tail = (tail + data)[-100_000:]
        peak = max(peak, peak_kb(process.pid))
    stderr = process.stderr.read().decode()
    code = process.wait(timeout=60)
    return Run(code, head, running, size, tail, stderr, peak, rows - 1)


def assert_one_error_line(run: Run, *words: str) -> None:
    assert run.code != 0
    assert run.stderr.startswith("error: ") and run.stderr.count("\n") == 1, run.stderr
    assert "Traceback" not in run.stderr
    for word in words:
        assert word in run.stderr, run.stderr


def assert_complete_rows(run: Run) -> None:
    """The output ends where a row ends, and its last rows are whole rows of the query."""
    assert run.head.startswith(HEADER)
    assert run.tail.endswith(b"\r\n")
    last_rows = run.tail.split(b"\r\n")[1:-1]  # the first piece may be a row's end
    assert last_rows
    for row in csv.reader(io.StringIO(b"\r\n".join(last_rows).decode())):
        assert len(row) == 4 and row[3] == PAD, row[:3]


@pytest.fixture(scope="module")
def row_capped() -> Run:
    """A run that stops at a row cap of 1,000: also the command's memory with a small
    answer, against which the streamed run is measured."""
    return run_query(MANY_ROWS, "--max-rows", "1000")


def test_rows_stream_out_while_the_query_runs_in_flat_memory(row_capped: Run) -> None:
    # the longest time allowed: on a loaded machine 60 MB may take longer than the default
    run = run_query(f"{MANY_ROWS} LIMIT {STREAMED_ROWS}", *NO_CAPS, "--timeout", "30")
    assert run.code == 0, run.stderr
    assert run.running_at_first_output
    assert run.head.startswith(HEADER)
    assert run.rows == STREAMED_ROWS
    answer_kb = run.size // 1024
    assert answer_kb > 55_000
    # Holding the answer would add its size (at least) to the command's memory.
    assert row_capped.peak_kb > 0
    assert run.peak_kb - row_capped.peak_kb < answer_kb // 4, (run.peak_kb, row_capped.peak_kb)


def test_a_row_cap_ends_the_stream_after_the_last_row_it_allows(row_capped: Run) -> None:
    assert_one_error_line(row_capped, "more than 1000 rows", "--max-rows")
    assert row_capped.rows == 1000
    assert_complete_rows(row_capped)


def test_a_byte_cap_ends_the_stream_after_a_complete_row() -> None:
    run = run_query(MANY_ROWS, "--max-bytes", "500000")
    assert_one_error_line(run, "larger than 500000 bytes", "--max-bytes")
    assert 400_000 < run.size <= 500_000
    assert_complete_rows(run)


def test_the_time_limit_covers_the_whole_stream() -> None:
    """Rows come out until the time limit stops the query; what came out stays whole rows."""
    run = run_query(MANY_ROWS, "--timeout", "1.5", *NO_CAPS)
    assert_one_error_line(run, "stopped after 1.5 s", "--timeout")
    assert run.rows > 0
    assert_complete_rows(run)


# -- the worker's side: chunks as the answer is written ------------------------------------


@pytest.fixture(scope="module")
def store() -> ox.Store:
    store = ox.Store()
    p = ox.NamedNode("http://e/p")
    store.extend(
        ox.Quad(ox.NamedNode(f"http://e/s{i}"), p, ox.Literal(f'line {i}\nnext, "quoted"'))
        for i in range(3000)
    )
    return store


def streamed(store: ox.Store, query: str, **job: Any) -> tuple[list[bytes], tuple[Any, ...]]:
    chunks: list[bytes] = []
    settings = {"max_rows": 100_000, "max_bytes": 10_000_000, "chunk_bytes": 4096, **job}
    answer = run_job(store, QueryJob(query, **settings).to_dict(), emit=chunks.append)
    return chunks, answer


@pytest.mark.parametrize(
    ("query", "fmt"),
    [(SELECT_ALL, {"results_format": name}) for name in ("json", "xml", "csv", "tsv")]
    + [(CONSTRUCT_ALL, {"graph_format": name}) for name in ("turtle", "ntriples", "trig")],
)
def test_a_streamed_answer_is_the_same_document_in_bounded_chunks(
    store: ox.Store, query: str, fmt: dict[str, str]
) -> None:
    chunks, answer = streamed(store, query, **fmt)
    whole = run_job(store, QueryJob(query, max_rows=100_000, **fmt).to_dict())
    assert answer[0] == whole[0] == "ok"
    assert len(chunks) > 10 and max(map(len, chunks)) <= 4096
    assert b"".join(chunks) + answer[3] == whole[3]


def test_a_row_cap_on_the_way_leaves_a_complete_document(store: ox.Store) -> None:
    chunks, answer = streamed(store, SELECT_ALL, results_format="json", max_rows=1000)
    assert answer == ("error", "too-many-rows", "1000")
    document = json.loads(b"".join(chunks))
    assert len(document["results"]["bindings"]) == 1000


def test_a_byte_cap_on_the_way_leaves_whole_triples(store: ox.Store) -> None:
    chunks, answer = streamed(store, CONSTRUCT_ALL, graph_format="ntriples", max_bytes=50_000)
    assert answer == ("error", "too-large", "50000")
    sent = b"".join(chunks)
    assert 40_000 < len(sent) <= 50_000
    triples = list(ox.parse(sent, format=ox.RdfFormat.N_TRIPLES))
    assert len(triples) == sent.count(b"\n")
