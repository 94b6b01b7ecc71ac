"""``orders.threatened``: whether any hostile strength reaches a place within a day, told without the product of
strengths and reach, is exactly where the threat (that product) is positive."""

from __future__ import annotations

import numpy as np

from simulation.engine.model import ConflictModel
from simulation.generate import generate_theatre
from simulation.rules import movement, orders
from simulation.scenario import load_scenario


def test_threatened_is_where_the_threat_is_positive(tmp_path):
    scenario = load_scenario(generate_theatre(tmp_path / "t", 120, days=12, seed=4))
    model = ConflictModel(scenario, seed=2, days=12)
    state = model.state
    coalitions = state.sides.hostile.shape[0]
    seen = 0
    for _ in range(12):
        model.step()
        movement.update_presence(state)  # the estimates start afresh: threatened works the mask out itself
        told = [orders.threatened(state, c) for c in range(coalitions)]
        for c in range(coalitions):
            want = orders.threat_to(state, c) > 0
            np.testing.assert_array_equal(told[c], want)
            np.testing.assert_array_equal(orders.threatened(state, c), want)  # now from the threat kept
            seen += int(want.sum())
    assert seen > 0  # some places were threatened: the comparison was not only of empty masks
