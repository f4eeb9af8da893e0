"""Where a plan came from, enough to reproduce it: the spec's ``provenance``."""

from __future__ import annotations

import datetime as _dt

from ..spec import Provenance
from ..units import per_million
from .context import PlanningContext

#: How the spec's predictions were made, by estimator.
EXACT_PREDICTION = ("exact cascade formula on the option tables, percentile bootstrap over "
                    "problems")
SIMULATED_PREDICTION = ("whole-replicate simulation (test sharing; the option tables' "
                        "draws), percentile bootstrap over problems, Monte Carlo SE beside")


def provenance(context: PlanningContext, prediction: str,
               extra: dict[str, object] | None = None) -> Provenance:
    """The provenance of a plan made in ``context``; ``prediction`` says how its numbers
    were estimated, ``extra`` adds entries (e.g. the sharing refinement)."""
    from .. import __version__
    from ..estimate import ESTIMATOR_VERSION

    profile = context.profile
    return Provenance(
        profile=context.profile_label,
        profile_sha256=context.profile_sha256 or profile.fingerprint(),
        prices_per_1m={m.name: per_million(m.price_generated) for m in profile.models},
        prompt_prices_per_1m={m.name: per_million(m.price_prompt) for m in profile.models},
        grid=context.grid.name,
        split=context.split_name,
        seeds={"split": int(context.split_seed), "estimator": int(context.seed),
               "search": int(context.seed), "bootstrap": int(context.seed)},
        version=__version__,
        created=_dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        extra={
            "grid": context.grid.to_json(),
            "models": list(context.planning.tables[i].model
                           for i in range(context.planning.n_models)),
            "replicates": context.replicates,
            "estimator_version": ESTIMATOR_VERSION,
            "prediction": prediction,
            "plans_in_space": context.planning.count_plans(),
            **(extra or {}),
        },
    )
