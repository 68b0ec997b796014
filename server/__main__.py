"""``python -m karabakh_kg.server``: the same as the ``karabakh-kg`` command."""

from karabakh_kg.server.cli import main

main()
