"""Designs: the parameter sets a sweep runs (a grid, a list, a Latin-hypercube or Sobol sample, a design file).

Every value is checked against the parameter's physical bounds when the design is built, so a bad design fails
before anything runs, with the file and field named.
"""

from __future__ import annotations

import itertools
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from simulation.parameters import PARAMETERS, check_value
from simulation.scenario import MAX_DAYS, ScenarioError


@dataclass(frozen=True)
class Design:
    """Parameter sets to run, each a mapping from parameter name to value.

    Build one with :func:`grid`, :func:`parameter_sets`, :func:`latin_hypercube` or :func:`sobol_sample`.
    ``problem`` is the SALib problem (names and bounds) of a sampled design; :func:`sobol_indices` needs it.
    """

    sets: tuple[dict[str, float], ...]
    method: str = "list"
    problem: dict[str, Any] | None = field(default=None, compare=False)
    second_order: bool = False

    def __len__(self) -> int:
        return len(self.sets)

    @property
    def names(self) -> tuple[str, ...]:
        """Every parameter the design sets, in order of first appearance."""
        seen: dict[str, None] = {}
        for s in self.sets:
            seen.update(dict.fromkeys(s))
        return tuple(seen)


def _checked(name: str, value: Any, origin: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ScenarioError(origin, f"{value!r} is not a number", field=name)
    try:
        return check_value(name, value)
    except KeyError:
        raise ScenarioError(origin, f"unknown parameter {name!r} (see `conflict-sim params`)", field=name) from None
    except ValueError as e:
        raise ScenarioError(origin, str(e), field=name) from None


def _with_fixed(sets: Iterable[dict[str, float]], fixed: Mapping[str, float] | None, origin: str,
                varied: Iterable[str]) -> tuple[dict[str, float], ...]:
    fixed = {k: _checked(k, v, origin) for k, v in (fixed or {}).items()}
    both = set(fixed) & set(varied)
    if both:
        raise ScenarioError(origin, "is both varied and fixed", field=sorted(both)[0])
    return tuple({**fixed, **s} for s in sets)


def grid(values: Mapping[str, Sequence[float]], fixed: Mapping[str, float] | None = None,
         origin: str = "design") -> Design:
    """Every combination of the given values (the first parameter varies slowest).

    Parameters
    ----------
    values : parameter name -> the values it takes.
    fixed : parameter values shared by every set.
    origin : named in errors (e.g. the design file).

    Raises
    ------
    ScenarioError
        An unknown parameter, a value outside its physical bounds, or an empty list of values.

    Examples
    --------
    >>> len(grid({"attack_ratio": [0.8, 1.2], "defender_advantage": [1.2, 1.5, 2.0]}))
    6
    """
    if not values:
        raise ScenarioError(origin, "a grid needs at least one parameter", field="grid")
    axes = {}
    for name, vals in values.items():
        if isinstance(vals, (str, bytes)) or not isinstance(vals, Sequence) or not vals:
            raise ScenarioError(origin, "must be a non-empty list of values", field=name)
        axes[name] = [_checked(name, v, origin) for v in vals]
    sets = (dict(zip(axes, combo)) for combo in itertools.product(*axes.values()))
    return Design(_with_fixed(sets, fixed, origin, axes), method="grid")


def parameter_sets(sets: Sequence[Mapping[str, float]], fixed: Mapping[str, float] | None = None,
                   origin: str = "design") -> Design:
    """An explicit list of parameter sets (a set may be empty: the scenario's own values).

    Raises
    ------
    ScenarioError
        An unknown parameter or a value outside its physical bounds.
    """
    checked = [{k: _checked(k, v, origin) for k, v in s.items()} for s in sets]
    if not checked:
        raise ScenarioError(origin, "the list of parameter sets is empty", field="sets")
    varied = {k for s in checked for k in s}
    return Design(_with_fixed(checked, fixed, origin, varied), method="list")


def _problem(bounds: Mapping[str, Sequence[float]], origin: str) -> dict[str, Any]:
    if not bounds:
        raise ScenarioError(origin, "a sample needs bounds for at least one parameter", field="bounds")
    names, pairs = [], []
    for name, b in bounds.items():
        if name not in PARAMETERS:
            raise ScenarioError(origin, f"unknown parameter {name!r} (see `conflict-sim params`)", field=name)
        if isinstance(b, (str, bytes)) or not isinstance(b, Sequence) or len(b) != 2:
            raise ScenarioError(origin, f"{b!r} must be [low, high]", field=name)
        lo, hi = (_checked(name, x, origin) for x in b)
        if not lo < hi:
            raise ScenarioError(origin, f"[{lo:g}, {hi:g}] needs low < high", field=name)
        names.append(name)
        pairs.append([lo, hi])
    return {"num_vars": len(names), "names": names, "bounds": pairs}


def latin_hypercube(bounds: Mapping[str, Sequence[float]], n: int, seed: int | None = None,
                    fixed: Mapping[str, float] | None = None, origin: str = "design") -> Design:
    """``n`` parameter sets from a Latin hypercube over ``bounds`` (SciPy's :class:`scipy.stats.qmc.LatinHypercube`).

    Raises
    ------
    ScenarioError
        An unknown parameter, bounds outside the physical bounds, or ``n < 1``.
    """
    from scipy.stats import qmc

    problem = _problem(bounds, origin)
    if int(n) < 1:
        raise ScenarioError(origin, f"n = {n}: need at least one sample", field="n")
    unit = qmc.LatinHypercube(d=problem["num_vars"], rng=np.random.default_rng(seed)).random(int(n))
    lo, hi = np.array(problem["bounds"]).T
    points = qmc.scale(unit, lo, hi)
    sets = ({k: float(np.clip(v, a, b)) for k, v, a, b in zip(problem["names"], row, lo, hi)} for row in points)
    return Design(_with_fixed(sets, fixed, origin, problem["names"]), method="lhs", problem=problem)


def sobol_sample(bounds: Mapping[str, Sequence[float]], n: int, seed: int | None = None,
                 second_order: bool = False, fixed: Mapping[str, float] | None = None,
                 origin: str = "design") -> Design:
    """A Saltelli sample for Sobol sensitivity indices (SALib's ``sobol.sample``).

    Gives ``n * (D + 2)`` parameter sets for ``D`` parameters (``n * (2D + 2)`` with ``second_order``); analyse
    the results with :func:`sobol_indices`.

    Raises
    ------
    ScenarioError
        An unknown parameter, bounds outside the physical bounds, or ``n`` not a power of two (the Sobol
        sequence's convergence needs one).
    """
    from SALib.sample import sobol

    problem = _problem(bounds, origin)
    n = int(n)
    if n < 2 or n & (n - 1):
        raise ScenarioError(origin, f"n = {n}: Sobol sampling needs a power of two (e.g. 64)", field="n")
    points = sobol.sample(problem, n, calc_second_order=second_order, seed=seed)
    lo, hi = np.array(problem["bounds"]).T
    sets = ({k: float(np.clip(v, a, b)) for k, v, a, b in zip(problem["names"], row, lo, hi)} for row in points)
    return Design(_with_fixed(sets, fixed, origin, problem["names"]), method="sobol", problem=problem,
                  second_order=second_order)


def as_design(design: Design | Mapping[str, Sequence[float]] | Sequence[Mapping[str, float]]) -> Design:
    """A :class:`Design` from a design, a grid (``{name: [values]}``) or a list of parameter sets."""
    if isinstance(design, Design):
        return design
    if isinstance(design, Mapping):
        return grid(design)
    return parameter_sets(list(design))


@dataclass(frozen=True)
class DesignFile:
    """A design file: the design and the sweep settings it gives (``None`` = not given)."""

    path: Path
    design: Design
    seeds: int | None = None
    sweep_seed: int = 0
    days: int | None = None
    key_places: tuple[str, ...] | str | None = None
    daily: bool = False


_SWEEP_KEYS = ("seeds", "sweep_seed", "days", "key_places", "daily")


def load_design(path: str | Path) -> DesignFile:
    """Read and validate a design file (TOML; see ``docs/sweeps.md``).

    It holds exactly one of ``[grid]`` (name = [values]), ``[[sets]]`` (name = value tables) or ``[sample]``
    (``method = "lhs" | "sobol"``, ``n``, ``seed``, ``second_order``, ``[sample.bounds]`` name = [low, high]);
    optionally ``[fixed]`` (name = value, shared by every set) and ``[sweep]`` (``seeds``, ``sweep_seed``,
    ``days``, ``key_places``, ``daily``).

    Raises
    ------
    ScenarioError
        The file is missing or malformed; the message names the file and the field.
    """
    path = Path(path)
    name = path.name
    if not path.is_file():
        raise ScenarioError(str(path), "design file is missing")
    try:
        doc = tomllib.loads(path.read_bytes().decode("utf-8"))
    except UnicodeDecodeError:
        raise ScenarioError(name, "is not UTF-8") from None
    except tomllib.TOMLDecodeError as e:
        raise ScenarioError(name, f"is not valid TOML: {e}") from None
    for key in doc:
        if key not in ("sweep", "fixed", "grid", "sets", "sample"):
            raise ScenarioError(name, "unknown table (allowed: sweep, fixed, grid, sets, sample)", field=key)
    kinds = [k for k in ("grid", "sets", "sample") if k in doc]
    if len(kinds) != 1:
        raise ScenarioError(name, "needs exactly one of [grid], [[sets]] or [sample]"
                            + (f" (found {', '.join(kinds)})" if kinds else ""))
    fixed = doc.get("fixed", {})
    if not isinstance(fixed, dict):
        raise ScenarioError(name, "must be a table of name = value", field="fixed")

    kind = kinds[0]
    if kind == "grid":
        if not isinstance(doc["grid"], dict):
            raise ScenarioError(name, "must be a table of name = [values]", field="grid")
        design = grid({k: v for k, v in doc["grid"].items()}, fixed, origin=name)
    elif kind == "sets":
        sets = doc["sets"]
        if not isinstance(sets, list) or not all(isinstance(s, dict) for s in sets):
            raise ScenarioError(name, "must be an array of tables [[sets]]", field="sets")
        design = parameter_sets(sets, fixed, origin=name)
    else:
        sample = doc["sample"]
        if not isinstance(sample, dict):
            raise ScenarioError(name, "must be a table", field="sample")
        for key in sample:
            if key not in ("method", "n", "seed", "second_order", "bounds"):
                raise ScenarioError(name, "unknown key (allowed: method, n, seed, second_order, bounds)",
                                    field=f"sample.{key}")
        method = sample.get("method")
        if method not in ("lhs", "sobol"):
            raise ScenarioError(name, f"{method!r} must be 'lhs' or 'sobol'", field="sample.method")
        n = sample.get("n")
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise ScenarioError(name, f"{n!r} must be a whole number >= 1", field="sample.n")
        seed = sample.get("seed", 0)
        if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
            raise ScenarioError(name, f"{seed!r} must be a whole number >= 0", field="sample.seed")
        bounds = sample.get("bounds")
        if not isinstance(bounds, dict):
            raise ScenarioError(name, "must be a table of name = [low, high]", field="sample.bounds")
        if method == "lhs":
            design = latin_hypercube(bounds, n, seed=seed, fixed=fixed, origin=name)
        else:
            second = sample.get("second_order", False)
            if not isinstance(second, bool):
                raise ScenarioError(name, f"{second!r} must be true or false", field="sample.second_order")
            design = sobol_sample(bounds, n, seed=seed, second_order=second, fixed=fixed, origin=name)

    sweep = doc.get("sweep", {})
    if not isinstance(sweep, dict):
        raise ScenarioError(name, "must be a table", field="sweep")
    for key in sweep:
        if key not in _SWEEP_KEYS:
            raise ScenarioError(name, f"unknown key (allowed: {', '.join(_SWEEP_KEYS)})", field=f"sweep.{key}")

    def whole(key: str, low: int, high: int | None = None) -> int | None:
        v = sweep.get(key)
        if v is None:
            return None
        if isinstance(v, bool) or not isinstance(v, int) or v < low or (high is not None and v > high):
            within = f">= {low}" if high is None else f"between {low} and {high}"
            raise ScenarioError(name, f"{v!r} must be a whole number {within}", field=f"sweep.{key}")
        return v

    places = sweep.get("key_places")
    if places is not None and places != "all" and not (
            isinstance(places, list) and all(isinstance(p, str) for p in places)):
        raise ScenarioError(name, "must be \"all\" or a list of place ids", field="sweep.key_places")
    daily = sweep.get("daily", False)
    if not isinstance(daily, bool):
        raise ScenarioError(name, f"{daily!r} must be true or false", field="sweep.daily")
    return DesignFile(path=path, design=design, seeds=whole("seeds", 1), sweep_seed=whole("sweep_seed", 0) or 0,
                      days=whole("days", 1, MAX_DAYS), key_places=tuple(places) if isinstance(places, list) else places,
                      daily=daily)

