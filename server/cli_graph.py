"""Commands of this feature (registered on the root app by :mod:`karabakh_kg.server.cli`)."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add this module's commands to ``app``."""
    return None
