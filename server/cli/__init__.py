"""The ``karabakh-kg`` command line: one typer app, commands registered per feature.

Each feature's module is imported when one of its commands runs (or for ``--help``), not
before, so a command pays only for the imports it needs (:class:`~.root.LazyCommands`). The
typer app itself is built in :mod:`.root`, imported by :func:`main` unless the command line
is one of ``query``'s usual forms, which :func:`.query.fast_path` runs without typer, or of
``serve``'s, which :func:`.serve.fast_path` runs without typer.
"""

from __future__ import annotations

import sys
from typing import Any

MODULES = ("data", "reasoning", "serve_command", "store", "graph", "link", "analyst", "disputes")
"""The modules of ``karabakh_kg.server.cli`` whose ``register(app)`` adds commands."""
COMMANDS = {
    **dict.fromkeys(("validate", "query", "stats"), "data"),
    **dict.fromkeys(("explain", "reason"), "reasoning"),
    "serve": "serve_command",
    **dict.fromkeys(("export-updates", "publish", "reason-in-engine"), "store"),
    **dict.fromkeys(
        ("neighbours", "path", "centrality", "communities", "network", "export"), "graph"
    ),
    "link": "link",
    **dict.fromkeys(("events", "timeline", "geo"), "analyst"),
    **dict.fromkeys(("disputes", "perspectives"), "disputes"),
}
"""Which module registers each command, so only that one is imported to run it; a name not
listed here loads every module (``tests/test_startup.py`` checks the table)."""


def __getattr__(name: str) -> Any:
    """``app`` (the typer app) and the rest of :mod:`.root`, imported on first use."""
    if name in {"app", "LazyCommands", "version"}:
        from karabakh_kg.server.cli import root

        return getattr(root, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def main() -> None:
    """Entry point of the console script."""
    if sys.stdout is None:  # started with it closed (``>&-``): fail now, not at a write
        print("error: standard output is closed: there is nowhere to write", file=sys.stderr)
        sys.exit(1)
    arguments = sys.argv[1:]
    if arguments[:1] == ["query"]:  # only then: the module imports the SPARQL reading (lark)
        from karabakh_kg.server.cli.query import fast_path

        if fast_path(arguments):
            return
    elif arguments[:1] == ["serve"]:
        from karabakh_kg.server.cli.serve import fast_path as serve_fast_path

        if serve_fast_path(arguments):
            return
    from karabakh_kg.server.cli.root import app

    app()


if __name__ == "__main__":
    main()
