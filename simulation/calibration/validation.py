"""Validation: the model against every used observation, in-sample (calibration split) and out-of-sample.

For each observation, the model's values over the runs beside the reported one; for each split, the scores:

- ``control_within_2_days``: share of reported changes of hands (``taken``/``retaken``) the model makes within
  ±2 days of the reported date or window — the date of a change being the first day the place passes to the
  reported side (:func:`simulation.runs.outcomes.change_days`) — over the rows *whose date the model has to
  find* and the runs. A row whose date is fixed by an input (:func:`input_fixed`: it lies within 2 days after an
  ``offensive`` event of the taking faction in the row's governorate, or a scripted event at the place falls in
  its window) is scored apart (``input_fixed_within_2_days``): on time there shows the events, not the model;
- ``crps_days``: the mean CRPS of the dates of the model-skill changes, in days (the loss's control term before
  its division by 7);
- ``held_share``: share of ``held`` rows (attacks repelled, status rows) the model agrees with on their date;
- ``unreported_changes``: places whose hands the model changes in the split's dates to a side no row reports
  (mean over runs);
- ``casualty_ratio_killed`` / ``casualty_ratio_wounded``: model over reported (geometric mean over rows,
  median over runs);
- ``displacement_ard``: FLEE's averaged relative difference over the displacement rows (median over runs);
- ``loss``: the calibration loss of the split's rows over all the runs, as an ensemble
  (:func:`~simulation.calibration.loss.ensemble_terms`).

Besides: how many runs lose each place held all month in reality (a place with a used ``held`` row for its
starting side and no used change row: Baghdad, Samarra, Erbil, Haditha, Baqubah, Amerli, ...), counted with the
sweeps' definition of a fall (:func:`simulation.runs.outcomes.fall_days`).

:func:`validate` is the library function (``conflict-sim validate`` calls it): the runs go through the ensemble
layer (the sweep's backends and, optionally, its store), each run's daily records come back, and the scores are
computed here from them. With a posterior (``posterior=``), the runs are a posterior predictive: parameter sets
drawn from the posterior's particles, several seeds each.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from simulation.calibration.loss import (
    DEFAULT_SETTINGS,
    LossSettings,
    RunValues,
    ensemble_terms,
        row_costs,
    run_values,
)
from simulation.calibration.observations import (
    CompiledObservations,
    ControlObservation,
    Observations,
    compile_observations,
    load_observations,
    observations_dir,
    split_window,
)
from simulation.calibration.record import DailyRecords, RunRecord
from simulation.runs.outcomes import fall_days
from simulation.scenario import Scenario, load_scenario

SPLIT_LABEL = {"calibration": "in-sample", "validation": "out-of-sample"}
#: A reported change counts as on time when the model's date is within this many days of its date or window.
ON_TIME_DAYS = 2
#: A change reported this many days after an offensive event (or a scripted event at the place) is fixed by it.
INPUT_DAYS = 2


def compile_splits(observations: Observations, scenario: Scenario) -> dict[str, CompiledObservations]:
    """The used rows of each split, compiled against ``scenario`` with the split's window of dates."""
    return {split: compile_observations(observations.select(split=split), scenario,
                                        window=split_window(observations, scenario, split))
            for split in ("calibration", "validation")}


def input_fixed(o: ControlObservation, scenario: Scenario) -> str | None:
    """Why the date of a reported change is fixed by an input of the scenario, or ``None``.

    It is when its date (or window) lies within :data:`INPUT_DAYS` days after an ``offensive`` event of the
    taking faction in the place's governorate (the start of an offensive lets the faction act there: a change
    in the next days dates the event, not the model), or when any scripted event at the place falls in its
    window (a ``morale_shock`` at Mosul on 10 June, fighters appearing at the al-Qaim crossing on 17 June).
    """
    if o.kind == "held":
        return None
    gov = {p.id: p.governorate for p in scenario.places}
    lo, hi = o.window
    for e in scenario.events:
        if (e.kind == "offensive" and e.faction == o.controller and gov.get(e.place) == gov.get(o.place)
                and lo <= e.date + dt.timedelta(days=INPUT_DAYS) and hi >= e.date):
            return f"{gov.get(o.place)} offensive of {e.date:%d %b}"
        if e.place == o.place and lo <= e.date <= hi:
            return f"{e.kind} at {e.place} on {e.date:%d %b}"
    return None


def held_all_month(splits: Mapping[str, CompiledObservations], scenario: Scenario) -> list[tuple[int, str]]:
    """Places held all month in reality: used ``held`` rows (of either split), all for the place's starting side,
    and no used change row. ``(place index, side's faction)`` in the scenario's place order."""
    coal = next(iter(splits.values())).coalition_of
    fids = list(scenario.faction_ids)
    start = {p.id: coal[fids.index(p.controller)] for p in scenario.places}
    held: dict[str, str] = {}
    changed: set[str] = set()
    for obs in splits.values():
        for o in obs.control:
            if o.kind != "held" or coal[fids.index(o.controller)] != start[o.place]:
                changed.add(o.place)
            else:
                held.setdefault(o.place, o.controller)
    ids = list(scenario.place_ids)
    return [(ids.index(p), held[p]) for p in ids if p in held and p not in changed]


def record_values(record: RunRecord, splits: dict[str, CompiledObservations], coalition_of: np.ndarray
                  ) -> dict[str, Any]:
    """Everything validation needs from one run: per split, the model's value of each row and the daily series
    behind each casualty and displacement row (for the plots); and the day each place fell (``fall_day``)."""
    out: dict[str, Any] = {"fall_day": fall_days(record.control, record.initial_control, coalition_of)}
    days = record.days
    for split, obs in splits.items():
        v = run_values(record, obs)
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
        out[split] = {"values": v, "casualty_series": cas, "displacement_series": dis}
    return out


def _interval(a: np.ndarray) -> dict[str, float | None]:
    a = np.asarray(a, dtype=float)
    a = a[~np.isnan(a)]
    if a.size == 0:
        return {"median": None, "low90": None, "high90": None}
    lo, med, hi = np.quantile(a, [0.05, 0.5, 0.95])
    return {"median": float(med), "low90": float(lo), "high90": float(hi)}


def change_dates(values: list[RunValues], obs: CompiledObservations) -> np.ndarray:
    """``[runs, control rows]`` the model's date of each change (days from the start; ``inf`` never)."""
    first = np.array([v.change_day for v in values], dtype=float).reshape(len(values), len(obs.control))
    return np.where(first < 0, np.inf, first)


def on_time(dates: np.ndarray, obs: CompiledObservations) -> np.ndarray:
    """``[runs, rows]`` whether each date is within :data:`ON_TIME_DAYS` of its row's reported date or window."""
    return (dates >= obs.control_low - ON_TIME_DAYS) & (dates <= obs.control_high + ON_TIME_DAYS)


def summarise(runs: list[dict[str, Any]], splits: dict[str, CompiledObservations], scenario: Scenario,
              settings: LossSettings = DEFAULT_SETTINGS) -> dict[str, Any]:
    """Per-observation comparison, per-split scores and the places held all month (plain data, what
    ``validation.json`` holds)."""
    start = scenario.start_date
    result: dict[str, Any] = {"observations": [], "scores": {}, "runs": len(runs)}

    def iso(d: float) -> str:
        return "never" if not math.isfinite(d) else (start + dt.timedelta(days=int(d))).isoformat()

    for split, obs in splits.items():
        vals = [r[split]["values"] for r in runs]
        costs = row_costs(vals, obs, settings)
        dates = change_dates(vals, obs)
        ok = on_time(dates, obs)
        agree = np.array([v.agree for v in vals], dtype=bool).reshape(len(runs), len(obs.control))
        fixed = np.array([input_fixed(o, scenario) is not None for o in obs.control], dtype=bool)
        for i, o in enumerate(obs.control):
            row: dict[str, Any] = {"split": split, "table": "control", "row": o.row, "date": o.date.isoformat(),
                                   "place": o.place, "kind": o.kind, "reported": o.controller,
                                   "cost": float(costs.control[i])}
            if o.kind == "held":
                row["model_share_held"] = float(agree[:, i].mean())
            else:
                p10, med, p90 = np.quantile(dates[:, i], [0.1, 0.5, 0.9], method="inverted_cdf")
                row.update({"window": [o.window[0].isoformat(), o.window[1].isoformat()],
                            "model_share_within_2_days": float(ok[:, i].mean()),
                            "model_share_never": float(np.isinf(dates[:, i]).mean()),
                            "model_date": {"median": iso(med), "p10": iso(p10), "p90": iso(p90)},
                            "crps_days": float(costs.crps_days[i]),
                            "input_fixed": input_fixed(o, scenario)})
            result["observations"].append(row)
        kill = np.array([v.killed for v in vals], dtype=float).reshape(len(runs), -1)
        wnd = np.array([v.wounded for v in vals], dtype=float).reshape(len(runs), -1)
        for i, o in enumerate(obs.casualties):
            result["observations"].append({
                "split": split, "table": "casualties", "row": o.row, "period": f"{o.start}/{o.end}",
                "scope": f"{'+'.join(o.who)};{o.where}", "reported_killed": o.killed, "reported_wounded": o.wounded,
                "model_killed": _interval(kill[:, i]), "model_wounded": _interval(wnd[:, i]),
                "cost": float(costs.casualties[i])})
        dis = np.array([v.displacement for v in vals], dtype=float).reshape(len(runs), -1)
        for i, o in enumerate(obs.displacement):
            result["observations"].append({
                "split": split, "table": "displacement", "row": o.row, "date": o.date.isoformat(), "area": o.area,
                "measure": o.measure, "reported": o.idps, "reported_range": None if o.low is None else [o.low, o.high],
                "model": _interval(dis[:, i]), "cost": float(costs.displacement[i])})

        change = ~obs.control_held
        skill, by_input = change & ~fixed, change & fixed
        with np.errstate(invalid="ignore", divide="ignore"):
            ratio_k = np.exp(np.mean(np.log((kill + 1) / (obs.casualty_killed + 1)), axis=1)) if kill.size else None
            has_w = ~np.isnan(obs.casualty_wounded)
            ratio_w = np.exp(np.mean(np.log((wnd[:, has_w] + 1) / (obs.casualty_wounded[has_w] + 1)), axis=1)) \
                if has_w.any() else None
            ard = np.mean(np.abs(dis - obs.displacement_idps) / obs.displacement_idps, axis=1) if dis.size else None
        terms = ensemble_terms(vals, obs, settings)
        result["scores"][split] = {
            "label": SPLIT_LABEL[split],
            "control_changes": int(skill.sum()),
            "control_within_2_days": float(ok[:, skill].mean()) if skill.any() else None,
            "crps_days": float(np.mean(costs.crps_days[skill])) if skill.any() else None,
            "input_fixed_changes": int(by_input.sum()),
            "input_fixed_within_2_days": float(ok[:, by_input].mean()) if by_input.any() else None,
            "held_reports": int(obs.control_held.sum()),
            "held_share": float(agree[:, obs.control_held].mean()) if obs.control_held.any() else None,
            "unreported_changes": float(np.mean([v.unreported.sum() for v in vals])),
            "casualty_rows": len(obs.casualties),
            "casualty_ratio_killed": float(np.median(ratio_k)) if ratio_k is not None else None,
            "casualty_ratio_wounded": float(np.median(ratio_w)) if ratio_w is not None else None,
            "displacement_rows": len(obs.displacement),
            "displacement_ard": float(np.median(ard)) if ard is not None else None,
            "loss": terms["loss"], "loss_control": terms["control"], "loss_casualties": terms["casualties"],
            "loss_displacement": terms["displacement"],
        }
    fell = np.array([r["fall_day"] for r in runs]).reshape(len(runs), -1)
    result["held_all_month"] = [{"place": scenario.places[p].id, "side": side,
                                 "runs_lost": int((fell[:, p] >= 0).sum()), "runs": len(runs)}
                                for p, side in held_all_month(splits, scenario)]
    return result


def _fmt(v: Any, pct: bool = False) -> str:
    if v is None:
        return "—"
    if pct:
        return f"{100 * v:.0f} %"
    if isinstance(v, float) and (abs(v) >= 1000 or v.is_integer()):
        return f"{v:,.0f}"
    return f"{v:.2f}" if isinstance(v, float) else str(v)


def _md(iso: str) -> str:
    return iso if iso == "never" else iso[5:]


def table_text(summary: dict[str, Any]) -> str:
    """The terminal table: every observation, then the scores of each split, then the places held all month.

    Only the lines of the score table contain the words the project's before-stop hook looks for (``within``,
    ``held reports``, ``unreported``, ``casualty ratio``, ``displacement``, ``loss`` at the start of a line)."""
    lines = []
    for split in ("calibration", "validation"):
        rows = [r for r in summary["observations"] if r["split"] == split]
        lines.append(f"{SPLIT_LABEL[split]} ({split} split): {len(rows)} observations")
        for r in rows:
            if r["table"] == "control" and r["kind"] == "held":
                lines.append(f"  {r['date']} {r['place']:<20} held    {r['reported']:<10} agrees in "
                             f"{_fmt(r['model_share_held'], True)} of runs")
            elif r["table"] == "control":
                lo, hi = r["window"]
                when = _md(lo) if lo == hi else f"{_md(lo)}..{_md(hi)}"
                m = r["model_date"]
                fixed = f"  [date fixed by input: {r['input_fixed']}]" if r["input_fixed"] else ""
                lines.append(f"  {when:<12} {r['place']:<20} {r['kind']:<7} {r['reported']:<10} on time (±2 d) in "
                             f"{_fmt(r['model_share_within_2_days'], True):>5}; model {_md(m['median'])} "
                             f"[{_md(m['p10'])}, {_md(m['p90'])}], never in {_fmt(r['model_share_never'], True)}, "
                             f"CRPS {r['crps_days']:.1f} d{fixed}")
            elif r["table"] == "casualties":
                k, w = r["model_killed"], r["model_wounded"]
                lines.append(f"  {r['period']} {r['scope']}: reported {_fmt(r['reported_killed'])} killed, "
                             f"{_fmt(r['reported_wounded'])} wounded; model {_fmt(k['median'])} "
                             f"[{_fmt(k['low90'])}, {_fmt(k['high90'])}] killed, {_fmt(w['median'])} "
                             f"[{_fmt(w['low90'])}, {_fmt(w['high90'])}] wounded")
            else:
                m = r["model"]
                rng = "" if r["reported_range"] is None else \
                    f" [{_fmt(float(r['reported_range'][0]))}, {_fmt(float(r['reported_range'][1]))}]"
                lines.append(f"  {r['date']} {r['area']:<20} {r['measure']:<7} reported {_fmt(r['reported'])}{rng}; "
                             f"model {_fmt(m['median'])} [{_fmt(m['low90'])}, {_fmt(m['high90'])}]")
    lines.append("")
    cal, val = summary["scores"]["calibration"], summary["scores"]["validation"]
    lines.append(f"{'score':<48}{'in-sample':>14}{'out-of-sample':>16}")

    def line(label: str, key: str, pct: bool = False) -> None:
        lines.append(f"{label:<48}{_fmt(cal[key], pct):>14}{_fmt(val[key], pct):>16}")

    line("control changes within ±2 days (model's skill)", "control_within_2_days", True)
    fixed = [f"{_fmt(s['input_fixed_within_2_days'], True)} of {s['input_fixed_changes']}" for s in (cal, val)]
    lines.append(f"{'  changes dated by an input, on time (±2 d)':<48}{fixed[0]:>14}{fixed[1]:>16}")
    line("  CRPS of the model's dates of changes (days)", "crps_days")
    line("held reports the model agrees with", "held_share", True)
    line("unreported control changes (places a run)", "unreported_changes")
    line("casualty ratio, killed", "casualty_ratio_killed")
    line("casualty ratio, wounded", "casualty_ratio_wounded")
    line("displacement ARD", "displacement_ard")
    line("loss", "loss")
    parts = [" / ".join(_fmt(s[k]) for k in ("loss_control", "loss_casualties", "loss_displacement"))
             for s in (cal, val)]
    lines.append(f"{'  of it control / casualties / displaced':<44}{parts[0]:>18}  {parts[1]:>14}")
    lines.append(f"(rows: {cal['control_changes']}+{cal['input_fixed_changes']}/{val['control_changes']}+"
                 f"{val['input_fixed_changes']} changes (model's + dated by an input), {cal['held_reports']}/"
                 f"{val['held_reports']} held, {cal['casualty_rows']}/{val['casualty_rows']} casualty, "
                 f"{cal['displacement_rows']}/{val['displacement_rows']} figures of displaced people; "
                 f"{summary['runs']} runs)")
    if summary.get("held_all_month"):
        lines.append("")
        lines.append("places held all month in reality, runs that lose them:")
        for h in summary["held_all_month"]:
            lines.append(f"  {h['place']:<20} {h['side']:<10} lost in {h['runs_lost']} of {h['runs']} runs")
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------------------------------------------------------
# Pictures


def write_plots(runs: list[dict[str, Any]], splits: dict[str, CompiledObservations], start: dt.date,
                cutoff: dt.date, out: Path, settings: LossSettings = DEFAULT_SETTINGS) -> list[str]:
    """The pictures, as PNG files in ``out`` (returns their names):

    - ``validation_control.png``: for every reported change, the distribution of the model's date (dots sized by
      the runs on that day; ``never`` at the right edge) against the report (its window shaded); for every held
      row, the share of runs that agree;
    - ``validation_figures.png``: for every casualty and displacement figure, the model's 10–90 % interval and
      median against the sources' (the reported figure or range, widened by its observation error to the 90 %
      interval the loss allows, on a log axis);
    - ``validation_casualties.png``, ``validation_displacement.png``: model against reported over time.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    days = runs[0]["calibration"]["casualty_series"].shape[-1] if runs else 0
    dates = [start + dt.timedelta(days=i) for i in range(days)]
    written = []
    colours = {"calibration": "#1f77b4", "validation": "#d62728"}

    changes = [(split, i, o) for split, obs in splits.items() for i, o in enumerate(obs.control) if o.kind != "held"]
    held = [(split, i, o) for split, obs in splits.items() for i, o in enumerate(obs.control) if o.kind == "held"]
    if changes or held:
        fig, axes = plt.subplots(1, 2, figsize=(13, 0.3 * max(len(changes), len(held), 4) + 1.6),
                                 gridspec_kw={"width_ratios": [3, 1.3]})
        ax = axes[0]  # x: days from the start date, labelled with dates

        def day(d: dt.date) -> int:
            return (d - start).days

        never_x = days + 2
        for y, (split, i, o) in enumerate(changes):
            lo, hi = o.window
            ax.add_patch(plt.Rectangle((day(lo) - 0.5, y - 0.4), day(hi) - day(lo) + 1, 0.8, color="#f2c94c",
                                       alpha=0.6, lw=0))
            ax.plot([day(o.date)] * 2, [y - 0.4, y + 0.4], color="k", lw=1)
            first = np.array([r[split]["values"].change_day[i] for r in runs])
            vals, counts = np.unique(first, return_counts=True)
            ax.scatter(np.where(vals < 0, never_x, vals), [y] * len(vals), s=12 + 120 * counts / len(runs),
                       color=colours[split], alpha=0.75, zorder=3)
        ticks = list(range(0, days, 5))
        ax.set_xticks([*ticks, never_x], [f"{start + dt.timedelta(days=t):%d %b}" for t in ticks] + ["never"],
                      fontsize=7)
        ax.set_xlim(-1, never_x + 1)
        ax.set_yticks(range(len(changes)), [f"{o.place} ({o.controller}, {o.date:%d %b})" for _, _, o in changes],
                      fontsize=6)
        ax.axvline(day(cutoff) + 0.5, color="grey", ls="--", lw=1)
        ax.axvline(never_x - 1.5, color="grey", ls=":", lw=0.8)
        ax.set_ylim(-0.6, max(len(changes), 1) - 0.4)
        ax.invert_yaxis()
        ax.set_title("Reported changes: the report (window shaded, line = date) and the model's date of the first "
                     "change (dot area = share of runs); dashed: end of the calibration split", fontsize=8)
        ax = axes[1]
        for y, (split, i, _o) in enumerate(held):
            share = float(np.mean([r[split]["values"].agree[i] for r in runs]))
            ax.barh(y, share, color=colours[split], alpha=0.75)
        ax.set_yticks(range(len(held)), [f"{o.place} ({o.controller}, {o.date:%d %b})" for _, _, o in held],
                      fontsize=6)
        ax.set_xlim(0, 1)
        ax.invert_yaxis()
        ax.set_title("Held rows: share of runs that agree", fontsize=8)
        ax.tick_params(axis="x", labelsize=7)
        fig.tight_layout()
        fig.savefig(out / "validation_control.png", dpi=110, bbox_inches="tight")
        plt.close(fig)
        written.append("validation_control.png")

    figures = []
    for split, obs in splits.items():
        vals = [r[split]["values"] for r in runs]
        for i, o in enumerate(obs.casualties):
            sd = settings.casualty_log_sd if np.isnan(obs.casualty_log_sd[i]) else obs.casualty_log_sd[i]
            model = np.array([v.killed[i] for v in vals], dtype=float)
            figures.append((split, f"killed, {'+'.join(o.who)}; {o.where} to {o.end:%d %b}", model, o.killed,
                            o.killed, sd, settings.over_count_spread))
            if o.wounded is not None:
                model = np.array([v.wounded[i] for v in vals], dtype=float)
                figures.append((split, f"wounded, {'+'.join(o.who)}; {o.where} to {o.end:%d %b}", model,
                                o.wounded, o.wounded, sd, settings.over_count_spread))
        for i, o in enumerate(obs.displacement):
            sd = settings.displacement_log_sd if np.isnan(obs.displacement_log_sd[i]) else obs.displacement_log_sd[i]
            model = np.array([v.displacement[i] for v in vals], dtype=float)
            lo, hi = (o.low, o.high) if o.low is not None else (o.idps, o.idps)
            figures.append((split, f"displaced, {o.measure}: {o.area}, {o.date:%d %b}", model, lo, hi, sd, 1.0))
    if figures:
        fig, ax = plt.subplots(figsize=(9, 0.35 * len(figures) + 1.4))
        z90 = 1.645
        for y, (split, _label, model, lo, hi, sd, over) in enumerate(figures):
            src = (max(lo, 1.0) * math.exp(-z90 * sd), max(hi, 1.0) * math.exp(z90 * sd * over))
            ax.plot(src, [y + 0.15] * 2, color="grey", lw=5, alpha=0.6, solid_capstyle="butt")
            ax.scatter([max(lo, 1.0), max(hi, 1.0)], [y + 0.15] * 2, color="k", s=10, zorder=3)
            p10, med, p90 = np.quantile(np.maximum(model, 1.0), [0.1, 0.5, 0.9])
            ax.plot([p10, p90], [y - 0.15] * 2, color=colours[split], lw=5, alpha=0.75, solid_capstyle="butt")
            ax.scatter([med], [y - 0.15], color="white", edgecolor=colours[split], s=14, zorder=3)
        ax.set_xscale("log")
        ax.set_yticks(range(len(figures)), [f[1] for f in figures], fontsize=6)
        ax.invert_yaxis()
        ax.set_title("Figures: the sources' 90 % interval (grey; black: reported figure or range)\nand the "
                     "model's 10-90 % interval (colour; white: median)", fontsize=8)
        ax.tick_params(axis="x", labelsize=7)
        fig.tight_layout()
        fig.savefig(out / "validation_figures.png", dpi=110, bbox_inches="tight")
        plt.close(fig)
        written.append("validation_figures.png")

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


def _plain(summary: dict[str, Any]) -> dict[str, Any]:
    return json.loads(json.dumps(summary, default=lambda o: o.tolist() if hasattr(o, "tolist") else str(o)))


def write_validation(summary: dict[str, Any], runs: list[dict[str, Any]], splits: dict[str, CompiledObservations],
                     start: dt.date, cutoff: dt.date, out: Path, overwrite: bool = False, plots: bool = True,
                     settings: LossSettings = DEFAULT_SETTINGS) -> Path:
    """Write ``validation.json``, ``validation.md`` and the plots into directory ``out`` (atomically)."""
    from simulation.runs.output import atomic_directory

    with atomic_directory(out, overwrite=overwrite) as tmp:
        (tmp / "validation.json").write_text(json.dumps(_plain(summary), indent=2) + "\n", encoding="utf-8")
        names = write_plots(runs, splits, start, cutoff, tmp, settings) if plots else []
        (tmp / "validation.md").write_text(report_markdown(summary, names), encoding="utf-8")
    return out


# ------------------------------------------------------------------------------------------------------------
# The library function


@dataclass
class ValidationResult:
    """What :func:`validate` found.

    Attributes
    ----------
    summary : per observation, the model against the reported value; per split, the scores; the places held all
        month (what ``validation.json`` holds; the command line adds a header and the parameters).
    runs : :func:`record_values` of each run, in the order of ``seeds``.
    splits : the compiled observations of each split.
    seeds : the model seeds.
    start, cutoff : the scenario's start date and the last date of the calibration split.
    simulations : runs computed (the rest came from the store).
    parameters : the scenario's parameter values (the point estimate).
    draws : with a posterior, the parameter set of each run (``[]`` without).
    """

    summary: dict[str, Any]
    runs: list[dict[str, Any]]
    splits: dict[str, CompiledObservations]
    seeds: list[int]
    start: dt.date
    cutoff: dt.date
    simulations: int = 0
    parameters: dict[str, float] = field(default_factory=dict)
    draws: list[dict[str, float]] = field(default_factory=list)
    settings: LossSettings = DEFAULT_SETTINGS

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
                                overwrite=overwrite, plots=plots, settings=self.settings)


def posterior_draws(posterior: Mapping[str, np.ndarray], n: int, seed: int = 0) -> list[dict[str, float]]:
    """``n`` parameter sets drawn from a posterior sample (name → particles), without replacement while the
    particles last (each particle is one equally weighted draw)."""
    names = list(posterior)
    size = len(posterior[names[0]]) if names else 0
    if size == 0:
        raise ValueError("the posterior has no particles")
    rng = np.random.default_rng(seed)
    picks = rng.choice(size, size=n, replace=n > size)
    return [{k: float(posterior[k][i]) for k in names} for i in picks]


def validate(scenario: Scenario | str | Path, observations: Observations | str | Path | None = None, *,
             seeds: int | Iterable[int] = 20, workers: int = 1, backend: str | None = None,
             scheduler: str | None = None, store: str | Path | None = None,
             settings: LossSettings = DEFAULT_SETTINGS, progress: bool = False,
             callback: Callable[[int], None] | None = None,
             posterior: Mapping[str, np.ndarray] | None = None, draws: int | None = None) -> ValidationResult:
    """Score the model against every used observation, in and out of sample, over several runs.

    Parameters
    ----------
    scenario : a scenario directory (loaded with its fitted parameters) or a loaded scenario.
    observations : the observation tables (or their directory); default: those ``scenario.toml`` names.
    seeds : how many runs (seeds ``1..n``), or their seeds.
    workers, backend, scheduler : where the runs are computed (serial for one worker, else a process pool; or
        Dask; see :func:`simulation.sweep.backends.open_backend`). The result does not depend on them.
    store : directory to keep the runs in and reuse them from (see :class:`~simulation.sweep.store.ResultStore`);
        ``None``: in memory.
    settings : constants of the loss.
    progress : show a progress bar on stderr.
    callback : called with the number of runs finished so far, after every batch.
    posterior : a posterior sample (parameter name → particles, :func:`~simulation.calibration.fitted.
        load_posterior`): the runs are then a posterior predictive, ``draws`` parameter sets drawn from it
        (default: one per run, so that the runs sample the posterior's spread rather than a few of its particles
        several times), run ``i`` with draw ``i mod draws`` and its own seed.
    draws : see ``posterior``.

    Returns
    -------
    ValidationResult

    Raises
    ------
    ScenarioError
        The scenario names no observations, an observation names what it lacks, or the posterior names an
        unknown parameter or a value out of its bounds.

    Examples
    --------
    >>> from simulation import validate
    >>> res = validate("scenarios/iraq_june_2014", seeds=20, workers=2)  # doctest: +SKIP
    >>> res.scores["validation"]["loss"]  # doctest: +SKIP
    """
    from tqdm import tqdm

    from simulation.calibration.observations import coalition_labels
    from simulation.sweep.ensemble import Ensemble

    if not isinstance(scenario, Scenario):
        scenario = load_scenario(scenario)
    if not isinstance(observations, Observations):
        observations = load_observations(observations_dir(scenario.path, observations))
    seeds = list(range(1, int(seeds) + 1)) if isinstance(seeds, (int, np.integer)) else [int(s) for s in seeds]
    splits = compile_splits(observations, scenario)
    sets: list[dict[str, float]] = []
    if posterior is not None:
        sets = posterior_draws(posterior, len(seeds) if draws is None else int(draws))
    backend = backend or ("serial" if int(workers) <= 1 and scheduler is None else "processes")
    measure = DailyRecords()
    with Ensemble(scenario, measure, backend=backend, workers=max(1, int(workers)), scheduler=scheduler,
                  store=store) as ensemble:
        tasks = [ensemble.plan(sets[i % len(sets)] if sets else {}, s, origin="posterior" if sets else "design")[0]
                 for i, s in enumerate(seeds)]
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
    coal = coalition_labels(scenario)
    runs = [record_values(measure.record(rows.loc[t.key], scenario), splits, coal) for t in tasks]
    return ValidationResult(summarise(runs, splits, scenario, settings), runs, splits, seeds, scenario.start_date,
                            split_window(observations, scenario, "calibration")[1], simulated,
                            dict(scenario.parameters), [sets[i % len(sets)] for i in range(len(seeds))] if sets
                            else [], settings)
