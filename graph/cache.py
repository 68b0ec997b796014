"""The reasoned store cached on disk, so a command or a server starts without reasoning.

Reasoning the curated graph (the closure, the support of every derived triple, the
perspective graphs) costs far more than reading its result back, and every ``karabakh-kg``
command used to pay it. :func:`load_reasoned` keeps the whole reasoned store, once per
data version, as one N-Quads file in :func:`cache_folder` and, on the next start, loads it
instead of reasoning; the reasoner itself (for explanations, perspectives, the network view,
updates) is then built on first use from the stored graphs
(:func:`defer_reasoner`).

A start that never changes the store (``karabakh-kg query``, and ``serve`` without updates)
need not even parse that file: with ``read_only=True`` the entry also keeps the store as
pyoxigraph writes it on disk
(``KEY.store/``, RocksDB), which opens read-only in a few milliseconds whatever its size and
is shared through the page cache by every process that opens it. Reading it back into Python
objects is slower than from memory (every term is looked up on disk), so commands that walk
the graph in Python load the N-Quads file into memory instead (a read-only server's pages
read the on-disk store, a few terms a page).

Why an entry can be trusted:

* its key is the SHA-256 of the data version (``kg.version``: the ontology, the rules, the
  curated files, the Wikidata file), of the source of the code that writes the store (the
  reasoning package, the store layout, this module), of pyoxigraph's version and of
  :data:`FORMAT`, so an edited file, an upgrade of the code or another engine version never
  reads an older closure;
* the file starts with a header line naming that key, the payload's SHA-256 and its number
  of quads; an entry whose header, key or checksum does not match, which does not parse or
  which does not hold as many quads as it says, is ignored (and replaced by a fresh one);
* the on-disk store's folder holds a manifest (:data:`MANIFEST`) naming its key and the
  size and CRC-32 of every file the engine reads; a folder whose manifest is missing or
  names another key, with a file missing, added, of another size or checksum, is ignored
  and built again (a checksum detects damage, which is what can happen to a cache: anyone
  who could forge an entry could as well edit the data files);
* reading and checksumming every file at every start cost 20-60 ms of a ``query``, so the
  manifest also keeps each file's identity as the file system reports it when its checksum
  was last verified (device, inode, size, modification and status-change times in
  nanoseconds, :func:`_identity`): while every file still has that identity, none was
  written since (any write, truncation, replacement or ``touch`` sets the status-change
  time to the clock's, which no user can set back), so the checksums are not read again;
  a file whose identity differs (a copied folder, an edited file) is checksummed, and the
  new identities are written to the manifest once they match. What the file system does
  not see (a disk flipping bits under it) is left to the engine's own block checksums,
  which it verifies on each read;
* entries are written with :func:`karabakh_kg.graph.files.write_atomic`, and the on-disk
  store in a temporary folder renamed into place once whole, so two processes racing or a
  crash leave either the old entry, or a whole new one, never half of one.

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
import gc
import hashlib
import json
import os
import shutil
import tempfile
import time
import zlib
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import pyoxigraph as ox

from karabakh_kg.graph.cache_folder import cache_folder, code_version
from karabakh_kg.graph.dataset import KnowledgeGraph, content_hash, input_files
from karabakh_kg.graph.files import sync_folder, write_atomic

if TYPE_CHECKING:
    from karabakh_kg.graph.reasoning import ReasoningReport

FORMAT = "karabakh-kg reasoned store 1"
"""The layout of an entry; changing it makes every older entry unreadable."""
KEEP = 4
"""Entries kept (one per data version); older ones are removed when a new one is written."""
SUFFIX = ".nq"
HEADER_START = b"# "
STORE_FORMAT = "karabakh-kg reasoned store on disk 1"
"""The layout of an on-disk entry (``KEY.store/``): the engine's files and :data:`MANIFEST`."""
STORE_SUFFIX = ".store"
WORKERS_SUFFIX = ".workers"
"""The query workers' shared on-disk copy of a served store (``KEY.workers/``, keyed by
:func:`workers_key`)."""
WORKERS_FORMAT = "karabakh-kg query workers' store 1"
"""The layout of the workers' copy (``server/sparql/worker.py: build_shared_store``);
changing that layout means changing this."""
MANIFEST = "karabakh-kg-entry.json"
STALE_SECONDS = 3600
"""Age after which a temporary folder left by a build that crashed is removed."""
UNCHECKED = ("LOCK", "LOG")
"""Files of the engine's folder that hold no data (its lock, its informational log, which
the engine may append to), so they are not in the manifest."""


def entry_key(data_version: str) -> str:
    """The key of the entry for ``data_version`` with this code."""
    return hashlib.sha256(f"{FORMAT}\0{data_version}\0{code_version()}".encode()).hexdigest()


def workers_key(data_version: str, union: list[str], quads: int) -> str:
    """The key of the query workers' on-disk copy of a served store: its data version
    (``kg.version``), the number of its quads (which tells a reasoned store from the same
    files not reasoned), the graphs whose union its default graph holds, and the code that
    lays it out (:func:`entry_key`'s), so that a copy is reused only for the same content."""
    parts = (WORKERS_FORMAT, entry_key(data_version), *union, str(quads))
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()


class ReasonedCache:
    """The reasoned stores kept in one folder, one file per key."""

    def __init__(self, folder: Path, keep: int = KEEP) -> None:
        self.folder = Path(folder)
        self.keep = keep

    def path(self, key: str) -> Path:
        """The file of the entry ``key``."""
        return self.folder / f"{key}{SUFFIX}"

    def store_path(self, key: str) -> Path:
        """The folder of the entry ``key``'s on-disk store."""
        return self.folder / f"{key}{STORE_SUFFIX}"

    def open_read_only(self, key: str) -> ox.Store | None:
        """The on-disk store kept under ``key``, opened read-only, or None when there is none
        or it cannot be trusted (another key; a file missing, added or changed)."""
        folder = self.trusted_folder(key, STORE_SUFFIX)
        if folder is None:
            return None
        try:
            return ox.Store.read_only(str(folder))
        except OSError:
            return None

    def trusted_folder(self, key: str, suffix: str) -> Path | None:
        """The engine's folder kept under ``key`` (``KEY`` + ``suffix``: the reasoned store,
        :data:`STORE_SUFFIX`, or the query workers' copy, :data:`WORKERS_SUFFIX`), marked as
        recently used, or None when there is none or it cannot be trusted (its manifest names
        another key; a file missing, added or changed)."""
        folder = self.folder / f"{key}{suffix}"
        try:
            manifest = json.loads((folder / MANIFEST).read_bytes())
            files = manifest["files"] if isinstance(manifest, dict) else None
            if not isinstance(files, dict):
                return None
            trusted = (
                manifest.get("format") == STORE_FORMAT
                and manifest.get("key") == key
                and bool(files)
                and set(files) == set(_data_files(folder))
            )
            if trusted:
                seen = {name: _identity(folder / name) for name in files}
                if manifest.get("seen") != seen:  # written since last verified: checksums
                    trusted = all(_size_and_crc(folder / name) == files[name] for name in files)
                    if trusted:
                        _note_seen(folder, manifest, seen)
        except (OSError, ValueError, TypeError, KeyError, AttributeError):
            return None
        if not trusted:
            return None
        with contextlib.suppress(OSError):
            os.utime(folder)  # recently used: kept longest
        return folder

    def keep_folder(self, key: str, suffix: str, source: Path) -> None:
        """Keep a copy of the engine's folder ``source`` (closed, not changing) under ``key``
        (see :meth:`trusted_folder`): copied into a temporary folder, given its manifest, then
        renamed into place. Skipped, never an error, when the cache cannot be written."""
        building = self._building(key)
        if building is None:
            return
        try:
            for name in _data_files(source):
                shutil.copyfile(source / name, building / name)
            self._seal(key, building, self.folder / f"{key}{suffix}")
        except OSError:
            shutil.rmtree(building, ignore_errors=True)
        else:
            self.prune()

    def _building(self, key: str) -> Path | None:
        """A new temporary folder for an entry of ``key``, or None when the cache cannot be
        written."""
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            return Path(tempfile.mkdtemp(prefix=f".{key}.", suffix=".part", dir=self.folder))
        except OSError:
            return None

    def _seal(self, key: str, building: Path, final: Path) -> None:
        """Give the engine's folder ``building`` its manifest (size and CRC-32 of each data
        file), sync it and rename it to ``final`` (an entry there, damaged since it was not
        read, is moved aside and removed)."""
        files = {name: _size_and_crc(building / name) for name in _data_files(building)}
        for name in files:
            _fsync(building / name)
        seen = {name: _identity(building / name) for name in files}
        manifest = {"format": STORE_FORMAT, "key": key, "files": files, "seen": seen}
        write_atomic(building / MANIFEST, json.dumps(manifest, sort_keys=True))
        if final.exists():
            aside = Path(tempfile.mkdtemp(prefix=f".{key}.", suffix=".old", dir=self.folder))
            os.replace(final, aside / final.name)
            shutil.rmtree(aside, ignore_errors=True)
        os.replace(building, final)
        sync_folder(self.folder)

    def write_read_only(self, key: str, store: ox.Store) -> None:
        """Keep ``store`` under ``key`` as an on-disk store (built in a temporary folder,
        renamed into place once whole and checked). Skipped, never an error, when the cache
        cannot be written."""
        payload = store.dump(format=ox.RdfFormat.N_QUADS)
        assert isinstance(payload, bytes)
        building = self._building(key)
        if building is None:
            return
        try:
            disk = ox.Store(str(building))
            disk.bulk_load(payload, format=ox.RdfFormat.N_QUADS)
            disk.flush()
            del disk
            gc.collect()  # the engine closes its files once the store is gone
            self._seal(key, building, self.store_path(key))
        except (OSError, ValueError, SyntaxError):
            shutil.rmtree(building, ignore_errors=True)

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
        """Remove all but the :attr:`keep` most recently used entries (a key's file and its
        on-disk store go together; a process that has one open keeps reading it)."""
        used: dict[str, float] = {}
        for path in (*self.folder.glob(f"*{SUFFIX}"), *self.folder.glob(f"*{STORE_SUFFIX}")):
            with contextlib.suppress(OSError):
                used[path.stem] = max(used.get(path.stem, 0.0), path.stat().st_mtime)
        for key in sorted(used, key=used.__getitem__, reverse=True)[self.keep :]:
            with contextlib.suppress(OSError):
                self.path(key).unlink(missing_ok=True)
            shutil.rmtree(self.store_path(key), ignore_errors=True)
        copies = sorted(
            self.folder.glob(f"*{WORKERS_SUFFIX}"),
            key=lambda path: path.stat().st_mtime if path.exists() else 0.0,
            reverse=True,
        )
        for old in copies[self.keep :]:  # keyed by their content: kept apart
            shutil.rmtree(old, ignore_errors=True)
        for left in (*self.folder.glob(".*.part"), *self.folder.glob(".*.old")):
            with contextlib.suppress(OSError):  # a build that crashed, over an hour ago
                if left.is_dir() and time.time() - left.stat().st_mtime > STALE_SECONDS:
                    shutil.rmtree(left, ignore_errors=True)


def _data_files(folder: Path) -> list[str]:
    """The files of an engine's folder that hold data (all but :data:`UNCHECKED` ones, the
    manifest and a new manifest being written by another process, :func:`_note_seen`)."""
    return sorted(
        path.name
        for path in folder.iterdir()
        if path.name != MANIFEST and not path.name.startswith((*UNCHECKED, f".{MANIFEST}."))
    )


def _size_and_crc(path: Path) -> list[int]:
    data = path.read_bytes()
    return [len(data), zlib.crc32(data)]


def _identity(path: Path) -> list[int]:
    """What the file system says of the file ``path`` without reading it: device, inode,
    size, modification and status-change times (ns). A write of any kind changes the last."""
    status = path.stat()
    return [
        status.st_dev,
        status.st_ino,
        status.st_size,
        status.st_mtime_ns,
        status.st_ctime_ns,
    ]


def _note_seen(folder: Path, manifest: dict[str, object], seen: dict[str, list[int]]) -> None:
    """Keep ``seen``, the identities of the files just verified, in ``folder``'s manifest,
    so the next start need not read them (skipped when the folder cannot be written)."""
    with contextlib.suppress(OSError):
        write_atomic(folder / MANIFEST, json.dumps({**manifest, "seen": seen}, sort_keys=True))


def _fsync(path: Path) -> None:
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


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
    cache: ReasonedCache,
    data_dir: Path | None = None,
    *,
    wikidata: Path | None = None,
    read_only: bool = False,
) -> tuple[KnowledgeGraph, ReasoningReport | None]:
    """The reasoned knowledge graph from ``cache``, or loaded, reasoned and kept there.

    The report is None when the store came from the cache: its reasoner is then built on
    first use (:func:`defer_reasoner`). ``read_only``: the store may be the entry's on-disk
    store opened read-only (for callers that never change it; a change raises), which is
    kept for the next start if the entry did not hold it yet.
    """
    files = input_files(data_dir) + ([wikidata] if wikidata else [])
    version = content_hash(files)
    key = entry_key(version)
    if read_only:
        on_disk = cache.open_read_only(key)
        if on_disk is not None:
            return _from_cache(on_disk, version, files), None
    store = cache.read(key)
    report = None
    if store is not None:
        kg = _from_cache(store, version, files)
    else:
        from karabakh_kg.graph import reasoning

        kg = KnowledgeGraph.from_files(data_dir, wikidata=wikidata)
        report = reasoning.materialize(kg)
        cache.write(key, kg.store)
    if read_only:
        cache.write_read_only(key, kg.store)  # for the next start
    return kg, report


def _from_cache(store: ox.Store, version: str, files: list[Path]) -> KnowledgeGraph:
    kg = KnowledgeGraph(store=store, version=version, files=files)
    defer_reasoner(kg)
    return kg
