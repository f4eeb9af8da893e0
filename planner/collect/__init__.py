"""Collecting generations from the user's own endpoints: ``codecascade collect``.

``work`` says what is wanted per (model, problem) and what a generations file still lacks
(batches); ``identity`` what identifies how each model was asked; ``budget`` the cost of a
batch, its bound and the ``--max-cost`` cap; ``collector`` the concurrent loop that asks the
endpoints through the runtime's client, prompts and extraction and appends one line per
batch (:mod:`planner.records.collected`); ``api`` is :func:`collect`, what the command
calls. ``codecascade measure --records`` turns the file into a profile.
"""

from __future__ import annotations

from .api import CollectOptions, CollectResult, collect, select_models
from .budget import CostCap, Stop, batch_bound, billed_cost
from .collector import Collector, CollectStats
from .identity import endpoint_info, prompt_sha256
from .work import Batch, CollectError, Want, missing_batches, read_existing

__all__ = [
    "Batch",
    "CollectError",
    "CollectOptions",
    "CollectResult",
    "CollectStats",
    "Collector",
    "CostCap",
    "Stop",
    "Want",
    "batch_bound",
    "billed_cost",
    "collect",
    "endpoint_info",
    "missing_batches",
    "prompt_sha256",
    "read_existing",
    "select_models",
]
