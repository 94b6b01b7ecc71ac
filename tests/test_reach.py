"""The commands' reach (``orders._reach_of``): which places each unit reaches, and the discount of a target's score by
the travel days there, ``exp(-days / mobility / reach_days)``, taken by NumPy only where the orders read it (in
reach, or within a day for the occupations) must be what the exponential of every place gives there."""

from __future__ import annotations

import numpy as np
import pytest

from simulation.engine.model import ConflictModel
from simulation.generate import generate_theatre
from simulation.rules import orders, routing
from simulation.scenario import load_scenario


def _standing_units(model: ConflictModel):
    """Each faction with live units standing at a place: ``(faction, rows, places)``."""
    u = model.state.units
    for faction in range(model.state.sides.coalition_of.size):
        rows = np.flatnonzero((u.faction[: u.n] == faction) & u.alive[: u.n] & (u.next[: u.n] < 0))
        if rows.size:
            yield faction, rows, u.loc[rows].astype(np.int64)


@pytest.mark.parametrize("reach_days", [0.5, 3.0])
@pytest.mark.parametrize("tribal", [False, True])
def test_the_discount_is_the_exponential_where_it_is_read(tmp_path, reach_days, tribal):
    scenario = load_scenario(generate_theatre(tmp_path / "t", 120, days=6, seed=4))
    model = ConflictModel(scenario, seed=2, days=6)
    model.step()
    state, u = model.state, model.state.units
    params = dict(model.p, reach_days=reach_days)
    checked = 0
    for faction, rows, loc in _standing_units(model):
        (in_reach, decay, row), eff, days = orders._reach_of(state, faction, rows, loc, params, tribal)
        whole = np.empty((loc.size, state.world.n))
        routing.forward_rows(days, loc, np.inf, whole)  # the travel days from each unit's place, complete
        t = whole / float(state.sides.mobility[faction])  # by unit
        near_home = state.world.distance_km[u.home[rows]] <= params["tribal_home_radius_km"]
        want_in = (t <= reach_days) & ((not tribal) | near_home)
        np.testing.assert_array_equal(in_reach[row], want_in.astype(float))
        read = want_in | (t <= 1.0)  # in reach, or within a day (the occupations)
        np.testing.assert_array_equal(decay[row][read], np.exp(-t / reach_days)[read])
        np.testing.assert_array_equal(eff, u.personnel[rows] * u.quality[rows] * u.morale[rows])
        checked += int(read.sum())
    assert checked > 0


def _end_state(model: ConflictModel) -> list[np.ndarray]:
    civ = model.civilians
    return [model.state.controller.copy(), civ.cohort_by_origin.copy(), civ.cohort_days.copy(), civ.residents.copy(),
            model.state.presence.personnel.copy()]


@pytest.mark.parametrize("tribal", [False, True])
def test_the_reach_as_lists_reads_as_the_arrays(tmp_path, monkeypatch, tribal):
    """Above the size threshold the reach is kept as booleans and the discount as lists by row
    (``orders.SparseDecay``): every entry the readers see is the arrays' own."""
    monkeypatch.setattr(orders, "REACH_LISTS_ABOVE_BYTES", 0)  # lists at any size above the threshold of places
    scenario = load_scenario(generate_theatre(tmp_path / "t", 120, days=6, seed=4))
    model = ConflictModel(scenario, seed=2, days=6, dense_most_places=10)
    model.step()
    state = model.state
    checked = 0
    for faction, rows, loc in _standing_units(model):
        monkeypatch.setattr(orders, "REACH_AS_LISTS", False)
        (in_a, decay_a, row_a), eff_a, _ = orders._reach_of(state, faction, rows, loc, model.p, tribal)
        monkeypatch.setattr(orders, "REACH_AS_LISTS", True)
        (in_l, decay_l, row_l), eff_l, _ = orders._reach_of(state, faction, rows, loc, model.p, tribal)
        assert in_l.dtype == np.bool_ and isinstance(decay_l, orders.SparseDecay)
        np.testing.assert_array_equal(row_l, row_a)
        np.testing.assert_array_equal(eff_l, eff_a)
        np.testing.assert_array_equal(in_l, in_a > 0)
        assert orders.decay_rows(decay_l) == decay_a.shape[0]
        scratch = np.zeros(state.world.n)
        for j in range(decay_a.shape[0]):
            np.testing.assert_array_equal(orders.decay_row(decay_l, j, scratch), decay_a[j])
            orders.decay_done(decay_l, j, scratch)
            assert not scratch.any()
            for q in np.flatnonzero(decay_a[j])[:5].tolist() + [0, state.world.n - 1]:
                assert orders.decay_at(decay_l, j, q) == decay_a[j, q]
        v = np.random.default_rng(faction).random(decay_a.shape[0])
        monkeypatch.setattr(orders, "PRODUCT_BLOCK_BYTES", 8 * 7 * max(1, in_l.shape[0]))  # blocks of 64 columns
        np.testing.assert_array_equal(orders._product_by_columns(v, in_l), v @ in_a)
        checked += decay_a.shape[0]
    assert checked > 0


def test_the_reach_as_lists_gives_the_same_run(tmp_path, monkeypatch):
    """A theatre forced above the size threshold runs the same war with the reach kept as lists or as arrays."""
    monkeypatch.setattr(orders, "REACH_LISTS_ABOVE_BYTES", 0)  # lists at any size above the threshold of places
    scenario = load_scenario(generate_theatre(tmp_path / "t", 150, days=12, seed=3))
    ends = []
    for lists in (True, False):
        monkeypatch.setattr(orders, "REACH_AS_LISTS", lists)
        ends.append(_end_state(ConflictModel(scenario, seed=1, days=12, dense_most_places=10).run()))
    for a, b in zip(*ends):
        np.testing.assert_array_equal(a, b)
