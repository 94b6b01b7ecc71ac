"""A baseline ensemble against counterfactual ensembles of the same seeds: what ``conflict-sim compare`` writes.

Every ensemble runs the same seeds (and, with a posterior, the same parameter draws: they depend only on the
seed), so the runs pair up seed by seed (common random numbers). For each counterfactual:

change in the share of runs a place falls
    ``mean(fell_cf - fell_base)`` over the seeds (``fell``: :func:`~simulation.runs.outcomes.fall_days` >= 0),
    with a 95 % interval from the paired bootstrap (:data:`BOOTSTRAP` resamples of the seeds, percentile
    interval, generator seeded with 0: the same numbers every time).
shift of the median fall date
    The median fall day among the counterfactual's runs in which the place fell minus the baseline's, in days,
    with the same bootstrap's interval (left empty when fewer than 95 % of the resamples have a fall on both
    sides).
difference in killed and displaced
    Per seed ``cf - base`` of the totals at the end of the run; its median and 5–95 % range (the spread of the
    effect over the runs), and its mean with a 95 % bootstrap interval (the uncertainty of the average effect).
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from simulation.runs.ensemble import EnsembleResult, run_ensemble
from simulation.scenario import Scenario, load_scenario

BOOTSTRAP = 2000
#: Totals at the end of a run whose paired differences a comparison reports.
DIFFERENCE_SERIES = ("killed_all", "killed_civilian", "wounded_all", "displaced_left", "displaced_now")


def _totals(ens: EnsembleResult) -> dict[str, np.ndarray]:
    """Totals at the end of each run: :data:`DIFFERENCE_SERIES` and killed by party."""
    out = {"killed_all": ens.killed.sum(axis=(1, 2)), "wounded_all": ens.wounded.sum(axis=(1, 2))}
    for q, party in enumerate(ens.parties):
        out[f"killed_{party}"] = ens.killed[:, :, q].sum(axis=1)
    out["displaced_left"] = ens.left[:, -1]
    out["displaced_now"] = ens.displaced[:, -1]
    return out


def _bootstrap_index(n: int) -> np.ndarray:
    return np.random.default_rng(0).integers(0, n, size=(BOOTSTRAP, n))


@dataclass
class Comparison:
    """A baseline ensemble and counterfactual ensembles of the same seeds."""

    baseline: EnsembleResult
    counterfactuals: dict[str, EnsembleResult]

    def __post_init__(self) -> None:
        for name, ens in self.counterfactuals.items():
            if not np.array_equal(ens.seeds, self.baseline.seeds):
                raise ValueError(f"counterfactual {name!r} ran other seeds than the baseline: runs do not pair up")

    def places_frame(self) -> pd.DataFrame:
        """Per counterfactual and place: the shares of runs it fell, their change with its interval, the median
        fall days (from the start date) and the shift with its interval. Places that fell in no run of either
        ensemble are left out."""
        base = self.baseline
        idx = _bootstrap_index(base.runs)
        fb = base.fell_days()
        rows = []
        for name, ens in self.counterfactuals.items():
            fc = ens.fell_days()
            change = (fc >= 0).astype(float) - (fb >= 0)
            boot = change[idx].mean(axis=1)  # (resamples, places)
            db = np.where(fb >= 0, fb, np.nan)
            dc = np.where(fc >= 0, fc, np.nan)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN slices: no fall in a resample
                shift_boot = np.nanmedian(dc[idx], axis=1) - np.nanmedian(db[idx], axis=1)
                med_b, med_c = np.nanmedian(db, axis=0), np.nanmedian(dc, axis=0)
            defined = np.isfinite(shift_boot).mean(axis=0)
            for k, p in enumerate(base.scenario.places):
                if not (fb[:, k] >= 0).any() and not (fc[:, k] >= 0).any():
                    continue
                ok = defined[k] >= 0.95
                lo, hi = (np.nanpercentile(shift_boot[:, k], (2.5, 97.5)) if ok else (np.nan, np.nan))
                rows.append({
                    "counterfactual": name, "place": p.id, "name": p.name,
                    "fell_baseline": float((fb[:, k] >= 0).mean()),
                    "fell_counterfactual": float((fc[:, k] >= 0).mean()),
                    "change": float(change[:, k].mean()),
                    "change_low": float(np.percentile(boot[:, k], 2.5)),
                    "change_high": float(np.percentile(boot[:, k], 97.5)),
                    "median_day_baseline": float(med_b[k]), "median_day_counterfactual": float(med_c[k]),
                    "shift_days": float(med_c[k] - med_b[k]), "shift_low": float(lo), "shift_high": float(hi),
                })
        return pd.DataFrame(rows)

    def differences_frame(self) -> pd.DataFrame:
        """Per counterfactual and total (:data:`DIFFERENCE_SERIES` and killed by party): the baseline's and the
        counterfactual's median and 5–95 % range, and the paired difference (see the module notes)."""
        base = _totals(self.baseline)
        idx = _bootstrap_index(self.baseline.runs)
        names = list(DIFFERENCE_SERIES) + [f"killed_{p}" for p in self.baseline.parties if p != "civilian"]
        rows = []
        for name, ens in self.counterfactuals.items():
            cf = _totals(ens)
            for series in names:
                b, c = base[series].astype(float), cf[series].astype(float)
                d = c - b
                boot = d[idx].mean(axis=1)
                qb, qc, qd = (np.quantile(x, (0.05, 0.5, 0.95)) for x in (b, c, d))
                rows.append({"counterfactual": name, "series": series,
                             "baseline_p05": qb[0], "baseline_p50": qb[1], "baseline_p95": qb[2],
                             "counterfactual_p05": qc[0], "counterfactual_p50": qc[1], "counterfactual_p95": qc[2],
                             "difference_p05": qd[0], "difference_p50": qd[1], "difference_p95": qd[2],
                             "mean_difference": float(d.mean()),
                             "mean_difference_low": float(np.percentile(boot, 2.5)),
                             "mean_difference_high": float(np.percentile(boot, 97.5))})
        return pd.DataFrame(rows)

    def summary(self) -> dict[str, Any]:
        """What ran (``summary.json``): the baseline's summary without its per-ensemble figures, the
        counterfactuals and the biggest changes."""
        s = self.baseline.summary()
        keep = ("scenario", "scenario_path", "start_date", "end_date", "days", "runs", "seeds", "parameters",
                "fitted_file", "posterior_file", "set", "observations", "versions", "version", "backend", "workers")
        out = {k: s[k] for k in keep}
        from simulation.runs.counterfactuals import COUNTERFACTUALS

        out["counterfactuals"] = {name: COUNTERFACTUALS[name].description if name in COUNTERFACTUALS else name
                                  for name in self.counterfactuals}
        out["run_time_s"] = round(sum(e.info.get("elapsed_s", 0.0) for e in (self.baseline,
                                                                                *self.counterfactuals.values())), 3)
        places = self.places_frame()
        out["fell_changes"] = {
            name: {r.place: round(r.change, 4) for r in places[places["counterfactual"] == name].itertuples()
                   if r.change != 0}
            for name in self.counterfactuals}
        diffs = self.differences_frame()
        out["differences"] = {
            name: {r.series: {"mean": r.mean_difference, "low95": r.mean_difference_low,
                              "high95": r.mean_difference_high}
                   for r in diffs[diffs["counterfactual"] == name].itertuples()}
            for name in self.counterfactuals}
        return out


def run_comparison(scenario: Scenario | str | Path, counterfactuals: Sequence[str], seeds: int | Sequence[int] = 40,
                   **kwargs: Any) -> Comparison:
    """Run the baseline and each counterfactual of :data:`~simulation.runs.counterfactuals.COUNTERFACTUALS` with
    the same seeds (:func:`~simulation.runs.ensemble.run_ensemble`'s ``kwargs``).

    Raises
    ------
    KeyError
        An unknown counterfactual.
    ScenarioError
        A counterfactual changes nothing in the scenario.
    """
    from simulation.runs.counterfactuals import apply_counterfactuals

    if not isinstance(scenario, Scenario):
        scenario = load_scenario(scenario)
    changed = {name: apply_counterfactuals(scenario, [name]) for name in counterfactuals}  # all checked first
    info = dict(kwargs.pop("info", None) or {})
    base = run_ensemble(scenario, seeds, info=info, **kwargs)
    others = {name: run_ensemble(s, seeds, info={**info, "counterfactuals": [name]}, **kwargs)
              for name, s in changed.items()}
    return Comparison(base, others)


def _fmt(v: float, digits: int = 0) -> str:
    return "—" if not np.isfinite(v) else f"{v:+,.{digits}f}"


def comparison_report(cmp: Comparison, out: Path, map_days: Sequence[int] | None = None) -> list[str]:
    """The PNGs (the ensemble report's pictures, the ensembles side by side) and ``report.md`` of a comparison."""
    from simulation.runs.counterfactuals import COUNTERFACTUALS
    from simulation.runs.ensemble_output import _what_ran, write_pictures
    from simulation.runs.ensemble_output import map_days as spread_days

    base = cmp.baseline
    ensembles = [("baseline", base), *cmp.counterfactuals.items()]
    if map_days is None:
        map_days = spread_days(base.days, 4)
    pictures = write_pictures(ensembles, out, map_days)
    start = base.scenario.start_date
    places = cmp.places_frame()
    diffs = cmp.differences_frame()
    lines = [f"# {base.scenario.name}: baseline against " + ", ".join(f"`{n}`" for n in cmp.counterfactuals), "",
             *_what_ran(base), "",
             "Every ensemble runs the same seeds, so runs pair up seed by seed. Intervals are 95 % paired-bootstrap "
             "intervals (2,000 resamples of the seeds); see `simulation/runs/compare.py`.", ""]
    for name in cmp.counterfactuals:
        c = COUNTERFACTUALS.get(name)
        lines += [f"## `{name}`" + (f": {c.description}" if c else ""), "",
                  "| total at the end | baseline | counterfactual | difference per seed (median, 5–95 %) | "
                  "mean difference (95 %) |", "|---|---:|---:|---:|---:|"]
        for r in diffs[diffs["counterfactual"] == name].itertuples():
            lines.append(f"| {r.series.replace('_', ' ')} | {r.baseline_p50:,.0f} ({r.baseline_p05:,.0f}–"
                         f"{r.baseline_p95:,.0f}) | {r.counterfactual_p50:,.0f} ({r.counterfactual_p05:,.0f}–"
                         f"{r.counterfactual_p95:,.0f}) | {_fmt(r.difference_p50)} ({_fmt(r.difference_p05)} – "
                         f"{_fmt(r.difference_p95)}) | {_fmt(r.mean_difference)} ({_fmt(r.mean_difference_low)} – "
                         f"{_fmt(r.mean_difference_high)}) |")
        sub = places[(places["counterfactual"] == name)]
        sub = sub.iloc[np.lexsort((sub["name"].to_numpy(), -np.abs(sub["change"].to_numpy())))]
        lines += ["", "| place | fell, baseline | fell, counterfactual | change (95 %) | median fall date, baseline | "
                  "counterfactual | shift in days (95 %) |", "|---|---:|---:|---:|---|---|---:|"]
        for r in sub.itertuples():
            def day(v: float) -> str:
                return "—" if not np.isfinite(v) else f"{start + pd.Timedelta(days=int(np.floor(v))):%m-%d}"

            lines.append(f"| {r.name} | {100 * r.fell_baseline:.0f} % | {100 * r.fell_counterfactual:.0f} % | "
                         f"{100 * r.change:+.0f} % ({100 * r.change_low:+.0f} – {100 * r.change_high:+.0f}) | "
                         f"{day(r.median_day_baseline)} | {day(r.median_day_counterfactual)} | "
                         f"{_fmt(r.shift_days, 1)} ({_fmt(r.shift_low, 1)} – {_fmt(r.shift_high, 1)}) |")
        lines.append("")
    titles = {"share_maps.png": "Who holds each place (rows: baseline, then each counterfactual)",
              "fall_dates.png": "Reported changes of hands: the runs' dates, side by side",
              "fan_casualties.png": "Killed and wounded by party", "fan_control.png": "Control",
              "fan_forces.png": "Forces", "fan_displacement.png": "Displacement",
              "fan_reported.png": "Reported figures over the model's fans"}
    lines += ["## Pictures", ""]
    for p in pictures:
        lines += [f"### {titles[p]}", "", f"![{titles[p]}]({p})", ""]
    lines += ["## Files", "", "`places.csv` (per counterfactual and place: shares fell, change, median fall days, "
              "shift), `differences.csv` (totals at the end and their paired differences), `summary.json`; each "
              "ensemble's `control_share.csv`, `fall_dates.csv`, `bands.csv` and `summary.json` in `baseline/` and "
              "a directory per counterfactual.", ""]
    (Path(out) / "report.md").write_text("\n".join(lines), encoding="utf-8")
    return pictures


def write_comparison(cmp: Comparison, out: Path, plots: bool = True,
                     map_days: Sequence[int] | None = None) -> list[str]:
    """Write a comparison into the existing directory ``out``; return the names of its pictures."""
    out = Path(out)
    for name, ens in [("baseline", cmp.baseline), *cmp.counterfactuals.items()]:
        (out / name).mkdir()
        ens.write_tables(out / name)
    cmp.places_frame().to_csv(out / "places.csv", index=False, float_format="%.10g", lineterminator="\n")
    cmp.differences_frame().to_csv(out / "differences.csv", index=False, float_format="%.10g", lineterminator="\n")
    (out / "summary.json").write_text(json.dumps(cmp.summary(), indent=2) + "\n", encoding="utf-8")
    return comparison_report(cmp, out, map_days) if plots else []


def comparison_directory(scenario: Scenario | str | Path, counterfactuals: Sequence[str], out: str | Path, *,
                         overwrite: bool = False, plots: bool = True, map_days: Sequence[int] | None = None,
                         message: Callable[[str], None] | None = None, **kwargs: Any) -> Comparison:
    """Run a comparison (:func:`run_comparison`) and write its directory ``out`` atomically; ``message`` is told
    what is being done once the runs are over."""
    from simulation.runs.output import atomic_directory

    with atomic_directory(Path(out), overwrite=overwrite) as tmp:
        cmp = run_comparison(scenario, counterfactuals, **kwargs)
        if message is not None:
            message("runs done; writing the tables" + (" and the report" if plots else ""))
        write_comparison(cmp, tmp, plots, map_days)
    return cmp


__all__ = ["Comparison", "run_comparison", "write_comparison", "comparison_directory", "DIFFERENCE_SERIES"]
