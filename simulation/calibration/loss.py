"""The calibration loss: how far the runs of one parameter set are from the reported June events.

The model is stochastic, so a parameter set is scored by the *ensemble* of its runs (``K`` seeds): every term is
a proper score of the distribution the runs give, on one scale (nats, or weeks of timing error), so that no
term wins by its units. Each row costs 0 when every run agrees with it; the loss of a split is the sum of its
rows' costs divided by its number of rows (so in- and out-of-sample losses compare). Rows:

**Reported changes** (``taken``/``retaken``), :func:`interval_crps`. The model's date of a change is the first
day the place passes to the reported side (:func:`simulation.runs.outcomes.change_days`: held by that side's
coalition at the end of the day, not at the end of the day before), ``never`` counting as the last simulated
day plus ``never_after_days`` (7). Over the ``K`` runs these dates have an empirical distribution function ``F``
(a step function on whole days); a report dates the change to a window ``[a, b]`` (``a = b`` for one date) and
the cost is

    CRPS = ∫_{-∞}^{a} F(t)² dt + ∫_{b}^{∞} (1 − F(t))² dt,

computed exactly on the steps, divided by ``crps_scale_days`` (7): the standard continuous ranked probability
score when ``a = b``, zero when every run falls inside the window, the distance to the window (in weeks) when
every run has the same date. Unlike the nearest change, the *first* change is scored: flip-flopping does not
help.

**Held and status rows** (``held``), :func:`held_log_score`: the log score ``−ln max(p, 1/(2K))`` of the share
``p`` of runs whose side on the date is the reported one (the floor is half a run: a row no run agrees with
costs ``ln 2K``, 3.0 nats with 10 runs).

**Unreported changes**: the record is incomplete (many places have no June report, and some changes the model
makes are plausible: the Peshmerga into Qaraqosh, Baaj), so they cost little. Each place counts once, by the
share of runs that change its hands, inside the split's window, to a side that no used row (change or status)
of the split names for it;
the sum is weighted by ``unreported_weight`` (0.1) and capped at ``unreported_cap`` (1.0): at most the cost of
one row moved by a week.

**Casualties and displacement**, :func:`lognormal_mixture_score`: a reported figure ``y`` is taken to be the
truth ``m`` with a log-normal observation error, ``ln(y + 1) ~ N(ln(m + 1), σ²)``; the ensemble's predictive
density is the mixture over its runs, and the cost is its negative log-likelihood relative to a perfect run,
``−ln((1/K) Σ_k exp(−z_k² / 2))`` with ``z_k`` the run's log distance in units of σ (0 inside a reported
range). ``σ`` is the row's ``log_sd`` where its sources disagree, else ``casualty_log_sd`` (0.25) or
``displacement_log_sd`` (0.35). A casualty row's killed and wounded are one observation (``z² `` summed).
Reported casualty counts are verified minima (the UN called its June figures "very much a minimum"), so above
the figure the log error is ``over_count_spread`` (2) times wider than below it.

What the model counts for each row: see :func:`simulation.calibration.observations.party_mask` and
:func:`simulation.calibration.observations.area_mask` (``left`` = cumulative people who left the area's places;
``present`` = displaced people present in them).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from simulation.calibration.observations import CompiledObservations
from simulation.calibration.record import RunRecord
from simulation.runs.outcomes import change_days

KINDS = ("control", "casualties", "displacement")


@dataclass(frozen=True)
class LossSettings:
    """Constants of the loss (see the module docstring and ``calibration/README.md``)."""

    never_after_days: float = 7.0
    crps_scale_days: float = 7.0
    held_floor_runs: float = 0.5
    unreported_weight: float = 0.1
    unreported_cap: float = 1.0
    casualty_log_sd: float = 0.25
    displacement_log_sd: float = 0.35
    over_count_spread: float = 2.0
    weight_control: float = 1.0
    weight_casualties: float = 1.0
    weight_displacement: float = 1.0

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


DEFAULT_SETTINGS = LossSettings()


# ------------------------------------------------------------------------------------------------------------
# What one run shows for each row


@dataclass(frozen=True)
class RunValues:
    """What one run shows for each row of a compiled set of observations (arrays in its row order).

    ``change_day``: per control row, the first day the place passes to the reported side (-1: never);
    ``agree``: per control row, whether the model's side on the reported date is the reported one;
    ``unreported``: per place, whether the run changed its hands inside the window to a side no used row
    names for it; ``killed``/``wounded``: per casualty row; ``displacement``: per displacement row;
    ``days``: days simulated.
    """

    change_day: np.ndarray
    agree: np.ndarray
    unreported: np.ndarray
    killed: np.ndarray
    wounded: np.ndarray
    displacement: np.ndarray
    days: int

    #: The array fields, as an ensemble stores them (lists of integers).
    ARRAYS = ("change_day", "agree", "unreported", "killed", "wounded", "displacement")

    def as_lists(self) -> dict[str, list[int] | int]:
        return {**{k: np.asarray(getattr(self, k), dtype=np.int64).tolist() for k in self.ARRAYS},
                "days": int(self.days)}

    @classmethod
    def from_lists(cls, row: Mapping[str, Any]) -> RunValues:
        """From a mapping (a stored row) of :data:`ARRAYS` and ``days``."""
        return cls(**{k: np.asarray(row[k], dtype=np.int64) for k in cls.ARRAYS}, days=int(row["days"]))


def run_values(record: RunRecord, obs: CompiledObservations) -> RunValues:
    """Read off a run the value of every row of ``obs`` (see :class:`RunValues`)."""
    days = record.days
    coal = obs.coalition_of
    if len(obs.control):
        first = change_days(record.control, record.initial_control, coal, obs.control_coalition, obs.control_place)
        day = np.minimum(obs.control_day, days - 1)
        agree = coal[record.control[day, obs.control_place]] == obs.control_coalition
    else:
        first, agree = np.zeros(0, dtype=np.int64), np.zeros(0, dtype=bool)

    # Changes inside the window to a side that no used row of this set names for the place (a status row for a
    # side other than the starting one reports a change to it too: the Peshmerga in Bashiqa by 17 June).
    side = coal[record.control]
    before = np.vstack([coal[record.initial_control][None, :], side[:-1]])
    n_places, n_coal = side.shape[1], int(coal.max()) + 1
    reported = np.zeros((n_places, n_coal), dtype=bool)
    reported[obs.control_place, obs.control_coalition] = True
    unreported = np.zeros(n_places, dtype=bool)
    lo, hi = obs.window
    hi = min(hi, days - 1)
    if hi >= lo:
        changed = (side != before)[lo:hi + 1]
        d, p = np.nonzero(changed)
        unreported[p[~reported[p, side[lo:hi + 1][d, p]]]] = True

    killed = np.zeros(len(obs.casualties), dtype=np.int64)
    wounded = np.zeros(len(obs.casualties), dtype=np.int64)
    for i in range(len(obs.casualties)):
        a, e = obs.casualty_start[i], min(obs.casualty_end[i], days - 1)
        if e < a:
            continue
        places, parties = obs.casualty_places[i], obs.casualty_parties[i]
        killed[i] = record.killed[a:e + 1][:, places][:, :, parties].sum()
        wounded[i] = record.wounded[a:e + 1][:, places][:, :, parties].sum()

    disp = np.zeros(len(obs.displacement), dtype=np.int64)
    for i in range(len(obs.displacement)):
        t = min(obs.displacement_day[i], days - 1)
        series = record.displaced_from if obs.displacement_left[i] else record.idps
        disp[i] = series[t, obs.displacement_places[i]].sum()

    return RunValues(change_day=np.asarray(first, dtype=np.int64), agree=np.asarray(agree, dtype=bool),
                     unreported=unreported, killed=killed, wounded=wounded, displacement=disp, days=days)


# ------------------------------------------------------------------------------------------------------------
# Scores


def interval_crps(samples: Sequence[float] | np.ndarray, low: float, high: float) -> float:
    """The CRPS of the empirical distribution of ``samples`` against the interval ``[low, high]``:
    ``∫_{-∞}^{low} F² dt + ∫_{high}^{∞} (1 − F)² dt``, exact for the step function ``F`` (the standard CRPS
    when ``low == high``).

    Examples
    --------
    >>> interval_crps([5, 5], 3, 3), interval_crps([1], 3, 4), interval_crps([3, 4], 3, 4)
    (2.0, 2.0, 0.0)
    >>> interval_crps([0, 10], 5, 5)  # E|X - y| - E|X - X'| / 2 = 5 - 2.5
    2.5
    """
    if low > high:
        raise ValueError(f"interval [{low}, {high}] is empty")
    x = np.sort(np.asarray(samples, dtype=float))
    k = x.size
    if k == 0:
        raise ValueError("no samples")
    share = np.arange(k + 1) / k                    # F on the segment that starts at x[i-1] (x[-1] = -inf)
    start = np.concatenate([[-np.inf], x])
    end = np.concatenate([x, [np.inf]])
    below = np.clip(np.minimum(end, low) - start, 0.0, None)
    above = np.clip(end - np.maximum(start, high), 0.0, None)
    with np.errstate(invalid="ignore"):            # inf * 0 on the outer segments, where F is 0 or 1
        part_below = np.where(share > 0, share ** 2 * below, 0.0)
        part_above = np.where(share < 1, (1 - share) ** 2 * above, 0.0)
    return float(part_below.sum() + part_above.sum())


def held_log_score(agree: np.ndarray, floor_runs: float = DEFAULT_SETTINGS.held_floor_runs) -> float:
    """``−ln max(p, floor_runs / K)`` for the share ``p`` of the ``K`` runs that agree.

    Examples
    --------
    >>> held_log_score(np.ones(10, bool)), round(held_log_score(np.zeros(10, bool)), 3)
    (0.0, 2.996)
    """
    agree = np.asarray(agree, dtype=bool)
    k = agree.size
    return -math.log(max(float(agree.mean()), floor_runs / k)) + 0.0  # + 0.0: no -0.0


def lognormal_mixture_score(z: np.ndarray) -> float:
    """``−ln((1/K) Σ_k exp(−q_k / 2))`` for ``q`` = each run's squared standardised log error (``z`` is
    ``[K]`` or ``[K, m]``, summed over the last axis): the negative log predictive likelihood of the runs'
    mixture, relative to a perfect run.

    Examples
    --------
    >>> lognormal_mixture_score(np.array([0.0, 0.0])), lognormal_mixture_score(np.array([2.0, 2.0]))
    (0.0, 2.0)
    """
    z = np.asarray(z, dtype=float)
    q = (z ** 2).reshape(z.shape[0], -1).sum(axis=1)
    m = (-q / 2).max()
    return -(float(m) + math.log(float(np.mean(np.exp(-q / 2 - m))))) + 0.0


def log_error(model: np.ndarray, low: np.ndarray | float, high: np.ndarray | float, sd: float,
              over: float = 1.0) -> np.ndarray:
    """Standardised log error of model figures against a reported figure or range: the distance of
    ``ln(model + 1)`` to ``[ln(low + 1), ln(high + 1)]`` over ``sd`` (over ``sd * over`` above the range)."""
    lm = np.log(np.asarray(model, dtype=float) + 1.0)
    lo, hi = math.log(float(low) + 1.0), math.log(float(high) + 1.0)
    return np.where(lm < lo, (lm - lo) / sd, np.where(lm > hi, (lm - hi) / (sd * over), 0.0))


# ------------------------------------------------------------------------------------------------------------
# The loss of an ensemble


@dataclass(frozen=True)
class RowCosts:
    """Each row's cost over an ensemble (arrays in the row order of the compiled observations)."""

    control: np.ndarray       # CRPS / crps_scale_days for changes, held log score for held rows
    crps_days: np.ndarray     # CRPS in days (NaN for held rows)
    unreported: float         # the capped unreported-change cost
    unreported_places: float  # places whose hands change unreported, summed over places of the runs' share
    casualties: np.ndarray
    displacement: np.ndarray


def never_day(days: int, settings: LossSettings = DEFAULT_SETTINGS) -> float:
    """The date (in days from the start) a change the model never makes counts as."""
    return days - 1 + settings.never_after_days


def row_costs(values: Sequence[RunValues], obs: CompiledObservations,
              settings: LossSettings = DEFAULT_SETTINGS) -> RowCosts:
    """The cost of every row of ``obs`` over the runs ``values`` (see the module docstring)."""
    if not values:
        raise ValueError("no runs to score")
    k = len(values)
    first = np.array([v.change_day for v in values], dtype=float).reshape(k, len(obs.control))
    for j, v in enumerate(values):
        first[j, first[j] < 0] = never_day(v.days, settings)
    agree = np.array([v.agree for v in values], dtype=bool).reshape(k, len(obs.control))
    control = np.zeros(len(obs.control))
    crps = np.full(len(obs.control), np.nan)
    for i in range(len(obs.control)):
        if obs.control_held[i]:
            control[i] = held_log_score(agree[:, i], settings.held_floor_runs)
        else:
            crps[i] = interval_crps(first[:, i], obs.control_low[i], obs.control_high[i])
            control[i] = crps[i] / settings.crps_scale_days
    unrep_places = float(np.array([v.unreported for v in values], dtype=float).mean(axis=0).sum()) \
        if len(values[0].unreported) else 0.0
    unreported = min(settings.unreported_cap, settings.unreported_weight * unrep_places)

    killed = np.array([v.killed for v in values], dtype=float).reshape(k, len(obs.casualties))
    wounded = np.array([v.wounded for v in values], dtype=float).reshape(k, len(obs.casualties))
    cas = np.zeros(len(obs.casualties))
    for i in range(len(obs.casualties)):
        sd = obs.casualty_log_sd[i] if not np.isnan(obs.casualty_log_sd[i]) else settings.casualty_log_sd
        y = obs.casualty_killed[i]
        z = [log_error(killed[:, i], y, y, sd, settings.over_count_spread)]
        if not np.isnan(obs.casualty_wounded[i]):
            y = obs.casualty_wounded[i]
            z.append(log_error(wounded[:, i], y, y, sd, settings.over_count_spread))
        cas[i] = lognormal_mixture_score(np.column_stack(z))

    disp = np.array([v.displacement for v in values], dtype=float).reshape(k, len(obs.displacement))
    dis = np.zeros(len(obs.displacement))
    for i in range(len(obs.displacement)):
        sd = obs.displacement_log_sd[i] if not np.isnan(obs.displacement_log_sd[i]) \
            else settings.displacement_log_sd
        ranged = not np.isnan(obs.displacement_low[i])
        lo = obs.displacement_low[i] if ranged else obs.displacement_idps[i]
        hi = obs.displacement_high[i] if ranged else obs.displacement_idps[i]
        dis[i] = lognormal_mixture_score(log_error(disp[:, i], lo, hi, sd))
    return RowCosts(control=control, crps_days=crps, unreported=unreported, unreported_places=unrep_places,
                    casualties=cas, displacement=dis)


def ensemble_terms(values: Sequence[RunValues], obs: CompiledObservations,
                   settings: LossSettings = DEFAULT_SETTINGS) -> dict[str, float]:
    """The loss of the runs ``values`` of one parameter set:
    ``{"loss": ..., "control": ..., "casualties": ..., "displacement": ...}``, each term the weighted sum of its
    rows' costs (control: with the unreported-change cost) over the number of rows, so the terms add up to the
    loss. NaN without rows."""
    n = len(obs)
    if n == 0:
        return {t: float("nan") for t in ("loss", *KINDS)}
    c = row_costs(values, obs, settings)
    terms = {"control": settings.weight_control * (c.control.sum() + c.unreported) / n,
             "casualties": settings.weight_casualties * c.casualties.sum() / n,
             "displacement": settings.weight_displacement * c.displacement.sum() / n}
    return {"loss": float(sum(terms.values())), **{k: float(v) for k, v in terms.items()}}


def observation_errors(obs: CompiledObservations, settings: LossSettings = DEFAULT_SETTINGS) -> dict[str, float]:
    """The log-normal observation error (σ of the log figure) of every casualty and displacement row of ``obs``,
    keyed ``"<file> row <n> (<what>)"``: the row's ``log_sd``, else the table's default."""
    out = {}
    for o, sd in zip(obs.casualties, obs.casualty_log_sd):
        out[f"casualties.csv row {o.row} ({'+'.join(o.who)};{o.where}, {o.start}/{o.end})"] = \
            settings.casualty_log_sd if np.isnan(sd) else float(sd)
    for o, sd in zip(obs.displacement, obs.displacement_log_sd):
        out[f"displacement.csv row {o.row} ({o.area} {o.measure}, {o.date})"] = \
            settings.displacement_log_sd if np.isnan(sd) else float(sd)
    return out


def run_loss(record: RunRecord, obs: CompiledObservations,
             settings: LossSettings = DEFAULT_SETTINGS) -> dict[str, float]:
    """The loss terms of one recorded run, as an ensemble of one (see :func:`ensemble_terms`)."""
    return ensemble_terms([run_values(record, obs)], obs, settings)


def relative_difference(model: np.ndarray, reported: np.ndarray, low: np.ndarray | None = None,
                        high: np.ndarray | None = None) -> np.ndarray:
    """``|model - reported| / reported`` (FLEE's ARD, which validation reports; not in the loss); where
    ``low``/``high`` are given (not NaN), the distance to ``[low, high]`` over ``reported``."""
    model = np.asarray(model, float)
    reported = np.asarray(reported, float)
    rd = np.abs(model - reported) / reported
    if low is not None and high is not None:
        ranged = ~np.isnan(low)
        dist = np.maximum.reduce([np.nan_to_num(low) - model, model - np.nan_to_num(high), np.zeros_like(model)])
        rd = np.where(ranged, dist / reported, rd)
    return rd
