"""The command line: ``conflict-sim run | params | check | scenarios`` (and ``python -m simulation``).

A scenario is named by its directory or, where no such path exists, by the name of a shipped scenario
(``conflict-sim run toy`` from any directory; :mod:`simulation.shipped`); a sweep design likewise.

Bad input (a malformed scenario, an unknown parameter, an output directory that exists) gives one line on
stderr naming the file, row and field, exit code 2, and no output directory.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import os
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from simulation.engine.signals import exit_on_signals, signals_deferred
from simulation.errors import EXIT_BAD_INPUT, UsageError, check_days_and_seed, parse_sets
from simulation.extras import MissingExtra, require_extra

if TYPE_CHECKING:
    from simulation.runs.plotting import ReportProcesses


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # one line, not argparse's usage block
        raise UsageError(f"{self.prog}: {message} (see --help)")


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="conflict-sim", description="Agent-based simulator of armed conflict and displacement "
                "on a road network. Scenario format and outputs: docs/scenario-format.md.")
    from simulation import __version__

    p.add_argument("--version", action="version", version=f"conflict-sim {__version__}")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)

    run = sub.add_parser("run", help="run a scenario and write a run directory with tables, summary and report",
                         description="Run SCENARIO_DIR and write a run directory (written atomically: a "
                         "temporary directory renamed when complete).")
    run.add_argument("scenario", metavar="SCENARIO",
                     help="scenario directory (scenario.toml and CSV tables) or the name of a shipped scenario "
                     "(see `conflict-sim scenarios`)")
    run.add_argument("--seed", type=int, default=1, help="seed of the random generator (default 1)")
    run.add_argument("--days", type=int, default=None,
                     help="days to simulate (default: the scenario's start to end date)")
    run.add_argument("--set", dest="sets", action="append", default=[], metavar="NAME=VALUE",
                     help="override a model parameter; repeatable (list them with `conflict-sim params`)")
    run.add_argument("--out", type=Path, default=None,
                     help="run directory to write (default runs/<scenario>-seed<N>); must not exist unless --force")
    run.add_argument("--force", action="store_true", help="replace the output directory if it exists")
    run.add_argument("--no-fitted", action="store_true",
                     help="ignore the scenario's fitted-parameters file and use its defaults")
    run.add_argument("--no-plots", action="store_true", help="skip the report and plots (tables and summary only)")
    run.add_argument("--quiet", action="store_true", help="print only the run directory's path")
    from simulation.runs.cli import add_run_arguments

    add_run_arguments(run)  # --seeds N [--workers K] [--posterior] [--keep-runs]: an ensemble directory

    params = sub.add_parser("params", help="list the model parameters with defaults, bounds and meaning")
    params.add_argument("scenario", metavar="SCENARIO", nargs="?",
                        help="also show the values this scenario (directory or shipped name) uses")

    check = sub.add_parser("check", help="validate a scenario directory and print a one-line summary")
    check.add_argument("scenario", metavar="SCENARIO")

    sub.add_parser("scenarios", help="list the shipped scenarios and sweep designs, usable by name",
                   description="List the scenarios and sweep designs installed with the package: `conflict-sim "
                   "run NAME` and `conflict-sim sweep NAME --design DESIGN` take these names from any directory.")
    for module in EXTENSIONS:
        importlib.import_module(module).register_cli(sub, COMMANDS)
    return p


def cmd_run(args: argparse.Namespace) -> int:
    from simulation.runs.cli import cmd_run_ensemble, wants_ensemble
    from simulation.scenario import MAX_DAYS

    if wants_ensemble(args):
        _import_model()
        return cmd_run_ensemble(args)
    check_days_and_seed(args.days, args.seed, MAX_DAYS)
    sets = parse_sets(args.sets)
    report = None
    if not args.no_plots:
        from simulation.runs.plotting import ReportProcesses

        report = ReportProcesses.start()  # they import matplotlib while this process imports and runs the model
    with report or contextlib.nullcontext():
        return _run(args, sets, report)


def _run(args: argparse.Namespace, sets: dict[str, float], report: ReportProcesses | None) -> int:
    from simulation.scenario import load_scenario

    scenario = load_scenario(args.scenario, use_fitted=not args.no_fitted)
    if sets:
        scenario = scenario.with_parameters(sets)
    out = args.out or Path("runs") / f"{scenario.name}-seed{args.seed}"
    from simulation.runs.directories import check_run_target

    # Before the run, not after it: a run of many days should not end in "cannot write" or in bad observations.
    check_run_target(out, overwrite=args.force, protect=[scenario.path, Path.cwd()])
    if not args.no_plots:
        from simulation.runs.observed import scenario_observations

        scenario_observations(scenario)  # what the report compares the run with
    _import_model(single_run=True)
    from simulation.engine.model import ConflictModel
    from simulation.runs.output import summary_text, write_run_directory

    started = time.perf_counter()
    model = ConflictModel(scenario, seed=args.seed, days=args.days)
    if report is not None:
        from simulation.runs.run_view import RunView

        report.draft(RunView.from_model(model))  # the map's process draws what does not depend on the run
    from tqdm import tqdm

    # A lock for this process's threads: tqdm's default also makes a multiprocessing lock, and with it starts
    # multiprocessing's resource tracker, another Python process (0.03-0.05 s of CPU) that a single run never needs.
    tqdm.set_lock(threading.RLock())
    with tqdm(total=model.days, desc=scenario.name, unit="day", disable=None if not args.quiet else True,
              file=sys.stderr, leave=False) as bar:
        while model.running:
            model.step()
            bar.update(1)
    from simulation.collector import collector_held

    # The process ends after this: its last garbage (the tables', the figures' drawn here) need not be collected.
    with collector_held(freeze=False):
        write_run_directory(model, out, time.perf_counter() - started, overwrite=args.force,
                            plots=not args.no_plots, report=report)
    if args.quiet:
        print(out)
    else:
        import json

        print(summary_text(json.loads((out / "summary.json").read_text(encoding="utf-8"))), end="")
        print(f"run directory: {out}" + ("" if args.no_plots else f"\nreport: {out / 'report.md'}"))
    return 0


#: Libraries the model's modules import but a single run never uses (:mod:`simulation.deferred`): pandas (Mesa's
#: data frames; 0.25-0.3 s), NetworkX (the road network's export, ``ConflictModel.road_network``; 0.1 s), Mesa's
#: experimental spaces and simulators, which ``import mesa`` imports and the model does not use (its continuous
#: space imports SciPy's spatial index: about 0.1 s beyond the SciPy the model needs; Mesa 3.5, on Python 3.12
#: and later, uses them as it is imported, so there this saves nothing), and NumPy's Fortran wrapper
#: generator and test helpers, which SciPy's array API layer imports with ``from numpy import *`` (0.04-0.06 s).
SINGLE_RUN_UNUSED = ("pandas", "networkx", "mesa.experimental", "numpy.f2py", "numpy.testing")


def _import_model(single_run: bool = False) -> None:
    """Import the model and its libraries; for a ``single_run``, :data:`SINGLE_RUN_UNUSED` run on their first use."""
    from simulation.collector import collector_held

    # A Ctrl-C in the middle of importing a library can break it in odd ways; the collector need not look at what
    # the imports make (0.05-0.14 s).
    with signals_deferred(), collector_held():
        if single_run:
            import numpy  # noqa: F401 - first: its submodules are deferred as parts of it (bound in it)

            from simulation.deferred import defer

            for name in SINGLE_RUN_UNUSED:
                defer(name)
        import simulation.runs.output  # noqa: F401 - the model and its libraries


def cmd_params(args: argparse.Namespace) -> int:
    from simulation.parameters import PARAMETERS

    values = {}
    fit = {}
    if args.scenario:
        from simulation.scenario import load_scenario

        s = load_scenario(args.scenario)
        values, fit = s.parameters, s.fit_bounds
    for p in PARAMETERS.values():
        line = f"{p.name:28} default {p.default:<10g} bounds [{p.low:g}, {p.high:g}]"
        if values:
            line += f"  scenario {values[p.name]:g}"
        if p.name in fit:
            line += f"  fit [{fit[p.name][0]:g}, {fit[p.name][1]:g}]"
        print(f"{line}\n    {p.doc}")
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    from simulation.scenario import load_scenario

    s = load_scenario(args.scenario)
    print(f"{s.name}: ok — {len(s.places)} places, {len(s.roads)} roads, {len(s.forces)} units, "
          f"{len(s.events)} events, {len(s.factions)} factions, {s.start_date} to {s.end_date}")
    return 0


def cmd_scenarios(args: argparse.Namespace) -> int:
    import tomllib

    from simulation.shipped import design_names, designs_dir, scenario_names, scenarios_dir

    for name in scenario_names():
        head = tomllib.loads((scenarios_dir() / name / "scenario.toml").read_text(encoding="utf-8"))["scenario"]
        about = str(head.get("description", ""))
        about = about if len(about) <= 70 else about[:69].rstrip() + "…"
        print(f"{name:16} {head['start_date']} to {head['end_date']}  {about}")
    print(f"  (in {scenarios_dir()}; run one with `conflict-sim run NAME`)")
    print(f"designs: {', '.join(design_names())}")
    print(f"  (in {designs_dir()}; use one with `conflict-sim sweep SCENARIO --design NAME`)")
    return 0


COMMANDS = {"run": cmd_run, "params": cmd_params, "check": cmd_check, "scenarios": cmd_scenarios}
#: Commands that import neither the model nor its libraries, or do so themselves (``run`` starts its report
#: processes first, so that they import matplotlib while it imports the model).
LIGHT_COMMANDS = ("scenarios", "run")

# Modules that add sub-commands: each has ``register_cli(subparsers, commands)``, which adds its parser(s) and
# puts its handler(s) in ``commands``. Handlers raise UsageError / ScenarioError / OutputError for bad input.
EXTENSIONS: list[str] = [
    "simulation.sweep.cli",
    "simulation.calibration.cli",
    "simulation.app.cli",
    "simulation.generate.cli",
    "simulation.replay.cli",
    "simulation.runs.cli",
    "simulation.flee_cli",
]


#: Set for this process (and the report processes it starts) where the user has not set it, before NumPy is
#: imported: OpenBLAS's (NumPy's and SciPy's, one each) idle threads wait 2**n cycles before they sleep (``n`` 28 by
#: default), and on import they so burn about 0.1 s of CPU each, beside the model's imports and the report's on
#: two CPUs; 2**4 lets them sleep at once. Only their waiting changes: how many threads a product uses, and so
#: every number, stay the same.
BLAS_IDLE = ("OPENBLAS_THREAD_TIMEOUT", "4")


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``conflict-sim``; returns the exit code."""
    os.environ.setdefault(*BLAS_IDLE)  # before NumPy's import (does nothing where it is imported already)
    with exit_on_signals():  # SIGTERM unwinds like Ctrl-C, so that temporary output is removed
        return _main(argv)


def _main(argv: Sequence[str] | None) -> int:
    from simulation.errors import OutputError
    from simulation.runs.plotting import ReportError
    from simulation.scenario import ScenarioError

    try:
        # Parsing first, on light modules only: --help, --version and a mistyped option answer at once.
        args = build_parser().parse_args(argv)
        _shipped_names(args)
        require_extra(args)
        if args.command not in LIGHT_COMMANDS:
            _import_model()  # the model and its libraries, which these commands need
        return COMMANDS[args.command](args)
    except (UsageError, ScenarioError, OutputError, MissingExtra) as e:
        print("error: " + " ".join(str(e).splitlines()), file=sys.stderr)
        return EXIT_BAD_INPUT
    except ReportError as e:  # not bad input: the run was fine, its report could not be drawn; nothing written
        print(f"error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted (output is written only when complete)", file=sys.stderr)
        return 130


def _shipped_names(args: argparse.Namespace) -> None:
    """Replace a shipped scenario's or design's name by its path, where no file of that name exists here.

    Done once here rather than in each command: every sub-command then sees a path, as if it had been typed.
    """
    from simulation.shipped import resolve_design, scenario_names, scenarios_dir

    for dest in ("scenario", "target"):  # `validate` takes a run directory or a scenario as its target
        value = getattr(args, dest, None)
        if isinstance(value, str) and not Path(value).exists() and value in scenario_names():
            setattr(args, dest, str(scenarios_dir() / value))
    if getattr(args, "design", None) is not None:  # `sweep --design example`
        args.design = resolve_design(args.design)


def entry() -> NoReturn:
    from simulation.exiting import exit_now

    exit_now(main())  # without the interpreter's teardown (0.2 s after a run)


if __name__ == "__main__":
    entry()
