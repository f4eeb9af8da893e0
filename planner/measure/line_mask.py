"""Adding the ``line_informative`` mask to a profile built without it, executing nothing.

A profile written before the mask existed cannot say which of its pooled assert lines are
solution-independent, so the estimator refuses the project's own scoring rules on it.
Rebuilding it re-executes every cell (tens of minutes, and verdicts may move with the
sandbox or the reply extraction of the day). :func:`add_line_mask` instead re-reads the
profile's own sources and recomputes only the mask, and writes it only when it can prove
that the mask is aligned with the profile's test-line axis:

1. every input file of every model has the sha256 the profile's provenance records, and
   so has the problems file (its ``limit`` is taken from the provenance too);
2. the sources give the same models in the same order and the same problems;
3. the pools rebuilt from them give, array for array and entry for entry, the profile's
   generation arrays (:func:`planner.measure.build.generation_arrays`: which pooled line
   every line position of every test generation is, its tokens, the pool sizes, and the
   same for solutions), so the pooled lines are the same texts in the same order.

Then the mask (:func:`planner.measure.build.line_informative`) is added; every other array
is written back unchanged (no pass bit, no correctness label moves). The provenance's
``line_informative`` entry says how the mask was added, and ``run.line_mask_added`` when.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..output import OutputError, check_output
from ..problems import load_problems
from ..profile import RUN_KEY, Profile, file_sha256, load_profile, save_profile
from .api import MeasureSources
from .build import (
    LINE_MASK_KEY,
    MeasureError,
    build_pools,
    generation_arrays,
    line_informative,
    line_mask_record,
    relative_sha256,
)


@dataclass(frozen=True)
class LineMaskResult:
    """The profile with its mask, where it was written, whether the input profile had a
    mask already (``had_mask``) and whether the recomputed one equals it (``unchanged``)."""

    profile: Profile
    path: Path
    had_mask: bool
    unchanged: bool


def add_line_mask(
    profile_path: str | os.PathLike[str],
    output: str | os.PathLike[str],
    sources: MeasureSources,
    *,
    problems: str | os.PathLike[str] | None = None,
    overwrite: bool = False,
    warn: Callable[[str], None] | None = None,
) -> LineMaskResult:
    """Recompute the ``line_informative`` mask of the profile ``profile_path`` (a file or
    a bundled profile's name) from ``sources``, verify alignment (module docstring) and
    write the profile with the mask to ``output`` (``.npz``; the same file as the input
    needs ``overwrite``). ``problems`` as for :func:`planner.measure.build_profile`.

    Raises :class:`MeasureError` (one line) naming the first thing that does not match:
    a source file's sha256, the models, the problems, or an array of the rebuilt pools;
    nothing is written then.
    """
    check_output(output, overwrite=overwrite, suffixes=(".npz",), what="profile")
    output = Path(output)
    profile = load_profile(profile_path)
    prov = profile.provenance
    problems_source = str(problems) if problems is not None else sources.default_problems()
    recorded = prov.get("problems_file") or {}
    source_file = Path(problems_source)
    if (recorded.get("sha256") and source_file.is_file()
            and file_sha256(source_file) != recorded["sha256"]):
        raise MeasureError(f"the problems file {source_file} is not the one the profile was "
                           "built from (its sha256 differs from the profile's provenance)")
    limit = recorded.get("limit")
    chosen = load_problems(problems_source)[:limit]
    models = sources.read(chosen, warn)
    names = tuple(m.name for m in models)
    if names != profile.model_names:
        raise MeasureError(f"the sources give the models {', '.join(names)}; the profile has "
                           f"{', '.join(profile.model_names)} (same models, same order needed)")
    for m in models:
        expected = ((prov.get("models") or {}).get(m.name) or {}).get("input_files")
        if not expected:
            raise MeasureError(f"the profile's provenance records no input files of "
                               f"{m.name}, so its sources cannot be verified")
        got = relative_sha256(m.input_files)
        if got != expected:
            differ = sorted(set(got.items()) ^ set(expected.items()))[0][0]
            raise MeasureError(f"{m.name}: the source files are not the ones the profile was "
                               f"built from (e.g. {differ}: missing, extra or another sha256)")
    pools = build_pools(chosen, models)
    tasks = tuple(p.problem.task_id for p in pools)
    if tasks != profile.problems:
        raise MeasureError(f"the sources give {len(tasks)} problems, the profile "
                           f"{profile.n_problems} (or another order)")
    for name, rebuilt in generation_arrays(pools, models).items():
        stored = getattr(profile, name)
        if rebuilt.shape != stored.shape or not np.array_equal(rebuilt, stored):
            count = (int((rebuilt != stored).sum()) if rebuilt.shape == stored.shape
                     else f"shape {rebuilt.shape} vs {stored.shape}:")
            raise MeasureError(f"the pools rebuilt from the sources do not match the profile's "
                               f"{name} ({count} entries differ), so the mask cannot be "
                               "aligned with its test lines")
    mask = line_informative(pools)
    had = profile.line_informative is not None
    unchanged = had and np.array_equal(mask, profile.line_informative)
    from .. import __version__

    provenance: dict[str, Any] = dict(prov)
    provenance[LINE_MASK_KEY] = line_mask_record(
        mask, profile.n_lines,
        f"added after the build by codecascade measure --line-mask-of (version "
        f"{__version__}), executing nothing: the same sources re-read (every input file's "
        "and the problems file's sha256 equal to this provenance), the pools rebuilt and "
        "found equal to the profile's generation arrays entry for entry, then every pooled "
        "line parsed; no verdict, pass bit or correctness label changed")
    run = dict(provenance.get(RUN_KEY) or {})
    run["line_mask_added"] = _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    provenance[RUN_KEY] = run
    masked = dataclasses.replace(profile, line_informative=mask, provenance=provenance)
    try:
        save_profile(masked, output)
    except OSError as exc:
        raise OutputError(f"cannot write profile {output}: {exc.strerror or exc}") from None
    return LineMaskResult(profile=masked, path=output, had_mask=had, unchanged=unchanged)
