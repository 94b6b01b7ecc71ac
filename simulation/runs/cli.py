"""The command line of ensembles: ``conflict-sim run SCENARIO --seeds N`` and ``conflict-sim compare``.

Parsing needs only argparse (the command line imports this module on start-up); the model loads on use. Bad
arguments (``--seeds 0``, ``--workers 0``, ``--posterior`` without a posterior sample, an unknown
counterfactual) raise :class:`~simulation.errors.UsageError`: one line, exit code 2, no output directory.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from simulation.errors import UsageError, check_days_and_seed

if TYPE_CHECKING:
    from simulation.runs.ensemble import EnsembleResult
    from simulation.scenario import Scenario

ENSEMBLE_ONLY = {"workers": "--workers", "posterior": "--posterior", "keep_runs": "--keep-runs",
                 "map_dates": "--map-date"}
DEFAULT_COMPARE_SEEDS = 40


def add_run_arguments(run: argparse.ArgumentParser) -> None:
    """The ensemble options of ``conflict-sim run``."""
    g = run.add_argument_group("ensembles", "with --seeds N: run N seeds and write an ensemble directory (shares "
                               "of runs, bands, fall dates; see docs/ensembles.md)")
    g.add_argument("--seeds", type=int, default=None, metavar="N",
                   help="run N seeds (--seed, --seed+1, ...) and write an ensemble directory instead of one run's")
    g.add_argument("--workers", type=int, default=None, metavar="K",
                   help="worker processes for --seeds (default: the CPUs available)")
    g.add_argument("--posterior", action="store_true",
                   help="each run also draws the fitted parameters from the fit's posterior sample")
    g.add_argument("--keep-runs", action="store_true",
                   help="also write each run's own directory (OUT/runs/seed-S; with its report unless --no-plots)")
    g.add_argument("--map-date", dest="map_dates", action="append", default=[], metavar="YYYY-MM-DD",
                   help="a date of the report's share maps; repeatable (default: six dates from start to end)")


def register_cli(subparsers: Any, commands: dict[str, Any]) -> None:
    """Add ``conflict-sim compare``."""
    from simulation.runs.counterfactuals import COUNTERFACTUALS

    p = subparsers.add_parser(
        "compare", help="run a baseline and counterfactuals over the same seeds and compare them",
        description="Run SCENARIO_DIR's baseline and each counterfactual with the same N seeds and write a "
        "comparison directory: the change in the share of runs each place falls, the shift of its median fall "
        "date, the difference in killed and displaced with intervals, and the report's pictures side by side. "
        "See docs/ensembles.md.")
    p.add_argument("scenario", metavar="SCENARIO_DIR", help="scenario directory")
    p.add_argument("--counterfactual", dest="counterfactuals", action="append", default=[], metavar="NAME",
                   required=True, help=f"a counterfactual to compare; repeatable ({', '.join(COUNTERFACTUALS)})")
    p.add_argument("--seeds", type=int, default=DEFAULT_COMPARE_SEEDS, metavar="N",
                   help=f"runs per ensemble (default {DEFAULT_COMPARE_SEEDS})")
    p.add_argument("--seed", type=int, default=1, help="the first seed (default 1)")
    p.add_argument("--workers", type=int, default=None, metavar="K",
                   help="worker processes (default: the CPUs available)")
    p.add_argument("--posterior", action="store_true",
                   help="each run also draws the fitted parameters from the fit's posterior sample")
    p.add_argument("--days", type=int, default=None, help="days to simulate (default: the scenario's)")
    p.add_argument("--set", dest="sets", action="append", default=[], metavar="NAME=VALUE",
                   help="override a model parameter in every ensemble; repeatable")
    p.add_argument("--map-date", dest="map_dates", action="append", default=[], metavar="YYYY-MM-DD",
                   help="a date of the share maps; repeatable (default: four dates from start to end)")
    p.add_argument("--out", type=Path, default=None, metavar="DIR",
                   help="comparison directory (default runs/<scenario>-compare-<names>); must not exist unless --force")
    p.add_argument("--force", action="store_true", help="replace the output directory if it exists")
    p.add_argument("--no-fitted", action="store_true", help="ignore the scenario's fitted-parameters file")
    p.add_argument("--no-plots", action="store_true", help="skip the report and plots (tables and summary only)")
    p.add_argument("--quiet", action="store_true", help="print only the directory's path")
    commands["compare"] = cmd_compare


def wants_ensemble(args: argparse.Namespace) -> bool:
    """Whether ``conflict-sim run`` was asked for an ensemble (``--seeds``).

    Raises
    ------
    UsageError
        An ensemble option without ``--seeds``.
    """
    if args.seeds is not None:
        return True
    for name, flag in ENSEMBLE_ONLY.items():
        if getattr(args, name, None) not in (None, False, []):
            raise UsageError(f"{flag} needs --seeds N (an ensemble); a single run takes --seed S alone")
    return False


def _check_common(args: argparse.Namespace) -> None:
    from simulation.scenario import MAX_DAYS

    if args.seeds < 1:
        raise UsageError(f"--seeds {args.seeds}: need at least one run")
    if args.workers is not None and args.workers < 1:
        raise UsageError(f"--workers {args.workers}: need at least one")
    check_days_and_seed(args.days, args.seed, MAX_DAYS)
    if args.posterior and args.no_fitted:
        raise UsageError("--posterior draws the fitted parameters from the fit's posterior: it cannot go with "
                         "--no-fitted")


def _setup(args: argparse.Namespace) -> tuple[Scenario, dict[str, Any], dict[str, Any]]:
    """The scenario with ``--set`` applied, the keyword arguments of the runs and what to record of them."""
    from simulation.errors import parse_sets
    from simulation.scenario import ScenarioError, load_scenario

    sets = parse_sets(args.sets)
    scenario = load_scenario(args.scenario, use_fitted=not args.no_fitted)
    info: dict[str, Any] = {"set": sets, "fitted_file": None}
    if not args.no_fitted and scenario.fitted_file is not None and Path(scenario.fitted_file).is_file():
        info["fitted_file"] = str(scenario.fitted_file)
    posterior = None
    if args.posterior:
        from simulation.calibration.fitted import load_posterior
        from simulation.runs.ensemble import posterior_path

        path = posterior_path(scenario)
        if path is None:
            raise UsageError(f"--posterior: scenario {scenario.name} has no posterior sample (its fitted-parameters "
                             "file names none under posterior_samples, or the file is missing)")
        try:
            posterior = {k: v for k, v in load_posterior(path).items() if k not in sets}
        except (OSError, ValueError, IndexError) as e:
            raise ScenarioError(path, f"not a posterior sample ({e})") from None
        info["posterior_file"] = str(path)
    if sets:
        scenario = scenario.with_parameters(sets)
    kwargs = {"seeds": args.seeds, "first_seed": args.seed, "posterior": posterior, "workers": args.workers,
              "days": args.days, "progress": not args.quiet}
    return scenario, kwargs, info


def _map_days(dates: list[str], scenario: Scenario, days: int | None) -> list[int] | None:
    if not dates:
        return None
    n = days or scenario.days
    out = []
    for text in dates:
        try:
            d = (dt.date.fromisoformat(text) - scenario.start_date).days
        except ValueError:
            raise UsageError(f"--map-date {text}: not a date (YYYY-MM-DD)") from None
        if not 0 <= d < n:
            last = scenario.start_date + dt.timedelta(days=n - 1)
            raise UsageError(f"--map-date {text}: outside the run ({scenario.start_date} to {last})")
        out.append(d)
    return sorted(set(out))


def _progress(args: argparse.Namespace, message: str) -> None:
    if not args.quiet:
        print(message, file=sys.stderr, flush=True)


def ensemble_text(ens: EnsembleResult, limit: int = 8) -> str:
    """A few lines for the terminal."""
    s = ens.summary()
    lines = [f"{s['scenario']}: {ens.runs} runs (seeds {s['seeds'][0]}–{s['seeds'][-1]}), {s['start_date']} to "
             f"{s['end_date']}, {s['workers']} worker(s), {s['run_time_s']:.1f} s"]
    places = ens.places_frame()
    fell = places[places["fell"] > 0].head(limit)
    if len(fell):
        lines.append("fell in the most runs: " + "; ".join(
            f"{r.name} {100 * r.fell:.0f} % (median {r.fell_median[5:]})" for r in fell.itertuples()))
    t = s["totals_at_end"]
    lines.append("killed (median, 5–95 %): " + ", ".join(
        f"{p} {t[f'killed_{p}']['p50']:,.0f} ({t[f'killed_{p}']['p05']:,.0f}–{t[f'killed_{p}']['p95']:,.0f})"
        for p in ens.parties))
    lines.append(f"left their homes: {t['displaced_left']['p50']:,.0f} ({t['displaced_left']['p05']:,.0f}–"
                 f"{t['displaced_left']['p95']:,.0f})")
    return "\n".join(lines) + "\n"


def cmd_run_ensemble(args: argparse.Namespace) -> int:
    """``conflict-sim run SCENARIO --seeds N``: the ensemble directory."""
    from simulation.runs.ensemble_output import ensemble_directory
    from simulation.runs.output import check_run_target

    _check_common(args)
    scenario, kwargs, info = _setup(args)
    days = _map_days(args.map_dates, scenario, args.days)
    out = args.out or Path("runs") / f"{scenario.name}-seeds{args.seeds}"
    check_run_target(out, overwrite=args.force, protect=[scenario.path, Path.cwd()])
    ens = ensemble_directory(scenario, out, overwrite=args.force, keep_runs=args.keep_runs,
                             plots=not args.no_plots, map_days=days, info=info,
                             message=lambda m: _progress(args, m), **kwargs)
    if args.quiet:
        print(out)
    else:
        print(ensemble_text(ens), end="")
        print(f"ensemble directory: {out}" + ("" if args.no_plots else f"\nreport: {out / 'report.md'}"))
    return 0


def cmd_compare(args: argparse.Namespace) -> int:
    """``conflict-sim compare SCENARIO --counterfactual NAME ...``: the comparison directory."""
    from simulation.runs.compare import comparison_directory
    from simulation.runs.counterfactuals import COUNTERFACTUALS
    from simulation.runs.output import check_run_target

    for name in args.counterfactuals:
        if name not in COUNTERFACTUALS:
            raise UsageError(f"--counterfactual {name}: unknown counterfactual (known: {', '.join(COUNTERFACTUALS)})")
    if len(set(args.counterfactuals)) != len(args.counterfactuals):
        raise UsageError("--counterfactual: each name once")
    _check_common(args)
    scenario, kwargs, info = _setup(args)
    days = _map_days(args.map_dates, scenario, args.days)
    out = args.out or Path("runs") / f"{scenario.name}-compare-{'-'.join(args.counterfactuals)}"
    check_run_target(out, overwrite=args.force, protect=[scenario.path, Path.cwd()])
    cmp = comparison_directory(scenario, args.counterfactuals, out, overwrite=args.force, plots=not args.no_plots,
                               map_days=days, info=info, message=lambda m: _progress(args, m), **kwargs)
    if args.quiet:
        print(out)
        return 0
    diffs = cmp.differences_frame()
    for name in cmp.counterfactuals:
        print(f"{name} against the baseline ({cmp.baseline.runs} paired runs):")
        for r in diffs[(diffs["counterfactual"] == name)
                       & diffs["series"].isin(["killed_all", "killed_civilian", "displaced_left"])].itertuples():
            print(f"  {r.series.replace('_', ' ')}: {r.mean_difference:+,.0f} on average (95 %: "
                  f"{r.mean_difference_low:+,.0f} to {r.mean_difference_high:+,.0f})")
        places = cmp.places_frame()
        sub = places[(places["counterfactual"] == name) & (places["change"] != 0)]
        sub = sub.reindex(sub["change"].abs().sort_values(ascending=False).index).head(6)
        if len(sub):
            print("  share of runs fallen: " + "; ".join(f"{r.name} {100 * r.fell_baseline:.0f} % → "
                                                         f"{100 * r.fell_counterfactual:.0f} %"
                                                         for r in sub.itertuples()))
    print(f"comparison directory: {out}" + ("" if args.no_plots else f"\nreport: {out / 'report.md'}"))
    return 0
