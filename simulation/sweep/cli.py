"""``conflict-sim sweep``: the command line of a sweep (argument parsing first, the heavy modules on use)."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from simulation.errors import SweepError, UsageError
from simulation.sweep.backends import BACKENDS

if TYPE_CHECKING:
    import pandas as pd

    from simulation.scenario import Scenario
    from simulation.sweep.designs import DesignFile


def register_cli(subparsers: Any, commands: dict[str, Any]) -> None:
    """Add ``conflict-sim sweep`` to the command line."""
    from simulation.runs.counterfactuals import COUNTERFACTUALS

    p = subparsers.add_parser(
        "sweep", help="run a parameter sweep (grid, list, Latin hypercube or Sobol sample) over seeds",
        description="Run every parameter set of a design file with N seeds, on a process pool, a local Dask "
        "cluster or a running Dask cluster. Finished batches are stored in OUT/store; running the same "
        "command again computes only what is missing. See docs/sweeps.md.")
    p.add_argument("scenario", metavar="SCENARIO_DIR", help="scenario directory")
    p.add_argument("--design", type=Path, required=True, metavar="FILE", help="design file (TOML)")
    p.add_argument("--seeds", type=int, default=None, metavar="N",
                   help="replicates (seeds) per parameter set (default: the design's [sweep] seeds, else 1)")
    p.add_argument("--sweep-seed", type=int, default=None, metavar="N",
                   help="seed the run seeds derive from (default: the design's, else 0)")
    p.add_argument("--workers", type=int, default=None, metavar="N",
                   help="worker processes (default: the CPUs available)")
    p.add_argument("--backend", choices=BACKENDS, default=None,
                   help="processes (default), dask (a local Dask cluster) or serial; --scheduler implies dask")
    p.add_argument("--scheduler", default=None, metavar="ADDRESS",
                   help="run on a running Dask cluster (e.g. tcp://host:8786, started with `dask scheduler` "
                   "and `dask worker`)")
    p.add_argument("--days", type=int, default=None, help="days per run (default: the design's, else the scenario's)")
    p.add_argument("--counterfactual", action="append", default=[], metavar="NAME",
                   help=f"apply a counterfactual to the scenario; repeatable ({', '.join(COUNTERFACTUALS)})")
    p.add_argument("--out", type=Path, default=None, metavar="DIR",
                   help="sweep directory (default runs/sweep-<scenario>-<design>); an existing one is resumed")
    p.add_argument("--no-fitted", action="store_true", help="ignore the scenario's fitted-parameters file")
    p.add_argument("--quiet", action="store_true", help="no progress bar; print only the results file")
    commands["sweep"] = cmd_sweep


def _write_atomic(path: Path, write: Any) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.partial")
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _outcome_lines(df: pd.DataFrame, places: Sequence[str], limit: int = 12) -> list[str]:
    lines = []
    fell = sorted(((df[f"fell_day_{p}"].notna().mean(), p) for p in places), reverse=True)
    for share, p in fell[:limit]:
        if share == 0:
            break
        median = df[f"fell_day_{p}"].dropna().median()
        lines.append(f"  {p:24} fell in {share:6.1%} of runs (median day {median:g})")
    if df["refinery_held"].notna().any():
        lines.append(f"  refinery held at the end in {df['refinery_held'].astype(float).mean():.1%} of runs")
    lines.append(f"  mean civilians killed {df['killed_civilian'].mean():,.0f}; mean displaced "
                 f"{df['displaced'].mean():,.0f}")
    return lines


def cmd_sweep(args: argparse.Namespace) -> int:
    """Handler of ``conflict-sim sweep``."""
    from simulation.fingerprint import model_fingerprint
    from simulation.runs.counterfactuals import apply_counterfactuals
    from simulation.runs.outcomes import key_places as choose_key_places
    from simulation.scenario import MAX_DAYS, ScenarioError, load_scenario
    from simulation.sweep.designs import load_design
    from simulation.sweep.run import run_sweep
    from simulation.sweep.store import ForeignStore, ResultStore, scenario_fingerprint

    for opt in ("seeds", "workers", "days"):
        v = getattr(args, opt)
        if v is not None and v < 1:
            raise UsageError(f"--{opt} {v}: must be at least 1")
    if args.days is not None and args.days > MAX_DAYS:
        raise UsageError(f"--days {args.days}: must be between 1 and {MAX_DAYS}")
    if args.sweep_seed is not None and args.sweep_seed < 0:
        raise UsageError(f"--sweep-seed {args.sweep_seed}: must be at least 0")
    if args.scheduler and args.backend not in (None, "dask"):
        raise UsageError(f"--scheduler needs --backend dask (got --backend {args.backend})")
    backend = "dask" if args.scheduler else (args.backend or "processes")

    scenario = load_scenario(args.scenario, use_fitted=not args.no_fitted)
    try:
        scenario = apply_counterfactuals(scenario, args.counterfactual)
    except KeyError as e:
        raise UsageError(f"--counterfactual: {e.args[0]}") from None
    spec = load_design(args.design)
    seeds = args.seeds or spec.seeds or 1
    sweep_seed = spec.sweep_seed if args.sweep_seed is None else args.sweep_seed
    days = args.days or spec.days
    try:  # bad place ids fail here, before any output
        places = choose_key_places(scenario, spec.key_places)
    except ScenarioError as e:
        raise ScenarioError(args.design.name, e.message, field="sweep.key_places") from None
    out = args.out or Path("runs") / f"sweep-{scenario.name}-{args.design.stem}"
    if out.exists() and not out.is_dir():
        raise UsageError(f"{out}: exists and is not a directory")

    from simulation.runs.output import OutputError

    try:
        (out / "store").mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise OutputError(f"{out}: cannot create the sweep directory ({e.strerror})") from None
    total = len(spec.design) * seeds
    try:
        df = run_sweep(scenario, spec.design, seeds, sweep_seed=sweep_seed, backend=backend, workers=args.workers,
                       scheduler=args.scheduler, store=out / "store", days=days, key_places=places,
                       daily=spec.daily, progress=not args.quiet)
    except KeyboardInterrupt:
        stored = len(ResultStore(out / "store").done_keys())
        print(f"interrupted: {stored} runs are stored in {out / 'store'}; run the same command again to "
              f"compute the other {max(total - stored, 0)}", file=sys.stderr)
        return 130
    except ForeignStore as e:  # the output directory is the user's choice: bad input
        raise UsageError(str(e)) from None
    except SweepError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1

    _write_atomic(out / "results.parquet", lambda p: df.to_parquet(p, index=False))
    flat = df.drop(columns=[c for c in df.columns if c.startswith("daily_")])
    _write_atomic(out / "results.csv", lambda p: flat.to_csv(p, index=False))
    info = {
        "scenario": scenario.name, "scenario_path": str(scenario.path), "counterfactuals": args.counterfactual,
        "scenario_hash": scenario_fingerprint(scenario), "model_hash": model_fingerprint(),
        "design": str(args.design), "method": spec.design.method, "parameter_sets": len(spec.design),
        "seeds": seeds, "sweep_seed": sweep_seed, "days": days or scenario.days, "key_places": list(places),
        "runs": len(df), "computed": df.attrs["computed"], "reused": df.attrs["reused"], "backend": backend,
        "workers": df.attrs["workers"], "scheduler": args.scheduler, "elapsed_s": round(df.attrs["elapsed_s"], 3),
        "finished": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }
    _write_atomic(out / "sweep.json",
                  lambda p: p.write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8"))
    try:
        _print_summary(args, df, scenario, spec, seeds, backend, places, out)
    except BrokenPipeError:  # `conflict-sim sweep ... | head`: the results are written; stop printing quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 0


def _print_summary(args: argparse.Namespace, df: pd.DataFrame, scenario: Scenario, spec: DesignFile, seeds: int,
                   backend: str, places: Sequence[str], out: Path) -> None:
    if args.quiet:
        print(out / "results.csv", flush=True)
        return
    elapsed = df.attrs["elapsed_s"]
    how = "nothing left to compute" if not df.attrs["computed"] else \
        f"{df.attrs['computed'] / elapsed:.1f} runs/s, {backend}, {df.attrs['workers']} workers"
    print(f"{scenario.name}: {len(df)} runs ({len(spec.design)} parameter sets x {seeds} seeds; "
          f"{df.attrs['computed']} computed, {df.attrs['reused']} from the store) in {elapsed:.1f} s ({how})")
    print("\n".join(_outcome_lines(df, places)))
    print(f"results: {out / 'results.csv'} (and results.parquet, sweep.json)", flush=True)
