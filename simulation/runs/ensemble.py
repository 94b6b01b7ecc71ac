"""Ensembles of one scenario: many seeds (optionally with parameters drawn from the fitted posterior), summarised
as the share of runs, bands and fall dates; the ensemble directory that ``conflict-sim run --seeds N`` writes.

One run is one story; an ensemble answers with the share of runs. The runs go through the one ensemble layer
(:class:`simulation.sweep.ensemble.Ensemble`: serial, a process pool or Dask; a result store to resume from);
what is kept of each run is :class:`EnsembleRecord` (daily arrays, a few thousand integers a run), and every
summary below is array arithmetic over the runs' axis.

Seeds and parameters
    The runs use the seeds ``first_seed, first_seed + 1, ... first_seed + n - 1``: run ``k`` of an ensemble is
    exactly ``conflict-sim run --seed first_seed+k``. With a posterior sample (``posterior=``), the run of seed
    ``s`` takes the particle ``Generator(PCG64(SeedSequence([POSTERIOR_STREAM, s]))).integers(particles)``: the
    draw depends only on the seed, so a baseline and a counterfactual with the same seeds draw the same
    parameters (common random numbers), and adding seeds never changes the earlier runs.

Definitions (day ``d`` is the end of the ``d``-th day from the start date, as in :mod:`simulation.runs.outcomes`)
    share(d, place, faction)
        The share of runs in which ``faction`` holds the place at the end of day ``d``; over the factions the
        shares of a place and day sum to 1.
    passed(run, place, faction)
        :func:`~simulation.runs.outcomes.change_days` with each faction its own side: the first day at whose
        end ``faction`` holds the place and at whose start it did not (``None``: never). Control changes only
        between coalitions, so for a coalition this is the first of its factions' days.
    fell(run, place)
        :func:`~simulation.runs.outcomes.fall_days`: the first day the place is held outside the coalition that
        held it at the start.
    band(d, series)
        The 5, 25, 50, 75 and 95 % quantiles over the runs (``numpy.quantile``, linear interpolation) of a daily
        series: cumulative killed and wounded by party, people displaced (who have left their homes, and
        displaced now: sheltering or on the road), people living in the places each faction holds, places held
        and personnel present by faction.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from simulation.runs.outcomes import change_days, fall_days
from simulation.scenario import Scenario, ScenarioError, load_scenario

if TYPE_CHECKING:
    from simulation.calibration.observations import CompiledObservations
    from simulation.engine.model import ConflictModel

#: Mixed with a run's seed to pick its posterior particle (a stream of its own, not the model's).
POSTERIOR_STREAM = 0x5EED_0F_9057
QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)
BAND_COLUMNS = ("p05", "p25", "p50", "p75", "p95")
#: The daily arrays an :class:`EnsembleRecord` keeps of each run.
RECORD_COLUMNS = ("control", "killed", "wounded", "left", "displaced", "people", "personnel", "scoped")


# --------------------------------------------------------------------------------------------------------
# What is kept of each run


@dataclass(frozen=True)
class Scope:
    """The model's counterpart of one reported figure: a daily quantity summed over some places (and parties).

    ``quantity`` is ``killed`` or ``wounded`` (per day, of the parties ``parties``), ``left`` (people who have
    left the places, cumulative) or ``present`` (displaced people sheltering in the places).
    """

    name: str
    quantity: str
    places: tuple[int, ...]
    parties: tuple[int, ...] = ()


def _write_run(model: ConflictModel, out: Path, plots: bool) -> None:
    """A run's own directory, as ``conflict-sim run --seed S`` writes it (its run time is not measured here)."""
    from simulation.runs.output import summary, write_tables

    out.mkdir(parents=True)
    write_tables(model, out)
    data = summary(model, run_time_s=None)
    (out / "summary.json").write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    if plots:
        from simulation.runs.report import write_report

        write_report(model, data, out)


@dataclass(frozen=True)
class EnsembleRecord:
    """What an ensemble keeps of each run (a :class:`~simulation.sweep.job.Measure`): daily arrays flattened to
    lists of integers — control ``[day, place]``; killed and wounded ``[day, party]`` (per day, every place);
    people who have left their homes (cumulative) and displaced now ``[day]``; people living in the places each
    faction holds and personnel present ``[day, faction]``; the reported figures' scopes ``[scope, day]``.

    ``keep_dir``: also write each run's own directory there (``seed-<S>``), from the worker that ran it.
    """

    scopes: tuple[Scope, ...] = ()
    keep_dir: str | None = None
    plots: bool = False

    def columns(self, scenario: Scenario) -> dict[str, str]:
        return dict.fromkeys(RECORD_COLUMNS, "object")

    def spec(self) -> dict[str, Any]:
        return {"measure": "ensemble record",
                "scopes": [[s.name, s.quantity, list(s.places), list(s.parties)] for s in self.scopes]}

    def __call__(self, model: ConflictModel) -> dict[str, list[int]]:
        d = model.day
        control = model.rec_control[:d]
        nf = len(model.faction_ids)
        pop = model.rec_population[:d]
        people = np.stack([np.where(control == f, pop, 0).sum(axis=1) for f in range(nf)], axis=1)
        transit = getattr(model, "rec_in_transit", np.zeros(d, dtype=np.int64))[:d]
        scoped = np.zeros((len(self.scopes), d), dtype=np.int64)
        for i, s in enumerate(self.scopes):
            places = list(s.places)
            if s.quantity in ("killed", "wounded"):
                rec = model.rec_killed if s.quantity == "killed" else model.rec_wounded
                scoped[i] = rec[:d][:, places][:, :, list(s.parties)].sum(axis=(1, 2))
            else:
                rec = model.rec_displaced_from if s.quantity == "left" else model.rec_idps
                scoped[i] = rec[:d][:, places].sum(axis=1)
        if self.keep_dir is not None:
            _write_run(model, Path(self.keep_dir) / f"seed-{model.seed_value}", self.plots)
        return {
            "control": control.ravel().tolist(),
            "killed": model.rec_killed[:d].sum(axis=1).ravel().tolist(),
            "wounded": model.rec_wounded[:d].sum(axis=1).ravel().tolist(),
            "left": model.rec_displaced_from[:d].sum(axis=1).tolist(),
            "displaced": (model.rec_idps[:d].sum(axis=1) + transit).tolist(),
            "people": people.ravel().tolist(),
            "personnel": model.rec_ledger[:d, -1, :].ravel().tolist(),
            "scoped": scoped.ravel().tolist(),
        }


# --------------------------------------------------------------------------------------------------------
# Reported figures and their scopes


def scenario_observations(scenario: Scenario) -> CompiledObservations | None:
    """The observations ``scenario.toml`` names (rows with ``use=yes``), compiled against ``scenario``; None if it
    names none.

    Raises
    ------
    ScenarioError
        A table is malformed, or a used row names a place, area or date the scenario lacks.
    """
    from simulation.calibration.observations import compile_observations, load_observations, observations_dir

    try:
        path = observations_dir(scenario.path)
    except ScenarioError:
        return None
    return compile_observations(load_observations(path).select(used=True), scenario)


def _area_name(area: str) -> str:
    return {"kurdistan_region": "Kurdistan Region", "iraq": "Iraq (all places)"}.get(area, area.replace("_", " "))


def reported_scopes(obs: CompiledObservations | None) -> tuple[Scope, ...]:
    """One scope per reported casualty figure (killed, and wounded where reported) and per reported displacement
    area and measure (several dates share one)."""
    if obs is None:
        return ()
    out: list[Scope] = []
    for i, o in enumerate(obs.casualties):
        places = tuple(np.flatnonzero(obs.casualty_places[i]).tolist())
        parties = tuple(np.flatnonzero(obs.casualty_parties[i]).tolist())
        label = f"{'+'.join(o.who)} in {o.where}, {o.start:%d %b}–{o.end:%d %b}"
        out.append(Scope(f"killed: {label}", "killed", places, parties))
        if o.wounded is not None:
            out.append(Scope(f"wounded: {label}", "wounded", places, parties))
    seen = set()
    for i, o in enumerate(obs.displacement):
        if (o.area, o.measure) in seen:
            continue
        seen.add((o.area, o.measure))
        places = tuple(np.flatnonzero(obs.displacement_places[i]).tolist())
        what = "people who have left" if o.measure == "left" else "displaced people present in"
        out.append(Scope(f"{what} {_area_name(o.area)}", o.measure, places))
    return tuple(out)


# --------------------------------------------------------------------------------------------------------
# The posterior


def posterior_path(scenario: Scenario) -> Path | None:
    """The posterior sample beside the scenario's fitted-parameters file (``posterior_samples`` in its ``[fit]``
    table), or None if there is no fitted file, it names none, or the sample is missing."""
    from simulation.calibration.fitted import posterior_file

    fitted = scenario.fitted_file
    return posterior_file(fitted) if fitted is not None and Path(fitted).is_file() else None


def posterior_draw(posterior: Mapping[str, np.ndarray], seed: int) -> dict[str, float]:
    """The parameter set the run of ``seed`` takes from a posterior sample (see the module notes)."""
    names = list(posterior)
    size = len(posterior[names[0]]) if names else 0
    if size == 0:
        raise ValueError("the posterior has no particles")
    i = int(np.random.default_rng(np.random.SeedSequence([POSTERIOR_STREAM, int(seed)])).integers(size))
    return {k: float(posterior[k][i]) for k in names}


# --------------------------------------------------------------------------------------------------------
# The result


def _quantiles(a: np.ndarray) -> np.ndarray:
    """The :data:`QUANTILES` of ``a`` over its first axis: shape ``(5, *a.shape[1:])``."""
    return np.quantile(np.asarray(a, dtype=float), QUANTILES, axis=0, method="linear")


@dataclass
class EnsembleResult:
    """The runs of one ensemble as arrays over ``[run, day, ...]``, runs in seed order.

    Attributes
    ----------
    scenario : the scenario run (counterfactuals and ``--set`` values applied).
    seeds : ``(runs,)`` model seeds.
    draws : per run, the parameters drawn from the posterior (empty dicts without one).
    control : ``(runs, days, places)`` faction index holding each place at the end of each day.
    killed, wounded : ``(runs, days, parties)`` per day over all places (parties: the factions, then civilians).
    left : ``(runs, days)`` people who have left their homes, cumulative.
    displaced : ``(runs, days)`` displaced people now (sheltering in a place or on the road).
    people, personnel : ``(runs, days, factions)`` people living in the places a faction holds; its personnel.
    scopes, scoped : the reported figures' scopes and their daily values ``(runs, scopes, days)``.
    observations : the compiled observations the scopes come from (None: the scenario names none).
    info : how it ran: backend, workers, elapsed seconds, posterior file, ``--set`` values, counterfactuals.
    """

    scenario: Scenario
    seeds: np.ndarray
    draws: list[dict[str, float]]
    control: np.ndarray
    killed: np.ndarray
    wounded: np.ndarray
    left: np.ndarray
    displaced: np.ndarray
    people: np.ndarray
    personnel: np.ndarray
    scopes: tuple[Scope, ...]
    scoped: np.ndarray
    observations: CompiledObservations | None = None
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def runs(self) -> int:
        return int(self.seeds.size)

    @property
    def days(self) -> int:
        return int(self.control.shape[1])

    @property
    def factions(self) -> tuple[str, ...]:
        return tuple(self.scenario.faction_ids)

    @property
    def parties(self) -> tuple[str, ...]:
        return (*self.scenario.faction_ids, "civilian")

    def dates(self) -> list[dt.date]:
        return [self.scenario.start_date + dt.timedelta(days=d) for d in range(self.days)]

    def initial(self) -> np.ndarray:
        fi = {f: i for i, f in enumerate(self.factions)}
        return np.array([fi[p.controller] for p in self.scenario.places], dtype=np.int64)

    def coalition_of(self) -> np.ndarray:
        from simulation.calibration.observations import coalition_labels

        return coalition_labels(self.scenario)

    # ---- shares and dates

    def control_share(self) -> np.ndarray:
        """``(days, places, factions)``: the share of runs each faction holds each place at the end of each day."""
        nf = len(self.factions)
        counts = np.stack([(self.control == f).sum(axis=0) for f in range(nf)], axis=-1)
        return counts / self.runs

    def _by_column(self, fn: Callable[[np.ndarray, np.ndarray], np.ndarray]) -> np.ndarray:
        """``fn(control, initial)`` over every run's places at once (the day functions work column by column):
        ``(runs, places)``."""
        r, d, n = self.control.shape
        flat = self.control.transpose(1, 0, 2).reshape(d, r * n)
        return fn(flat, np.tile(self.initial(), r)).reshape(r, n)

    def fell_days(self) -> np.ndarray:
        """``(runs, places)``: :func:`~simulation.runs.outcomes.fall_days` of every run, -1 where never."""
        coal = self.coalition_of()
        return self._by_column(lambda c, i: fall_days(c, i, coal))

    def passed_days(self) -> np.ndarray:
        """``(runs, places, factions)``: the first day each place passed to each faction, -1 where never."""
        ident = np.arange(len(self.factions))
        return np.stack([self._by_column(lambda c, i, f=f: change_days(c, i, ident, to=np.array(f)))
                         for f in range(len(self.factions))], axis=-1)

    def held_at_end(self) -> np.ndarray:
        """``(runs, places)``: the place's starting coalition holds it at the end of the run."""
        coal = self.coalition_of()
        return coal[self.control[:, -1, :]] == coal[self.initial()][None, :]

    # ---- bands

    def series(self) -> dict[str, np.ndarray]:
        """The daily series a band is drawn of, each ``(runs, days)``, by name (see the module notes)."""
        out: dict[str, np.ndarray] = {}
        for q, party in enumerate(self.parties):
            out[f"killed_{party}"] = self.killed[:, :, q].cumsum(axis=1)
        for q, party in enumerate(self.parties):
            out[f"wounded_{party}"] = self.wounded[:, :, q].cumsum(axis=1)
        out["displaced_left"] = self.left
        out["displaced_now"] = self.displaced
        for f, name in enumerate(self.factions):
            out[f"people_{name}"] = self.people[:, :, f]
        for f, name in enumerate(self.factions):
            out[f"places_{name}"] = (self.control == f).sum(axis=2)
        for f, name in enumerate(self.factions):
            out[f"personnel_{name}"] = self.personnel[:, :, f]
        return out

    def bands(self) -> dict[str, np.ndarray]:
        """Each series' quantiles over the runs: name → ``(5, days)``."""
        return {name: _quantiles(v) for name, v in self.series().items()}

    def scope_values(self, i: int, start_day: int = 0) -> np.ndarray:
        """``(runs, days)`` values of scope ``i`` comparable with its reported figures: casualties cumulated from
        ``start_day`` (zero before it), displacement as recorded."""
        v = self.scoped[:, i, :].astype(np.int64)
        if self.scopes[i].quantity in ("killed", "wounded"):
            v = v.copy()
            v[:, :start_day] = 0
            v = v.cumsum(axis=1)
        return v

    # ---- tables

    def control_share_frame(self) -> pd.DataFrame:
        """``date, place, controller, share``: every day, place and faction (the shares of a place and day sum
        to 1)."""
        share = self.control_share()
        d, n, nf = share.shape
        dates = [x.isoformat() for x in self.dates()]
        return pd.DataFrame({"date": np.repeat(dates, n * nf),
                             "place": np.tile(np.repeat(list(self.scenario.place_ids), nf), d),
                             "controller": np.tile(list(self.factions), d * n),
                             "share": share.ravel()})

    def fall_dates_frame(self) -> pd.DataFrame:
        """``place, controller, seed, date``: the first day each place passed to each faction in each run (empty:
        never), by place, faction and seed."""
        passed = self.passed_days()  # (runs, places, factions)
        r, n, nf = passed.shape
        days = passed.transpose(1, 2, 0).ravel()
        dates = np.array([(self.scenario.start_date + dt.timedelta(days=int(x))).isoformat() if x >= 0 else ""
                          for x in range(self.days)] + [""], dtype=object)
        return pd.DataFrame({"place": np.repeat(list(self.scenario.place_ids), nf * r),
                             "controller": np.tile(np.repeat(list(self.factions), r), n),
                             "seed": np.tile(self.seeds, n * nf),
                             "date": dates[np.where(days >= 0, days, self.days)]})

    def bands_frame(self) -> pd.DataFrame:
        """``date, series, p05, p25, p50, p75, p95``, by series then date."""
        dates = [x.isoformat() for x in self.dates()]
        parts = []
        for name, q in self.bands().items():
            parts.append(pd.DataFrame({"date": dates, "series": name,
                                       **{c: q[k] for k, c in enumerate(BAND_COLUMNS)}}))
        return pd.concat(parts, ignore_index=True)

    def places_frame(self) -> pd.DataFrame:
        """One row per place: the share of runs it fell (left its starting coalition at least once), its fall
        day's median and 5–95 % range among those runs, and the share of runs each faction holds it at the end.
        Sorted by the share fell (most first), then the median fall day (earliest first); a median between two
        days is dated the earlier."""
        fell = self.fell_days()
        share_end = self.control_share()[-1]
        held = self.held_at_end().mean(axis=0)
        rows = []
        for k, p in enumerate(self.scenario.places):
            days = fell[:, k][fell[:, k] >= 0]
            row = {"place": p.id, "name": p.name, "governorate": p.governorate, "start": p.controller,
                   "fell": float(days.size / self.runs),
                   "fell_median": self._date(np.median(days)) if days.size else "",
                   "fell_p05": self._date(np.quantile(days, 0.05)) if days.size else "",
                   "fell_p95": self._date(np.quantile(days, 0.95)) if days.size else "",
                   "held_at_end": float(held[k])}
            row.update({f"end_{f}": float(share_end[k, i]) for i, f in enumerate(self.factions)})
            rows.append(row)
        df = pd.DataFrame(rows)
        median = np.array([np.median(fell[:, k][fell[:, k] >= 0]) if (fell[:, k] >= 0).any() else np.inf
                           for k in range(len(df))])
        order = np.lexsort((np.arange(len(df)), median, -df["fell"].to_numpy()))
        return df.iloc[order].reset_index(drop=True)

    def _date(self, day: float) -> str:
        """A (possibly fractional: a median) day as a date, rounded down to the day."""
        return (self.scenario.start_date + dt.timedelta(days=int(np.floor(day)))).isoformat()

    def reported_changes(self) -> list[dict[str, Any]]:
        """Every reported change of hands (``taken``/``retaken`` rows used by the loss) with the model's day of it
        in each run: :func:`~simulation.runs.outcomes.change_days` to the reported controller's side, as the
        calibration dates it (-1: never)."""
        obs = self.observations
        if obs is None:
            return []
        coal = self.coalition_of()
        out = []
        for i, o in enumerate(obs.control):
            if o.kind == "held":
                continue
            p = int(obs.control_place[i])
            side = int(obs.control_coalition[i])
            days = change_days(self.control[:, :, p].T, np.full(self.runs, self.initial()[p]), coal,
                               to=np.array(side))
            low = getattr(o, "low", None) or o.date
            high = getattr(o, "high", None) or o.date
            out.append({"place": o.place, "controller": o.controller, "kind": o.kind, "date": o.date,
                        "low": low, "high": high, "split": o.split, "day": int(obs.control_day[i]),
                        "model_days": days})
        return out

    # ---- what ran

    def summary(self) -> dict[str, Any]:
        """What ran and the headline figures (``summary.json``)."""
        from simulation import __version__
        from simulation.fingerprint import library_versions, model_fingerprint

        s = self.scenario
        totals = {}
        for name, v in self.series().items():
            if name.startswith(("killed_", "wounded_", "displaced_")):
                q = _quantiles(v[:, -1])
                totals[name] = {c: float(q[k]) for k, c in enumerate(BAND_COLUMNS)}
        places = self.places_frame()
        return {
            "scenario": s.name,
            "scenario_path": str(s.path),
            "start_date": s.start_date.isoformat(),
            "end_date": self.dates()[-1].isoformat(),
            "days": self.days,
            "runs": self.runs,
            "seeds": [int(x) for x in self.seeds],
            "parameters": {k: s.parameters[k] for k in sorted(s.parameters)},
            "fitted_file": self.info.get("fitted_file", str(s.fitted_file) if s.fitted_file is not None
                                         and Path(s.fitted_file).is_file() else None),
            "posterior_file": self.info.get("posterior_file"),
            "posterior_draws": [dict(d) for d in self.draws] if any(self.draws) else None,
            "set": self.info.get("set", {}),
            "counterfactuals": self.info.get("counterfactuals", []),
            "observations": str(self.observations.source.path) if self.observations is not None else None,
            "totals_at_end": totals,
            "fell": {r.place: r.fell for r in places.itertuples() if r.fell > 0},
            "versions": {**library_versions(), "model_fingerprint": model_fingerprint()},
            "version": __version__,
            "backend": self.info.get("backend"),
            "workers": self.info.get("workers"),
            "run_time_s": self.info.get("elapsed_s"),
        }

    def write_tables(self, out: Path) -> list[Path]:
        """Write ``control_share.csv``, ``fall_dates.csv``, ``bands.csv`` and ``summary.json`` into ``out``."""
        out = Path(out)
        written = []
        for name, frame in (("control_share.csv", self.control_share_frame()),
                            ("fall_dates.csv", self.fall_dates_frame()), ("bands.csv", self.bands_frame())):
            frame.to_csv(out / name, index=False, float_format="%.10g", lineterminator="\n")
            written.append(out / name)
        (out / "summary.json").write_text(json.dumps(self.summary(), indent=2) + "\n", encoding="utf-8")
        return [*written, out / "summary.json"]


# --------------------------------------------------------------------------------------------------------
# Running an ensemble


def run_ensemble(scenario: Scenario | str | Path, seeds: int | Sequence[int] = 20, *, first_seed: int = 1,
                 posterior: Mapping[str, np.ndarray] | None = None, backend: str | None = None,
                 workers: int | None = None, scheduler: str | None = None, store: str | Path | None = None,
                 days: int | None = None, observations: CompiledObservations | None | str = "scenario",
                 keep_dir: str | Path | None = None, plots: bool = False, progress: bool = False,
                 callback: Callable[[int, int], None] | None = None,
                 info: Mapping[str, Any] | None = None) -> EnsembleResult:
    """Run ``scenario`` with many seeds through the ensemble layer and gather the runs as arrays.

    Parameters
    ----------
    scenario : a loaded scenario (possibly a counterfactual, see :mod:`simulation.runs.counterfactuals`) or the
        path of a scenario directory (loaded with its fitted parameters).
    seeds : the number of runs (seeds ``first_seed .. first_seed + seeds - 1``) or the seeds themselves.
    first_seed : see ``seeds``.
    posterior : a posterior sample (parameter → particles, :func:`simulation.calibration.fitted.load_posterior`):
        each run takes the particle its seed picks (:func:`posterior_draw`).
    backend, workers, scheduler : where the runs are computed (default: serial for one worker, else a process
        pool with one worker per CPU; see :func:`simulation.sweep.backends.open_backend`). Results do not
        depend on them.
    store : a directory to keep the runs in and resume from (``None``: in memory).
    days : days per run (default: the scenario's).
    observations : the reported figures whose scopes to keep (default ``"scenario"``: those ``scenario.toml``
        names; ``None``: none).
    keep_dir : also write each run's own directory there, ``seed-<S>`` (with its report if ``plots``); needs
        ``store=None`` (a stored run is not run again, so its directory would not be written).
    progress : show a progress bar on stderr.
    callback : called as ``callback(done, total)`` after each finished batch.
    info : recorded in :attr:`EnsembleResult.info` (e.g. the ``--set`` values, the counterfactuals).

    Raises
    ------
    ValueError
        Bad arguments (no seeds, a negative seed, fewer than one worker, ``keep_dir`` with ``store``).
    ScenarioError
        A posterior parameter is unknown or out of bounds; the observations are malformed.
    SweepError
        The runs could not finish.

    Examples
    --------
    >>> ens = run_ensemble("scenarios/toy", seeds=4, backend="serial")  # doctest: +SKIP
    >>> ens.control_share()[-1].sum(axis=1)  # every place: shares sum to 1  # doctest: +SKIP
    """
    from tqdm import tqdm

    from simulation.sweep.backends import default_workers
    from simulation.sweep.ensemble import Ensemble

    started = time.perf_counter()
    if not isinstance(scenario, Scenario):
        scenario = load_scenario(scenario)
    if isinstance(seeds, (int, np.integer)) and not isinstance(seeds, bool):
        if int(seeds) < 1:
            raise ValueError(f"seeds={seeds}: need at least one run")
        if int(first_seed) < 0:
            raise ValueError(f"first_seed={first_seed}: must be >= 0")
        seed_list = list(range(int(first_seed), int(first_seed) + int(seeds)))
    else:
        seed_list = [int(s) for s in seeds]
        if not seed_list or min(seed_list) < 0 or len(set(seed_list)) != len(seed_list):
            raise ValueError("seeds: need distinct seeds >= 0")
    if keep_dir is not None and store is not None:
        raise ValueError("keep_dir needs store=None: a run found in the store is not run again")
    if workers is not None and int(workers) < 1:
        raise ValueError(f"workers={workers}: need at least one")
    if backend is None:
        n_workers = default_workers() if workers is None else int(workers)
        backend = "serial" if n_workers <= 1 and scheduler is None else "processes"
    obs = scenario_observations(scenario) if isinstance(observations, str) else observations
    scopes = reported_scopes(obs)
    measure = EnsembleRecord(scopes, None if keep_dir is None else str(keep_dir), bool(plots))
    draws = [posterior_draw(posterior, s) for s in seed_list] if posterior is not None else [{} for _ in seed_list]
    with Ensemble(scenario, measure, days=days, backend=backend, workers=workers, scheduler=scheduler,
                  store=store) as ensemble:
        tasks = [ensemble.plan(d, s, origin="posterior" if d else "design")[0] for d, s in zip(draws, seed_list)]
        unique = {t.key: t for t in tasks}
        done = sum(ensemble.known(k) for k in unique)
        with tqdm(total=len(unique), initial=done, desc=scenario.name, unit="run", file=sys.stderr,
                  disable=not progress or None, leave=False, dynamic_ncols=True) as bar:
            for frame in ensemble.compute(unique.values()):
                done += len(frame)
                bar.update(len(frame))
                if callback is not None:
                    callback(done, len(unique))
        rows = ensemble.results(list(unique)).set_index("key")
        ran = {"backend": ensemble.backend.name, "workers": ensemble.backend.workers}
    result = gather(scenario, seed_list, draws, [rows.loc[t.key] for t in tasks], scopes, obs)
    result.info.update(ran, elapsed_s=round(time.perf_counter() - started, 3), **(info or {}))
    return result


def gather(scenario: Scenario, seeds: Sequence[int], draws: list[dict[str, float]],
           rows: Iterable[Mapping[str, Any]], scopes: tuple[Scope, ...],
           observations: CompiledObservations | None) -> EnsembleResult:
    """The arrays of an :class:`EnsembleResult` from the stored rows of its runs (in seed order)."""
    rows = list(rows)
    n, nf = len(scenario.places), len(scenario.factions)

    def stack(name: str, *shape: int) -> np.ndarray:
        return np.stack([np.asarray(r[name], dtype=np.int64) for r in rows]).reshape(len(rows), *shape)

    days = len(rows[0]["control"]) // n
    return EnsembleResult(
        scenario=scenario, seeds=np.asarray(seeds, dtype=np.int64), draws=draws,
        control=stack("control", days, n), killed=stack("killed", days, nf + 1),
        wounded=stack("wounded", days, nf + 1), left=stack("left", days), displaced=stack("displaced", days),
        people=stack("people", days, nf), personnel=stack("personnel", days, nf),
        scopes=scopes, scoped=stack("scoped", len(scopes), days), observations=observations)

