"""The fitted-parameters file a calibration writes, and the posterior sample beside it.

``[parameters]`` is what the scenario loader applies; ``[fit]`` records how they were found: loss, date, command,
seed, budget, the model's fingerprint (:func:`simulation.fingerprint.model_fingerprint`), the git commit of the
source, ``[fit.libraries]`` (the versions of Python and the libraries the numbers depend on), ``[fit.loss_settings]``
(the loss's constants and weights) and ``[fit.observation_errors]`` (each used row's observation error), the bounds,
``[fit.pressed]`` (parameters whose estimate or posterior presses on a bound, :func:`pressed_bounds`) and the
posterior's median and 90 % interval.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from simulation.calibration.abc import AbcResult


def provenance() -> dict[str, Any]:
    """What computed a fit: the model's fingerprint, and the git commit of its source and whether its files
    differ from it (where the source is a git checkout)."""
    import subprocess

    from simulation.fingerprint import model_fingerprint, model_sources

    files = model_sources()
    root = files[0].parents[1]
    state: dict[str, Any] = {"model_fingerprint": model_fingerprint()}
    try:
        commit = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True,
                                timeout=10, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--", *map(str, files)],
                               capture_output=True, text=True, timeout=10, check=True).stdout.strip()
        state.update(model_commit=commit, model_sources_modified=bool(dirty))
    except (OSError, subprocess.SubprocessError):
        pass
    return state



def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    if isinstance(v, (float, np.floating)):
        v = float(v)
        return repr(v) if math.isfinite(v) else ("nan" if math.isnan(v) else ("inf" if v > 0 else "-inf"))
    if isinstance(v, (dt.date, dt.datetime)):
        return v.isoformat()
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    return json.dumps(str(v), ensure_ascii=False)  # a TOML basic string is a JSON string


def pressed_bounds(names: Sequence[str], x: Sequence[float], particles: np.ndarray, bounds: np.ndarray,
                   edge: float = 0.025, tail: float = 0.05, tail_share: float = 0.15) -> dict[str, str]:
    """Parameters whose estimate or posterior presses on a bound of the ``[fit]`` range, with why.

    The estimate presses when it lies within ``edge`` (2.5 %) of the range's width from a bound; the posterior
    when at least ``tail_share`` (15 %) of its particles lie in the outer ``tail`` (5 %) of the range next to a
    bound, three times what the uniform prior puts there. Either says the data would take the parameter beyond
    its bounds (or that the bound is where the model's discounting stops making sense): the bound, not the
    data, set the value.
    """
    bounds = np.asarray(bounds, dtype=float)
    particles = np.asarray(particles, dtype=float).reshape(-1, len(names)) if len(particles) else \
        np.zeros((0, len(names)))
    out = {}
    for j, name in enumerate(names):
        lo, hi = bounds[j]
        width = hi - lo
        why = []
        u = (float(x[j]) - lo) / width
        if u <= edge or u >= 1 - edge:
            why.append(f"estimate {float(x[j]):.4g} at the {'lower' if u <= edge else 'upper'} bound")
        if len(particles):
            v = (particles[:, j] - lo) / width
            for side, share in (("lower", float(np.mean(v <= tail))), ("upper", float(np.mean(v >= 1 - tail)))):
                if share >= tail_share:
                    why.append(f"{100 * share:.0f} % of the posterior in the {100 * tail:.0f} % of the range at the "
                               f"{side} bound")
        if why:
            out[name] = "; ".join(why)
    return out


def fitted_file_text(names: Sequence[str], x: Sequence[float], posterior: AbcResult, meta: dict[str, Any],
                     bounds: np.ndarray, digits: int = 4, libraries: dict[str, str] | None = None,
                     tables: dict[str, dict[str, Any]] | None = None, pressed: dict[str, str] | None = None) -> str:
    """The fitted-parameters file: ``[parameters]`` (what the loader applies) and ``[fit]`` (how they were
    found: ``meta`` — loss, date, command, seed, budget, fingerprint —, ``[fit.libraries]``, the further
    ``tables`` (``{"fit.loss_settings": {...}}``), the bounds, ``[fit.pressed]`` and the posterior's median and 90 %
    interval).

    Parameter values are rounded to ``digits`` significant figures (record the loss of the rounded values in
    ``meta``: that is what a user of the file gets).
    """
    lines = ["# Fitted parameters, written by `conflict-sim calibrate` (see calibration/README.md).",
             "# The scenario loader reads only [parameters]; [fit] records how they were found.", "",
             "[parameters]"]
    for name, v in zip(names, x):
        lines.append(f"{name} = {_toml_value(float(f'{v:.{digits}g}'))}")
    lines += ["", "[fit]"]
    for k, v in meta.items():
        lines.append(f"{k} = {_toml_value(v)}")
    if libraries:
        lines += ["", "[fit.libraries]"]
        lines += [f"{json.dumps(k)} = {_toml_value(v)}" for k, v in libraries.items()]
    for table, values in (tables or {}).items():
        lines += ["", f"[{table}]"]
        lines += [f"{json.dumps(k)} = {_toml_value(v)}" for k, v in values.items()]
    lines += ["", "[fit.bounds]"]
    for name, (lo, hi) in zip(names, bounds):
        lines.append(f"{name} = {_toml_value([float(lo), float(hi)])}")
    if pressed:
        lines += ["", "# Parameters whose estimate or posterior presses on a bound (simulation/calibration/fitted.py)",
                  "[fit.pressed]"]
        lines += [f"{name} = {_toml_value(why)}" for name, why in pressed.items()]
    q = posterior.quantiles((0.05, 0.5, 0.95))
    for j, name in enumerate(names):
        lines += ["", f"[fit.posterior.{name}]",
                  f"median = {_toml_value(float(f'{q[1, j]:.{digits}g}'))}",
                  f"low90 = {_toml_value(float(f'{q[0, j]:.{digits}g}'))}",
                  f"high90 = {_toml_value(float(f'{q[2, j]:.{digits}g}'))}"]
    return "\n".join(lines) + "\n"


def rounded(x: Sequence[float], digits: int = 4) -> np.ndarray:
    """``x`` rounded to ``digits`` significant figures (as written in the fitted file)."""
    return np.array([float(f"{v:.{digits}g}") for v in x])


def posterior_named(fitted: str | Path) -> Path | None:
    """The posterior sample a fitted-parameters file names (``posterior_samples`` in its ``[fit]`` table, beside
    the file), whether or not it exists; ``None`` when it names none or cannot be read."""
    import tomllib

    fitted = Path(fitted)
    try:
        name = tomllib.loads(fitted.read_text(encoding="utf-8")).get("fit", {}).get("posterior_samples")
    except (OSError, ValueError):
        return None
    return fitted.parent / str(name) if name else None


def posterior_file(fitted: str | Path) -> Path | None:
    """The posterior sample a fitted-parameters file names (see :func:`posterior_named`), or ``None`` when it
    names none or the file is missing."""
    path = posterior_named(fitted)
    return path if path is not None and path.is_file() else None


def load_posterior(path: str | Path) -> dict[str, np.ndarray]:
    """The SMC-ABC particles written by :func:`calibrate` (``posterior.csv``): parameter name → samples.

    Sweeps and the app draw parameter sets from these rows (each row is one equally weighted particle).
    """
    with Path(path).open(encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f))
    header, data = rows[0], np.array(rows[1:], dtype=float).reshape(len(rows) - 1, len(rows[0]))
    return {name: data[:, j] for j, name in enumerate(header) if name != "distance"}
