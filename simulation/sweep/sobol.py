"""Sobol sensitivity indices of an outcome (SALib) for a Sobol-sample design: the one Sobol pipeline.

Sample with :func:`simulation.sweep.designs.sobol_sample`, run the design (:func:`simulation.sweep.run_sweep`, or
the calibration's :func:`~simulation.calibration.sensitivity.sobol_sensitivity`), then :func:`sobol_indices`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from simulation.sweep.designs import Design


def sobol_indices(design: Design, results: pd.DataFrame, output: str, num_resamples: int = 100,
                  seed: int | None = None) -> pd.DataFrame:
    """Sobol sensitivity indices of ``output`` (SALib's ``sobol.analyze``) for a :func:`sobol_sample` design.

    The output is averaged over the replicates of each parameter set first, so the indices describe the
    expected outcome; with few replicates, seed noise inflates the total-order indices.

    Parameters
    ----------
    design : the Sobol design the sweep ran.
    results : the sweep's table (needs ``set`` and ``output``).
    output : a numeric (or boolean) outcome column without missing values (fill ``fell_day_*`` first).
    num_resamples, seed : bootstrap of the confidence intervals.

    Returns
    -------
    pandas.DataFrame
        Indexed by parameter: ``S1``, ``S1_conf``, ``ST``, ``ST_conf``; all NaN when the output is the same for
        every parameter set (no variance to apportion).

    Raises
    ------
    ValueError
        The design is not a Sobol sample, a parameter set has no result, or the output has missing values.
    """
    from SALib.analyze import sobol

    if design.method != "sobol" or design.problem is None:
        raise ValueError("sobol_indices needs a design from sobol_sample()")
    values = results[output]
    if values.isna().any():
        raise ValueError(f"{output} has missing values; fill them first (e.g. fell_day_* with the number of days)")
    means = values.astype(float).groupby(results["set"]).mean().reindex(range(len(design)))
    if means.isna().any():
        raise ValueError(f"{int(means.isna().sum())} parameter sets of the design have no result")
    if np.ptp(means.to_numpy()) == 0:
        return pd.DataFrame(np.nan, index=pd.Index(design.problem["names"], name="parameter"),
                            columns=["S1", "S1_conf", "ST", "ST_conf"])
    si = sobol.analyze(design.problem, means.to_numpy(), calc_second_order=design.second_order,
                       num_resamples=num_resamples, seed=seed)
    return pd.DataFrame({k: si[k] for k in ("S1", "S1_conf", "ST", "ST_conf")},
                        index=pd.Index(design.problem["names"], name="parameter"))

