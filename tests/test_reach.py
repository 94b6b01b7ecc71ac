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


@pytest.mark.parametrize("reach_days", [0.5, 3.0])
@pytest.mark.parametrize("tribal", [False, True])
def test_the_discount_is_the_exponential_where_it_is_read(tmp_path, reach_days, tribal):
    scenario = load_scenario(generate_theatre(tmp_path / "t", 120, days=6, seed=4))
    model = ConflictModel(scenario, seed=2, days=6)
    model.step()
    state, u = model.state, model.state.units
    params = dict(model.p, reach_days=reach_days)
    checked = 0
    for faction in range(state.sides.coalition_of.size):
        rows = np.flatnonzero((u.faction[: u.n] == faction) & u.alive[: u.n] & (u.next[: u.n] < 0))
        if rows.size == 0:
            continue
        loc = u.loc[rows].astype(np.int64)
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
