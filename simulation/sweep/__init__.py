"""Parameter sweeps: many runs over parameter sets and seeds, on every core or on a Dask cluster, with resume.

A sweep is a *design* (parameter sets: a grid, a list, or a Latin-hypercube or Sobol sample) times a number of
*replicates* (seeds). Each run gives one row of summary outcomes (:mod:`simulation.outcomes`).

Reproducibility
    Replicate ``r`` runs with the seed derived from ``numpy.random.SeedSequence(sweep_seed)``: the ``r``-th
    child of its ``spawn``. Every parameter set uses the same seed for the same replicate (common random
    numbers), so differences between parameter sets are not blurred by different random draws. Seeds depend
    only on the sweep seed and the replicate, never on the backend, the order of execution or the number of
    workers, so the same sweep gives the same table serially, on a process pool and on a Dask cluster.

Store and resume
    With ``store=DIR`` each finished batch of runs is written as one Parquet file (written to a temporary file
    and renamed, so a file is either complete or absent). Each row carries a key: a hash of the model code,
    the scenario's content, the parameter values, the seed, the number of days and the outcome columns asked
    for. A sweep first reads the keys already in the store and computes only the missing runs, so re-running a
    sweep after Ctrl-C, a killed worker or a crash finishes it without computing or storing any run twice.

Backends
    ``"serial"`` (this process), ``"processes"`` (a :class:`concurrent.futures.ProcessPoolExecutor` on this
    machine) and ``"dask"`` (:mod:`dask.distributed`: a ``LocalCluster``, a running cluster given by its
    scheduler address, or an existing ``Client``). Workers load the scenario once and run batches of runs.

Command line: ``conflict-sim sweep SCENARIO_DIR --design design.toml`` (see ``docs/sweeps.md``).
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import hashlib
import itertools
import json
import math
import os
import signal
import sys
import time
import tomllib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from simulation.fingerprint import model_fingerprint
from simulation.parameters import PARAMETERS, check_value
from simulation.runs.outcomes import key_places as choose_key_places
from simulation.runs.outcomes import outcome_dtypes, run_outcomes
from simulation.scenario import MAX_DAYS, Scenario, ScenarioError, load_scenario

BACKENDS = ("serial", "processes", "dask")

class SweepError(RuntimeError):
    """A sweep could not finish (a worker died, a batch failed, the cluster is unreachable).

    Runs finished before the error are in the store; running the same sweep again computes only the rest.
    """


# --------------------------------------------------------------------------------------------------------
# Designs


@dataclass(frozen=True)
class Design:
    """Parameter sets to run, each a mapping from parameter name to value.

    Build one with :func:`grid`, :func:`parameter_sets`, :func:`latin_hypercube` or :func:`sobol_sample`.
    ``problem`` is the SALib problem (names and bounds) of a sampled design; :func:`sobol_indices` needs it.
    """

    sets: tuple[dict[str, float], ...]
    method: str = "list"
    problem: dict[str, Any] | None = field(default=None, compare=False)
    second_order: bool = False

    def __len__(self) -> int:
        return len(self.sets)

    @property
    def names(self) -> tuple[str, ...]:
        """Every parameter the design sets, in order of first appearance."""
        seen: dict[str, None] = {}
        for s in self.sets:
            seen.update(dict.fromkeys(s))
        return tuple(seen)


def _checked(name: str, value: Any, origin: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ScenarioError(origin, f"{value!r} is not a number", field=name)
    try:
        return check_value(name, value)
    except KeyError:
        raise ScenarioError(origin, f"unknown parameter {name!r} (see `conflict-sim params`)", field=name) from None
    except ValueError as e:
        raise ScenarioError(origin, str(e), field=name) from None


def _with_fixed(sets: Iterable[dict[str, float]], fixed: Mapping[str, float] | None, origin: str,
                varied: Iterable[str]) -> tuple[dict[str, float], ...]:
    fixed = {k: _checked(k, v, origin) for k, v in (fixed or {}).items()}
    both = set(fixed) & set(varied)
    if both:
        raise ScenarioError(origin, "is both varied and fixed", field=sorted(both)[0])
    return tuple({**fixed, **s} for s in sets)


def grid(values: Mapping[str, Sequence[float]], fixed: Mapping[str, float] | None = None,
         origin: str = "design") -> Design:
    """Every combination of the given values (the first parameter varies slowest).

    Parameters
    ----------
    values : parameter name -> the values it takes.
    fixed : parameter values shared by every set.
    origin : named in errors (e.g. the design file).

    Raises
    ------
    ScenarioError
        An unknown parameter, a value outside its physical bounds, or an empty list of values.

    Examples
    --------
    >>> len(grid({"attack_ratio": [0.8, 1.2], "defender_advantage": [1.2, 1.5, 2.0]}))
    6
    """
    if not values:
        raise ScenarioError(origin, "a grid needs at least one parameter", field="grid")
    axes = {}
    for name, vals in values.items():
        if isinstance(vals, (str, bytes)) or not isinstance(vals, Sequence) or not vals:
            raise ScenarioError(origin, "must be a non-empty list of values", field=name)
        axes[name] = [_checked(name, v, origin) for v in vals]
    sets = (dict(zip(axes, combo)) for combo in itertools.product(*axes.values()))
    return Design(_with_fixed(sets, fixed, origin, axes), method="grid")


def parameter_sets(sets: Sequence[Mapping[str, float]], fixed: Mapping[str, float] | None = None,
                   origin: str = "design") -> Design:
    """An explicit list of parameter sets (a set may be empty: the scenario's own values).

    Raises
    ------
    ScenarioError
        An unknown parameter or a value outside its physical bounds.
    """
    checked = [{k: _checked(k, v, origin) for k, v in s.items()} for s in sets]
    if not checked:
        raise ScenarioError(origin, "the list of parameter sets is empty", field="sets")
    varied = {k for s in checked for k in s}
    return Design(_with_fixed(checked, fixed, origin, varied), method="list")


def _problem(bounds: Mapping[str, Sequence[float]], origin: str) -> dict[str, Any]:
    if not bounds:
        raise ScenarioError(origin, "a sample needs bounds for at least one parameter", field="bounds")
    names, pairs = [], []
    for name, b in bounds.items():
        if name not in PARAMETERS:
            raise ScenarioError(origin, f"unknown parameter {name!r} (see `conflict-sim params`)", field=name)
        if isinstance(b, (str, bytes)) or not isinstance(b, Sequence) or len(b) != 2:
            raise ScenarioError(origin, f"{b!r} must be [low, high]", field=name)
        lo, hi = (_checked(name, x, origin) for x in b)
        if not lo < hi:
            raise ScenarioError(origin, f"[{lo:g}, {hi:g}] needs low < high", field=name)
        names.append(name)
        pairs.append([lo, hi])
    return {"num_vars": len(names), "names": names, "bounds": pairs}


def latin_hypercube(bounds: Mapping[str, Sequence[float]], n: int, seed: int | None = None,
                    fixed: Mapping[str, float] | None = None, origin: str = "design") -> Design:
    """``n`` parameter sets from a Latin hypercube over ``bounds`` (SciPy's :class:`scipy.stats.qmc.LatinHypercube`).

    Raises
    ------
    ScenarioError
        An unknown parameter, bounds outside the physical bounds, or ``n < 1``.
    """
    from scipy.stats import qmc

    problem = _problem(bounds, origin)
    if int(n) < 1:
        raise ScenarioError(origin, f"n = {n}: need at least one sample", field="n")
    unit = qmc.LatinHypercube(d=problem["num_vars"], rng=np.random.default_rng(seed)).random(int(n))
    lo, hi = np.array(problem["bounds"]).T
    points = qmc.scale(unit, lo, hi)
    sets = ({k: float(np.clip(v, a, b)) for k, v, a, b in zip(problem["names"], row, lo, hi)} for row in points)
    return Design(_with_fixed(sets, fixed, origin, problem["names"]), method="lhs", problem=problem)


def sobol_sample(bounds: Mapping[str, Sequence[float]], n: int, seed: int | None = None,
                 second_order: bool = False, fixed: Mapping[str, float] | None = None,
                 origin: str = "design") -> Design:
    """A Saltelli sample for Sobol sensitivity indices (SALib's ``sobol.sample``).

    Gives ``n * (D + 2)`` parameter sets for ``D`` parameters (``n * (2D + 2)`` with ``second_order``); analyse
    the results with :func:`sobol_indices`.

    Raises
    ------
    ScenarioError
        An unknown parameter, bounds outside the physical bounds, or ``n`` not a power of two (the Sobol
        sequence's convergence needs one).
    """
    from SALib.sample import sobol

    problem = _problem(bounds, origin)
    n = int(n)
    if n < 2 or n & (n - 1):
        raise ScenarioError(origin, f"n = {n}: Sobol sampling needs a power of two (e.g. 64)", field="n")
    points = sobol.sample(problem, n, calc_second_order=second_order, seed=seed)
    lo, hi = np.array(problem["bounds"]).T
    sets = ({k: float(np.clip(v, a, b)) for k, v, a, b in zip(problem["names"], row, lo, hi)} for row in points)
    return Design(_with_fixed(sets, fixed, origin, problem["names"]), method="sobol", problem=problem,
                  second_order=second_order)


def as_design(design: Design | Mapping[str, Sequence[float]] | Sequence[Mapping[str, float]]) -> Design:
    """A :class:`Design` from a design, a grid (``{name: [values]}``) or a list of parameter sets."""
    if isinstance(design, Design):
        return design
    if isinstance(design, Mapping):
        return grid(design)
    return parameter_sets(list(design))


@dataclass(frozen=True)
class DesignFile:
    """A design file: the design and the sweep settings it gives (``None`` = not given)."""

    path: Path
    design: Design
    seeds: int | None = None
    sweep_seed: int = 0
    days: int | None = None
    key_places: tuple[str, ...] | str | None = None
    daily: bool = False


_SWEEP_KEYS = ("seeds", "sweep_seed", "days", "key_places", "daily")


def load_design(path: str | Path) -> DesignFile:
    """Read and validate a design file (TOML; see ``docs/sweeps.md``).

    It holds exactly one of ``[grid]`` (name = [values]), ``[[sets]]`` (name = value tables) or ``[sample]``
    (``method = "lhs" | "sobol"``, ``n``, ``seed``, ``second_order``, ``[sample.bounds]`` name = [low, high]);
    optionally ``[fixed]`` (name = value, shared by every set) and ``[sweep]`` (``seeds``, ``sweep_seed``,
    ``days``, ``key_places``, ``daily``).

    Raises
    ------
    ScenarioError
        The file is missing or malformed; the message names the file and the field.
    """
    path = Path(path)
    name = path.name
    if not path.is_file():
        raise ScenarioError(str(path), "design file is missing")
    try:
        doc = tomllib.loads(path.read_bytes().decode("utf-8"))
    except UnicodeDecodeError:
        raise ScenarioError(name, "is not UTF-8") from None
    except tomllib.TOMLDecodeError as e:
        raise ScenarioError(name, f"is not valid TOML: {e}") from None
    for key in doc:
        if key not in ("sweep", "fixed", "grid", "sets", "sample"):
            raise ScenarioError(name, "unknown table (allowed: sweep, fixed, grid, sets, sample)", field=key)
    kinds = [k for k in ("grid", "sets", "sample") if k in doc]
    if len(kinds) != 1:
        raise ScenarioError(name, "needs exactly one of [grid], [[sets]] or [sample]"
                            + (f" (found {', '.join(kinds)})" if kinds else ""))
    fixed = doc.get("fixed", {})
    if not isinstance(fixed, dict):
        raise ScenarioError(name, "must be a table of name = value", field="fixed")

    kind = kinds[0]
    if kind == "grid":
        if not isinstance(doc["grid"], dict):
            raise ScenarioError(name, "must be a table of name = [values]", field="grid")
        design = grid({k: v for k, v in doc["grid"].items()}, fixed, origin=name)
    elif kind == "sets":
        sets = doc["sets"]
        if not isinstance(sets, list) or not all(isinstance(s, dict) for s in sets):
            raise ScenarioError(name, "must be an array of tables [[sets]]", field="sets")
        design = parameter_sets(sets, fixed, origin=name)
    else:
        sample = doc["sample"]
        if not isinstance(sample, dict):
            raise ScenarioError(name, "must be a table", field="sample")
        for key in sample:
            if key not in ("method", "n", "seed", "second_order", "bounds"):
                raise ScenarioError(name, "unknown key (allowed: method, n, seed, second_order, bounds)",
                                    field=f"sample.{key}")
        method = sample.get("method")
        if method not in ("lhs", "sobol"):
            raise ScenarioError(name, f"{method!r} must be 'lhs' or 'sobol'", field="sample.method")
        n = sample.get("n")
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise ScenarioError(name, f"{n!r} must be a whole number >= 1", field="sample.n")
        seed = sample.get("seed", 0)
        if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
            raise ScenarioError(name, f"{seed!r} must be a whole number >= 0", field="sample.seed")
        bounds = sample.get("bounds")
        if not isinstance(bounds, dict):
            raise ScenarioError(name, "must be a table of name = [low, high]", field="sample.bounds")
        if method == "lhs":
            design = latin_hypercube(bounds, n, seed=seed, fixed=fixed, origin=name)
        else:
            second = sample.get("second_order", False)
            if not isinstance(second, bool):
                raise ScenarioError(name, f"{second!r} must be true or false", field="sample.second_order")
            design = sobol_sample(bounds, n, seed=seed, second_order=second, fixed=fixed, origin=name)

    sweep = doc.get("sweep", {})
    if not isinstance(sweep, dict):
        raise ScenarioError(name, "must be a table", field="sweep")
    for key in sweep:
        if key not in _SWEEP_KEYS:
            raise ScenarioError(name, f"unknown key (allowed: {', '.join(_SWEEP_KEYS)})", field=f"sweep.{key}")

    def whole(key: str, low: int, high: int | None = None) -> int | None:
        v = sweep.get(key)
        if v is None:
            return None
        if isinstance(v, bool) or not isinstance(v, int) or v < low or (high is not None and v > high):
            within = f">= {low}" if high is None else f"between {low} and {high}"
            raise ScenarioError(name, f"{v!r} must be a whole number {within}", field=f"sweep.{key}")
        return v

    places = sweep.get("key_places")
    if places is not None and places != "all" and not (
            isinstance(places, list) and all(isinstance(p, str) for p in places)):
        raise ScenarioError(name, "must be \"all\" or a list of place ids", field="sweep.key_places")
    daily = sweep.get("daily", False)
    if not isinstance(daily, bool):
        raise ScenarioError(name, f"{daily!r} must be true or false", field="sweep.daily")
    return DesignFile(path=path, design=design, seeds=whole("seeds", 1), sweep_seed=whole("sweep_seed", 0) or 0,
                      days=whole("days", 1, MAX_DAYS), key_places=tuple(places) if isinstance(places, list) else places,
                      daily=daily)


# --------------------------------------------------------------------------------------------------------
# Seeds and keys


def run_seed(sweep_seed: int, replicate: int) -> int:
    """The model seed of replicate ``replicate``: from the ``replicate``-th child of ``SeedSequence(sweep_seed)``.

    Examples
    --------
    >>> run_seed(0, 3) == run_seed(0, 3) != run_seed(0, 4)
    True
    """
    child = np.random.SeedSequence(int(sweep_seed), spawn_key=(int(replicate),))
    hi, lo = child.generate_state(2, dtype=np.uint32)
    return ((int(hi) << 32) | int(lo)) & (2**63 - 1)  # fits Parquet's int64


def _digest(obj: Any) -> str:
    text = json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def scenario_fingerprint(scenario: Scenario) -> str:
    """A hash of everything in a scenario that can change a run, except its parameter values.

    Sources and the directory's path are left out (editing a citation does not change a result); parameter
    values enter each run's key separately, as resolved values.
    """
    def rows(items: Iterable[Any]) -> list[dict[str, Any]]:
        out = []
        for item in items:
            d = dataclasses.asdict(item)
            d.pop("source", None)
            out.append(d)
        return out

    return _digest({
        "start": scenario.start_date.isoformat(), "end": scenario.end_date.isoformat(),
        "factions": rows(scenario.factions),
        "allied": sorted(sorted(p) for p in scenario.allied),
        "neutral": sorted(sorted(p) for p in scenario.neutral),
        "places": rows(scenario.places), "roads": rows(scenario.roads),
        "forces": rows(scenario.forces), "events": rows(scenario.events),
    })[:32]


@dataclass(frozen=True)
class RunSpec:
    """What every run of a sweep computes: days, key places, daily series; and the model version."""

    days: int
    places: tuple[str, ...]
    daily: bool
    model: str


@dataclass(frozen=True)
class RunTask:
    key: str
    seed: int
    parameters: dict[str, float]


def run_key(scenario_hash: str, parameters: Mapping[str, float], seed: int, spec: RunSpec) -> str:
    """The store key of one run: a hash of model, scenario, resolved parameter values, seed and outputs."""
    return _digest({"model": spec.model, "scenario": scenario_hash, "parameters": dict(parameters),
                    "seed": int(seed), "days": spec.days, "places": list(spec.places), "daily": spec.daily})[:32]


# --------------------------------------------------------------------------------------------------------
# Running (in a worker)

_WORKER_SCENARIO: Scenario | None = None


def _init_worker(scenario: Scenario) -> None:
    """Process-pool initializer: keep the scenario; leave Ctrl-C to the parent, which stops the pool."""
    global _WORKER_SCENARIO
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _WORKER_SCENARIO = scenario


def run_batch(scenario: Scenario, tasks: Sequence[RunTask], spec: RunSpec) -> list[dict[str, Any]]:
    """Run ``tasks`` on ``scenario``; return one record (key, seed, parameters, outcomes) per task.

    Raises
    ------
    SweepError
        This worker's model code differs from the code that planned the sweep.
    """
    from simulation.engine.model import ConflictModel

    if model_fingerprint() != spec.model:
        import socket

        raise SweepError(f"worker on {socket.gethostname()} (pid {os.getpid()}) runs a different version of the "
                         "model code than the process that planned the sweep; install the same version everywhere")
    out = []
    for task in tasks:
        s = scenario.with_parameters(task.parameters, origin="design") if task.parameters else scenario
        model = ConflictModel(s, seed=task.seed, days=spec.days)
        model.run()
        out.append({"key": task.key, "seed": task.seed, "parameters": json.dumps(task.parameters, sort_keys=True),
                    **run_outcomes(model, spec.places, spec.daily)})
    return out


def _run_batch_in_pool(tasks: Sequence[RunTask], spec: RunSpec) -> list[dict[str, Any]]:
    assert _WORKER_SCENARIO is not None, "the worker was not initialised"
    return run_batch(_WORKER_SCENARIO, tasks, spec)


# --------------------------------------------------------------------------------------------------------
# The store


def _outcome_frame(records: Sequence[Mapping[str, Any]] | pd.DataFrame, dtypes: Mapping[str, str]) -> pd.DataFrame:
    """Records as a frame with the store's columns and dtypes (the same whatever the records came from)."""
    cols = {"key": "str", "seed": "int64", "parameters": "str", **dtypes}
    df = records if isinstance(records, pd.DataFrame) else pd.DataFrame.from_records(list(records))
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise SweepError(f"stored runs lack the columns {', '.join(missing[:3])}")
    df = df[list(cols)].copy()
    for c, dtype in cols.items():
        if dtype == "object":  # daily series: lists of ints (Parquet gives arrays back)
            df[c] = [[int(x) for x in v] for v in df[c]]
        else:
            df[c] = df[c].astype(dtype)
    return df.reset_index(drop=True)


class ResultStore:
    """A directory of Parquet files, one per finished batch, each row keyed by :func:`run_key`.

    Files are written to a temporary name and renamed, so a reader sees whole batches only; rows with the
    same key are the same run (the model is deterministic), and :meth:`load` returns each key once.
    """

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._keys: dict[Path, frozenset[str]] = {}

    def files(self) -> list[Path]:
        return sorted(self.path.glob("batch-*.parquet")) if self.path.is_dir() else []

    def remove_orphans(self) -> list[Path]:
        """Delete the temporary files of batches whose writer died before renaming them (a sweep killed while
        writing); a live process's are kept. Returns the files deleted."""
        gone = []
        for f in self.path.glob(".batch-*.partial") if self.path.is_dir() else []:
            pid = f.name.rsplit(".", 2)[-2]
            if pid.isdigit() and not _alive(int(pid)):
                f.unlink(missing_ok=True)
                gone.append(f)
        return gone

    def _file_keys(self, f: Path) -> frozenset[str]:
        if f not in self._keys:
            import pyarrow.parquet as pq

            try:
                self._keys[f] = frozenset(pq.read_table(f, columns=["key"]).column("key").to_pylist())
            except Exception as e:  # a foreign or damaged file: name it
                raise SweepError(f"{f}: not a readable batch of this store ({e})") from None
        return self._keys[f]

    def done_keys(self) -> set[str]:
        """Keys of every run in the store."""
        out: set[str] = set()
        for f in self.files():
            out |= self._file_keys(f)
        return out

    def write(self, frame: pd.DataFrame) -> Path:
        """Write one batch atomically; return its path."""
        self.path.mkdir(parents=True, exist_ok=True)
        name = f"batch-{hashlib.sha256(''.join(sorted(frame['key'])).encode()).hexdigest()[:24]}.parquet"
        final = self.path / name
        tmp = self.path / f".{name}.{os.getpid()}.partial"
        try:
            frame.to_parquet(tmp, index=False)
            with open(tmp, "rb") as fh:
                os.fsync(fh.fileno())
            os.replace(tmp, final)
        finally:
            tmp.unlink(missing_ok=True)
        self._keys[final] = frozenset(frame["key"])
        return final

    def load(self, keys: Iterable[str], dtypes: Mapping[str, str]) -> pd.DataFrame:
        """The stored rows of ``keys`` (each once), with the outcome columns ``dtypes``."""
        import pyarrow as pa
        import pyarrow.compute as pc
        import pyarrow.parquet as pq

        wanted = set(keys)
        value_set = pa.array(sorted(wanted), type=pa.string())
        parts = []
        for f in self.files():
            if self._file_keys(f) & wanted:
                table = pq.read_table(f)
                parts.append(table.filter(pc.is_in(table.column("key"), value_set=value_set)))
        if not parts:
            return _outcome_frame(pd.DataFrame(columns=["key", "seed", "parameters", *dtypes]), dtypes)
        # One conversion to pandas for all batches (much faster than one per file).
        df = pa.concat_tables(parts, promote_options="permissive").to_pandas()
        return _outcome_frame(df.drop_duplicates("key"), dtypes)


# --------------------------------------------------------------------------------------------------------
# Backends: each yields lists of records as batches finish


def _batches(todo: list[RunTask], batch_size: int | None, per_worker: int, workers: int) -> list[list[RunTask]]:
    """Split ``todo`` into batches: ``batch_size`` runs each, or about ``per_worker`` batches per worker (at most 50
    runs each) — few enough that scheduling costs little, enough that the work stays balanced to the end and an
    interruption loses little."""
    if batch_size is None:
        batch_size = max(1, min(50, math.ceil(len(todo) / (per_worker * workers))))
    return [todo[i: i + batch_size] for i in range(0, len(todo), batch_size)]


def _serial(scenario: Scenario, batches: list[list[RunTask]], spec: RunSpec) -> Iterator[list[dict]]:
    for batch in batches:
        yield run_batch(scenario, batch, spec)


def _processes(scenario: Scenario, batches: list[list[RunTask]], spec: RunSpec,
               workers: int) -> Iterator[list[dict]]:
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor, as_completed
    from concurrent.futures.process import BrokenProcessPool

    # forkserver: workers fork from a clean server that has imported the model once (fast start, no inherited
    # threads); spawn where forkserver does not exist.
    if "forkserver" in mp.get_all_start_methods():
        ctx = mp.get_context("forkserver")
        ctx.set_forkserver_preload(["simulation.sweep", "simulation.model"])
    else:
        ctx = mp.get_context("spawn")
    pool = ProcessPoolExecutor(max_workers=min(workers, len(batches)), mp_context=ctx, initializer=_init_worker,
                               initargs=(scenario,))
    clean = False
    try:
        futures = [pool.submit(_run_batch_in_pool, batch, spec) for batch in batches]
        for fut in as_completed(futures):
            try:
                yield fut.result()
            except BrokenProcessPool:
                raise SweepError("a worker process died (killed or out of memory); the runs finished so far "
                                 "are stored: run the same sweep again to compute the rest") from None
        clean = True
    finally:
        if not clean:  # stop batches still running (Ctrl-C, an error): their runs are simply not stored
            processes = list((getattr(pool, "_processes", None) or {}).values())  # before shutdown() forgets them
            for p in processes:
                p.terminate()
            for p in processes:
                p.join(timeout=10)
        pool.shutdown(wait=True, cancel_futures=True)


def _dask_client(workers: int, scheduler: str | None) -> tuple[Any, Any]:
    import logging

    from distributed import Client, LocalCluster

    if scheduler:
        try:
            return Client(scheduler, timeout="10s"), None
        except OSError as e:
            raise SweepError(f"cannot connect to the Dask scheduler at {scheduler}: {e}") from None
    cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None,
                           silence_logs=logging.ERROR)
    return Client(cluster), cluster


def _dask(scenario: Scenario, todo: list[RunTask], batch_size: int | None, spec: RunSpec, workers: int,
          scheduler: str | None, client: Any, info: dict[str, Any]) -> Iterator[list[dict]]:
    from distributed import as_completed

    own_client, cluster = (None, None) if client is not None else _dask_client(workers, scheduler)
    client = client if client is not None else own_client
    futures = []
    try:
        try:
            client.wait_for_workers(1, timeout=60)
        except TimeoutError:
            raise SweepError(f"the Dask scheduler at {client.scheduler.address} has no worker after 60 s; start "
                             "some with `dask worker ADDRESS`") from None
        info["workers"] = len(client.scheduler_info().get("workers", {}))
        # Fewer, larger tasks than for the process pool: a Dask task costs more to schedule and to report.
        batches = _batches(todo, batch_size, 8, max(1, info["workers"]))
        remote_scenario = client.scatter(scenario, broadcast=True, hash=False)
        futures = [client.submit(run_batch, remote_scenario, batch, spec, pure=False) for batch in batches]
        for fut in as_completed(futures):
            try:
                records = fut.result()
            except SweepError:
                raise
            except Exception as e:
                raise SweepError(f"a batch failed on the Dask cluster: {type(e).__name__}: {e}; the runs finished "
                                 "so far are stored: run the same sweep again to compute the rest") from e
            fut.release()
            yield records
    finally:
        if futures:
            client.cancel(futures)
        if own_client is not None:
            own_client.close()
        if cluster is not None:
            cluster.close()


# --------------------------------------------------------------------------------------------------------
# The sweep


def default_workers() -> int:
    """CPUs this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def _replicates(seeds: int | Iterable[int]) -> list[int]:
    if isinstance(seeds, (int, np.integer)) and not isinstance(seeds, bool):
        if seeds < 1:
            raise ValueError(f"seeds={seeds}: need at least one replicate")
        return list(range(int(seeds)))
    reps = [int(r) for r in seeds]
    if not reps or min(reps) < 0 or len(set(reps)) != len(reps):
        raise ValueError("seeds: need distinct replicate numbers >= 0")
    return reps


def run_sweep(scenario: Scenario | str | Path,
              design: Design | Mapping[str, Sequence[float]] | Sequence[Mapping[str, float]],
              seeds: int | Iterable[int] = 1, *, sweep_seed: int = 0, backend: str = "processes",
              workers: int | None = None, scheduler: str | None = None, client: Any = None,
              store: str | Path | None = None, days: int | None = None,
              key_places: Iterable[str] | str | None = None, daily: bool = False,
              batch_size: int | None = None, progress: bool = False) -> pd.DataFrame:
    """Run every parameter set of ``design`` with every replicate seed; return one row per run.

    Parameters
    ----------
    scenario : a loaded scenario (possibly a counterfactual, see :mod:`simulation.counterfactuals`) or the
        path of a scenario directory.
    design : a :class:`Design`, a grid ``{name: [values]}`` or a list of parameter sets ``[{name: value}]``.
    seeds : number of replicates per parameter set, or the replicate numbers themselves (``range(5, 10)``
        extends a sweep that ran ``seeds=5``).
    sweep_seed : the seed all run seeds derive from (see :func:`run_seed`).
    backend : ``"serial"``, ``"processes"`` or ``"dask"``.
    workers : processes (or local Dask workers); default: the CPUs available.
    scheduler : address of a running Dask scheduler (``tcp://host:8786``); implies ``backend="dask"``.
    client : an existing ``dask.distributed.Client`` to use (implies ``backend="dask"``; not closed).
    store : directory of Parquet batches to write results to and resume from; ``None`` keeps them in memory.
    days : days per run (default: the scenario's length).
    key_places : places whose fall day and end state to record (see :func:`simulation.outcomes.key_places`).
    daily : also record daily series (lists) per run.
    batch_size : runs per task (default: about 16 tasks per worker on a process pool, 8 on Dask, at most 50
        runs each).
    progress : show a progress bar on stderr.

    Returns
    -------
    pandas.DataFrame
        One row per run in design order (parameter set, then replicate): ``run``, ``set``, ``replicate``,
        ``seed``, ``key``, the value of every parameter the design sets, then the outcomes (see
        :mod:`simulation.outcomes`). ``attrs`` holds ``computed`` (runs computed now), ``reused`` (runs found
        in the store) and ``elapsed_s``. The table is identical whatever the backend, order or workers.

    Raises
    ------
    ScenarioError
        Bad input: an unknown parameter or place, a value out of bounds.
    ValueError
        Bad arguments (backend, seeds, workers, days, batch size).
    SweepError
        The sweep could not finish; finished runs are stored, and running it again computes the rest.

    Examples
    --------
    >>> df = run_sweep("scenarios/toy", {"attack_ratio": [0.8, 1.6]}, seeds=2, backend="serial")  # doctest: +SKIP
    >>> df.groupby("attack_ratio")["refinery_held"].mean()  # doctest: +SKIP
    """
    started = time.perf_counter()
    if scheduler is not None or client is not None:
        if backend not in ("dask", "processes"):
            raise ValueError(f"backend={backend!r}: a Dask scheduler or client needs backend='dask'")
        backend = "dask"
    if backend not in BACKENDS:
        raise ValueError(f"backend={backend!r}: choose one of {', '.join(BACKENDS)}")
    workers = default_workers() if workers is None else int(workers)
    if workers < 1:
        raise ValueError(f"workers={workers}: need at least one")
    if days is not None and not 1 <= int(days) <= MAX_DAYS:
        raise ValueError(f"days={days}: must be between 1 and {MAX_DAYS}")
    if batch_size is not None and int(batch_size) < 1:
        raise ValueError(f"batch_size={batch_size}: need at least one run per batch")
    if not isinstance(scenario, Scenario):
        scenario = load_scenario(scenario)
    design = as_design(design)
    replicates = _replicates(seeds)
    spec = RunSpec(days=scenario.days if days is None else int(days),
                   places=choose_key_places(scenario, key_places), daily=bool(daily), model=model_fingerprint())
    dtypes = outcome_dtypes(scenario, spec.places, spec.daily)

    # Plan every run (this validates every parameter set before anything is computed or written).
    scen_hash = scenario_fingerprint(scenario)
    names = design.names
    rows, tasks = [], {}
    for i, overrides in enumerate(design.sets):
        resolved = scenario.with_parameters(overrides, origin="design").parameters if overrides else \
            scenario.parameters
        for r in replicates:
            seed = run_seed(sweep_seed, r)
            key = run_key(scen_hash, resolved, seed, spec)
            rows.append({"run": len(rows), "set": i, "replicate": r, "seed": seed, "key": key,
                         **{n: float(resolved[n]) for n in names}})
            tasks.setdefault(key, RunTask(key, seed, dict(overrides)))
    plan = pd.DataFrame(rows, columns=["run", "set", "replicate", "seed", "key", *names])
    plan = plan.astype({"run": "int64", "set": "int64", "replicate": "int64", "seed": "int64", "key": "str",
                        **{n: "float64" for n in names}})

    result_store = ResultStore(store) if store is not None else None
    if result_store:
        result_store.remove_orphans()  # a killed sweep's half-written batch
    done = result_store.done_keys() & set(tasks) if result_store else set()
    todo = [t for k, t in tasks.items() if k not in done]
    info: dict[str, Any] = {"workers": 1 if backend == "serial" else workers}  # the dask backend counts its own
    if backend == "serial":
        stream = _serial(scenario, _batches(todo, batch_size, 16, 1), spec)
    elif backend == "processes":
        stream = _processes(scenario, _batches(todo, batch_size, 16, workers), spec, workers)
    else:
        stream = _dask(scenario, todo, batch_size, spec, workers, scheduler, client, info)

    memory: list[pd.DataFrame] = []
    from tqdm import tqdm

    with tqdm(total=len(tasks), initial=len(done), unit="run", desc="sweep", disable=not progress or None,
              file=sys.stderr, dynamic_ncols=True) as bar:
        if todo:
            with closing(stream):
                for records in stream:
                    frame = _outcome_frame(records, dtypes)
                    if result_store is not None:
                        result_store.write(frame)
                    else:
                        memory.append(frame)
                    bar.update(len(records))

    if result_store is not None:
        outcomes = result_store.load(tasks, dtypes)
    elif memory:
        outcomes = pd.concat(memory, ignore_index=True)
    else:
        outcomes = _outcome_frame([], dtypes)
    if len(outcomes) != len(tasks):
        raise SweepError(f"{len(tasks) - len(outcomes)} runs are missing from the results")
    out = plan.merge(outcomes.drop(columns=["seed", "parameters"]), on="key", how="left", validate="many_to_one")
    out.attrs.update(computed=len(todo), reused=len(done), elapsed_s=time.perf_counter() - started,
                     backend=backend, workers=info["workers"])
    return out


def sobol_indices(design: Design, results: pd.DataFrame, output: str, num_resamples: int = 100,
                  seed: int | None = None) -> pd.DataFrame:
    """Sobol sensitivity indices of ``output`` (SALib's ``sobol.analyze``) for a :func:`sobol_sample` design.

    The output is averaged over the replicates of each parameter set first, so the indices describe the
    expected outcome; with few replicates, seed noise inflates the total-order indices.

    Parameters
    ----------
    design : the Sobol design the sweep ran.
    results : the sweep's table (needs ``set`` and ``output``).
    output : a numeric (or boolean) outcome column without missing values (fill ``fell_day_*`` first).
    num_resamples, seed : bootstrap of the confidence intervals.

    Returns
    -------
    pandas.DataFrame
        Indexed by parameter: ``S1``, ``S1_conf``, ``ST``, ``ST_conf``.

    Raises
    ------
    ValueError
        The design is not a Sobol sample, a parameter set has no result, or the output has missing values.
    """
    from SALib.analyze import sobol

    if design.method != "sobol" or design.problem is None:
        raise ValueError("sobol_indices needs a design from sobol_sample()")
    values = results[output]
    if values.isna().any():
        raise ValueError(f"{output} has missing values; fill them first (e.g. fell_day_* with the number of days)")
    means = values.astype(float).groupby(results["set"]).mean().reindex(range(len(design)))
    if means.isna().any():
        raise ValueError(f"{int(means.isna().sum())} parameter sets of the design have no result")
    si = sobol.analyze(design.problem, means.to_numpy(), calc_second_order=design.second_order,
                       num_resamples=num_resamples, seed=seed)
    return pd.DataFrame({k: si[k] for k in ("S1", "S1_conf", "ST", "ST_conf")},
                        index=pd.Index(design.problem["names"], name="parameter"))


# --------------------------------------------------------------------------------------------------------
# Command line: conflict-sim sweep


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


def _alive(pid: int) -> bool:
    """Whether process ``pid`` is running on this machine."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's
        return True
    return True


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
    from simulation.errors import UsageError
    from simulation.runs.counterfactuals import apply_counterfactuals

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
