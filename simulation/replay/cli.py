"""``conflict-sim replay``: a scenario's civilians driven by recorded events (see :mod:`simulation.replay`)."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from simulation.errors import UsageError, check_days_and_seed, parse_sets


def register_cli(subparsers: Any, commands: dict[str, Callable[[argparse.Namespace], int]]) -> None:
    """Add the ``replay`` sub-command."""
    p = subparsers.add_parser(
        "replay", help="drive a scenario's civilians by recorded events (ACLED's columns), no forces simulated",
        description="Replay recorded events: each event (ACLED's export columns event_date, event_type, "
        "sub_event_type, actor1, actor2, admin1, location, latitude, longitude, fatalities) is matched to the "
        "nearest place within 25 km; its fatalities are that day's violence there; 'Non-state actor overtakes "
        "territory' and 'Government regains territory' give the place to actor1's faction ([replay] actors in "
        "scenario.toml, or ACLED's Iraq actor names). Civilians respond as in a full run; the run directory is "
        "a run's. See docs/displacement.md.")
    p.add_argument("scenario", metavar="SCENARIO", help="scenario directory or shipped scenario name")
    p.add_argument("--events", type=Path, default=None, metavar="FILE",
                   help="events CSV in ACLED's columns (required unless --totals)")
    # Hook for converted FLEE cases (simulation/flee_replay.py, docs/flee.md).
    p.add_argument("--totals", choices=("injected", "generated"), default=None,
                   help="a scenario made by `conflict-sim import-flee`: injected = UNHCR's daily increase injected "
                   "at FLEE's conflict zones (FLEE's protocol), generated = the project's flight rule")
    p.add_argument("--seed", type=int, default=1, help="seed of the random generator (default 1)")
    p.add_argument("--days", type=int, default=None, help="days to replay (default: the scenario's)")
    p.add_argument("--set", dest="sets", action="append", default=[], metavar="NAME=VALUE",
                   help="override a model parameter; repeatable")
    p.add_argument("--out", type=Path, default=None,
                   help="run directory to write (default runs/<scenario>-replay-seed<N>); must not exist unless "
                   "--force")
    p.add_argument("--force", action="store_true", help="replace the output directory if it exists")
    p.add_argument("--no-fitted", action="store_true",
                   help="ignore the scenario's fitted-parameters files (its [replay] fitted_parameters too)")
    p.add_argument("--no-plots", action="store_true", help="skip the report and plots")
    p.add_argument("--quiet", action="store_true", help="print only the run directory's path")
    commands["replay"] = cmd_replay


def cmd_replay(args: argparse.Namespace) -> int:
    if args.totals is not None:
        from simulation.flee_replay import cmd_replay_totals

        return cmd_replay_totals(args)
    if args.events is None:
        raise UsageError("replay: --events FILE is required (or --totals for a converted FLEE case)")
    from simulation.replay.model import ReplayModel, replay_events, with_replay_fit
    from simulation.runs.output import check_run_target, summary_text, write_run_directory
    from simulation.scenario import MAX_DAYS, load_scenario

    check_days_and_seed(args.days, args.seed, MAX_DAYS)
    sets = parse_sets(args.sets)
    scenario = load_scenario(args.scenario, use_fitted=not args.no_fitted)
    if sets:
        scenario = scenario.with_parameters(sets)
    if not args.no_fitted:
        scenario = with_replay_fit(scenario)
    events = replay_events(scenario, args.events)  # every row checked before anything is written
    out = args.out or Path("runs") / f"{scenario.name}-replay-seed{args.seed}"
    check_run_target(out, overwrite=args.force, protect=[scenario.path, Path.cwd(), args.events])
    if not args.no_plots:
        from simulation.runs.observed import scenario_observations

        scenario_observations(scenario)
    started = time.perf_counter()
    model = ReplayModel(scenario, events, seed=args.seed, days=args.days)
    model.events_file = str(args.events)
    model.run()
    for line in events.summary_lines():
        print(line, file=sys.stderr)
    write_run_directory(model, out, time.perf_counter() - started, overwrite=args.force, plots=not args.no_plots)
    if args.quiet:
        print(out)
    else:
        import json

        print(summary_text(json.loads((out / "summary.json").read_text(encoding="utf-8"))), end="")
        print(f"run directory: {out}" + ("" if args.no_plots else f"\nreport: {out / 'report.md'}"))
    return 0
