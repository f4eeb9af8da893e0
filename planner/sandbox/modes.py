"""The sandbox's closed vocabularies: how solutions are forked and what a limit counts.

A module of its own, without numpy, so that the command line can type its options with
these enums without loading the executor.
"""

from __future__ import annotations

import enum


class SandboxMode(enum.StrEnum):
    """How solutions are forked: ``fast``, one process per solution (its tests share the
    module state); ``strict``, one process per (solution, test) pair."""

    FAST = "fast"
    STRICT = "strict"


class Clock(enum.StrEnum):
    """What a time limit counts: ``wall`` time, or the process's ``cpu`` time (verdicts
    that do not depend on the machine's load)."""

    WALL = "wall"
    CPU = "cpu"
