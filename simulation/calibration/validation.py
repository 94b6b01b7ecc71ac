"""Validation: the model against every used observation, in-sample (calibration split) and out-of-sample.

For each observation, the model's value over several seeds (median and 90 % interval) beside the reported
one; for each split, the scores:

- ``control_within_2_days``: share of reported control changes (``taken``/``retaken``) the model makes within
  ±2 days of the reported date (over rows and seeds);
- ``held_share``: share of ``held`` reports (attacks repelled, places still held) the model agrees with;
- ``unreported_changes``: control changes in the split's dates that no row reports (median over seeds);
- ``casualty_ratio_killed`` / ``casualty_ratio_wounded``: model over reported (geometric mean over rows,
  median over seeds);
- ``displacement_ard``: FLEE's averaged relative difference over the displacement rows (median over seeds);
- ``loss``: the calibration loss of the split's rows (median over seeds).

:func:`validate` is the library function (``conflict-sim validate`` calls it): the seeds run through the ensemble
layer (the sweep's backends and, optionally, its store), each run's daily records come back, and the scores are
computed here from them.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from simulation.calibration.loss import DEFAULT_SETTINGS, LossSettings, loss_terms, model_values
from simulation.calibration.observations import (
    CompiledObservations,
    Observations,
    compile_observations,
    load_observations,
    observations_dir,
    split_window,
)
from simulation.calibration.record import DailyRecords, RunRecord
from simulation.scenario import Scenario, load_scenario

SPLIT_LABEL = {"calibration": "in-sample", "validation": "out-of-sample"}


def compile_splits(observations: Observations, scenario: Scenario) -> dict[str, CompiledObservations]:
    """The used rows of each split, compiled against ``scenario`` with the split's window of dates."""
    return {split: compile_observations(observations.select(split=split), scenario,
                                        window=split_window(observations, scenario, split))
            for split in ("calibration", "validation")}


def record_values(record: RunRecord, splits: dict[str, CompiledObservations],
                  settings: LossSettings = DEFAULT_SETTINGS) -> dict[str, Any]:
    """Everything validation needs from one run: per split, the model's value of each row, its loss terms,
    and the daily series behind each casualty and displacement row (for the plots)."""
    out: dict[str, Any] = {}
    days = record.days
    for split, obs in splits.items():
        v = model_values(record, obs)
        cas = np.zeros((len(obs.casualties), 2, days))
        for i in range(len(obs.casualties)):
            a = obs.casualty_start[i]
            places, parties = obs.casualty_places[i], obs.casualty_parties[i]
            for j, series in enumerate((record.killed, record.wounded)):
                daily = series[:, places][:, :, parties].sum(axis=(1, 2)).astype(float)
                daily[:a] = 0
                cas[i, j] = np.cumsum(daily)
        dis = np.zeros((len(obs.displacement), days))
        for i in range(len(obs.displacement)):
            s = record.displaced_from if obs.displacement_left[i] else record.idps
            dis[i] = s[:, obs.displacement_places[i]].sum(axis=1)
        out[split] = {"values": v, "terms": loss_terms(v, obs, settings), "casualty_series": cas,
                      "displacement_series": dis}
    return out


def _interval(a: np.ndarray) -> dict[str, float | None]:
    a = np.asarray(a, dtype=float)
    a = a[~np.isnan(a)]
    if a.size == 0:
        return {"median": None, "low90": None, "high90": None}
    lo, med, hi = np.quantile(a, [0.05, 0.5, 0.95])
    return {"median": float(med), "low90": float(lo), "high90": float(hi)}


def summarise(runs: list[dict[str, Any]], splits: dict[str, CompiledObservations]) -> dict[str, Any]:
    """Per-observation comparison and per-split scores (plain data, what ``validation.json`` holds)."""
    result: dict[str, Any] = {"observations": [], "scores": {}}
    for split, obs in splits.items():
        vals = [r[split]["values"] for r in runs]
        offsets = np.array([v.control_offset for v in vals]).reshape(len(runs), len(obs.control))
        for i, o in enumerate(obs.control):
            off = offsets[:, i]
            row: dict[str, Any] = {"split": split, "table": "control", "row": o.row, "date": o.date.isoformat(),
                                   "place": o.place, "kind": o.kind, "reported": o.controller}
            if o.kind == "held":
                row["model_share_held"] = float(np.mean(~np.isnan(off)))
            else:
                row["model_share_within_2_days"] = float(np.mean(np.abs(np.nan_to_num(off, nan=99)) <= 2))
                row["model_share_missed"] = float(np.mean(np.isnan(off)))
                row["model_offset_days"] = _interval(off)
            result["observations"].append(row)
        kill = np.array([v.casualty_killed for v in vals]).reshape(len(runs), -1)
        wnd = np.array([v.casualty_wounded for v in vals]).reshape(len(runs), -1)
        for i, o in enumerate(obs.casualties):
            result["observations"].append({
                "split": split, "table": "casualties", "row": o.row, "period": f"{o.start}/{o.end}",
                "scope": f"{'+'.join(o.who)};{o.where}", "reported_killed": o.killed, "reported_wounded": o.wounded,
                "model_killed": _interval(kill[:, i]), "model_wounded": _interval(wnd[:, i])})
        dis = np.array([v.displacement for v in vals]).reshape(len(runs), -1)
        for i, o in enumerate(obs.displacement):
            result["observations"].append({
                "split": split, "table": "displacement", "row": o.row, "date": o.date.isoformat(), "area": o.area,
                "measure": o.measure, "reported": o.idps, "reported_range": None if o.low is None else [o.low, o.high],
                "model": _interval(dis[:, i])})

        taken = ~obs.control_held
        with np.errstate(invalid="ignore", divide="ignore"):
            within = np.abs(np.nan_to_num(offsets[:, taken], nan=99)) <= 2
            held = ~np.isnan(offsets[:, obs.control_held])
            ratio_k = np.exp(np.mean(np.log((kill + 1) / (obs.casualty_killed + 1)), axis=1)) if kill.size else None
            has_w = ~np.isnan(obs.casualty_wounded)
            ratio_w = np.exp(np.mean(np.log((wnd[:, has_w] + 1) / (obs.casualty_wounded[has_w] + 1)), axis=1)) \
                if has_w.any() else None
            ard = np.mean(np.abs(dis - obs.displacement_idps) / obs.displacement_idps, axis=1) if dis.size else None
        result["scores"][split] = {
            "label": SPLIT_LABEL[split],
            "control_changes": int(taken.sum()),
            "control_within_2_days": float(within.mean()) if within.size else None,
            "held_reports": int(obs.control_held.sum()),
            "held_share": float(held.mean()) if held.size else None,
            "unreported_changes": float(np.median([v.unreported_changes for v in vals])),
            "casualty_rows": len(obs.casualties),
            "casualty_ratio_killed": float(np.median(ratio_k)) if ratio_k is not None else None,
            "casualty_ratio_wounded": float(np.median(ratio_w)) if ratio_w is not None else None,
            "displacement_rows": len(obs.displacement),
            "displacement_ard": float(np.median(ard)) if ard is not None else None,
            "loss": float(np.median([r[split]["terms"]["loss"] for r in runs])),
        }
    return result


def _fmt(v: Any, pct: bool = False) -> str:
    if v is None:
        return "—"
    if pct:
        return f"{100 * v:.0f} %"
    if isinstance(v, float) and (abs(v) >= 1000 or v.is_integer()):
        return f"{v:,.0f}"
    return f"{v:.2f}" if isinstance(v, float) else str(v)


def table_text(summary: dict[str, Any]) -> str:
    """The terminal table: every observation, then the scores of each split."""
    lines = []
    for split in ("calibration", "validation"):
        rows = [r for r in summary["observations"] if r["split"] == split]
        lines.append(f"{SPLIT_LABEL[split]} ({split} split): {len(rows)} observations")
        for r in rows:
            if r["table"] == "control":
                if r["kind"] == "held":
                    model = f"held in {_fmt(r['model_share_held'], True)} of runs"
                else:
                    off = r["model_offset_days"]
                    model = (f"±2 d in {_fmt(r['model_share_within_2_days'], True)}, missed in "
                             f"{_fmt(r['model_share_missed'], True)}; offset {_fmt(off['median'])} d "
                             f"[{_fmt(off['low90'])}, {_fmt(off['high90'])}]")
                lines.append(f"  {r['date']} {r['place']:<20} {r['kind']:<7} {r['reported']:<10} model: {model}")
            elif r["table"] == "casualties":
                k, w = r["model_killed"], r["model_wounded"]
                lines.append(f"  {r['period']} {r['scope']}: reported {_fmt(r['reported_killed'])} killed, "
                             f"{_fmt(r['reported_wounded'])} wounded; model {_fmt(k['median'])} "
                             f"[{_fmt(k['low90'])}, {_fmt(k['high90'])}] killed, {_fmt(w['median'])} "
                             f"[{_fmt(w['low90'])}, {_fmt(w['high90'])}] wounded")
            else:
                m = r["model"]
                lines.append(f"  {r['date']} {r['area']:<20} {r['measure']:<7} reported {_fmt(r['reported'])}; "
                             f"model {_fmt(m['median'])} [{_fmt(m['low90'])}, {_fmt(m['high90'])}]")
    lines.append("")
    lines.append(f"{'score':<34}{'in-sample':>14}{'out-of-sample':>16}")
    cal, val = summary["scores"]["calibration"], summary["scores"]["validation"]
    for key, label, pct in [("control_within_2_days", "control changes within ±2 days", True),
                            ("held_share", "held reports the model agrees with", True),
                            ("unreported_changes", "unreported control changes", False),
                            ("casualty_ratio_killed", "casualty ratio, killed", False),
                            ("casualty_ratio_wounded", "casualty ratio, wounded", False),
                            ("displacement_ard", "displacement ARD", False),
                            ("loss", "loss", False)]:
        lines.append(f"{label:<34}{_fmt(cal[key], pct):>14}{_fmt(val[key], pct):>16}")
    lines.append(f"(rows: {cal['control_changes']}/{val['control_changes']} changes, {cal['held_reports']}/"
                 f"{val['held_reports']} held, {cal['casualty_rows']}/{val['casualty_rows']} casualty, "
                 f"{cal['displacement_rows']}/{val['displacement_rows']} displacement)")
    return "\n".join(lines) + "\n"


def write_plots(runs: list[dict[str, Any]], splits: dict[str, CompiledObservations], start: dt.date,
                cutoff: dt.date, out: Path) -> list[str]:
    """Model against reported over time: control dates, cumulative casualties, displacement. Returns the PNG
    file names written into ``out``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    days = runs[0]["calibration"]["casualty_series"].shape[-1] if runs else 0
    dates = [start + dt.timedelta(days=i) for i in range(days)]
    written = []
    colours = {"calibration": "#1f77b4", "validation": "#d62728"}

    # Control: reported date against the model's date (median and 90 % interval) of each reported change.
    ctrl = [(split, i, o) for split, obs in splits.items() for i, o in enumerate(obs.control)]
    if ctrl:
        fig, ax = plt.subplots(figsize=(9, 0.28 * len(ctrl) + 1.5))
        for y, (split, i, o) in enumerate(ctrl):
            off = np.array([r[split]["values"].control_offset[i] for r in runs])
            if o.kind == "held":
                share = float(np.mean(~np.isnan(off)))
                ax.scatter([o.date], [y], marker="s", color=plt.cm.RdYlGn(share), edgecolor="k", zorder=3)
                continue
            ax.scatter([o.date], [y], marker="x", color="k", zorder=3)
            ok = off[~np.isnan(off)]
            if ok.size:
                lo, med, hi = np.quantile(ok, [0.05, 0.5, 0.95])
                ax.plot([o.date + dt.timedelta(days=float(lo)), o.date + dt.timedelta(days=float(hi))], [y, y],
                        color=colours[split], lw=3, alpha=0.5)
                ax.scatter([o.date + dt.timedelta(days=float(med))], [y], color=colours[split], s=12, zorder=4)
            if np.isnan(off).mean() > 0:
                ax.text(dates[-1] if dates else o.date, y, f" missed {np.isnan(off).mean():.0%}", fontsize=6,
                        va="center")
        ax.set_yticks(range(len(ctrl)), [f"{o.place} ({o.kind} {o.controller})" for _, _, o in ctrl], fontsize=6)
        ax.axvline(cutoff, color="grey", ls="--", lw=1)
        ax.set_title("Control: reported date (x) and model date (median, 90 % interval); "
                     "squares: held reports, green = held in all runs", fontsize=8)
        fig.autofmt_xdate()
        fig.savefig(out / "validation_control.png", dpi=110, bbox_inches="tight")
        plt.close(fig)
        written.append("validation_control.png")

    for kind, key in (("casualties", "casualty_series"), ("displacement", "displacement_series")):
        panels = [(split, i, o) for split, obs in splits.items()
                  for i, o in enumerate(getattr(obs, kind))]
        if not panels:
            continue
        fig, axes = plt.subplots(len(panels), 1, figsize=(8, 2.2 * len(panels)), squeeze=False)
        for ax, (split, i, o) in zip(axes[:, 0], panels):
            series = np.array([r[split][key][i] for r in runs])
            if kind == "casualties":
                lines = [(series[:, 0], o.killed, "killed", o.end), (series[:, 1], o.wounded, "wounded", o.end)]
                title = f"{'+'.join(o.who)}; {o.where} ({o.start} to {o.end}, {SPLIT_LABEL[split]})"
            else:
                lines = [(series, o.idps, o.measure, o.date)]
                title = f"displaced, {o.measure}: {o.area} ({SPLIT_LABEL[split]})"
            for (s, rep, label, when), c in zip(lines, (colours[split], "#ff7f0e")):
                lo, med, hi = np.quantile(s, [0.05, 0.5, 0.95], axis=0)
                ax.fill_between(dates, lo, hi, color=c, alpha=0.2)
                ax.plot(dates, med, color=c, label=f"model {label}")
                if rep is not None:
                    ax.scatter([when], [rep], color=c, edgecolor="k", zorder=3, label=f"reported {label}")
            if kind == "displacement" and o.low is not None:
                ax.errorbar([o.date], [o.idps], yerr=[[o.idps - o.low], [o.high - o.idps]], color="k", capsize=3)
            ax.axvline(cutoff, color="grey", ls="--", lw=1)
            ax.set_title(title, fontsize=8)
            ax.legend(fontsize=6)
            ax.tick_params(labelsize=7)
        fig.autofmt_xdate()
        fig.tight_layout()
        name = f"validation_{kind}.png"
        fig.savefig(out / name, dpi=110)
        plt.close(fig)
        written.append(name)
    return written


def report_markdown(summary: dict[str, Any], plots: list[str]) -> str:
    """``validation.md``: the table and the plots."""
    head = summary.get("header", {})
    lines = ["# Validation", ""]
    for k, v in head.items():
        lines.append(f"- {k}: {v}")
    lines += ["", "```", table_text(summary).rstrip(), "```", ""]
    lines += [f"![{p}]({p})" for p in plots]
    return "\n".join(lines) + "\n"


def write_validation(summary: dict[str, Any], runs: list[dict[str, Any]], splits: dict[str, CompiledObservations],
                     start: dt.date, cutoff: dt.date, out: Path, overwrite: bool = False, plots: bool = True) -> Path:
    """Write ``validation.json``, ``validation.md`` and the plots into directory ``out`` (atomically)."""
    from simulation.runs.output import atomic_directory

    with atomic_directory(out, overwrite=overwrite) as tmp:
        (tmp / "validation.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
        names = write_plots(runs, splits, start, cutoff, tmp) if plots else []
        (tmp / "validation.md").write_text(report_markdown(summary, names), encoding="utf-8")
    return out


# ------------------------------------------------------------------------------------------------------------
# The library function


@dataclass
class ValidationResult:
    """What :func:`validate` found.

    Attributes
    ----------
    summary : per observation, the model against the reported value; per split, the scores (what
        ``validation.json`` holds; the command line adds a header and the parameters).
    runs : :func:`record_values` of each run, in the order of ``seeds``.
    splits : the compiled observations of each split.
    seeds : the model seeds.
    start, cutoff : the scenario's start date and the last date of the calibration split.
    """

    summary: dict[str, Any]
    runs: list[dict[str, Any]]
    splits: dict[str, CompiledObservations]
    seeds: list[int]
    start: dt.date
    cutoff: dt.date
    simulations: int = 0
    parameters: dict[str, float] = field(default_factory=dict)

    @property
    def scores(self) -> dict[str, dict[str, Any]]:
        """Per split (``calibration``: in-sample, ``validation``: out-of-sample), the scores."""
        return self.summary["scores"]

    def table(self) -> str:
        """The terminal table: every observation, then the scores of each split."""
        return table_text(self.summary)

    def write(self, out: Path, overwrite: bool = False, plots: bool = True) -> Path:
        """Write ``validation.json``, ``validation.md`` and the plots into directory ``out`` (atomically)."""
        return write_validation(self.summary, self.runs, self.splits, self.start, self.cutoff, Path(out),
                                overwrite=overwrite, plots=plots)


def validate(scenario: Scenario | str | Path, observations: Observations | str | Path | None = None, *,
             seeds: int | Iterable[int] = 20, workers: int = 1, backend: str | None = None,
             scheduler: str | None = None, store: str | Path | None = None,
             settings: LossSettings = DEFAULT_SETTINGS, progress: bool = False,
             callback: Callable[[int], None] | None = None) -> ValidationResult:
    """Score the model against every used observation, in and out of sample, over several seeds.

    Parameters
    ----------
    scenario : a scenario directory (loaded with its fitted parameters) or a loaded scenario.
    observations : the observation tables (or their directory); default: those ``scenario.toml`` names.
    seeds : how many seeds (``1..n``), or the seeds themselves.
    workers, backend, scheduler : where the runs are computed (serial for one worker, else a process pool; or
        Dask; see :func:`simulation.sweep.backends.open_backend`). The result does not depend on them.
    store : directory to keep the runs in and reuse them from (see :class:`~simulation.sweep.store.ResultStore`);
        ``None``: in memory.
    settings : constants of the loss.
    progress : show a progress bar on stderr.
    callback : called with the number of runs finished so far, after every batch.

    Returns
    -------
    ValidationResult

    Raises
    ------
    ScenarioError
        The scenario names no observations, or an observation names what it lacks.

    Examples
    --------
    >>> from simulation import validate
    >>> res = validate("scenarios/iraq_june_2014", seeds=20, workers=2)  # doctest: +SKIP
    >>> res.scores["validation"]["loss"]  # doctest: +SKIP
    """
    from tqdm import tqdm

    from simulation.sweep.ensemble import Ensemble

    if not isinstance(scenario, Scenario):
        scenario = load_scenario(scenario)
    if not isinstance(observations, Observations):
        observations = load_observations(observations_dir(scenario.path, observations))
    seeds = list(range(1, int(seeds) + 1)) if isinstance(seeds, (int, np.integer)) else [int(s) for s in seeds]
    splits = compile_splits(observations, scenario)
    backend = backend or ("serial" if int(workers) <= 1 and scheduler is None else "processes")
    measure = DailyRecords()
    with Ensemble(scenario, measure, backend=backend, workers=max(1, int(workers)), scheduler=scheduler,
                  store=store) as ensemble:
        tasks = [ensemble.plan({}, s)[0] for s in seeds]
        done = len({t.key for t in tasks if ensemble.known(t.key)})
        simulated = 0
        with tqdm(total=len({t.key for t in tasks}), initial=done, desc="validate", unit="run", file=sys.stderr,
                  disable=not progress, leave=False) as bar:
            for frame in ensemble.compute(tasks):
                simulated += len(frame)
                bar.update(len(frame))
                if callback is not None:
                    callback(done + simulated)
        rows = ensemble.results([t.key for t in tasks]).set_index("key")
    runs = [record_values(measure.record(rows.loc[t.key], scenario), splits, settings) for t in tasks]
    return ValidationResult(summarise(runs, splits), runs, splits, seeds, scenario.start_date,
                            split_window(observations, scenario, "calibration")[1], simulated,
                            dict(scenario.parameters))
