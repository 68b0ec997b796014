"""One way to stop the command line with a one-line message and a non-zero exit, and the
output and exits of typer for the commands that run without it (``query`` and ``serve`` on
their usual command lines: ``query.fast_path``, ``serve.fast_path``)."""

from __future__ import annotations

import sys
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


def check_length(text: str, what: str, limit: int) -> str:
    """``text`` unchanged, or a one-line exit when it is longer than ``limit`` characters,
    the server's bound for the same input (neither looked up nor echoed back whole)."""
    if len(text) > limit:
        fail(f"the {what} is {len(text)} characters long; at most {limit} are read")
    return text


@contextmanager
def one_line_usage_errors() -> Iterator[None]:
    """Turn typer's usage errors (an unknown option, a missing argument, a value its type
    refuses) into one ``error:`` line with the exit status they carry (2), instead of the
    usage text and a framed message typer prints. The help that ``no_args_is_help`` prints
    goes through whole: it is not an error."""
    from typer.exceptions import TyperException  # the base of every error typer shows

    try:
        yield
    except TyperException as error:
        if type(error).__name__ == "NoArgsIsHelpError":  # private class; typer tests the name too
            raise
        context = getattr(error, "ctx", None)
        hint = f" (see '{context.command_path} --help')" if context is not None else ""
        message = error.format_message()  # may quote a whole argument: cut it short
        if len(message) > MAX_USAGE_MESSAGE:
            message = message[:MAX_USAGE_MESSAGE] + "…"
        fail(f"{message}{hint}", getattr(error, "exit_code", 1))


MAX_USAGE_MESSAGE = 400
"""Characters of a usage error's message printed (click quotes unexpected arguments whole)."""


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


def echo(text: str, *, err: bool = False) -> None:
    """``text`` and a newline on standard output (or error), as ``typer.echo`` writes it
    (which strips terminal escapes when the output is not a terminal: typer does it, then)."""
    if "\x1b" in text:
        import typer

        typer.echo(text, err=err)
        return
    stream = sys.stderr if err else sys.stdout
    stream.write(text + "\n")
    stream.flush()


def as_typer_would(error: BaseException) -> None:
    """Raise ``error`` from a typer command, so that typer handles it as it would have from
    the command it came from: ``typer.Exit`` and ``fail`` exit with their status, Ctrl-C
    with 130, a closed pipe quietly with 1, anything else as an uncaught exception."""
    import typer

    handler = typer.Typer(add_completion=False, pretty_exceptions_enable=False)

    @handler.command()
    def command() -> None:
        raise error

    handler([], prog_name="karabakh-kg")
