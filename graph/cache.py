"""The reasoned store cached on disk, so a command or a server starts without reasoning.

Reasoning the curated graph (the closure, the support of every derived triple, the
perspective graphs) costs far more than reading its result back, and every ``karabakh-kg``
command used to pay it. :func:`load_reasoned` keeps the whole reasoned store, once per
data version, as one N-Quads file in :func:`cache_folder` and, on the next start, loads it
instead of reasoning; the reasoner itself (for explanations, perspectives, the network view,
updates) is then built on first use from the stored graphs
(:func:`defer_reasoner`).

Why an entry can be trusted:

* its key is the SHA-256 of the data version (``kg.version``: the ontology, the rules, the
  curated files, the Wikidata file), of the source of the code that writes the store (the
  reasoning package, the store layout, this module), of pyoxigraph's version and of
  :data:`FORMAT`, so an edited file, an upgrade of the code or another engine version never
  reads an older closure;
* the file starts with a header line naming that key, the payload's SHA-256 and its number
  of quads; an entry whose header, key or checksum does not match, which does not parse or
  which does not hold as many quads as it says, is ignored (and replaced by a fresh one);
* entries are written with :func:`karabakh_kg.graph.files.write_atomic`, so two processes
  racing or a crash leave either the old file, or a whole new one, never half of one.

Our own code rather than a caching library (``diskcache``, ``joblib.Memory``): the value is a
pyoxigraph store, which neither can pickle, and what needs care is the key and the check,
which would be ours anyway. At most :data:`KEEP` entries are kept, the least recently used
removed first.

Settings: ``KARABAKH_KG_CACHE_DIR`` (the cache root, shared with the Wikidata answers; default
the user cache folder, ``~/.cache/karabakh-kg`` on Linux) and ``KARABAKH_KG_REASONING_CACHE``
(``off`` to disable); ``karabakh-kg --cache-dir DIR`` and ``karabakh-kg --no-cache`` set them
for one command.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import pyoxigraph as ox

from karabakh_kg.graph.cache_folder import cache_folder, code_version
from karabakh_kg.graph.dataset import KnowledgeGraph, content_hash, input_files
from karabakh_kg.graph.files import write_atomic

if TYPE_CHECKING:
    from karabakh_kg.graph.reasoning import ReasoningReport

FORMAT = "karabakh-kg reasoned store 1"
"""The layout of an entry; changing it makes every older entry unreadable."""
KEEP = 4
"""Entries kept (one per data version); older ones are removed when a new one is written."""
SUFFIX = ".nq"
HEADER_START = b"# "


def entry_key(data_version: str) -> str:
    """The key of the entry for ``data_version`` with this code."""
    return hashlib.sha256(f"{FORMAT}\0{data_version}\0{code_version()}".encode()).hexdigest()


class ReasonedCache:
    """The reasoned stores kept in one folder, one file per key."""

    def __init__(self, folder: Path, keep: int = KEEP) -> None:
        self.folder = Path(folder)
        self.keep = keep

    def path(self, key: str) -> Path:
        """The file of the entry ``key``."""
        return self.folder / f"{key}{SUFFIX}"

    def read(self, key: str) -> ox.Store | None:
        """The store kept under ``key``, or None when there is none or it cannot be trusted
        (another key, a wrong checksum or count, a payload that does not parse)."""
        path = self.path(key)
        try:
            data = path.read_bytes()
        except OSError:
            return None
        head, newline, payload = data.partition(b"\n")
        if not newline or not head.startswith(HEADER_START):
            return None
        try:
            header = json.loads(head[len(HEADER_START) :])
            trusted = (
                isinstance(header, dict)
                and header.get("format") == FORMAT
                and header.get("key") == key
                and header.get("sha256") == hashlib.sha256(payload).hexdigest()
            )
            quads = int(header.get("quads", -1)) if trusted else -1
        except (ValueError, TypeError):
            return None
        if not trusted:
            return None
        store = ox.Store()
        try:  # lenient: the checksum says these are the bytes written, no need to check IRIs
            store.load(input=payload, format=ox.RdfFormat.N_QUADS, lenient=True)
        except (SyntaxError, ValueError, OSError):
            return None
        if len(store) != quads:
            return None
        with contextlib.suppress(OSError):
            os.utime(path)  # recently used: kept longest
        return store

    def write(self, key: str, store: ox.Store) -> None:
        """Keep ``store`` under ``key`` (atomically), then drop the oldest entries. A cache
        that cannot be written (read-only folder, full disk) is skipped, never an error."""
        payload = store.dump(format=ox.RdfFormat.N_QUADS)
        assert isinstance(payload, bytes)
        header = {
            "format": FORMAT,
            "key": key,
            "sha256": hashlib.sha256(payload).hexdigest(),
            "quads": len(store),
        }
        line = HEADER_START + json.dumps(header, sort_keys=True).encode() + b"\n"
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            write_atomic(self.path(key), line + payload)
        except OSError:
            return
        self.prune()

    def prune(self) -> None:
        """Remove all but the :attr:`keep` most recently used entries."""
        entries = []
        for path in self.folder.glob(f"*{SUFFIX}"):
            with contextlib.suppress(OSError):
                entries.append((path.stat().st_mtime, path))
        entries.sort(reverse=True)
        for _, path in entries[self.keep :]:
            with contextlib.suppress(OSError):
                path.unlink()


def reasoned_cache(environ: Mapping[str, str] | None = None) -> ReasonedCache | None:
    """The cache the settings name (``KARABAKH_KG_CACHE_DIR``, ``KARABAKH_KG_REASONING_CACHE``),
    or None when it is off."""
    folder = cache_folder(environ)
    return ReasonedCache(folder) if folder is not None else None


def defer_reasoner(kg: KnowledgeGraph) -> None:
    """Give ``kg``, whose store holds the graphs :func:`karabakh_kg.graph.reasoning.materialize`
    wrote, its reasoner on first use (:func:`karabakh_kg.graph.reasoning.attach`, which
    writes nothing), so that a start which never needs it neither imports nor builds it."""

    def build() -> None:
        from karabakh_kg.graph import reasoning

        reasoning.attach(kg)

    kg.views.defer(build)


def load_reasoned(
    cache: ReasonedCache, data_dir: Path | None = None, *, wikidata: Path | None = None
) -> tuple[KnowledgeGraph, ReasoningReport | None]:
    """The reasoned knowledge graph from ``cache``, or loaded, reasoned and kept there.

    The report is None when the store came from the cache: its reasoner is then built on
    first use (:func:`defer_reasoner`).
    """
    files = input_files(data_dir) + ([wikidata] if wikidata else [])
    version = content_hash(files)
    key = entry_key(version)
    store = cache.read(key)
    if store is not None:
        kg = KnowledgeGraph(store=store, version=version, files=files)
        defer_reasoner(kg)
        return kg, None
    from karabakh_kg.graph import reasoning

    kg = KnowledgeGraph.from_files(data_dir, wikidata=wikidata)
    report = reasoning.materialize(kg)
    cache.write(key, kg.store)
    return kg, report
