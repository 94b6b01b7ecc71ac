"""The app's ensemble mode without a browser: pies, the map's shares, charts with bands, the cache."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

from simulation.app.ensemble import (
    band_chart,
    compute_ensemble,
    ensemble_charts,
    ensemble_key,
    ensemble_map_state,
    pie_paths,
)
from simulation.app.state import cached_scenario, default_settings, observations_for
from simulation.engine.model import ConflictModel


@pytest.fixture(scope="module")
def ens():
    settings = default_settings()
    return compute_ensemble(settings, None, 3, observations_for(cached_scenario(settings["scenario"])))


def test_pie_has_a_wedge_per_side_and_a_whole_circle_for_one():
    wedges = pie_paths(100, 50, 10, np.array([0.25, 0.0, 0.75]), ["a", "b", "c"])
    assert [w["fill"] for w in wedges] == ["a", "c"]
    assert " 0,1 " in wedges[0]["d"] and " 1,1 " in wedges[1]["d"]  # the large-arc flag: over half a circle
    whole = pie_paths(100, 50, 10, np.array([0.0, 1.0]), ["a", "b"])
    assert len(whole) == 1 and whole[0]["d"].count(" a") == 2


def test_the_map_shows_each_places_shares(ens):
    model = ConflictModel(ens.scenario, seed=1)
    day = ens.days - 1
    state = ensemble_map_state(model, ens, day, "mosul")
    share = ens.control_share()[day]
    assert state["day"] == ens.days and state["forces"] == [] and state["moving"] == []
    for k, p in enumerate(state["places"]):
        shown = json.loads(p["shares"])
        assert sum(shown.values()) == pytest.approx(1.0, abs=1e-5)  # each rounded to 6 decimals
        assert shown == {ens.factions[f]: pytest.approx(share[k, f], abs=1e-6) for f in np.flatnonzero(share[k] > 0)}
        assert p["controller"] == ens.factions[int(np.argmax(share[k]))]
        assert len(p["pie"]) == len(shown) and p["shape"] == "pie"
    assert next(p for p in state["places"] if p["id"] == "mosul")["selected"]


def test_a_band_chart_turns_quantiles_into_areas_under_the_medians(ens):
    q = ens.bands()["killed_civilian"]
    spec = band_chart("t", ens, [("civilians", "#d62728", q)])
    assert [s["name"] for s in spec["series"]] == ["civilians"]
    assert spec["series"][0]["values"] == q[2].tolist()
    assert len(spec["bands"]) == 2
    for band in spec["bands"]:
        assert len(re.findall(r"(-?[\d.]+),(-?[\d.]+)", band["d"])) == 2 * ens.days
    charts = dict(ensemble_charts(ens))
    assert {"chart-ensemble-killed", "chart-ensemble-people"} <= set(charts)
    assert charts["chart-ensemble-reported-killed"]["points"], "the reported figures are drawn"


def test_ensembles_are_kept_and_depend_on_their_inputs(ens):
    settings = default_settings()
    obs = observations_for(cached_scenario(settings["scenario"]))
    assert compute_ensemble(settings, None, 3, obs) is ens
    assert ensemble_key(settings, None, 3) != ensemble_key(settings, "no_air_strikes", 3)
    assert ensemble_key(settings, None, 3) != ensemble_key({**settings, "attack_ratio": 0.9}, None, 3)
    assert ensemble_key(settings, None, 3) != ensemble_key(settings, None, 4)
