"""Writing files so that a reader never sees half of one.

Our own code rather than a library's: the standard recipe (a temporary file in the same folder,
flushed to disk, renamed over the target with :func:`os.replace`, then the folder flushed so
the rename itself survives a crash) fits in a few lines, and ``check`` lets a writer read the
new file back before it replaces the old one. Every file the project writes goes through
:func:`write_atomic`: exports, links, and the durable store's state (its journal is a record
flushed in place, :mod:`karabakh_kg.graph.store.contributions`).
"""

from __future__ import annotations

import os
import stat
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO


def write_atomic(
    path: Path,
    data: bytes | str | Callable[[BinaryIO], None],
    *,
    check: Callable[[Path], None] | None = None,
) -> None:
    """Replace ``path`` with ``data`` (text is written as UTF-8) in one step.

    ``data`` may also be a function that writes the content to the binary file it is
    given, for content too large to hold in memory at once (a closure of millions of
    triples, serialised as it is produced).

    ``check`` is called with the temporary file before the rename; if it raises, ``path`` is
    left as it was. Any failure removes the temporary file and is raised. When this returns,
    the new content and its name are on disk (the file and its folder were fsynced).
    """
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    body = data.encode("utf-8") if isinstance(data, str) else data
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=folder)
    try:
        with os.fdopen(handle, "wb") as out:
            os.chmod(temporary, _mode_for(path))
            if callable(body):
                body(out)
            else:
                out.write(body)
            out.flush()
            os.fsync(out.fileno())
        if check is not None:
            check(Path(temporary))
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    sync_folder(folder)


def _mode_for(path: Path) -> int:
    """The permissions of the file replaced, or those ``open`` gives a new file (0o666 less
    the umask), not the owner-only ones of a temporary file."""
    try:
        return stat.S_IMODE(path.stat().st_mode)
    except OSError:
        return 0o666 & ~_umask()


def _umask() -> int:
    """The process's umask, read without setting it (``os.umask`` would change it for a
    moment under other threads); 0o022 where /proc does not tell."""
    try:
        status = Path("/proc/self/status").read_text(encoding="ascii")
    except OSError:
        return 0o022
    for line in status.splitlines():
        if line.startswith("Umask:"):
            return int(line.split()[1], 8)
    return 0o022


def sync_folder(folder: Path) -> None:
    """Flush a folder's entries (a rename, a removal) to disk; a no-op where folders cannot
    be opened (Windows)."""
    try:
        handle = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(handle)
    finally:
        os.close(handle)
