"""The ensemble directory (:func:`ensemble_directory`: tables, ``summary.json``, ``report.md`` and its PNGs), and
the pictures of a comparison of ensembles, side by side.

Pictures (each named in the report; :func:`write_ensemble_report` returns their names):

``share_maps.png``
    Small multiples: the map of :func:`simulation.runs.report.draw_map` on chosen dates, each place a pie of the
    share of runs in which each faction holds it at the end of the day.
``fall_dates.png``
    For every reported change of hands (``taken``/``retaken``, used by the loss): the day the place passed to the
    reported side in each run (dots; box: quartiles; bar: median), the reported date (red cross; a line: the
    reported window), and the share of runs in which the change happened at all.
``fan_casualties.png``, ``fan_control.png``, ``fan_forces.png``, ``fan_displacement.png``
    Fan charts: the median (line), the 25–75 % (dark) and 5–95 % (light) bands over the runs.
``fan_reported.png``
    For each reported figure, the model's same quantity (same places, parties and period) as a fan, the reported
    values drawn over it (filled: used for calibration; hollow: kept for validation; bar: the reported range).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from simulation.runs.ensemble import EnsembleResult, run_ensemble
from simulation.runs.report import PNG_META, ROAD_STYLE, draw_map, map_bbox
from simulation.scenario import Scenario

if TYPE_CHECKING:
    import matplotlib.pyplot as plt

CIVILIAN = "#d62728"
REPORTED = "#d62728"
#: Colours of the ensembles of a comparison: the baseline, then each counterfactual.
ENSEMBLE_COLOURS = ("#4d4d4d", "#e6550d", "#3182bd", "#31a354", "#756bb1", "#636363")


def _save(fig: plt.Figure, path: Path) -> None:
    import matplotlib.pyplot as plt

    fig.savefig(path, dpi=100, metadata=PNG_META)
    plt.close(fig)


def map_days(days: int, count: int = 6) -> list[int]:
    """``count`` days spread evenly from the first to the last (both included).

    Examples
    --------
    >>> map_days(30)
    [0, 6, 12, 17, 23, 29]
    """
    return sorted({int(round(x)) for x in np.linspace(0, days - 1, min(count, days))})


def _party_colours(ens: EnsembleResult) -> list[str]:
    return [f.colour for f in ens.scenario.factions] + [CIVILIAN]


def _short(name: str) -> str:
    return name.split(" (")[0]


def fan(ax: plt.Axes, x: Sequence[Any], q: np.ndarray, colour: str, label: str | None = None,
        alpha: float = 1.0) -> None:
    """A fan: 5–95 % and 25–75 % bands and the median of ``q`` (rows p05, p25, p50, p75, p95)."""
    ax.fill_between(x, q[0], q[4], color=colour, alpha=0.15 * alpha, linewidth=0)
    ax.fill_between(x, q[1], q[3], color=colour, alpha=0.35 * alpha, linewidth=0)
    ax.plot(x, q[2], color=colour, lw=1.6, label=label)


def _date_axis(ax: plt.Axes, dates: list[dt.date]) -> None:
    import matplotlib.dates as mdates

    ax.xaxis.set_major_locator(mdates.DayLocator(interval=max(1, len(dates) // 6)))
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%d %b"))
    ax.set_xlabel(f"date ({dates[0]:%Y}, end of day)", fontsize=8)


# --------------------------------------------------------------------------------------------------------
# Maps


def share_maps(ensembles: Sequence[tuple[str, EnsembleResult]], days: Sequence[int], path: Path,
               columns: int | None = None) -> None:
    """Small multiples of share maps: one row per ensemble (or, for one ensemble, the days wrapped into rows of
    ``columns``), one map per day."""
    import matplotlib.pyplot as plt

    from simulation import geography
    from simulation.engine.model import ConflictModel

    first = ensembles[0][1]
    model = ConflictModel(first.scenario, seed=int(first.seeds[0]))  # places, roads and base map; not run
    panels = [(label, ens, d) for label, ens in ensembles for d in days]
    ncol = columns or (len(days) if len(ensembles) > 1 else min(3, len(days)))
    nrow = -(-len(panels) // ncol)
    x0, y0, x1, y1 = map_bbox(model)
    width = 4.6
    map_h = width * (y1 - y0) * geography.aspect((x0, y0, x1, y1)) / (x1 - x0)
    top, gap, bottom = 0.5, 0.75, 2.35
    height = top + nrow * map_h + (nrow - 1) * gap + bottom
    fig, axes = plt.subplots(nrow, ncol, figsize=(ncol * width + 0.9, height), squeeze=False)
    fig.subplots_adjust(left=0.6 / (ncol * width + 0.9), right=0.99, top=1 - top / height, bottom=bottom / height,
                        wspace=0.18, hspace=gap / map_h)
    base = None
    dates = first.dates()
    for ax, (label, ens, d) in zip(axes.flat, panels):
        share = ens.control_share()[d]
        title = f"{label}: {dates[d]:%d %b %Y}" if label else f"{dates[d]:%d %b %Y}"
        base = draw_map(model, ax, d, title, shares=share)
    for ax in axes.flat[len(panels):]:
        ax.set_visible(False)
    share_legends(fig, model, base, top=(bottom - 0.6) / height,
                  note=f"Each place is a pie: the share of the {first.runs} runs in which each side holds it at the "
                  "end of the day.")
    _save(fig, path)


def share_legends(fig: plt.Figure, model: Any, base: dict[str, Any], top: float, note: str) -> None:
    """Under share maps, from the left: the sides, the roads, the base map; ``note`` above them."""
    from matplotlib.lines import Line2D

    sides = [Line2D([], [], ls="", marker="o", ms=8, mfc=f.colour, mec="white", label=f.name)
             for f in model.scenario_data.factions]
    roads = [Line2D([], [], ls=ROAD_STYLE[k][0], lw=ROAD_STYLE[k][1], color="#8a8172", label=k) for k in ROAD_STYLE]
    fig.text(0.01, top + 0.25 / fig.get_figheight(), note, fontsize=9)
    renderer = fig.canvas.get_renderer()
    x = 0.01
    for title, handles in (("Share of runs held by", sides), ("Roads", roads), ("Base map", base["handles"])):
        leg = fig.legend(handles=handles, title=title, loc="upper left", bbox_to_anchor=(x, top), fontsize=8,
                         title_fontsize=8.5, frameon=False, alignment="left")
        x += leg.get_window_extent(renderer).width / fig.bbox.width + 0.01


# --------------------------------------------------------------------------------------------------------
# Fall dates against the reported dates


def fall_date_spread(ensembles: Sequence[tuple[str, EnsembleResult]], path: Path) -> int:
    """The fall-date spread of every reported change (see the module notes); several ensembles side by side
    (offset rows, one colour each). Returns the number of reported changes drawn (0: no picture)."""
    import matplotlib.pyplot as plt

    first = ensembles[0][1]
    changes = [ens.reported_changes() for _, ens in ensembles]
    if not changes[0]:
        return 0
    names = {p.id: p.name for p in first.scenario.places}
    start = first.scenario.start_date
    k = len(ensembles)
    rows = len(changes[0])
    fig, ax = plt.subplots(figsize=(11, 0.32 * rows * max(1, 0.6 * k) + 1.6))
    rng = np.random.default_rng(0)  # the jitter only: the same picture every time
    for j, (label, _) in enumerate(ensembles):
        colour = ENSEMBLE_COLOURS[j % len(ENSEMBLE_COLOURS)] if k > 1 else "#4d4d4d"
        offset = (j - (k - 1) / 2) * (0.7 / k) if k > 1 else 0.0
        for y, c in enumerate(changes[j]):
            days = c["model_days"]
            hit = days[days >= 0]
            yy = y + offset
            if hit.size:
                ax.scatter(hit, yy + rng.uniform(-0.12, 0.12, hit.size) / max(1, k / 2), s=7, color=colour,
                           alpha=0.45, linewidths=0, zorder=2)
                q1, med, q3 = np.quantile(hit, (0.25, 0.5, 0.75))
                ax.add_patch(plt.Rectangle((q1 - 0.5, yy - 0.18 / max(1, k / 2)), q3 - q1 + 1, 0.36 / max(1, k / 2),
                                           fill=False, edgecolor=colour, lw=1.0, zorder=3))
                ax.plot([med, med], [yy - 0.22 / max(1, k / 2), yy + 0.22 / max(1, k / 2)], color=colour, lw=2,
                        zorder=3)
            ax.text(first.days + 0.8 + 2.6 * j, yy, f"{hit.size / days.size:.0%}", va="center", fontsize=7,
                    color=colour)
            if j == 0:
                lo, hi = (c["low"] - start).days, (c["high"] - start).days
                if hi > lo:
                    ax.plot([lo, hi], [y, y], color=REPORTED, lw=1.2, alpha=0.7, zorder=4)
                ax.scatter([c["day"]], [y], marker="x", s=50, color=REPORTED, zorder=5,
                           linewidths=1.2 if c["split"] == "calibration" else 0.8)
        if k > 1:
            ax.scatter([], [], s=12, color=colour, label=label)
    labels = [f"{names[c['place']]} → {c['controller']} ({c['kind']}"
              f"{', validation' if c['split'] != 'calibration' else ''})" for c in changes[0]]
    ax.set_yticks(range(rows), labels, fontsize=8)
    ax.set_ylim(rows - 0.5, -0.5)
    ticks = list(range(0, first.days, max(1, first.days // 6)))
    ax.set_xticks(ticks, [f"{start + dt.timedelta(days=t):%d %b}" for t in ticks])
    ax.set_xlim(-1, first.days + 1 + 2.6 * k)
    ax.axvline(first.days - 0.5, color="#bbbbbb", lw=0.8)
    ax.set_xlabel(f"date the place passed to the reported side ({start:%Y}, end of day); right: share of runs in "
                  "which it did")
    ax.grid(axis="x", alpha=0.3)
    ax.scatter([], [], marker="x", color=REPORTED, label="reported date (line: reported window)")
    ax.legend(fontsize=7, loc="lower left", framealpha=0.9)
    ax.set_title("When each reported change of hands happened in the runs (dots: runs; box: quartiles; bar: "
                 "median)", fontsize=9)
    fig.tight_layout()
    _save(fig, path)
    return rows


# --------------------------------------------------------------------------------------------------------
# Fan charts


def _ensemble_colour(j: int, k: int, default: str) -> str:
    return default if k == 1 else ENSEMBLE_COLOURS[j % len(ENSEMBLE_COLOURS)]


def fan_casualties(ensembles: Sequence[tuple[str, EnsembleResult]], path: Path) -> None:
    """Killed (top row) and wounded (bottom row), cumulative, one panel per party."""
    import matplotlib.pyplot as plt

    first = ensembles[0][1]
    parties = first.parties
    colours = _party_colours(first)
    dates = first.dates()
    fig, axes = plt.subplots(2, len(parties), figsize=(3.2 * len(parties), 6.2), squeeze=False)
    for j, (label, ens) in enumerate(ensembles):
        bands = ens.bands()
        for q, party in enumerate(parties):
            for row, what in enumerate(("killed", "wounded")):
                fan(axes[row, q], dates, bands[f"{what}_{party}"], _ensemble_colour(j, len(ensembles), colours[q]),
                    label=label or None)
    for q, party in enumerate(parties):
        title = "civilians" if party == "civilian" else _short(first.scenario.faction(party).name)
        axes[0, q].set_title(f"{title}: killed", fontsize=9)
        axes[1, q].set_title(f"{title}: wounded", fontsize=9)
    for ax in axes.flat:
        _date_axis(ax, dates)
        ax.set_ylabel("people, cumulative", fontsize=8)
        ax.grid(alpha=0.3)
        ax.tick_params(labelsize=7)
    if len(ensembles) > 1:
        axes[0, 0].legend(fontsize=7)
    fig.suptitle(f"Killed and wounded by party: median, 25–75 % and 5–95 % of {first.runs} runs", fontsize=10)
    fig.tight_layout()
    _save(fig, path)


def fan_by_faction(ensembles: Sequence[tuple[str, EnsembleResult]], path: Path,
                   panels: Sequence[tuple[str, str, float]], log: bool = False) -> None:
    """One panel per ``(series prefix, title, divisor)`` with a fan per faction; one ensemble: the panels in a row;
    several: a row per panel, the ensembles side by side on the same scale."""
    import matplotlib.pyplot as plt

    first = ensembles[0][1]
    dates = first.dates()
    k = len(ensembles)
    shape = (1, len(panels)) if k == 1 else (len(panels), k)
    fig, axes = plt.subplots(*shape, figsize=(5.6 * shape[1], 3.7 * shape[0]), squeeze=False)
    for j, (label, ens) in enumerate(ensembles):
        bands = ens.bands()
        for i, (prefix, title, divisor) in enumerate(panels):
            ax = axes[0, i] if k == 1 else axes[i, j]
            for f in ens.scenario.factions:
                q = bands[f"{prefix}_{f.id}"] / divisor
                fan(ax, dates, np.maximum(q, 1.0) if log else q, f.colour, label=_short(f.name))
            ax.set_title(f"{label}: {title}" if label else title, fontsize=9)
            ax.set_ylabel(title.split(" (")[0].split(",")[0].lower() + (" (log scale)" if log else ""), fontsize=8)
            if log:
                ax.set_yscale("log")
                ax.yaxis.set_major_formatter(lambda v, _: f"{v:,.0f}")
            _date_axis(ax, dates)
            ax.grid(alpha=0.3)
            ax.tick_params(labelsize=7)
    axes[0, 0].legend(fontsize=7)
    if k > 1:  # side by side: the same scale in every column
        for i in range(len(panels)):
            lo = min(ax.get_ylim()[0] for ax in axes[i])
            hi = max(ax.get_ylim()[1] for ax in axes[i])
            for ax in axes[i]:
                ax.set_ylim(lo, hi)
    fig.tight_layout()
    _save(fig, path)


def fan_displacement(ensembles: Sequence[tuple[str, EnsembleResult]], path: Path) -> None:
    """People who have left their homes (cumulative) and displaced people now."""
    import matplotlib.pyplot as plt

    first = ensembles[0][1]
    dates = first.dates()
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.8))
    for j, (label, ens) in enumerate(ensembles):
        bands = ens.bands()
        fan(axes[0], dates, bands["displaced_left"] / 1e3, _ensemble_colour(j, len(ensembles), "#1f77b4"),
            label=label or None)
        fan(axes[1], dates, bands["displaced_now"] / 1e3, _ensemble_colour(j, len(ensembles), "#9467bd"),
            label=label or None)
    axes[0].set_title("People who have left their homes, cumulative (thousands)", fontsize=9)
    axes[1].set_title("Displaced now: sheltering in a place or on the road (thousands)", fontsize=9)
    for ax in axes:
        _date_axis(ax, dates)
        ax.set_ylabel("people (thousands)")
        ax.grid(alpha=0.3)
    if len(ensembles) > 1:
        axes[0].legend(fontsize=7)
    fig.tight_layout()
    _save(fig, path)


def reported_figures(ens: EnsembleResult) -> list[dict[str, Any]]:
    """Each reported casualty and displacement figure with its scope (an index of ``ens.scopes``), its day, the
    model's quantiles of the same quantity on that day and the share of runs at or above the reported value."""
    obs = ens.observations
    if obs is None:
        return []
    index = {s.name: i for i, s in enumerate(ens.scopes)}
    out = []
    for i, o in enumerate(obs.casualties):
        label = f"{'+'.join(o.who)} in {o.where}, {o.start:%d %b}–{o.end:%d %b}"
        start, end = int(obs.casualty_start[i]), int(obs.casualty_end[i])
        for what, value in (("killed", o.killed), ("wounded", o.wounded)):
            if value is None:
                continue
            s = index[f"{what}: {label}"]
            out.append({"scope": s, "figure": f"{what}: {label}", "date": o.end, "day": end, "start_day": start,
                        "reported": float(value), "low": None, "high": None, "split": o.split})
    for i, o in enumerate(obs.displacement):
        what = "people who have left" if o.measure == "left" else "displaced people present in"
        name = next(s.name for s in ens.scopes if s.quantity == o.measure and s.name.startswith(what)
                    and s.places == tuple(np.flatnonzero(obs.displacement_places[i]).tolist()))
        out.append({"scope": index[name], "figure": name, "date": o.date, "day": int(obs.displacement_day[i]),
                    "start_day": 0, "reported": float(o.idps), "low": o.low, "high": o.high, "split": o.split})
    for r in out:
        v = ens.scope_values(r["scope"], r["start_day"])[:, r["day"]]
        r["model"] = np.quantile(v.astype(float), (0.05, 0.5, 0.95))
        r["share_above"] = float((v >= r["reported"]).mean())
    return out


def fan_reported(ensembles: Sequence[tuple[str, EnsembleResult]], path: Path) -> int:
    """One panel per scope with reported figures: the model's fan and the reported values over it. Returns the
    number of panels (0: no reported figures, no picture)."""
    import matplotlib.pyplot as plt

    first = ensembles[0][1]
    figures = reported_figures(first)
    if not figures:
        return 0
    scopes = list(dict.fromkeys(r["scope"] for r in figures))
    dates = first.dates()
    ncol = 3
    nrow = -(-len(scopes) // ncol)
    fig, axes = plt.subplots(nrow, ncol, figsize=(15, 3.4 * nrow), squeeze=False)
    for ax, s in zip(axes.flat, scopes):
        rows = [r for r in figures if r["scope"] == s]
        start = min(r["start_day"] for r in rows)
        for j, (label, ens) in enumerate(ensembles):
            q = np.quantile(ens.scope_values(s, start).astype(float), (0.05, 0.25, 0.5, 0.75, 0.95), axis=0)
            fan(ax, dates, q, _ensemble_colour(j, len(ensembles), "#1f77b4"), label=label or "model")
        for r in rows:
            hollow = r["split"] != "calibration"
            if r["low"] is not None:
                ax.plot([r["date"], r["date"]], [r["low"], r["high"]], color=REPORTED, lw=1.5, zorder=4)
            ax.scatter([r["date"]], [r["reported"]], marker="D", s=36, zorder=5, color=REPORTED,
                       facecolors="white" if hollow else REPORTED, linewidths=1.3)
        ax.set_title(first.scopes[s].name, fontsize=8.5)
        ax.set_ylabel("people" + (", cumulative from the period's start" if first.scopes[s].quantity in
                                  ("killed", "wounded") else ""), fontsize=8)
        ax.yaxis.set_major_formatter(lambda v, _: f"{v:,.0f}")
        _date_axis(ax, dates)
        ax.grid(alpha=0.3)
        ax.tick_params(labelsize=7)
    for ax in axes.flat[len(scopes):]:
        ax.set_visible(False)
    axes[0, 0].scatter([], [], marker="D", color=REPORTED, label="reported (hollow: kept for validation)")
    axes[0, 0].legend(fontsize=7)
    fig.suptitle("Reported figures over the model's same quantity (same places, parties and period): median, "
                 "25–75 % and 5–95 % of the runs", fontsize=10)
    fig.tight_layout()
    _save(fig, path)
    return len(scopes)


# --------------------------------------------------------------------------------------------------------
# The report of one ensemble


def _pct(v: float) -> str:
    return f"{100 * v:.0f} %"


def _md_date(iso: str) -> str:
    return iso[5:] if iso else "—"


def write_pictures(ensembles: Sequence[tuple[str, EnsembleResult]], out: Path, days: Sequence[int]) -> list[str]:
    """Every picture of the report (or of a comparison, ensembles side by side) into ``out``; their names."""
    out = Path(out)
    names = []
    share_maps(ensembles, days, out / "share_maps.png")
    names.append("share_maps.png")
    if fall_date_spread(ensembles, out / "fall_dates.png"):
        names.append("fall_dates.png")
    fan_casualties(ensembles, out / "fan_casualties.png")
    names.append("fan_casualties.png")
    fan_by_faction(ensembles, out / "fan_control.png",
                   [("people", "People living in the places each side holds (millions)", 1e6),
                    ("places", "Places held", 1.0)])
    names.append("fan_control.png")
    fan_by_faction(ensembles, out / "fan_forces.png", [("personnel", "Personnel present, by faction", 1.0)],
                   log=True)
    names.append("fan_forces.png")
    fan_displacement(ensembles, out / "fan_displacement.png")
    names.append("fan_displacement.png")
    if fan_reported(ensembles, out / "fan_reported.png"):
        names.append("fan_reported.png")
    return names


def _what_ran(ens: EnsembleResult) -> list[str]:
    s = ens.summary()
    seeds = s["seeds"]
    span = f"{seeds[0]}–{seeds[-1]}" if seeds == list(range(seeds[0], seeds[0] + len(seeds))) else \
        ", ".join(map(str, seeds))
    lines = [f"{ens.runs} runs, seeds {span}, {ens.days} days ({s['start_date']} to {s['end_date']}), simulator "
             f"version {s['version']}."]
    if s["fitted_file"]:
        lines.append(f"Parameters: the scenario's, with the fitted file `{Path(s['fitted_file']).name}`.")
    else:
        lines.append("Parameters: the scenario's defaults (no fitted file).")
    if s["posterior_file"]:
        lines.append("Each run draws the fitted parameters from the posterior sample "
                     f"`{Path(s['posterior_file']).name}` (the particle its seed picks).")
    if s["set"]:
        lines.append("Set on the command line: " + ", ".join(f"`{k}={v:g}`" for k, v in s["set"].items()) + ".")
    if s["counterfactuals"]:
        lines.append("Counterfactuals: " + ", ".join(f"`{c}`" for c in s["counterfactuals"]) + ".")
    return lines


def places_table(ens: EnsembleResult) -> list[str]:
    """The markdown table of places with the share of runs they fell (places that never fell: one line)."""
    df = ens.places_frame()
    fell = df[df["fell"] > 0]
    factions = ens.factions
    lines = ["| place | governorate | held at the start by | fell in | fell on (median) | 5–95 % | "
             + " | ".join(f"held by {f} at the end" for f in factions) + " |",
             "|---|---|---|---:|---|---|" + "---:|" * len(factions)]
    for r in fell.itertuples():
        lines.append(f"| {r.name} | {r.governorate} | {r.start} | {_pct(r.fell)} | {_md_date(r.fell_median)} | "
                     f"{_md_date(r.fell_p05)} – {_md_date(r.fell_p95)} | "
                     + " | ".join(_pct(getattr(r, f"end_{f}")) for f in factions) + " |")
    never = df[df["fell"] == 0]
    if len(never):
        lines += ["", f"Never fell in any run ({len(never)}): " + ", ".join(never["name"]) + "."]
    return lines


def changes_table(ens: EnsembleResult) -> list[str]:
    names = {p.id: p.name for p in ens.scenario.places}
    start = ens.scenario.start_date
    lines = ["| place | to | reported | split | happened in | model date (median) | 5–95 % |",
             "|---|---|---|---|---:|---|---|"]
    for c in ens.reported_changes():
        days = c["model_days"]
        hit = days[days >= 0]
        reported = c["date"].isoformat()[5:] if c["low"] == c["high"] else \
            f"{c['date'].isoformat()[5:]} ({c['low'].isoformat()[5:]} – {c['high'].isoformat()[5:]})"
        if hit.size:
            lo, med, hi = (start + dt.timedelta(days=int(np.floor(x))) for x in np.quantile(hit, (0.05, 0.5, 0.95)))
            model = f"{med:%m-%d} | {lo:%m-%d} – {hi:%m-%d}"
        else:
            model = "— | —"
        lines.append(f"| {names[c['place']]} | {c['controller']} | {reported} | {c['split']} | "
                     f"{_pct(hit.size / days.size)} | {model} |")
    return lines


def figures_table(ens: EnsembleResult) -> list[str]:
    lines = ["| reported figure | date | split | reported | model 5 % | median | 95 % | runs at or above |",
             "|---|---|---|---:|---:|---:|---:|---:|"]
    for r in reported_figures(ens):
        rep = f"{r['reported']:,.0f}" + (f" ({r['low']:,.0f}–{r['high']:,.0f})" if r["low"] is not None else "")
        lo, med, hi = r["model"]
        lines.append(f"| {r['figure']} | {r['date']:%m-%d} | {r['split']} | {rep} | {lo:,.0f} | {med:,.0f} | "
                     f"{hi:,.0f} | {_pct(r['share_above'])} |")
    return lines


def write_ensemble_report(ens: EnsembleResult, out: Path, days: Sequence[int] | None = None) -> list[str]:
    """Write the PNGs and ``report.md`` of one ensemble into ``out`` (share maps on ``days``, default
    :func:`map_days`); return the names of the pictures."""
    days = list(days) if days is not None else map_days(ens.days)
    pictures = write_pictures([("", ens)], out, days)
    s = ens.scenario
    totals = ens.summary()["totals_at_end"]

    def band(name: str) -> str:
        t = totals[name]
        return f"{t['p50']:,.0f} ({t['p05']:,.0f} – {t['p95']:,.0f})"

    lines = [f"# {s.name}: an ensemble of {ens.runs} runs", "", s.description, "", *_what_ran(ens), "",
             "Figures are medians over the runs with the 5–95 % range in brackets; a share is the share of runs.", "",
             "## Who holds each place", "",
             "![share of runs each side holds each place](share_maps.png)", "",
             "## Places that fell", "",
             "A place *falls* when a side outside the coalition that held it at the start holds it at the end of a "
             "day (`simulation.runs.outcomes.fall_days`); the last columns give the share of runs each side "
             "holds it at the end.", "", *places_table(ens), ""]
    if "fall_dates.png" in pictures:
        lines += ["## Reported changes of hands", "",
                  "The model's date of a reported change is the first day the place passes to the reported side "
                  "(`simulation.runs.outcomes.change_days`, as the calibration dates it).", "",
                  "![fall-date spread against the reported dates](fall_dates.png)", "", *changes_table(ens), ""]
    lines += ["## Casualties", "", "| party | killed | wounded |", "|---|---:|---:|",
              *[f"| {p} | {band(f'killed_{p}')} | {band(f'wounded_{p}')} |" for p in ens.parties], "",
              "![killed and wounded by party](fan_casualties.png)", "",
              "## Control and forces", "", "![people and places under each side](fan_control.png)", "",
              "![personnel present by faction](fan_forces.png)", "",
              "## Displacement", "",
              f"People who have left their homes by the end: {band('displaced_left')}; displaced at the end: "
              f"{band('displaced_now')}.", "", "![displacement](fan_displacement.png)", ""]
    if "fan_reported.png" in pictures:
        lines += ["## Reported figures", "",
                  "Each reported casualty and displacement figure beside the model's count of the same people "
                  "(same places, parties and period; `calibration/observations`).", "",
                  "![reported figures over the model's fans](fan_reported.png)", "", *figures_table(ens), ""]
    lines += ["## Files", "",
              "`control_share.csv` (date, place, controller, share of runs), `fall_dates.csv` (the first day each "
              "place passed to each side in each run; empty: never), `bands.csv` (quantiles over the runs of each "
              "daily series), `summary.json` (what ran).", ""]
    (Path(out) / "report.md").write_text("\n".join(lines), encoding="utf-8")
    return pictures


# --------------------------------------------------------------------------------------------------------
# The ensemble directory


def write_ensemble(ens: EnsembleResult, out: str | Path, plots: bool = True,
                   map_days: Sequence[int] | None = None) -> list[str]:
    """Write the tables, ``summary.json`` and (with ``plots``) ``report.md`` and its PNGs of ``ens`` into the
    existing directory ``out`` (share maps on ``map_days``, default six days from the first to the last); return
    the names of the pictures."""
    out = Path(out)
    ens.write_tables(out)
    if not plots:
        return []
    return write_ensemble_report(ens, out, map_days)


def ensemble_directory(scenario: Scenario | str | Path, out: str | Path, *, overwrite: bool = False,
                       keep_runs: bool = False, plots: bool = True, map_days: Sequence[int] | None = None,
                       message: Callable[[str], None] | None = None, **kwargs: Any) -> EnsembleResult:
    """Run an ensemble (:func:`run_ensemble`'s ``kwargs``) and write its directory ``out`` atomically: a temporary
    sibling renamed into place when complete, removed on any error or interruption.

    With ``keep_runs`` each run's own directory is written under ``out/runs/seed-<S>`` (with its report when
    ``plots``), as ``conflict-sim run --seed S`` writes it. ``message`` is told what is being done once the runs
    are over.

    Raises
    ------
    OutputError
        ``out`` exists (and not ``overwrite``) or cannot be written.
    """
    from simulation.runs.output import atomic_directory

    with atomic_directory(Path(out), overwrite=overwrite) as tmp:
        ens = run_ensemble(scenario, keep_dir=tmp / "runs" if keep_runs else None, plots=plots, **kwargs)
        if message is not None:
            message(f"{ens.runs} runs done; writing the tables" + (" and the report" if plots else ""))
        write_ensemble(ens, tmp, plots, map_days)
    return ens
