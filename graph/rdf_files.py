"""A knowledge graph over any RDF files, not only the curated data.

``karabakh-kg reason FILE...`` and ``karabakh-kg serve --data FILE...`` read users' own data
(Turtle, TriG, N-Triples, N-Quads, RDF/XML, JSON-LD: the format named by each file's
extension, through :mod:`karabakh_kg.graph.formats`; ``.gz`` files are read through gzip)
into the store layout of :mod:`karabakh_kg.graph.dataset`:

* every triple of every file is asserted: it goes into :data:`ASSERTED`, whatever graph the
  file puts it in (a triple of a named graph also stays in that named graph, so ``GRAPH``
  queries see it); nothing goes into the provenance graph, since such data carries no
  evidence units of ours;
* the ontology (ours unless others are given; they replace ours) goes into :data:`ONTOLOGY`,
  with the domain rules when ``rules`` is true.

Triple formats are parsed by pyoxigraph straight into the store (no Python object per triple).
"""

from __future__ import annotations

import contextlib
import errno
import gzip
import os
import zlib
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pyoxigraph as ox

from karabakh_kg.graph import formats
from karabakh_kg.graph.dataset import ASSERTED, ONTOLOGY, DataError, KnowledgeGraph, content_hash
from karabakh_kg.ontology import vocab


def rdf_format(path: Path) -> ox.RdfFormat:
    """The RDF syntax of a file by its extension, or a :class:`DataError` naming the file."""
    try:
        syntax = formats.for_file(path).rdf_format
    except ValueError as error:
        raise DataError(str(error)) from None
    assert syntax is not None  # for_file looks among the graph formats only
    return syntax


def load_file(
    store: ox.Store, path: Path, graph: ox.NamedNode, *, keep_graphs: bool = False
) -> None:
    """Parse ``path`` into ``graph`` of ``store``, whatever graph the file puts a triple in;
    with ``keep_graphs``, a triple of a named graph goes into that graph too.

    A syntax error is a :class:`DataError` naming the file and the line; an unreadable file
    raises the ``OSError`` (``server.cli.errors.unreadable_files`` words it). Triple formats
    are parsed by pyoxigraph straight into the store; datasets are parsed once and each quad
    placed as it comes (cheaper than loading the graphs, then copying them with SPARQL, and
    the graphs are not held twice unless ``keep_graphs``).
    """
    syntax = check_file(path)
    _refuse_deep_json_ld(path, syntax)
    with _reading(path) as where:
        if not syntax.supports_datasets:
            store.load(**where, format=syntax, to_graph=graph)
            return
        # a file's blank node labels are its own (RDF 1.1 Concepts, 3.5): renamed per file
        quads = ox.parse(**where, format=syntax, rename_blank_nodes=True)
        if keep_graphs:
            store.extend(_in_graph_and_own(quads, graph))
        else:
            store.extend(ox.Quad(q.subject, q.predicate, q.object, graph) for q in quads)


def read_triples(path: Path) -> Iterator[ox.Quad]:
    """Every statement of ``path`` as it is parsed, whatever its graph, without a store (the
    errors of :func:`load_file`). Blank nodes are renamed apart per file, as
    :func:`load_file` stores them."""
    syntax = check_file(path)
    _refuse_deep_json_ld(path, syntax)
    with _reading(path) as where:
        yield from ox.parse(**where, format=syntax, rename_blank_nodes=True)


@contextlib.contextmanager
def _reading(path: Path) -> Iterator[dict[str, Any]]:
    """Where to read ``path`` from (through gzip for ``.gz``), its parse errors worded as
    :func:`load_file` says."""
    try:
        with contextlib.ExitStack() as opened:
            source = opened.enter_context(gzip.open(path)) if formats.is_gzip(path) else None
            yield {"path": path} if source is None else {"input": source}
    except SyntaxError as error:
        raise DataError(f"{path}: {error.msg}") from None
    except (EOFError, zlib.error, gzip.BadGzipFile) as error:
        raise DataError(f"{path}: not whole gzip data ({error})") from None
    except OSError as error:  # pyoxigraph's do not name the file
        raise OSError(error.errno, error.strerror or str(error), str(path)) from None


def _in_graph_and_own(quads: Iterator[ox.Quad], graph: ox.NamedNode) -> Iterator[ox.Quad]:
    for q in quads:
        if not isinstance(q.graph_name, ox.DefaultGraph):
            yield q
        yield ox.Quad(q.subject, q.predicate, q.object, graph)


def check_file(path: Path) -> ox.RdfFormat:
    """The RDF syntax of ``path``, once it is known to be a file (which is said first: a
    missing ``/data`` is missing, whatever its name) with a known extension."""
    if path.is_dir():
        raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), str(path))
    if not path.exists():
        raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), str(path))
    return rdf_format(path)


def _refuse_deep_json_ld(path: Path, syntax: ox.RdfFormat) -> None:
    """:func:`formats.refuse_deep_json_ld`, its refusal a :class:`DataError`; a file that
    cannot be read or unzipped is worded as :func:`load_file` words it."""
    with _reading(path):
        try:
            formats.refuse_deep_json_ld(path, syntax)
        except ValueError as error:
            raise DataError(str(error)) from None


def load_files(
    data: Sequence[Path],
    *,
    ontologies: Sequence[Path] | None = None,
    rules: bool = True,
    keep_graphs: bool = True,
) -> KnowledgeGraph:
    """A new in-memory knowledge graph of ``data`` (all asserted) with ``ontologies`` (default:
    the project's ontology) and, if ``rules``, the project's domain rules, not reasoned.

    ``keep_graphs=False`` leaves out the data's named graphs (their triples are asserted all
    the same): less memory where only the closure's triples are wanted. The ``version`` is
    the SHA-256 of every file read, like the curated graph's.
    """
    ontology_files = list(ontologies) if ontologies else [vocab.ontology_file()]
    rule_files = [vocab.rules_file()] if rules and vocab.rules_file().exists() else []
    for path in (*data, *ontology_files):
        check_file(path)  # a missing file or a wrong extension fails before any parsing
    store = ox.Store()
    for path in data:
        load_file(store, path, ASSERTED, keep_graphs=keep_graphs)
    for path in (*ontology_files, *rule_files):
        load_file(store, path, ONTOLOGY)
    files = [*data, *ontology_files, *rule_files]
    return KnowledgeGraph(store=store, version=content_hash(files), files=files)


def graph_size(store: ox.Store, graph: ox.NamedNode) -> int:
    """The number of triples in one graph of ``store``, counted by the engine."""
    solutions = store.query(f"SELECT (COUNT(*) AS ?n) {{ GRAPH <{graph.value}> {{ ?s ?p ?o }} }}")
    assert isinstance(solutions, ox.QuerySolutions)
    return int(next(iter(solutions))["n"].value)
