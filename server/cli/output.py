"""What the commands print as tables: one renderer (rich) for every command.

Cells are plain text (never rich markup, so a quote with ``[brackets]`` prints as it is),
never wrapped (a long quote stays one line, for ``grep`` and ``cut``), and lines carry no
trailing spaces. The header is underlined with ``-`` so the output stays ASCII apart from
the data itself.
"""

from __future__ import annotations

import functools
import io
from collections.abc import Sequence
from enum import StrEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.box import Box


class TableOrJson(StrEnum):
    """The ``--format`` of commands that print a table for people or JSON for programs."""

    table = "table"
    json = "json"


@functools.cache
def rule_under_header() -> Box:
    """No borders; a ``-`` rule under the header, with the columns' gap left blank."""
    from rich.box import Box

    return Box("    \n    \n -  \n    \n    \n    \n    \n    \n", ascii=True)


def render_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Rows as aligned columns under ``header``, two spaces apart (rich is imported on
    the first table: a command that prints none does not pay for it)."""
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    table = Table(box=rule_under_header(), show_edge=False, pad_edge=False, padding=(0, 1, 0, 0))
    for name in header:
        table.add_column(Text(name), no_wrap=True, overflow="ignore")
    for row in rows:
        table.add_row(*(Text(str(cell).replace("\n", " ")) for cell in row))
    widest = sum(max([len(h), *(len(str(r[i])) for r in rows)]) for i, h in enumerate(header))
    buffer = io.StringIO()
    console = Console(
        file=buffer,
        width=widest + 4 * len(header) + 8,
        color_system=None,
        force_terminal=False,
        highlight=False,
        emoji=False,
        legacy_windows=False,
    )
    console.print(table)
    return "\n".join(line.rstrip() for line in buffer.getvalue().rstrip("\n").split("\n"))
