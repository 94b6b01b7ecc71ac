"""The collapse issue's (16) figures that `conflict-sim validate` does not print, over validate's seeds (1-20).

    .venv/bin/python scripts/collapse_metrics.py [SCENARIO] [--seeds 20] [--no-fitted] [--set NAME=VALUE ...]

For the scenario with its fitted point estimate (or without it, ``--no-fitted``), prints:

- the share of runs in which Mosul first passes to the insurgents between 8 and 12 June (the scenario has no
  ``morale_shock`` row: the script checks and says so), with the median day;
- the insurgents' present personnel on 30 June as a share of its peak over the month (median and 10-90 % over
  runs);
- for each place that held all month in reality (Baghdad, Samarra, Erbil, Haditha, Baqubah, Amerli), the share
  of runs in which it keeps its first holder every day, and the share of runs in which all of them do.
"""

from __future__ import annotations

import argparse
import datetime as dt

import numpy as np

from simulation.engine.model import ConflictModel
from simulation.scenario import load_scenario

ALWAYS_HELD = ("baghdad", "samarra", "erbil", "haditha", "baqubah", "amerli")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("scenario", nargs="?", default="scenarios/iraq_june_2014")
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--no-fitted", action="store_true")
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE")
    args = parser.parse_args(argv)
    scenario = load_scenario(args.scenario, use_fitted=not args.no_fitted)
    if args.set:
        scenario = scenario.with_parameters(dict(s.split("=", 1) for s in args.set))
    shocks = [e for e in scenario.events if e.kind == "morale_shock" and e.place == "mosul"]
    start = scenario.start_date
    window = ((dt.date(2014, 6, 8) - start).days, (dt.date(2014, 6, 12) - start).days)
    mosul_days, kept_share, held = [], [], {p: [] for p in ALWAYS_HELD}
    for seed in range(1, args.seeds + 1):
        m = ConflictModel(scenario, seed=seed).run()
        ins = m.faction_index["insurgent"]
        col = m.rec_control[:, m.world.index["mosul"]]
        taken = np.flatnonzero(col == ins)
        mosul_days.append(int(taken[0]) if taken.size else None)
        present = m.rec_ledger[:, -1, ins].astype(float)
        kept_share.append(present[-1] / present.max())
        for p in ALWAYS_HELD:
            i = m.world.index[p]
            held[p].append(bool((m.rec_control[:, i] == m.rec_control[0, i]).all()))
    n = args.seeds
    on_time = [d is not None and window[0] <= d <= window[1] for d in mosul_days]
    fell = sorted(d for d in mosul_days if d is not None)
    median = (start + dt.timedelta(days=fell[len(fell) // 2])).isoformat() if fell else "never"
    print(f"{n} runs (seeds 1-{n}), {'no fitted file' if args.no_fitted else 'fitted point estimate'}"
          + (f", --set {' '.join(args.set)}" if args.set else ""))
    print(f"Mosul morale_shock rows in the scenario: {len(shocks)}")
    print(f"Mosul to the insurgents 8-12 June: {sum(on_time)} of {n} runs ({100 * sum(on_time) / n:.0f} %); "
          f"median first day {median}; never in {mosul_days.count(None)}")
    q = np.percentile(kept_share, [10, 50, 90])
    print(f"insurgents present on 30 June / peak: median {q[1]:.2f} (10-90 %: {q[0]:.2f}-{q[2]:.2f})")
    for p in ALWAYS_HELD:
        print(f"  {p:10} keeps its holder all month in {sum(held[p])} of {n} runs")
    all_kept = sum(all(held[p][k] for p in ALWAYS_HELD) for k in range(n))
    print(f"all six keep their holder all month in {all_kept} of {n} runs ({100 * all_kept / n:.0f} %)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
