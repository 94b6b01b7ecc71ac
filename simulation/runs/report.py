"""The run report: ``report.md`` and its PNG plots (matplotlib, no display needed)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from simulation.engine.model import ConflictModel  # noqa: E402

PNG_META = {"Software": None}  # no version string, so that identical runs give identical files


def _save(fig: plt.Figure, path: Path) -> None:
    fig.savefig(path, dpi=100, metadata=PNG_META)
    plt.close(fig)


def draw_map(model: ConflictModel, ax: plt.Axes, day: int, title: str) -> None:
    """The road graph at lat/lon, places coloured by controller and sized by population."""
    w, s = model.world, model.scenario_data
    colours = [f.colour for f in s.factions]
    for r in s.roads:
        i, j = w.index[r.a], w.index[r.b]
        style = {"highway": "-", "road": "-", "desert track": ":", "river crossing": "--"}[r.kind]
        ax.plot([w.lon[i], w.lon[j]], [w.lat[i], w.lat[j]], style, color="#bbbbbb", lw=1, zorder=1)
    ctrl = model.rec_control[day] if model.day else model.controller
    size = 20 + 180 * np.sqrt(w.population0 / max(w.population0.max(), 1))
    markers = {"crossing": "s", "refinery": "D", "base": "^", "airport": "^", "dam": "v", "checkpoint": "s"}
    for k in range(w.n):
        ax.scatter(w.lon[k], w.lat[k], s=size[k], c=colours[ctrl[k]], marker=markers.get(w.kind[k], "o"),
                   edgecolors="white", linewidths=0.5, zorder=2)
    top = np.argsort(-(w.value + w.population0 / 1e6), kind="stable")[: min(w.n, 18)]
    for k in top:
        ax.annotate(s.places[k].name, (w.lon[k], w.lat[k]), fontsize=6, xytext=(3, 3), textcoords="offset points")
    for f in s.factions:
        ax.scatter([], [], c=f.colour, label=f.name, s=30)
    ax.set_title(title, fontsize=9)
    ax.set_xlabel("longitude")
    ax.set_ylabel("latitude")
    ax.set_aspect("equal", adjustable="datalim")
    ax.legend(fontsize=6, loc="lower left")


def write_report(model: ConflictModel, data: dict[str, Any], out: Path) -> None:
    """Write the PNG plots and ``report.md`` into ``out``."""
    s = model.scenario_data
    dates = model.dates()
    days = np.arange(model.day)
    colours = [f.colour for f in s.factions]
    ticks = days[:: max(1, model.day // 6)]
    tick_labels = [dates[i][5:] for i in ticks]

    fig, axes = plt.subplots(1, 2, figsize=(11, 5))
    draw_map(model, axes[0], 0, f"Control at the end of {dates[0]}")
    draw_map(model, axes[1], model.day - 1, f"Control at the end of {dates[-1]}")
    fig.tight_layout()
    _save(fig, out / "map.png")

    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    held = np.stack([(model.rec_control[: model.day] == i).sum(axis=1) for i in range(len(colours))])
    pop = np.stack([np.where(model.rec_control[: model.day] == i, model.rec_population[: model.day], 0).sum(axis=1)
                    for i in range(len(colours))])
    axes[0].stackplot(days, held, colors=colours, labels=[f.name for f in s.factions])
    axes[0].set_title("Places controlled", fontsize=9)
    axes[1].stackplot(days, pop / 1e6, colors=colours)
    axes[1].set_title("People living under each controller (millions)", fontsize=9)
    for ax in axes:
        ax.set_xticks(ticks, tick_labels)
    fig.legend(*axes[0].get_legend_handles_labels(), loc="lower center", ncol=2, fontsize=7, frameon=False)
    fig.tight_layout(rect=(0, 0.1, 1, 1))
    _save(fig, out / "control.png")

    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    parties = [*model.faction_ids, "civilian"]
    pcol = [*colours, "#d62728"]
    for q, name in enumerate(parties):
        k = model.rec_killed[: model.day, :, q].sum(axis=1).cumsum()
        wd = model.rec_wounded[: model.day, :, q].sum(axis=1).cumsum()
        axes[0].plot(days, k, color=pcol[q], label=name)
        axes[1].plot(days, wd, color=pcol[q], label=name)
    axes[0].set_title("Killed, cumulative", fontsize=9)
    axes[1].set_title("Wounded, cumulative", fontsize=9)
    axes[0].legend(fontsize=7)
    for ax in axes:
        ax.set_xticks(ticks, tick_labels)
    fig.tight_layout()
    _save(fig, out / "casualties.png")

    fig, ax = plt.subplots(figsize=(7, 4))
    for i, f in enumerate(s.factions):
        ax.plot(days, model.rec_ledger[: model.day, -1, i], color=f.colour, label=f.name)
    ax.set_title("Personnel present, by faction", fontsize=9)
    ax.set_yscale("log")
    ax.set_xticks(ticks, tick_labels)
    ax.legend(fontsize=7)
    fig.tight_layout()
    _save(fig, out / "forces.png")

    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    idps = model.rec_idps[: model.day]
    transit = getattr(model, "rec_in_transit", np.zeros(model.rec_idps.shape[0], dtype=np.int64))[: model.day]
    axes[0].plot(days, model.rec_displaced_from[: model.day].sum(axis=1) / 1e3, label="left their homes (cumulative)")
    axes[0].plot(days, (idps.sum(axis=1) + transit) / 1e3, label="displaced now")
    axes[0].plot(days, idps.sum(axis=1) / 1e3, label="sheltering in a place")
    axes[0].plot(days, transit / 1e3, ":", label="on the road")
    axes[0].set_title("Displaced people (thousands)", fontsize=9)
    axes[0].legend(fontsize=7)
    names = [pl.name for pl in s.places]
    top = [k for k in np.argsort(-idps.max(axis=0), kind="stable")[:8] if idps[:, k].max() > 0]
    for k in top:
        axes[1].plot(days, idps[:, k] / 1e3, label=names[k])
    rest = np.delete(idps, top, axis=1).sum(axis=1)
    if rest.max() > 0:
        axes[1].plot(days, rest / 1e3, "--", color="#888888", label="all other places")
    axes[1].set_title("Displaced people sheltering, by destination (thousands)", fontsize=9)
    if top:
        axes[1].legend(fontsize=7)
    for ax in axes:
        ax.set_xticks(ticks, tick_labels)
    fig.tight_layout()
    _save(fig, out / "displacement.png")

    t = data["totals"]
    lines = [
        f"# {s.name}: {data['start_date']} to {data['end_date']}",
        "",
        s.description,
        "",
        f"Seed {data['seed']}, {data['days']} days, simulator version {data['version']}.",
        "",
        "## Casualties",
        "",
        "| party | killed | wounded |",
        "|---|---:|---:|",
        *[f"| {p} | {t['killed'][p]} | {t['wounded'][p]} |" for p in t["killed"]],
        f"| **all** | {t['killed_all']} | {t['wounded_all']} |",
        "",
        f"Displaced at the end: {t['displaced']}.",
        "",
        "## Personnel",
        "",
        "| faction | " + " | ".join(LEDGER_HEAD) + " |",
        "|---|" + "---:|" * len(LEDGER_HEAD),
        *[f"| {f} | " + " | ".join(str(data["personnel"][f][k]) for k in LEDGER_HEAD) + " |"
          for f in model.faction_ids],
        "",
        "## Maps",
        "",
        "![control at the start and the end](map.png)",
        "",
        "## Control",
        "",
        "![control over time](control.png)",
        "",
        "| date | place | change |",
        "|---|---|---|",
        *[f"| {d} | {p} | {x} |" for d, k, p, x in model.log if k == "control_change"],
        "",
        "## Casualties over time",
        "",
        "![casualties](casualties.png)",
        "",
        "## Forces",
        "",
        "![forces](forces.png)",
        "",
        "## Displacement",
        "",
        "![displacement](displacement.png)",
        "",
    ]
    (out / "report.md").write_text("\n".join(lines), encoding="utf-8")


LEDGER_HEAD = ("initial", "recruited", "reinforced", "killed", "wounded", "deserted", "present")
