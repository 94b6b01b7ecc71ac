#!/usr/bin/env python3
"""Why people leave the mostly Sunni Arab places the insurgents take without a battle, in full runs of the Iraq
scenario: a day-by-day account of the places `scripts/fit_replay.py score-full` counts for issue 18's target.

Usage:
    python scripts/why_they_left.py [--seeds K] [--first-seed S] [--min-share X] [--days]

For each run (seeds S..S+K-1, default 2000-2019, as `score-full`) and each place that counts (taken by the
insurgents only, no battle there, over half Sunni Arab) whose people were away at most ``--min-share`` or more
on some day, the people who left home each day are split over the causes in proportion to their hazards (the
flight share is nearly proportional at these hazards): the takeover term of the place's Sunni Arabs, and the
violence felt from each place (the place itself or another), labelled by what the model's log says happened
there in the week before (battle, air strike, executions, uprising). The fear of violence is split by source as
the civilians accumulated it (:func:`simulation.civilians.travel.fear_and_hazard`): each day's felt violence
from each source, times the share of the day's felt violence their fear grew by (read off the fear itself, so
the account follows whatever rule the code applies), decayed by ``fear_half_life_days``. People moved within
their place count with the rest. ``--days`` prints the
daily lines; the totals over all runs come last.

The script wraps :meth:`simulation.civilians.displacement.Civilians.step` to read what the civilians see each
day; it changes nothing in the run.
"""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from fit_replay import SCENARIO, changes_and_battles  # noqa: E402

from simulation.civilians import displacement as civilians  # noqa: E402
from simulation.engine.model import ConflictModel  # noqa: E402
from simulation.scenario import Scenario, load_scenario  # noqa: E402

KINDS = ("battle", "air_strike", "executions", "uprising")


def recorded_run(scenario: Scenario, seed: int) -> tuple[ConflictModel, list[dict[str, np.ndarray]]]:
    """A full run of ``scenario`` and, for each day, what the civilians saw: the violence by source ``[c, q]``
    (felt at ``c`` from ``q``), the takeover fear by group at place, and the residents who left home by
    origin."""
    days: list[dict[str, np.ndarray]] = []
    step = civilians.Civilians.step

    def recording_step(self: civilians.Civilians, violence: np.ndarray, taken_by: np.ndarray,
                       controller: np.ndarray, battle: np.ndarray | None = None,
                       departures: np.ndarray | None = None) -> None:
        w, n = self.world, self.world.n
        v = np.asarray(violence, dtype=float)
        fought = np.zeros(n, dtype=bool) if battle is None else np.asarray(battle, dtype=bool)
        v = np.where((np.asarray(taken_by) >= 0) & ~fought, 0.0, v)  # as Civilians.step
        district = self._districts()
        kernel = civilians.violence_kernel(w.distance_km, self.p["fear_radius_km"])
        by_source = kernel * np.minimum(1.0, district[:, None] / district[None, :]) * v[None, :]
        left_before = self.displaced_from_by_origin.copy()
        fear_before = self.fear_violence.copy()
        step(self, violence, taken_by, controller, battle, departures)
        # The share of the day's felt violence the civilians added to their fear, place by place (1, or 0 on a
        # quiet day), read off their fear rather than assumed.
        felt = by_source.sum(axis=1)
        added = self.fear_violence - fear_before * 0.5 ** (1.0 / self.p["fear_half_life_days"])
        counted = np.divide(added, felt, out=np.zeros(n), where=felt > 0)
        days.append({"by_source": by_source * counted[:, None], "district": district,
                     "taken": np.asarray(taken_by).copy(),
                     "takeover": self.fear_takeover.copy(), "left": self.displaced_from_by_origin - left_before})

    civilians.Civilians.step = recording_step
    try:
        model = ConflictModel(scenario, seed=seed).run()
    finally:
        civilians.Civilians.step = step
    return model, days


def account(seeds: list[int], min_share: float, daily: bool) -> dict[str, float]:
    """Print the account of each place-run that counts; return the people who left by cause over all runs."""
    scenario = load_scenario(SCENARIO)
    sunni = scenario.composition.groups.index("sunni_arab")
    totals: dict[str, float] = defaultdict(float)
    for seed in seeds:
        m, days = recorded_run(scenario, seed)
        w, civ, n = m.world, m.civilians, m.world.n
        dates = m.dates()
        happened: dict[tuple[int, int], set[str]] = defaultdict(set)
        for date, kind, pid, _ in m.log:
            if kind in KINDS and pid in w.index:
                happened[dates.index(date), w.index[pid]].add(kind)
        taken_by, battles = changes_and_battles(m)
        ins = m.faction_ids.index("insurgent")
        decay = 0.5 ** (1.0 / m.p["fear_half_life_days"])
        for i, place in enumerate(scenario.places):
            if not (taken_by.get(i, []) == [ins] and not battles[i] and place.population > 0
                    and scenario.composition.shares[i][sunni] > 0.5):
                continue
            residents = m.rec_population[: m.day, i] - m.rec_idps[: m.day, i]
            away = 1.0 - float(residents.min()) / place.population
            if away < min_share:
                continue
            origins = np.flatnonzero(civ.origin_home == i)
            taken_day = next(d for d, r in enumerate(days) if r["taken"][i] >= 0)
            print(f"seed {seed} {place.id}: population {place.population:,}, taken {dates[taken_day]}, "
                  f"most away {away:.1%} ({dates[int(residents.argmin())]})")
            fear = np.zeros(n)  # the fear of violence at i by source, as the civilians accumulate it
            causes: dict[str, float] = defaultdict(float)
            for d, r in enumerate(days):
                fear = fear * decay + r["by_source"][i]
                hazard = m.p["flight_per_casualty"] * fear / r["district"][i]
                takeover = float(r["takeover"][sunni * n + i])
                left = float(r["left"][origins].sum())
                total = hazard.sum() + takeover
                if left <= 0 or total <= 0:
                    continue
                causes["takeover"] += left * takeover / total
                parts = []
                for q in np.flatnonzero(hazard > 0.01 * total):
                    seen = set().union(*(happened[dd, q] for dd in range(max(0, d - 6), d + 1)
                                         if days[dd]["by_source"][i, q] > 0))  # what made the violence felt
                    label = ("here: " if q == i else "next town: ") + "+".join(sorted(seen) or ["other"])
                    causes[label] += left * hazard[q] / total
                    parts.append(f"{w.place_ids[q]} ({label}) {hazard[q]:.3f}")
                if daily:
                    print(f"  {dates[d]} left {left:7,.0f}  takeover {takeover:.3f}  violence {hazard.sum():.3f}"
                          + (": " + ", ".join(parts) if parts else ""))
            gone = sum(causes.values())
            if gone:
                print("  left, by cause: " + ", ".join(f"{k} {v:,.0f} ({v / gone:.0%})" for k, v in causes.items()))
            for k, v in causes.items():
                totals[k] += v
    return totals


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=20)
    ap.add_argument("--first-seed", type=int, default=2000)
    ap.add_argument("--min-share", type=float, default=0.05)
    ap.add_argument("--days", action="store_true", help="print each day's line")
    args = ap.parse_args(argv)
    totals = account(list(range(args.first_seed, args.first_seed + args.seeds)), args.min_share, args.days)
    gone = sum(totals.values())
    print(f"all runs: {gone:,.0f} left; " + ", ".join(f"{k} {v:,.0f} ({v / gone:.0%})"
                                                      for k, v in sorted(totals.items(), key=lambda kv: -kv[1]))
          if gone else f"all runs: no place that counts had {args.min_share:.0%} of its people away on any day")
    return 0


if __name__ == "__main__":
    sys.exit(main())
