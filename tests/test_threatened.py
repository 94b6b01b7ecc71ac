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


def test_the_threat_is_that_of_the_strengths_when_first_asked_for(tmp_path):
    # The commands' estimates are kept until presence changes: a threat first asked for by ``threatened`` (which
    # keeps only its terms) and then by ``threat_to`` is the threat as it stood at the first question, even if
    # strengths changed in between (morale does, before routing units pick where to go).
    scenario = load_scenario(generate_theatre(tmp_path / "t", 120, days=8, seed=4))
    model = ConflictModel(scenario, seed=2, days=8)
    state, u = model.state, model.state.units
    coalitions = state.sides.hostile.shape[0]
    changed = 0
    for _ in range(8):
        model.step()
        morale = u.morale.copy()
        movement.update_presence(state)
        masks = [orders.threatened(state, c) for c in range(coalitions)]
        u.morale[:] = morale * 0.5  # every strength halves
        u.morale[::3] = 0.0  # and a third of the units threaten nobody
        kept = [orders.threat_to(state, c).copy() for c in range(coalitions)]
        u.morale[:] = morale
        movement.update_presence(state)  # the estimates start afresh, from the strengths as they were
        for c in range(coalitions):
            fresh = orders.threat_to(state, c)
            np.testing.assert_array_equal(kept[c], fresh)
            np.testing.assert_array_equal(masks[c], fresh > 0)
        movement.update_presence(state)
        u.morale[:] = morale * 0.5
        u.morale[::3] = 0.0
        changed += sum(int((orders.threat_to(state, c) != kept[c]).sum()) for c in range(coalitions))
        u.morale[:] = morale
    assert changed > 0  # the halved strengths do give other threats: the test would see a threat worked out late
