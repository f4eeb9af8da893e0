"""Units: the one convention for prices and costs, and every conversion between them.

* **Prices** are in **$ per million tokens**, as providers publish them, wherever a user
  reads or writes one: ``--price MODEL=DOLLARS``, the endpoints file
  (``price_per_1m_generated``), the price table (``planner/data/prices.json``), a spec's
  ``provenance.prices_per_1m_generated`` and ``codecascade profile``. Inside the
  arithmetic (a profile's :class:`~planner.profile.ModelInfo`, the estimator's stage
  cost) a price is $ per token; profile files store that, so their bytes (and the
  fingerprints specs and caches refer to) never change.
* **Costs** are in **$ per problem** (the mean over problems of what a cascade pays for
  one problem): budgets, predictions, spec fields ``*_per_problem``. Tables may show
  **$ per 1,000 problems** (the seed paper's unit, easier to read), and then say so in
  the column name (``$/1k problems``); JSON does only where its field name says so (the
  paper replay's ``*_per_1k_problems``, compared with the paper's published numbers).
  ``evaluate --json`` keeps its contractual names (``budget``, ``planning_cost``, ...), all
  in $ per problem; run records' ``cost`` is the $ one problem (or one request) cost.

Conversions happen here and nowhere else.
"""

from __future__ import annotations

#: Tokens in the unit prices are quoted in.
TOKENS_PER_PRICE_UNIT = 1_000_000
#: Problems in the unit tables may show costs in.
PROBLEMS_PER_TABLE_UNIT = 1_000

PRICE_UNIT = "$ per million tokens"
COST_UNIT = "$ per problem"
TABLE_COST_UNIT = "$ per 1,000 problems"
#: Column headers of costs and prices in tables.
COST_COLUMN = "$/problem"
TABLE_COST_COLUMN = "$/1k problems"
PRICE_COLUMN = "$/M tokens"


def per_token(per_million: float) -> float:
    """A price in $ per million tokens as $ per token (the arithmetic's unit)."""
    return per_million / TOKENS_PER_PRICE_UNIT


def per_million(per_token_price: float) -> float:
    """A price in $ per token as $ per million tokens (the unit users read), rounded to 12
    significant digits so that a price read in this unit comes back as written (6.65, not
    6.6499999999999995)."""
    return float(f"{per_token_price * TOKENS_PER_PRICE_UNIT:.12g}")


def per_token_from_per_1k(per_thousand: float) -> float:
    """A price in $ per 1,000 tokens (the old price-table unit) as $ per token."""
    return per_thousand / 1_000


def per_1k_problems(cost: float | None) -> float | None:
    """A cost in $ per problem as $ per 1,000 problems (None stays None)."""
    return None if cost is None else cost * PROBLEMS_PER_TABLE_UNIT


def money(cost_per_problem: float, digits: int = 6) -> str:
    """A cost per problem as text with its unit: ``$0.0107 per problem``."""
    return f"${cost_per_problem:.{digits}g} per problem"
