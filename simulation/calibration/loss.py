"""The calibration loss: how far one model run is from the reported June events.

Three terms, one per kind of observation, each averaged over its rows so that each kind weighs the same
whatever its number of rows, then added (weights :class:`LossSettings`). Every row of a kind is scored by the
same rule: no observation has a rule of its own.

**Control** (:func:`control_penalties`). A ``taken``/``retaken`` row reports an event and a state: the place
changed hands on that date, and the reported side holds it from then on (``observations/README.md``). Both are
scored, each with half the row's weight (``state_weight``). *Timing*: the model's onsets of control by the
reported side (days on which the place passes to that side's coalition) are found; the onset nearest the
reported date gives the error in days (positive: late). Within ``tolerance_days`` (±1: reports date events to
the day they were known, not happened) it costs nothing; the cost then rises linearly to 1 at
``full_penalty_days``; a change the model never makes costs 1. *State*: 1 if the model's side on the day after
the reported date (one day's tolerance) is not the reported side. So a change the model never makes costs 1, a
change a week early that sticks 0.5, three days late 0.67. A ``held`` row (an attack repelled, a place
still held) costs 1 if the model's controller on that date is another side — the attack the model loses.
Changes the model makes inside the window that no row reports cost ``unreported_change_weight`` each (0.5:
the record is incomplete — some places have no June report at all, and a change nobody reported is weaker
evidence of error than a reported change the model misses). The sum is divided by the number of rows. Sides
are coalitions: allied factions (government and pro-government tribes) count as one side.

**Casualties** (:func:`casualty_penalties`). The model's killed and wounded among the parties the row counts
(see :func:`simulation.calibration.observations.party_mask`), over the row's period and governorates, are
compared with the reported figures by the log-ratio ``ln((model + 1) / (reported + 1))``. Reported casualty
counts are verified minima (the UN called its June figures "very much a minimum"), so a model below the figure
costs ``|log-ratio|`` and a model above it ``over_count_weight`` (0.5) times the log-ratio. Killed and wounded
(where reported) are averaged.

**Displacement** (:func:`displacement_penalties`). The relative difference of the displaced people who left an
area (``left``, cumulative) or are present in it (``present``) on the date, taken over the *larger* of the
model's and the reported figure: ``|model - reported| / max(model, reported)`` (where the source gives a range,
``reported`` is the nearest end of the range). It lies in [0, 1] and costs the same for a model at half and at
twice the figure. FLEE's averaged relative difference ``|model - reported| / reported`` (which validation
reports, :func:`relative_difference`) is not used in the loss because it rewards predicting nothing: no
displacement at all costs 1, a model at 2.5 times the figure 1.5, so a fit would learn to suppress flight (and
the fall of Mosul that drives it).

The model is stochastic: :func:`simulation.calibration.fit.Objective` averages this loss over several seeds,
the same seeds for every parameter set (common random numbers).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from simulation.calibration.observations import CompiledObservations
from simulation.calibration.record import RunRecord

KINDS = ("control", "casualties", "displacement")


@dataclass(frozen=True)
class LossSettings:
    """Constants of the loss (documented in the module docstring)."""

    tolerance_days: float = 1.0
    state_weight: float = 0.5
    full_penalty_days: float = 7.0
    unreported_change_weight: float = 0.5
    over_count_weight: float = 0.5
    weight_control: float = 1.0
    weight_casualties: float = 1.0
    weight_displacement: float = 1.0

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


DEFAULT_SETTINGS = LossSettings()


@dataclass(frozen=True)
class ModelValues:
    """What a run shows for each observation row (arrays in the row order of the compiled observations).

    ``control_offset``: for ``taken``/``retaken`` rows, days from the reported date to the model's nearest
    change to the reported side (NaN: never); for ``held`` rows, 0 if the model's side on the date is the
    reported one, NaN if not. ``control_state``: whether the model's side is the reported one on the day
    after the reported date (``taken``/``retaken``) or on the date (``held``). ``unreported_changes``: control
    changes inside the window that no row reports.
    """

    control_offset: np.ndarray
    control_state: np.ndarray
    unreported_changes: int
    casualty_killed: np.ndarray
    casualty_wounded: np.ndarray
    displacement: np.ndarray


def model_values(record: RunRecord, obs: CompiledObservations) -> ModelValues:
    """Read off a run the value of every observation in ``obs`` (see :class:`ModelValues`)."""
    days = record.days
    coal = obs.coalition_of
    side = coal[record.control]                      # [day, place] coalition holding the place
    before = np.vstack([coal[record.initial_control][None, :], side[:-1]])
    changed = side != before

    # Control rows.
    offset = np.full(len(obs.control), np.nan)
    state = np.zeros(len(obs.control), dtype=bool)
    if len(obs.control):
        s = side[:, obs.control_place]                # [day, row]
        b = before[:, obs.control_place]
        c = obs.control_coalition
        onset = (s == c) & (b != c)
        gap = np.arange(days)[:, None] - obs.control_day[None, :]
        dist = np.where(onset, np.abs(gap), np.iinfo(np.int64).max)
        nearest = dist.argmin(axis=0)
        rows = np.arange(len(obs.control))
        has = onset.any(axis=0)
        offset = np.where(has, gap[nearest, rows], np.nan).astype(float)
        day = np.minimum(obs.control_day, days - 1)
        held_ok = s[day, rows] == c
        offset = np.where(obs.control_held, np.where(held_ok, 0.0, np.nan), offset)
        after = np.minimum(obs.control_day + 1, days - 1)
        state = np.where(obs.control_held, held_ok, s[after, rows] == c)

    # Changes inside the window that no taken/retaken row of this set reports.
    lo, hi = obs.window
    unreported = 0
    if hi >= lo and days > 0:
        hi = min(hi, days - 1)
        d, p = np.nonzero(changed[lo:hi + 1])
        n_places, n_coal = side.shape[1], int(coal.max()) + 1
        made = np.zeros((n_places, n_coal), dtype=np.int64)
        np.add.at(made, (p, side[lo:hi + 1][d, p]), 1)
        reported = np.zeros_like(made)
        taken = ~obs.control_held
        np.add.at(reported, (obs.control_place[taken], obs.control_coalition[taken]), 1)
        unreported = int(np.maximum(made - reported, 0).sum())

    # Casualties over each row's period, places and parties.
    k = np.zeros(len(obs.casualties))
    w = np.zeros(len(obs.casualties))
    for i in range(len(obs.casualties)):
        a, e = obs.casualty_start[i], min(obs.casualty_end[i], days - 1)
        if e < a:
            continue
        places, parties = obs.casualty_places[i], obs.casualty_parties[i]
        k[i] = record.killed[a:e + 1][:, places][:, :, parties].sum()
        w[i] = record.wounded[a:e + 1][:, places][:, :, parties].sum()

    # Displacement on each row's date.
    disp = np.zeros(len(obs.displacement))
    for i in range(len(obs.displacement)):
        t = min(obs.displacement_day[i], days - 1)
        series = record.displaced_from if obs.displacement_left[i] else record.idps
        disp[i] = series[t, obs.displacement_places[i]].sum()

    return ModelValues(control_offset=offset, control_state=state, unreported_changes=unreported, casualty_killed=k,
                       casualty_wounded=w, displacement=disp)


def control_penalties(offset: np.ndarray, held: np.ndarray, state: np.ndarray | None = None,
                      settings: LossSettings = DEFAULT_SETTINGS) -> np.ndarray:
    """Cost of each control row in [0, 1]: for ``held`` rows 1 unless held (offset not NaN); for the others the
    timing cost of the offset in days (NaN: never) and the state cost (``state`` False: the model's side after
    the date is not the reported one; default: state right unless never changed), weighted by
    ``settings.state_weight``."""
    tol, full = settings.tolerance_days, settings.full_penalty_days
    missed = np.isnan(offset)
    timing = np.where(missed, 1.0,
                      np.clip((np.abs(np.nan_to_num(offset)) - tol) / max(full - tol, 1e-9), 0.0, 1.0))
    wrong_state = missed if state is None else ~np.asarray(state, dtype=bool)
    w = settings.state_weight
    return np.where(held, missed.astype(float), (1 - w) * timing + w * wrong_state)


def log_ratio_cost(model: np.ndarray, reported: np.ndarray, over_count_weight: float) -> np.ndarray:
    """``|ln((model+1)/(reported+1))|``, scaled by ``over_count_weight`` where the model is above."""
    r = np.log((np.asarray(model, float) + 1.0) / (np.asarray(reported, float) + 1.0))
    return np.where(r < 0, -r, over_count_weight * r)


def casualty_penalties(killed: np.ndarray, wounded: np.ndarray, obs: CompiledObservations,
                       settings: LossSettings = DEFAULT_SETTINGS) -> np.ndarray:
    """Cost of each casualty row: the mean of the killed and (where reported) wounded log-ratio costs."""
    ck = log_ratio_cost(killed, obs.casualty_killed, settings.over_count_weight)
    has_w = ~np.isnan(obs.casualty_wounded)
    cw = log_ratio_cost(wounded, np.nan_to_num(obs.casualty_wounded), settings.over_count_weight)
    return np.where(has_w, (ck + cw) / 2, ck)


def relative_difference(model: np.ndarray, reported: np.ndarray, low: np.ndarray | None = None,
                        high: np.ndarray | None = None) -> np.ndarray:
    """``|model - reported| / reported``; where ``low``/``high`` are given (not NaN), the distance to
    ``[low, high]`` over ``reported``."""
    model = np.asarray(model, float)
    reported = np.asarray(reported, float)
    rd = np.abs(model - reported) / reported
    if low is not None and high is not None:
        ranged = ~np.isnan(low)
        dist = np.maximum.reduce([np.nan_to_num(low) - model, model - np.nan_to_num(high), np.zeros_like(model)])
        rd = np.where(ranged, dist / reported, rd)
    return rd


def symmetric_relative_difference(model: np.ndarray, reported: np.ndarray, low: np.ndarray | None = None,
                                  high: np.ndarray | None = None) -> np.ndarray:
    """``|model - target| / max(model, target)`` in [0, 1], where ``target`` is ``reported``, or the nearest
    point of ``[low, high]`` where those are given (not NaN). Half and twice the target cost the same (0.5)."""
    model = np.asarray(model, float)
    target = np.asarray(reported, float)
    if low is not None and high is not None:
        ranged = ~np.isnan(low)
        target = np.where(ranged, np.clip(model, np.nan_to_num(low), np.nan_to_num(high)), target)
    top = np.maximum(model, target)
    return np.divide(np.abs(model - target), top, out=np.zeros_like(model), where=top > 0)


def displacement_penalties(values: np.ndarray, obs: CompiledObservations) -> np.ndarray:
    """Cost of each displacement row: :func:`symmetric_relative_difference`."""
    return symmetric_relative_difference(values, obs.displacement_idps, obs.displacement_low,
                                         obs.displacement_high)


def loss_terms(values: ModelValues, obs: CompiledObservations,
               settings: LossSettings = DEFAULT_SETTINGS) -> dict[str, float]:
    """The loss of one run: ``{"loss": total, "control": ..., "casualties": ..., "displacement": ...}``.

    A kind without rows contributes 0 (its term is reported as NaN).
    """
    out = {}
    n = len(obs.control)
    if n:
        pen = control_penalties(values.control_offset, obs.control_held, values.control_state, settings)
        out["control"] = float((pen.sum() + settings.unreported_change_weight * values.unreported_changes) / n)
    else:
        out["control"] = float("nan")
    out["casualties"] = float(casualty_penalties(values.casualty_killed, values.casualty_wounded, obs,
                                                 settings).mean()) if len(obs.casualties) else float("nan")
    out["displacement"] = float(displacement_penalties(values.displacement, obs).mean()) \
        if len(obs.displacement) else float("nan")
    weights = {"control": settings.weight_control, "casualties": settings.weight_casualties,
               "displacement": settings.weight_displacement}
    out["loss"] = float(sum(weights[k] * out[k] for k in KINDS if not np.isnan(out[k])))
    return {"loss": out["loss"], **{k: out[k] for k in KINDS}}


def run_loss(record: RunRecord, obs: CompiledObservations,
             settings: LossSettings = DEFAULT_SETTINGS) -> dict[str, float]:
    """The loss terms of one recorded run (see :func:`loss_terms`)."""
    return loss_terms(model_values(record, obs), obs, settings)
