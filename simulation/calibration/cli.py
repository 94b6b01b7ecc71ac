"""``conflict-sim calibrate | validate | sensitivity``."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import shlex
import shutil
import sys
from pathlib import Path
from typing import Any

from simulation.errors import UsageError, parse_sets


def _relative(path: Path) -> str:
    try:
        return str(Path(path).resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _positive(name: str, value: int, least: int = 1) -> int:
    if value < least:
        raise UsageError(f"{name} {value}: must be at least {least}")
    return value


# ------------------------------------------------------------------------------------------------------------


def _start_point(path: Path, names: tuple[str, ...]) -> dict[str, float]:
    """The ``[parameters]`` of a fitted file (``--start``), one value for each fitted parameter."""
    import tomllib

    try:
        params = tomllib.loads(path.read_text(encoding="utf-8")).get("parameters", {})
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
        raise UsageError(f"--start {path}: cannot read it ({e})") from None
    missing = [n for n in names if not isinstance(params.get(n), (int, float)) or isinstance(params.get(n), bool)]
    if missing:
        raise UsageError(f"--start {path}: [parameters] has no number for {', '.join(missing)}")
    return {n: float(params[n]) for n in names}


def cmd_calibrate(args: argparse.Namespace) -> int:
    import numpy as np

    from simulation.calibration.fit import abc_evaluations, calibrate, rescore_seeds_of
    from simulation.calibration.fitted import fitted_file_text, provenance
    from simulation.calibration.loss import LossSettings, observation_errors
    from simulation.calibration.observations import (
        compile_observations,
        load_observations,
        observations_dir,
        split_window,
    )
    from simulation.fingerprint import library_versions, model_fingerprint
    from simulation.scenario import load_scenario
    from simulation.sweep.store import ForeignStore, ResultStore, scenario_fingerprint

    _positive("--budget", args.budget, 10)
    _positive("--workers", args.workers)
    _positive("--seeds", args.seeds)
    _positive("--seed", args.seed, 0)  # numpy's generators take non-negative seeds only
    _positive("--rescore-seeds", args.rescore_seeds)
    if args.abc_budget is not None:
        _positive("--abc-budget", args.abc_budget, 4 * args.seeds)
    if args.particles is not None:
        _positive("--particles", args.particles, 4)
    scenario_dir = Path(args.scenario)
    scenario = load_scenario(scenario_dir, use_fitted=False)
    if not scenario.fit_bounds:
        raise UsageError(f"{scenario_dir}/scenario.toml: no [fit] table, so no parameter to fit")
    obs_dir = observations_dir(scenario_dir, args.observations)
    observations = load_observations(obs_dir)
    window = split_window(observations, scenario, "calibration")
    compiled = compile_observations(observations.select(split="calibration"), scenario, window=window)
    if len(compiled) == 0:
        raise UsageError(f"{obs_dir}: no used calibration rows")
    names = tuple(scenario.fit_bounds)
    bounds = np.array([scenario.fit_bounds[n] for n in names])
    seeds = tuple(args.seed * 1000 + k for k in range(args.seeds))
    rescore_seeds = rescore_seeds_of(args.seed, args.rescore_seeds)
    settings = LossSettings()
    abc_budget = args.seeds * args.budget // 2 if args.abc_budget is None else args.abc_budget
    evaluations = abc_evaluations(abc_budget, args.seeds)
    particles = args.particles or min(100, max(4, evaluations // 4))
    if particles > evaluations:
        raise UsageError(f"--particles {particles}: more than the ABC budget of {abc_budget} runs allows "
                         f"({evaluations} particle evaluations of {args.seeds} runs)")
    start = None
    if args.start is not None:
        start = _start_point(args.start, names)
    out = args.out or Path("runs") / f"calibrate-{scenario.name}"
    command = shlex.join(["conflict-sim", "calibrate", _relative(scenario_dir), "--budget", str(args.budget),
                          "--seed", str(args.seed), "--seeds", str(args.seeds), "--rescore-seeds",
                          str(args.rescore_seeds), "--abc-budget", str(abc_budget), "--particles", str(particles),
                          "--observations", _relative(obs_dir)]
                         + ([] if args.start is None else ["--start", _relative(args.start)]))
    # What the runs depend on: a resumed calibration refuses to continue if any of it changed.
    record = {
        "command": command, "scenario": scenario.name, "scenario_dir": _relative(scenario_dir),
        "observations": _relative(obs_dir), "names": list(names), "bounds": bounds.tolist(), "seed": args.seed,
        "seeds": list(seeds), "rescore_seeds": list(rescore_seeds), "budget": args.budget,
        "abc_budget": abc_budget, "particles": particles,
        "calibration_window": [window[0].isoformat(), window[1].isoformat()], "loss_settings": settings.as_dict(),
        "model_fingerprint": model_fingerprint(), "libraries": library_versions(),
        "scenario_fingerprint": scenario_fingerprint(scenario), "scenario_parameters": dict(scenario.parameters),
        "observations_fingerprint": compiled.digest(),
    }
    if start is not None:
        record["start"] = {"file": _relative(args.start), "parameters": start}
    settings_file = out / "calibration.json"
    if out.exists():
        if args.resume:
            try:
                before = json.loads(settings_file.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                raise UsageError(f"{out}: not a calibration directory (no readable calibration.json)") from None
            if before != record:
                diff = sorted(k for k in record if before.get(k) != record[k])
                raise UsageError(f"{out}: cannot resume, these differ from the interrupted calibration: "
                                 f"{', '.join(diff)} (start afresh with --force)")
            try:
                ResultStore(out / "store", model=record["model_fingerprint"])
            except ForeignStore as e:
                raise UsageError(str(e)) from None
        elif args.force:
            shutil.rmtree(out)
        else:
            raise UsageError(f"{out}: exists (continue it with --resume, replace it with --force, or choose "
                             "another --out)")
    elif args.resume:
        raise UsageError(f"{out}: nothing to resume")
    if args.fitted is not None and not args.fitted.parent.is_dir():
        raise UsageError(f"--fitted {args.fitted}: directory {args.fitted.parent} does not exist")
    out.mkdir(parents=True, exist_ok=True)
    settings_file.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")

    print(f"calibrating {scenario.name}: {len(names)} parameters, {len(compiled)} calibration observations "
          f"(to {window[1]}); differential evolution over {args.budget} parameter sets x {len(seeds)} seeds, the "
          f"best 10 % again on {len(rescore_seeds)} seeds, then SMC-ABC with {particles} particles in "
          f"{abc_budget} runs; {args.workers} worker(s); progress in {out / 'progress.json'}", file=sys.stderr)
    try:
        result = calibrate(scenario, observations, budget=args.budget, seed=args.seed, seeds=args.seeds,
                           abc_budget=abc_budget, particles=particles, rescore_seeds=args.rescore_seeds,
                           workers=args.workers, out=out, progress=not args.quiet, settings=settings,
                           record=record, start=start)
    except ForeignStore as e:
        raise UsageError(str(e)) from None
    except KeyboardInterrupt:
        print(f"interrupted; finished runs are kept in {out / 'store'}: run the same command with "
              "--resume to continue", file=sys.stderr)
        return 130
    best, terms, common = result.fitted, result.fitted_terms, result.fitted_terms_common
    rec = rescore_record(result.rescored)
    meta: dict[str, Any] = {
        "scenario": scenario.name,
        "date": dt.datetime.now(dt.UTC).replace(microsecond=0),
        "command": command,
        "seed": args.seed,
        "budget": args.budget,
        "seeds": list(seeds),
        "rescore_seeds": list(rescore_seeds),
        "observations": record["observations"],
        "calibration_window": [window[0], window[1]],
        "loss": terms["loss"],
        "loss_control": terms["control"],
        "loss_casualties": terms["casualties"],
        "loss_displacement": terms["displacement"],
        "loss_common_seeds": common["loss"],
        "method": "scipy.optimize.differential_evolution (best1bin, deferred updating, Latin hypercube start"
                  + (" with the --start point as its first member" if args.start is not None else "") + ", "
                  "no polish) on the ensemble loss over the common seeds; the best 10 % re-scored on the "
                  "re-scoring seeds and the best of them chosen"
                  + (" (the start kept if within two paired standard errors of it)" if args.start is not None
                     else "") + "; then replenishment SMC-ABC on the ensemble loss "
                  "(simulation/calibration/abc.py)",
        "de_population": int(result.de.population.shape[0]),
        "de_generations": int(result.de.nit) + 1,
        "de_evaluations": int(result.de.nfev),
        "rescored_candidates": len(result.rescored),
        **rec,
        "abc_particles": particles,
        "abc_runs_per_particle": len(seeds),
        "abc_evaluations": result.abc.simulations,
        "abc_epsilon": result.abc.epsilon,
        "abc_unique_particles": result.abc.unique,
        "posterior_samples": "posterior.csv" if args.fitted is None else f"{args.fitted.stem}_posterior.csv",
        **provenance(),
    }
    tables = {"fit.loss_settings": settings.as_dict(),
              "fit.observation_errors": observation_errors(compiled, settings)}
    text = fitted_file_text(names, best, result.abc, meta, bounds, libraries=library_versions(), tables=tables,
                            pressed=result.pressed)
    (out / "fitted.toml").write_text(text, encoding="utf-8")
    if args.fitted is not None:
        args.fitted.write_text(text, encoding="utf-8")
        shutil.copyfile(out / "posterior.csv", args.fitted.parent / meta["posterior_samples"])
    q = result.abc.quantiles((0.05, 0.5, 0.95))
    print(f"loss {terms['loss']:.4f} (control {terms['control']:.4f}, casualties {terms['casualties']:.4f}, "
          f"displacement {terms['displacement']:.4f}) over the {len(rescore_seeds)} re-scoring seeds "
          f"({rescore_seeds[0]}-{rescore_seeds[-1]}); {common['loss']:.4f} over the {len(seeds)} common seeds")
    if "rescore_margin" in rec:
        print(f"re-scoring: chose {rec['rescore_choice']}; loss {terms['loss']:.4f} ± {rec['rescore_loss_se']:.4f}; "
              + ("the runner-up" if rec["rescore_choice"] == "the best" else "the start")
              + f" {rec['rescore_margin']:.4f} above the best ± {rec['rescore_margin_se']:.4f} (paired bootstrap "
              "over the re-scoring seeds)"
              + ("; not told apart" if rec["rescore_margin"] < 2 * rec["rescore_margin_se"] else ""))
    print(f"{'parameter':<28}{'fitted':>10}{'posterior median':>18}{'90 % interval':>24}  bounds")
    for j, name in enumerate(names):
        flag = "  presses on a bound" if name in result.pressed else ""
        print(f"{name:<28}{best[j]:>10.4g}{q[1, j]:>18.4g}{f'[{q[0, j]:.4g}, {q[2, j]:.4g}]':>24}  "
              f"[{bounds[j, 0]:.4g}, {bounds[j, 1]:.4g}]{flag}")
    for name, why in result.pressed.items():
        print(f"  {name}: {why}")
    print(f"posterior: {result.abc.unique} distinct particles of {particles}, tolerance {result.abc.epsilon:.3f}, "
          f"{result.abc.simulations} evaluations of {len(seeds)} runs")
    print(f"fitted parameters: {out / 'fitted.toml'}" + (f" and {args.fitted}" if args.fitted else ""))
    return 0


def rescore_record(rescored: list[dict[str, Any]]) -> dict[str, Any]:
    """What the fitted file records of the re-scoring (:func:`simulation.calibration.fit.rescore`): which set was
    chosen, the standard error of its loss, and the margin (with its standard error) between the best and the
    runner-up, or between the best and the kept start."""
    pick = next((i for i, r in enumerate(rescored) if r.get("chosen")), 0)
    out: dict[str, Any] = {
        "rescore_choice": "the best" if pick == 0 else "the start, within two standard errors of the best",
        "rescore_loss_se": rescored[pick]["loss_se"]}
    if len(rescored) > 1:
        other = rescored[1] if pick == 0 else rescored[pick]
        out.update(rescore_margin=other["above_best"], rescore_margin_se=other["above_best_se"])
    return out


def cmd_validate(args: argparse.Namespace) -> int:
    from simulation.calibration.fitted import load_posterior, posterior_named
    from simulation.calibration.observations import coalition_labels, load_observations, observations_dir, split_window
    from simulation.calibration.record import RunRecord
    from simulation.calibration.validation import (
        ValidationResult,
        compile_splits,
        record_values,
        summarise,
        validate,
    )
    from simulation.runs.output import OutputError
    from simulation.scenario import load_scenario

    _positive("--seeds", args.seeds)
    _positive("--workers", args.workers)
    if args.first_seed < 0:
        raise UsageError(f"--first-seed {args.first_seed}: must be at least 0")
    if args.draws is not None:
        _positive("--draws", args.draws)
    target = Path(args.target)
    is_run = (target / "summary.json").is_file()
    if is_run:
        if args.sets or args.no_fitted or args.fitted or args.draws or args.first_seed != 1:
            raise UsageError(f"{target}: --set, --fitted, --no-fitted, --draws and --first-seed apply to a scenario, "
                             "not to a run directory")
        try:
            summary = json.loads((target / "summary.json").read_text(encoding="utf-8"))
            if not isinstance(summary, dict):
                raise ValueError("not a JSON object")
        except (OSError, UnicodeDecodeError, ValueError) as e:
            raise OutputError(f"{target / 'summary.json'}: not a run summary ({e})") from None
        scenario_dir = Path(summary.get("scenario_path", ""))
        scenario = load_scenario(scenario_dir, use_fitted=False)
        record, scenario = RunRecord.from_run_directory(target, scenario)
        params = summary.get("parameters", {})
        seeds = [summary.get("seed")]
    else:
        scenario_dir = target
        scenario = load_scenario(target, use_fitted=not (args.no_fitted or args.fitted))
        if args.fitted:
            from simulation.scenario import load_fitted_parameters

            if not args.fitted.is_file():
                raise UsageError(f"--fitted {args.fitted}: no such file")
            scenario = scenario.with_parameters(load_fitted_parameters(args.fitted), origin=str(args.fitted))
        sets = parse_sets(args.sets)
        if sets:
            scenario = scenario.with_parameters(sets)
        params = scenario.parameters
        seeds = list(range(args.first_seed, args.first_seed + args.seeds))
    obs_dir = observations_dir(scenario_dir, args.observations)
    observations = load_observations(obs_dir)
    splits = compile_splits(observations, scenario)  # bad observations fail here, before any output
    # The default output is a report of the current state, regenerated each time; an explicit --out is kept
    # unless --force, like every other output directory.
    overwrite = args.force or args.out is None
    out = args.out or (target / "validation" if is_run else Path("runs") / f"validate-{scenario.name}")
    if out.exists() and not overwrite:
        raise OutputError(f"{out}: output directory exists (choose another --out or pass --force)")
    cutoff = split_window(observations, scenario, "calibration")[1]
    fitted = args.fitted if not is_run and args.fitted else (
        scenario.fitted_file if (not is_run and not args.no_fitted and scenario.fitted_file
                                 and scenario.fitted_file.is_file()) else None)
    # The runs are the fit's posterior predictive when the fitted file has a posterior beside it.
    named = posterior_named(fitted) if fitted and not args.no_posterior else None
    post_path = named if named is not None and named.is_file() else None
    if named is not None and post_path is None:
        raise UsageError(f"{fitted}: names the posterior sample {named.name} (posterior_samples), which is missing "
                         "(copy it beside the file, or pass --no-posterior for the point estimate)")
    posterior = None
    if post_path is not None:
        try:
            posterior = {k: v for k, v in load_posterior(post_path).items() if k not in parse_sets(args.sets)}
        except (OSError, ValueError, IndexError) as e:
            raise UsageError(f"{post_path}: not a posterior sample ({e})") from None
    if is_run:
        runs = [record_values(record, splits, coalition_labels(scenario))]
        result = ValidationResult(summarise(runs, splits, scenario), runs, splits, seeds, scenario.start_date,
                                  cutoff)
    else:
        result = validate(scenario, observations, seeds=seeds, workers=args.workers, progress=not args.quiet,
                          posterior=posterior, draws=args.draws)
    if result.draws:
        n_sets = len({json.dumps(d, sort_keys=True) for d in result.draws})
        n_draws = min(len(seeds), args.draws or len(seeds))
        runs_from = (f"posterior predictive: a draw from {_relative(post_path)} for each run ({n_sets} distinct "
                     "parameter sets)" if n_draws == len(seeds) else
                     f"posterior predictive: {n_draws} draws from {_relative(post_path)} ({n_sets} distinct "
                     f"parameter sets), {len(seeds) // n_draws}+ seeds each")
    else:
        runs_from = "point estimate" if fitted else ("a run directory" if is_run else "the scenario's parameters")
    result.summary["header"] = {
        "target": _relative(target), "scenario": scenario.name, "observations": _relative(obs_dir),
        "seeds": seeds, "fitted_parameters": _relative(fitted) if fitted else None, "runs_from": runs_from,
        "calibration_window": [d.isoformat() for d in split_window(observations, scenario, "calibration")],
    }
    if result.draws:
        result.summary["draws"] = result.draws
    result.summary["parameters"] = {k: params[k] for k in sorted(params)}
    result.write(out, overwrite=overwrite, plots=not args.no_plots)
    print(f"runs: {runs_from}")
    print(result.table(), end="")
    print(f"validation: {out / 'validation.json'}" + ("" if args.no_plots else f", {out / 'validation.md'}"))
    return 0


def cmd_sensitivity(args: argparse.Namespace) -> int:
    import numpy as np

    from simulation.calibration.sensitivity import sobol_sensitivity
    from simulation.runs.output import atomic_directory
    from simulation.scenario import load_scenario

    _positive("--samples", args.samples, 2)
    _positive("--seeds", args.seeds)
    _positive("--workers", args.workers)
    if args.samples & (args.samples - 1):
        raise UsageError(f"--samples {args.samples}: must be a power of 2 (Saltelli/Sobol sequence)")
    scenario = load_scenario(args.scenario)
    out = args.out or Path("runs") / f"sensitivity-{scenario.name}"
    if out.exists() and not args.force:
        raise UsageError(f"{out}: output directory exists (choose another --out or pass --force)")
    res = sobol_sensitivity(scenario, args.fall_of, args.held, n=args.samples,
                            seeds=tuple(range(1, args.seeds + 1)), workers=args.workers, seed=args.seed,
                            progress=not args.quiet)
    with atomic_directory(out, overwrite=args.force) as tmp:
        for k in ("S1", "S1_conf", "ST", "ST_conf"):
            res[k].to_csv(tmp / f"{k}.csv", float_format="%.4f")
        np.savetxt(tmp / "samples.csv", np.column_stack([res["samples"], res["outputs"]]), delimiter=",",
                   header=",".join([*res["names"], *res["output_names"]]), comments="", fmt="%.6g")
    import pandas as pd

    with pd.option_context("display.width", 200, "display.float_format", "{:.2f}".format):
        print(f"total-order Sobol indices (ST), {len(res['samples'])} parameter sets x {args.seeds} seeds:")
        print(res["ST"].to_string())
        print("first-order (S1):")
        print(res["S1"].to_string())
    print(f"sensitivity tables: {out}")
    return 0


def register_cli(subparsers: argparse._SubParsersAction, commands: dict) -> None:
    """Add ``calibrate``, ``validate`` and ``sensitivity`` to the ``conflict-sim`` command line."""
    c = subparsers.add_parser(
        "calibrate", help="fit the scenario's [fit] parameters to the calibration observations (DE + SMC-ABC)",
        description="Fit the parameters in the [fit] table of SCENARIO_DIR/scenario.toml to the observations "
        "of the calibration split: differential evolution, each parameter set scored by the loss of its ensemble "
        "over --seeds common seeds; the best 10 % scored again on --rescore-seeds other seeds and the best of "
        "them chosen (a --start point is kept unless that score tells the best apart from it); then an SMC-ABC "
        "on the same ensemble loss. Writes OUT/fitted.toml (and --fitted), "
        "posterior.csv, progress.json, rescored.json and every run in OUT/store. Interrupt with Ctrl-C and "
        "continue with the same command plus --resume. The defaults take about 15,000 runs. See "
        "calibration/README.md.")
    c.add_argument("scenario", metavar="SCENARIO_DIR")
    c.add_argument("--budget", type=int, default=800,
                   help="parameter-set evaluations for differential evolution (each runs --seeds seeds; default 800)")
    c.add_argument("--workers", type=int, default=1, help="processes evaluating in parallel (default 1)")
    c.add_argument("--seed", type=int, default=1, help="seed of the optimiser, the ABC and the common seeds")
    c.add_argument("--seeds", type=int, default=10,
                   help="model seeds per parameter set (the ensemble the loss scores), the same for every set "
                   "(default 10)")
    c.add_argument("--rescore-seeds", type=int, default=40,
                   help="seeds the best 10 %% of the evaluated sets are scored again on, to choose one (default 40)")
    c.add_argument("--abc-budget", type=int, default=None,
                   help="model runs for SMC-ABC, --seeds per particle evaluation (default: --seeds x --budget / 2)")
    c.add_argument("--particles", type=int, default=None,
                   help="SMC-ABC population (default min(100, ABC evaluations / 4))")
    c.add_argument("--observations", type=Path, default=None,
                   help="observations directory (default: `observations` in scenario.toml's [scenario] table)")
    c.add_argument("--out", type=Path, default=None, help="calibration directory (default runs/calibrate-<name>)")
    c.add_argument("--fitted", type=Path, default=None,
                   help="also write the fitted-parameters file here (and the posterior beside it)")
    c.add_argument("--start", type=Path, default=None, metavar="FITTED",
                   help="warm start: the [parameters] of an earlier fitted file join differential evolution's "
                        "first population (the fit then ends no worse than them on the common seeds)")
    c.add_argument("--resume", action="store_true", help="continue an interrupted calibration in --out")
    c.add_argument("--force", action="store_true", help="replace --out if it exists")
    c.add_argument("--quiet", action="store_true", help="no progress bar")
    commands["calibrate"] = cmd_calibrate

    v = subparsers.add_parser(
        "validate", help="score a run directory or a scenario against the observations, in and out of sample",
        description="Compare the model with every used observation: for a scenario, over --seeds runs (the "
        "posterior predictive when the fitted file has a posterior sample: parameter sets drawn from it, several "
        "seeds each; else the point estimate); for a run directory, that run. Prints, for each reported change, "
        "the share of runs on time (±2 days of its date or window) and the model's date (median, 10-90 %), with "
        "the changes whose date an input fixes apart; the in-sample (calibration split) and out-of-sample "
        "(validation split) scores; and how many runs lose each place held all month. Writes validation.json, "
        "validation.md and plots (see calibration/README.md).")
    v.add_argument("target", metavar="RUN_DIR_OR_SCENARIO")
    v.add_argument("--seeds", type=int, default=20, help="seeds to run a scenario with (default 20)")
    v.add_argument("--first-seed", type=int, default=1,
                   help="the first of the --seeds consecutive seeds (default 1: seeds 1-20); other seeds show how "
                   "much a score owes to the seeds")
    v.add_argument("--workers", type=int, default=1, help="processes (default 1)")
    v.add_argument("--set", dest="sets", action="append", default=[], metavar="NAME=VALUE",
                   help="override a parameter (scenario only)")
    v.add_argument("--no-fitted", action="store_true", help="ignore the scenario's fitted parameters")
    v.add_argument("--no-posterior", action="store_true",
                   help="run the fitted point estimate only, not the posterior predictive (parameter sets drawn from "
                   "the posterior sample the fitted file names, several seeds each)")
    v.add_argument("--draws", type=int, default=None,
                   help="parameter sets drawn from the posterior (default: one per seed)")
    v.add_argument("--fitted", type=Path, default=None, metavar="FILE",
                   help="apply this fitted-parameters file instead of the one scenario.toml names")
    v.add_argument("--observations", type=Path, default=None,
                   help="observations directory (default: `observations` in scenario.toml's [scenario] table)")
    v.add_argument("--out", type=Path, default=None,
                   help="output directory; must not exist unless --force (default RUN_DIR/validation or "
                   "runs/validate-<name>, replaced each time)")
    v.add_argument("--force", action="store_true", help="replace the output directory if it exists")
    v.add_argument("--no-plots", action="store_true", help="skip the plots")
    v.add_argument("--quiet", action="store_true", help="no progress bar")
    commands["validate"] = cmd_validate

    s = subparsers.add_parser(
        "sensitivity", help="Sobol indices of the main outputs over the scenario's [fit] parameters (SALib)",
        description="Saltelli sampling over the [fit] bounds; outputs: days to the fall of --fall-of, whether "
        "--held is held at the end, total killed, total displaced. Writes S1/ST tables to --out.")
    s.add_argument("scenario", metavar="SCENARIO_DIR")
    s.add_argument("--fall-of", required=True, help="place whose fall is timed (e.g. mosul)")
    s.add_argument("--held", required=True, help="place whose holding at the end is recorded (e.g. baiji_refinery)")
    s.add_argument("--samples", type=int, default=64, help="Saltelli base sample, a power of 2 (default 64)")
    s.add_argument("--seeds", type=int, default=2, help="seeds per parameter set (default 2)")
    s.add_argument("--seed", type=int, default=1, help="seed of the sampling and bootstrap")
    s.add_argument("--workers", type=int, default=1, help="processes (default 1)")
    s.add_argument("--out", type=Path, default=None, help="output directory (default runs/sensitivity-<name>)")
    s.add_argument("--force", action="store_true", help="replace the output directory if it exists")
    s.add_argument("--quiet", action="store_true", help="no progress bar")
    commands["sensitivity"] = cmd_sensitivity
