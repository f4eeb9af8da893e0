"""The estimator: per-problem a, g, h, c of stage options, and accuracy and cost of plans.

docs/method.md §3. For one model and option o, per problem p: a = P(accept), g = P(accept
and the chosen solution is correct), h = P(chosen solution correct), c = E[cost], over
which k recorded samples and t recorded test generations the model would have produced.
One module per concern:

* :mod:`.sampling` — the :class:`Sampling` value object (random subsets with R replicates
  and a seed, or the paper's loops) and the problem selection;
* :mod:`.draws` — which samples and test generations each replicate uses (common random
  numbers), and their pass matrices;
* :mod:`.costs` — the one stage-cost function;
* :mod:`.prefix` — the fast path: every (k, t, l, rule) of a grid scored from one stack of
  full matrices by prefix sums;
* :mod:`.replicates` — the generic path: one option on each replicate's explicit matrix;
* :mod:`.outcomes` — a, g, h, c of a model's options (greedy exact, sampled Monte Carlo);
* :mod:`.tables` and :mod:`.cache` — option tables for a grid, and their disk cache;
* :mod:`.simulate` — whole-replicate simulation (test sharing, the paper's loops);
* :mod:`.plans` — a plan's estimate with bootstrap intervals.

The cascade formula is :func:`planner.cascade.cascade_arrays`, the acceptance test
:func:`planner.scoring.accepts`.
"""

from ..cascade import cascade_arrays
from .cache import CACHE_ENTRIES, ESTIMATOR_VERSION, cache_dir
from .draws import Draws, draw_subsets
from .outcomes import StageOutcomes, stage_outcomes
from .plans import PlanEstimate, estimate_plan
from .sampling import DEFAULT_REPLICATES, EstimateError, Sampling, problem_index
from .simulate import PlanSimulator, Simulation, simulate_plan
from .tables import feasible_options, option_tables, unsupported

__all__ = [
    "CACHE_ENTRIES",
    "DEFAULT_REPLICATES",
    "ESTIMATOR_VERSION",
    "Draws",
    "EstimateError",
    "PlanEstimate",
    "PlanSimulator",
    "Sampling",
    "Simulation",
    "StageOutcomes",
    "cache_dir",
    "cascade_arrays",
    "draw_subsets",
    "estimate_plan",
    "feasible_options",
    "option_tables",
    "problem_index",
    "simulate_plan",
    "stage_outcomes",
    "unsupported",
]
