"""A knowledge graph over any RDF files, not only the curated data.

``karabakh-kg reason FILE...`` and ``karabakh-kg serve --data FILE...`` read users' own data
(Turtle, TriG, N-Triples, N-Quads, RDF/XML, JSON-LD: the format named by each file's
extension, through :mod:`karabakh_kg.graph.formats`) into the store layout of
:mod:`karabakh_kg.graph.dataset`:

* every triple of every file is asserted: it goes into :data:`ASSERTED`, whatever graph the
  file puts it in (a triple of a named graph also stays in that named graph, so ``GRAPH``
  queries see it); nothing goes into the provenance graph, since such data carries no
  evidence units of ours;
* the ontology (ours unless others are given; they replace ours) goes into :data:`ONTOLOGY`,
  with the domain rules when ``rules`` is true.

The files are parsed by pyoxigraph straight into the store (no Python object per triple).
"""

from __future__ import annotations

import errno
import os
from collections.abc import Sequence
from pathlib import Path

import pyoxigraph as ox

from karabakh_kg.graph import formats
from karabakh_kg.graph.dataset import ASSERTED, ONTOLOGY, DataError, KnowledgeGraph, content_hash
from karabakh_kg.ontology import vocab

COPY_NAMED_GRAPHS = (
    f"INSERT {{ GRAPH <{ASSERTED.value}> {{ ?s ?p ?o }} }} "
    f"WHERE {{ GRAPH ?g {{ ?s ?p ?o }} FILTER(?g != <{ASSERTED.value}>) }}"
)
"""Every triple of the data's named graphs into the asserted graph too (run before the
ontology is loaded, so only the data's graphs are copied)."""


def rdf_format(path: Path) -> ox.RdfFormat:
    """The RDF syntax of a file by its extension, or a :class:`DataError` naming the file."""
    try:
        syntax = formats.for_file(path).rdf_format
    except ValueError as error:
        raise DataError(str(error)) from None
    assert syntax is not None  # for_file looks among the graph formats only
    return syntax


def load_file(store: ox.Store, path: Path, graph: ox.NamedNode) -> None:
    """Parse ``path`` into ``store``: its default graph into ``graph``, its named graphs as
    they are. A syntax error is a :class:`DataError` naming the file and the line; an
    unreadable file raises the ``OSError`` (``server.cli.errors.unreadable_files`` words it).
    """
    syntax = check_file(path)
    try:
        store.load(path=path, format=syntax, to_graph=graph)
    except SyntaxError as error:
        raise DataError(f"{path}: {error.msg}") from None
    except OSError as error:  # pyoxigraph's do not name the file
        raise OSError(error.errno, error.strerror or str(error), str(path)) from None


def check_file(path: Path) -> ox.RdfFormat:
    """The RDF syntax of ``path``, once it is known to be a file with a known extension."""
    syntax = rdf_format(path)
    if path.is_dir():
        raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), str(path))
    if not path.exists():
        raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), str(path))
    return syntax


def load_files(
    data: Sequence[Path],
    *,
    ontologies: Sequence[Path] | None = None,
    rules: bool = True,
) -> KnowledgeGraph:
    """A new in-memory knowledge graph of ``data`` (all asserted) with ``ontologies`` (default:
    the project's ontology) and, if ``rules``, the project's domain rules, not reasoned.

    Its ``version`` is the SHA-256 of every file read, like the curated graph's.
    """
    ontology_files = list(ontologies) if ontologies else [vocab.ontology_file()]
    rule_files = [vocab.rules_file()] if rules and vocab.rules_file().exists() else []
    for path in (*data, *ontology_files):
        check_file(path)  # a missing file or a wrong extension fails before any parsing
    store = ox.Store()
    for path in data:
        load_file(store, path, ASSERTED)
    if any(g != ASSERTED for g in store.named_graphs()):
        store.update(COPY_NAMED_GRAPHS)
    for path in (*ontology_files, *rule_files):
        load_file(store, path, ONTOLOGY)
    files = [*data, *ontology_files, *rule_files]
    return KnowledgeGraph(store=store, version=content_hash(files), files=files)


def graph_size(store: ox.Store, graph: ox.NamedNode) -> int:
    """The number of triples in one graph of ``store``, counted by the engine."""
    solutions = store.query(f"SELECT (COUNT(*) AS ?n) {{ GRAPH <{graph.value}> {{ ?s ?p ?o }} }}")
    assert isinstance(solutions, ox.QuerySolutions)
    return int(next(iter(solutions))["n"].value)
