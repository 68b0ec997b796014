"""Writing files so that a reader never sees half of one.

Our own code rather than a library's: the standard recipe (a temporary file in the same folder,
flushed to disk, then renamed over the target with :func:`os.replace`) fits in a few lines, and
``check`` lets a writer read the new file back before it replaces the old one.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path


def write_atomic(
    path: Path, data: bytes | str, *, check: Callable[[Path], None] | None = None
) -> None:
    """Replace ``path`` with ``data`` (text is written as UTF-8) in one step.

    ``check`` is called with the temporary file before the rename; if it raises, ``path`` is
    left as it was. Any failure removes the temporary file and is raised.
    """
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    body = data.encode("utf-8") if isinstance(data, str) else data
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=folder)
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(body)
            out.flush()
            os.fsync(out.fileno())
        if check is not None:
            check(Path(temporary))
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
