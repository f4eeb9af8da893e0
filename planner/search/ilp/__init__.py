"""The integer program of docs/method.md §4.3, one program per model chain.

The derivation — chain decomposition, the linearisation, the exact reductions and the
Lagrangian bounds with their proofs — is in docs/ilp.md. One module per part:

* :mod:`.goal` — the objective's direction (most accurate within a budget, or cheapest
  reaching a target accuracy) and the incumbent;
* :mod:`.chains` — the chains of models a plan can be;
* :mod:`.bounds` — Lagrangian bounds and the reductions against the incumbent;
* :mod:`.program` — one chain's program as sparse arrays;
* :mod:`.solvers` — HiGHS (highspy) and CBC (PuLP) behind one protocol;
* :mod:`.method` — :class:`IntegerProgram`, the search method, and its one deadline.
"""

from .method import DEFAULT_WARM_START, TIME_LIMIT, IntegerProgram
from .solvers import SOLVERS

__all__ = ["DEFAULT_WARM_START", "SOLVERS", "TIME_LIMIT", "IntegerProgram"]
