"""One way to stop the command line with a one-line message and a non-zero exit."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import NoReturn


def fail(message: str, code: int = 1) -> NoReturn:
    """Print ``error: message`` on standard error, on one line (a message's line breaks,
    such as those of the SPARQL parser's list of what it expected, become spaces), and exit
    with ``code``."""
    import typer  # here: the fast path of ``query`` runs without typer until it fails

    one_line = " ".join(part.strip() for part in message.strip().splitlines())
    typer.echo(f"error: {one_line}", err=True)
    raise typer.Exit(code)


@contextmanager
def unreadable_files() -> Iterator[None]:
    """Turn a file that cannot be read (missing, a folder, not permitted) into one line."""
    try:
        yield
    except FileNotFoundError as error:
        fail(f"missing file: {error.filename or error}")
    except IsADirectoryError as error:
        fail(f"{error.filename} is a folder, not a data file")
    except OSError as error:
        fail(f"cannot read {error.filename or 'a data file'}: {error.strerror or error}")
