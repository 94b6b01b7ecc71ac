"""simulation.ema: the model wrapped for EMA Workbench runs the model with the parameters EMA samples."""

from __future__ import annotations

import math

import pytest

ema_workbench = pytest.importorskip("ema_workbench", reason="EMA Workbench is not installed here "
                                   "(pip install 'conflict-sim[ema]'; it needs Python >= 3.9)")

from simulation.ema import ema_model  # noqa: E402
from simulation.engine.model import ConflictModel  # noqa: E402
from simulation.parameters import PARAMETERS  # noqa: E402
from simulation.runs.outcomes import run_outcomes  # noqa: E402
from simulation.scenario import load_scenario  # noqa: E402


def test_uncertainties_are_the_registrys_bounds_and_outcomes_the_runs():
    model = ema_model("iraq_june_2014")
    scenario = load_scenario("iraq_june_2014")
    assert {u.name: (u.lower_bound, u.upper_bound) for u in model.uncertainties} == \
        {n: (PARAMETERS[n].low, PARAMETERS[n].high) for n in scenario.fit_bounds}
    names = [o.name for o in model.outcomes]
    assert "fell_day_mosul" in names and "held_baiji_refinery" in names and "displaced" in names
    assert [c.name for c in model.constants] == ["seed"]
    with pytest.raises(KeyError, match="unknown parameter 'no_such'"):
        ema_model("toy", parameters=["no_such"])


def test_perform_experiments_runs_the_model_with_the_sampled_parameters():
    model = ema_model("toy", parameters=["attack_ratio", "recruit_rate"], seeds=(1, 5), days=8)
    experiments, outcomes = ema_workbench.perform_experiments(model, scenarios=4)
    assert len(experiments) == 4 and set(outcomes) == {o.name for o in model.outcomes}
    scenario = load_scenario("toy")
    for i, row in experiments.iterrows():
        assert PARAMETERS["attack_ratio"].low <= row["attack_ratio"] <= PARAMETERS["attack_ratio"].high
        again = ConflictModel(scenario, seed=int(row["seed"]), days=8, attack_ratio=row["attack_ratio"],
                              recruit_rate=row["recruit_rate"]).run()
        for name, value in run_outcomes(again, model.function.places).items():
            got = outcomes[name][i]
            assert (math.isnan(got) and value is None) or got == float(value), name
