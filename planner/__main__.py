"""``python -m planner``: the same as the ``codecascade`` command."""

from planner.cli import main

main()
