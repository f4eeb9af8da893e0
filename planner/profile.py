"""Profiles: measured generations of several models on a set of problems.

A profile is what every planning step reads. For each problem it holds a *pool* of distinct
solution texts and a pool of distinct assert lines, shared by all models (so any model's
solutions can be scored on any model's test lines), the pass matrix of the two pools, and
ground-truth correctness of every pooled solution. For each model and problem it holds the
recorded samples in their original order (which pooled solution each sample is, and its
generated-token count), the greedy solution, and the recorded test generations line by line
(which pooled assert line each line position is, or -1, and that line's token count).
Optionally it says which pooled assert lines are *informative*: ``line_informative`` [P, Q]
is False for a line whose verdict does not depend on the solution (it cannot fail, or it
never calls the function under test: :func:`planner.testlines.solution_independent`).
The project's own scoring rules (``pass_fraction``, ``consensus``) leave such lines out, as
``codecascade run`` does; the ``paper`` rule counts every raw assert line. Profiles written
before the mask existed have none (``None``: unknown); the estimator then refuses the
project's own rules with one line saying how to add it (``codecascade measure
--line-mask-of``), and the paper rule works as before.

Arrays are dense and padded with -1 (ids) or 0 (counts) so that the estimator can vectorise
over problems. Texts are not stored, only short hashes, so a profile carries numbers computed
by this project and never the third-party generations themselves.

On disk a profile is one ``.npz`` file: the arrays (the pass matrix bit-packed) plus a
``meta_json`` entry with models, prices and provenance. :func:`load_profile` validates
everything and raises :class:`ProfileError` with a one-line message on a bad file.
"""

from __future__ import annotations

import hashlib
import json
import os
import zipfile
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from .errors import CodecascadeError
from .output import atomic_write

FORMAT_VERSION = 1

#: Name of the profile used when the user names none.
DEFAULT_PROFILE_NAME = "wizardcoder-humaneval"
#: The provenance entry that records one build run (when, how long, on which machines):
#: kept in the file, left out of the fingerprint.
RUN_KEY = "run"


class ProfileError(CodecascadeError, ValueError):
    """A profile file or object is malformed; the message is one line naming the problem."""


@dataclass(frozen=True)
class ModelInfo:
    """One model of a profile, with its prices in $ per token.

    ``samples_per_loop`` is the size of one recorded "loop" of samples (the seed paper draws
    its subsets as "loop L's first k samples"); 0 means the samples have no loop structure.
    """

    name: str
    price_generated: float
    price_prompt: float = 0.0
    samples_per_loop: int = 0
    source: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "price_generated": self.price_generated,
            "price_prompt": self.price_prompt,
            "samples_per_loop": self.samples_per_loop,
            "source": self.source,
        }

    @classmethod
    def from_json(cls, obj: dict[str, Any]) -> ModelInfo:
        try:
            return cls(
                name=str(obj["name"]),
                price_generated=float(obj["price_generated"]),
                price_prompt=float(obj.get("price_prompt", 0.0)),
                samples_per_loop=int(obj.get("samples_per_loop", 0)),
                source=str(obj.get("source", "")),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ProfileError(f"bad model entry {obj!r}: {exc}") from None


# name -> (dtype kind, axes); axes use M models, P problems, N samples, T test generations,
# L line positions, S pooled solutions, Q pooled assert lines.
ARRAY_SPECS: dict[str, tuple[str, tuple[str, ...]]] = {
    "sample_solution": ("i", ("M", "P", "N")),
    "sample_tokens": ("i", ("M", "P", "N")),
    "greedy_solution": ("i", ("M", "P")),
    "greedy_tokens": ("i", ("M", "P")),
    "test_line": ("i", ("M", "P", "T", "L")),
    "test_line_tokens": ("i", ("M", "P", "T", "L")),
    "greedy_test_line": ("i", ("M", "P", "L")),
    "greedy_test_line_tokens": ("i", ("M", "P", "L")),
    "prompt_tokens": ("i", ("M", "P")),
    "test_prompt_tokens": ("i", ("M", "P")),
    "n_solutions": ("i", ("P",)),
    "n_lines": ("i", ("P",)),
    "solution_correct": ("b", ("P", "S")),
    "line_holds_reference": ("b", ("P", "Q")),
    "pass_matrix": ("b", ("P", "S", "Q")),
}
#: Arrays a profile may lack (older files): name -> (dtype kind, axes), as ARRAY_SPECS.
#: ``line_informative`` is aligned with the pass matrix's test-line axis Q.
OPTIONAL_ARRAY_SPECS: dict[str, tuple[str, tuple[str, ...]]] = {
    "line_informative": ("b", ("P", "Q")),
}


@dataclass(frozen=True, eq=False)
class Profile:
    """Measured generations of ``models`` on ``problems`` (see the module docstring).

    Shapes: M models, P problems, N max samples, T max test generations, L line positions,
    S max pooled solutions, Q max pooled assert lines. Ids are -1 where absent: a padded
    sample, a test line that is not an ``assert`` (its tokens still count), a missing greedy.
    ``line_informative`` [P, Q] (or None: unknown) is True where a pooled assert line's
    verdict can depend on the solution; False for solution-independent lines and padding.
    """

    models: tuple[ModelInfo, ...]
    problems: tuple[str, ...]
    sample_solution: np.ndarray
    sample_tokens: np.ndarray
    greedy_solution: np.ndarray
    greedy_tokens: np.ndarray
    test_line: np.ndarray
    test_line_tokens: np.ndarray
    greedy_test_line: np.ndarray
    greedy_test_line_tokens: np.ndarray
    prompt_tokens: np.ndarray
    test_prompt_tokens: np.ndarray
    n_solutions: np.ndarray
    n_lines: np.ndarray
    solution_correct: np.ndarray
    line_holds_reference: np.ndarray
    pass_matrix: np.ndarray
    provenance: dict[str, Any] = field(default_factory=dict)
    line_informative: np.ndarray | None = None

    def __post_init__(self) -> None:
        validate_profile(self)

    # ---- shape helpers -------------------------------------------------------------
    @property
    def n_models(self) -> int:
        return len(self.models)

    @property
    def n_problems(self) -> int:
        return len(self.problems)

    @property
    def model_names(self) -> tuple[str, ...]:
        return tuple(m.name for m in self.models)

    def model_index(self, name: str) -> int:
        """Index of the model called ``name``; ProfileError naming the known ones if absent."""
        for i, m in enumerate(self.models):
            if m.name == name:
                return i
        known = ", ".join(self.model_names)
        raise ProfileError(f"unknown model {name!r}; this profile has: {known}")

    @property
    def n_samples(self) -> np.ndarray:
        """Recorded samples per model and problem, [M, P]."""
        return (self.sample_solution >= 0).sum(axis=2)

    @property
    def n_test_generations(self) -> np.ndarray:
        """Recorded test generations per model and problem, [M, P]. A generation counts when
        it has any line position with tokens or an assert line."""
        present = (self.test_line >= 0) | (self.test_line_tokens > 0)
        return present.any(axis=3).sum(axis=2)

    def with_prices(self, prices: dict[str, float]) -> Profile:
        """A copy with new generated-token prices ($ per token) for the named models."""
        for name in prices:
            self.model_index(name)
        models = tuple(
            ModelInfo(
                m.name,
                float(prices.get(m.name, m.price_generated)),
                m.price_prompt,
                m.samples_per_loop,
                m.source,
            )
            for m in self.models
        )
        return _replace(self, models=models)

    def subset_problems(self, index: np.ndarray | list[int]) -> Profile:
        """A profile restricted to the given problem indices (in that order)."""
        idx = np.asarray(index, dtype=np.int64)
        arrays = {}
        for name, (_, axes) in {**ARRAY_SPECS, **OPTIONAL_ARRAY_SPECS}.items():
            arr = getattr(self, name)
            arrays[name] = None if arr is None else np.take(arr, idx, axis=axes.index("P"))
        return Profile(
            models=self.models,
            problems=tuple(self.problems[i] for i in idx),
            provenance=dict(self.provenance),
            **arrays,
        )

    def fingerprint(self) -> str:
        """sha256 of the arrays and metadata: identifies the data a plan was made from.

        The provenance's :data:`RUN_KEY` entry (when and how a build ran: date, seconds,
        cells executed in that run, local or on which cluster) is left out, so the same
        inputs and settings give the same fingerprint however they were executed. An
        optional array (``line_informative``) is hashed when present; a profile without it
        keeps the fingerprint it had before the array existed."""
        h = hashlib.sha256()
        meta = _meta(self)
        meta["provenance"] = {k: v for k, v in meta["provenance"].items() if k != RUN_KEY}
        h.update(json.dumps(meta, sort_keys=True).encode())
        for name in (*ARRAY_SPECS, *OPTIONAL_ARRAY_SPECS):
            if getattr(self, name) is None:
                continue
            arr = np.ascontiguousarray(getattr(self, name))
            h.update(name.encode())
            h.update(str(arr.shape).encode())
            h.update(arr.tobytes())
        return h.hexdigest()


def _replace(profile: Profile, **changes: Any) -> Profile:
    kwargs = {name: getattr(profile, name) for name in (*ARRAY_SPECS, *OPTIONAL_ARRAY_SPECS)}
    kwargs.update(models=profile.models, problems=profile.problems,
                  provenance=profile.provenance)
    kwargs.update(changes)
    return Profile(**kwargs)


def validate_profile(p: Profile) -> None:
    """Check shapes, dtypes and value ranges; raise ProfileError naming the first problem."""
    if not p.models:
        raise ProfileError("profile has no models")
    names = [m.name for m in p.models]
    if len(set(names)) != len(names):
        raise ProfileError(f"duplicate model names in profile: {names}")
    for m in p.models:
        if not (np.isfinite(m.price_generated) and m.price_generated >= 0):
            raise ProfileError(f"model {m.name!r} has invalid price {m.price_generated!r}")
        if not (np.isfinite(m.price_prompt) and m.price_prompt >= 0):
            raise ProfileError(f"model {m.name!r} has invalid prompt price {m.price_prompt!r}")
    if not p.problems:
        raise ProfileError("profile has no problems")
    dims: dict[str, int] = {"M": len(p.models), "P": len(p.problems)}
    for name, (kind, axes) in {**ARRAY_SPECS, **OPTIONAL_ARRAY_SPECS}.items():
        arr = getattr(p, name)
        if arr is None and name in OPTIONAL_ARRAY_SPECS:
            continue
        if not isinstance(arr, np.ndarray):
            raise ProfileError(f"array {name!r} is not a numpy array")
        if arr.ndim != len(axes):
            raise ProfileError(f"array {name!r} has {arr.ndim} dims, expected {len(axes)} {axes}")
        if kind == "b" and arr.dtype != np.bool_:
            raise ProfileError(f"array {name!r} must be boolean, got {arr.dtype}")
        if kind == "i" and not np.issubdtype(arr.dtype, np.integer):
            raise ProfileError(f"array {name!r} must be integer, got {arr.dtype}")
        for axis, size in zip(axes, arr.shape, strict=True):
            if dims.setdefault(axis, size) != size:
                raise ProfileError(
                    f"array {name!r} has size {size} on axis {axis}, expected {dims[axis]}"
                )
    n_sol = p.n_solutions.astype(np.int64)
    n_line = p.n_lines.astype(np.int64)
    if (n_sol < 0).any() or (n_sol > dims["S"]).any():
        raise ProfileError("n_solutions out of range")
    if (n_line < 0).any() or (n_line > dims["Q"]).any():
        raise ProfileError("n_lines out of range")
    for name in ("sample_solution", "greedy_solution"):
        ids = getattr(p, name)
        bound = n_sol.reshape((1, -1) + (1,) * (ids.ndim - 2))
        if ((ids < -1) | (ids >= bound)).any():
            raise ProfileError(f"{name} has ids outside the problem's solution pool")
    for name in ("test_line", "greedy_test_line"):
        ids = getattr(p, name)
        bound = n_line.reshape((1, -1) + (1,) * (ids.ndim - 2))
        if ((ids < -1) | (ids >= bound)).any():
            raise ProfileError(f"{name} has ids outside the problem's test-line pool")
    for name in ("sample_tokens", "greedy_tokens", "test_line_tokens",
                 "greedy_test_line_tokens", "prompt_tokens", "test_prompt_tokens"):
        if (getattr(p, name) < 0).any():
            raise ProfileError(f"{name} has negative token counts")
    if ((p.sample_solution < 0) & (p.sample_tokens != 0)).any():
        raise ProfileError("sample_tokens is non-zero for padded samples")
    s_pad = np.arange(dims["S"])[None, :] >= n_sol[:, None]
    q_pad = np.arange(dims["Q"])[None, :] >= n_line[:, None]
    if (p.solution_correct & s_pad).any() or (p.line_holds_reference & q_pad).any():
        raise ProfileError("padding of solution_correct or line_holds_reference is not False")
    if p.line_informative is not None and (p.line_informative & q_pad).any():
        raise ProfileError("padding of line_informative is not False")
    if (p.pass_matrix & (s_pad[:, :, None] | q_pad[:, None, :])).any():
        raise ProfileError("pass_matrix has True cells in its padding")


def _meta(p: Profile) -> dict[str, Any]:
    return {
        "format_version": FORMAT_VERSION,
        "models": [m.to_json() for m in p.models],
        "problems": list(p.problems),
        "provenance": p.provenance,
    }


def save_profile(profile: Profile, path: str | os.PathLike[str]) -> Path:
    """Write ``profile`` to ``path`` (.npz) atomically: a temporary file, then a rename."""
    path = Path(path)
    arrays: dict[str, np.ndarray] = {}
    for name, (kind, _) in ARRAY_SPECS.items():
        arr = getattr(profile, name)
        if name == "pass_matrix":
            arrays["pass_matrix_bits"] = np.packbits(arr, axis=-1)
            arrays["pass_matrix_shape"] = np.asarray(arr.shape, dtype=np.int64)
        elif kind == "i":
            arrays[name] = arr.astype(np.int32)
        else:
            arrays[name] = arr
    for name in OPTIONAL_ARRAY_SPECS:
        if getattr(profile, name) is not None:
            arrays[name] = getattr(profile, name)
    meta = json.dumps(_meta(profile), sort_keys=True)
    arrays["meta_json"] = np.frombuffer(meta.encode("utf-8"), dtype=np.uint8)
    with atomic_write(path) as fh:
        np.savez_compressed(fh, **arrays)
    return path


def load_profile(path: str | os.PathLike[str] | None = None) -> Profile:
    """Load and validate a profile; ``None`` or a bundled name loads a bundled profile."""
    resolved = resolve_profile_path(path)
    if not zipfile.is_zipfile(resolved):
        raise ProfileError(
            f"{resolved}: not a readable profile (not an .npz archive, or truncated)"
        )
    try:
        with np.load(resolved, allow_pickle=False) as npz:
            files = set(npz.files)
            missing = (
                {n for n in ARRAY_SPECS if n != "pass_matrix"}
                | {"pass_matrix_bits", "pass_matrix_shape", "meta_json"}
            ) - files
            if missing:
                raise ProfileError(f"{resolved}: missing arrays {sorted(missing)}")
            meta = json.loads(npz["meta_json"].tobytes().decode("utf-8"))
            arrays = {n: npz[n] for n in ARRAY_SPECS if n != "pass_matrix"}
            arrays.update({n: npz[n] for n in OPTIONAL_ARRAY_SPECS if n in files})
            shape = tuple(int(x) for x in npz["pass_matrix_shape"])
            bits = npz["pass_matrix_bits"]
    except ProfileError:
        raise
    except (OSError, ValueError, zipfile.BadZipFile, EOFError, KeyError,
            UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ProfileError(f"{resolved}: not a readable profile ({exc})") from None
    if not isinstance(meta, dict) or meta.get("format_version") != FORMAT_VERSION:
        raise ProfileError(f"{resolved}: unsupported profile format version")
    if len(shape) != 3 or bits.ndim != 3 or bits.shape[:2] != shape[:2]:
        raise ProfileError(f"{resolved}: pass matrix shape does not match its bits")
    if bits.shape[2] != (shape[2] + 7) // 8:
        raise ProfileError(f"{resolved}: pass matrix bits are truncated")
    arrays["pass_matrix"] = np.unpackbits(bits, axis=-1, count=shape[2]).astype(bool)
    try:
        models = tuple(ModelInfo.from_json(m) for m in meta["models"])
        problems = tuple(str(x) for x in meta["problems"])
        provenance = dict(meta.get("provenance", {}))
    except (KeyError, TypeError) as exc:
        raise ProfileError(f"{resolved}: bad metadata ({exc})") from None
    try:
        return Profile(models=models, problems=problems, provenance=provenance, **arrays)
    except ProfileError as exc:
        raise ProfileError(f"{resolved}: {exc}") from None


def data_dir() -> Path:
    """Folder of the bundled profiles and price tables (``CODECASCADE_DATA`` overrides)."""
    env = os.environ.get("CODECASCADE_DATA")
    if env:
        return Path(env)
    return Path(str(resources.files("planner") / "data"))


def resolve_profile_path(path: str | os.PathLike[str] | None) -> Path:
    """A path to an existing profile file: the path itself, or a bundled profile's name.
    ProfileError for an empty name, a directory, or nothing by that name (naming the
    bundled profiles)."""
    if path is None:
        path = DEFAULT_PROFILE_NAME
    if not str(path).strip():
        raise ProfileError("the profile name is empty")
    candidate = Path(path)
    if candidate.is_file():
        return candidate
    if candidate.is_dir():
        raise ProfileError(f"the profile {path} is a directory, not a profile file")
    bundled = data_dir() / f"{candidate.name.removesuffix('.npz')}.npz"
    if candidate.parent == Path(".") and bundled.is_file():
        return bundled
    names = ", ".join(sorted(f.stem for f in data_dir().glob("*.npz")))
    raise ProfileError(f"profile not found: {path} (bundled profiles: {names})")


def text_hash(text: str) -> str:
    """Short stable hash of a solution or test-line text (used for dedup and provenance)."""
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:16]


def file_sha256(path: str | os.PathLike[str]) -> str:
    """sha256 of a file's bytes, for provenance."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()
