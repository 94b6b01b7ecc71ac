"""The structures that let large theatres fit in memory give the numbers of the plain ones (issue 21).

Each test runs a small generated theatre twice, once as shipped and once with a structure forced into the shape it
takes on a large theatre (a pool of people on the road that has to grow, a cache of choices too small for every
pair), and asks for the same run: same civilians by origin and place, same people on the road, same control.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from simulation.civilians import displacement, travel
from simulation.engine.model import ConflictModel
from simulation.generate import generate_theatre


@pytest.fixture(scope="module")
def theatre(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return generate_theatre(tmp_path_factory.mktemp("scale") / "t", 150, days=25, seed=4)


def _run(theatre: Path) -> tuple[ConflictModel, list[np.ndarray]]:
    displacement.ROUTE_CACHE.clear()
    model = ConflictModel(theatre, seed=3, days=25).run()
    civ = model.civilians
    return model, [civ.residents_by_origin, civ.cohort_by_origin, civ.cohort_days, civ._fleeing, civ._returning,
                   civ.fleeing_days, civ.returning_days, civ.within_by_origin, civ.killed_by_origin,
                   np.asarray(model.controller)]


def _assert_same(a: list[np.ndarray], b: list[np.ndarray]) -> None:
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)


def test_a_pool_of_people_on_the_road_that_grows_gives_the_same_run(theatre, monkeypatch):
    model, shipped = _run(theatre)
    assert model.civilians.on_road_entries > 0  # people were on the road at the end
    monkeypatch.setattr(displacement, "ROAD_POOL_ENTRIES", 1)  # the pools double from one entry
    grown, small = _run(theatre)
    _assert_same(shipped, small)
    assert grown.civilians._packed_fleeing[1].shape[0] > 1
    assert grown.civilians.balance() == 0


def test_a_cache_of_choices_shared_between_pairs_gives_the_same_run(theatre, monkeypatch):
    _, shipped = _run(theatre)
    monkeypatch.setattr(travel, "CHOICE_CACHE_BYTES", 200)  # a few rows for every (place, origin) pair
    _, shared = _run(theatre)
    _assert_same(shipped, shared)
