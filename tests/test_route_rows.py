"""The sides' routes read row by row, searched on demand above the size threshold (issue 21, part 3).

Above ``DENSE_MOST_PLACES`` places a coalition's routes are not kept as (n, n) matrices: the rules ask for the rows
they read (the travel days from a place, the days and next hops toward a destination), each searched when first
asked for into a fixed number of rows reused in turn (:class:`simulation.rules.routing.RouteRows`). These tests
check what a user relies on: the rows asked for are the dense routes' (within the bound asked for), however few
rows are kept; the world's routes read above the threshold are the dense ones; and a run forced onto that path
conserves people and personnel, gives the same numbers for the same seed and, whatever the rows kept, the same run.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from simulation import world as world_module
from simulation.civilians import displacement
from simulation.engine.model import ConflictModel
from simulation.generate import generate_theatre
from simulation.rules.routing import (
    forward_row,
    known_days,
    routes_by_destination,
    rows_on_demand,
    toward_row,
)
from simulation.rules.state import LEDGER
from simulation.scenario import load_scenario
from simulation.world import World

DAYS = 20


@pytest.fixture(scope="module")
def theatre(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return generate_theatre(tmp_path_factory.mktemp("rows") / "t", 150, days=DAYS, seed=5)


@pytest.fixture(scope="module")
def world(theatre: Path) -> World:
    scenario = load_scenario(theatre)
    return World(scenario, dict(scenario.parameters))


def _dense(world: World, hostile: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The coalition's routes by destination, [destination, place], as the dense path computes them."""
    n = world.n
    days_t, next_t = np.empty((n, n)), np.empty((n, n), dtype=np.int32)
    routes_by_destination(world.road_km, world._road_days, world.open_road, hostile, np.zeros(n, dtype=bool),
                          days_t, next_t, edges=world.edges)
    return days_t, next_t


@pytest.mark.parametrize("max_bytes", [0, 2**30])  # three rows of each kind (reused in turn), or every row
def test_rows_on_demand_are_the_dense_routes(world, max_bytes):
    rng = np.random.default_rng(11)
    n = world.n
    for _ in range(3):
        hostile = rng.random(n) < 0.3
        days_t, next_t = _dense(world, hostile)
        rows = rows_on_demand(world.edges, world._road_days, world.open_road, hostile, np.zeros(n, dtype=bool),
                              max_bytes)
        assert rows.fw_days.shape[0] == (3 if max_bytes == 0 else n)
        for d in rng.permutation(n)[:60].tolist():
            days, hops = toward_row(rows, d)  # the search the dense path runs toward d: the same, bit for bit
            np.testing.assert_array_equal(days, days_t[d])
            np.testing.assert_array_equal(hops, next_t[d])
        for p in rng.permutation(n)[:60].tolist():
            limit = float(rng.choice([0.3, 1.0, 3.0]))
            within = days_t[:, p] <= limit
            row = forward_row(rows, p, limit).copy()  # searched from p: the same days to rounding
            np.testing.assert_allclose(row[within], days_t[within, p], rtol=1e-12)
            assert np.isinf(row[~within & (days_t[:, p] > limit * (1 + 1e-9))]).all()
            whole = forward_row(rows, p, np.inf)
            np.testing.assert_allclose(whole, days_t[:, p], rtol=1e-12)
            q = int(rng.integers(n))
            assert known_days(rows, p, q) == pytest.approx(days_t[q, p], rel=1e-12) or \
                np.isinf(days_t[q, p]) and np.isinf(known_days(rows, p, q))


def test_the_readers_read_the_dense_matrices_as_they_are(world):
    hostile = np.random.default_rng(2).random(world.n) < 0.3
    days, hops = world.routes_avoiding(hostile)
    for p in (0, 7, world.n - 1):
        np.testing.assert_array_equal(forward_row((days, hops), p, 0.5), days[p])  # no bound: every row is whole
        np.testing.assert_array_equal(toward_row((days, hops), p)[0], days[:, p])
        np.testing.assert_array_equal(toward_row((days, hops), p)[1], hops[:, p])
        assert known_days((days, hops), p, 3) == days[p, 3]


def test_the_worlds_routes_above_the_threshold_are_the_dense_ones(theatre, world):
    scenario = load_scenario(theatre)
    above = World(scenario, dict(scenario.parameters), dense_most_places=10)
    assert world.dense and not above.dense
    np.testing.assert_array_equal(above.next_hop, world.next_hop)
    np.testing.assert_array_equal(above.distance_km, world.distance_km)
    assert above.travel_days.size == 0  # not kept: searched a row at a time
    for at in (0, 33, world.n - 1):
        np.testing.assert_allclose(above.travel_days_from(at), world.travel_days[at], rtol=1e-12)
        np.testing.assert_array_equal(world.travel_days_from(at), world.travel_days[at])


def _run(theatre: Path, dense_most_places: int, days: int = DAYS) -> ConflictModel:
    displacement.ROUTE_CACHE.clear()
    world_module.ROUTE_CACHE.clear()
    return ConflictModel(theatre, seed=2, days=days, dense_most_places=dense_most_places).run()


def _numbers(model: ConflictModel) -> list[np.ndarray]:
    civ = model.civilians
    return [civ.residents_by_origin, civ.cohort_by_origin, civ._fleeing, civ._returning, np.asarray(model.controller),
            model.rec_present, model.rec_killed, model.rec_ledger]


def test_routes_on_demand_conserve_people_and_personnel_every_day(theatre, monkeypatch):
    made = []
    route_rows = World.route_rows
    monkeypatch.setattr(World, "route_rows", lambda self, *a: made.append(route_rows(self, *a)) or made[-1])
    model = ConflictModel(theatre, seed=2, days=DAYS, dense_most_places=10)
    assert not model.state.world.dense
    for day in range(DAYS):
        model.step()
        assert model.civilians.balance() == 0, f"day {day}"
        led = model.rec_ledger[day]
        inflow = led[LEDGER.index("initial")] + led[LEDGER.index("recruited")] + led[LEDGER.index("reinforced")]
        outflow = led[-1] + led[LEDGER.index("killed")] + led[LEDGER.index("wounded")] + led[LEDGER.index("deserted")]
        np.testing.assert_array_equal(inflow, outflow, err_msg=f"day {day}")
    assert sum(int(r.clock[2]) for r in made) > 0 and sum(int(r.clock[3]) for r in made) > 0  # searched on demand
    assert len(model.log) > 0


def test_routes_on_demand_same_seed_same_run_whatever_the_rows_kept(theatre, monkeypatch):
    a, b = _run(theatre, 10), _run(theatre, 10)
    for x, y in zip(_numbers(a), _numbers(b)):
        np.testing.assert_array_equal(x, y)
    assert a.log == b.log
    monkeypatch.setattr(world_module, "ROUTE_ROWS_BYTES", 0)  # three rows of each kind, reused in turn
    few = _run(theatre, 10)
    assert few.state.routes.rows(0).fw_days.shape[0] == 3
    for x, y in zip(_numbers(a), _numbers(few)):
        np.testing.assert_array_equal(x, y)
    assert a.log == few.log


def test_a_huge_threshold_forces_the_dense_routes(theatre):
    model = ConflictModel(theatre, seed=2, days=2, dense_most_places=10**9)
    assert model.state.world.dense and model.state.world.travel_days.shape == (model.state.world.n,) * 2
    days, hops = model.state.routes.rows(0)  # the matrices themselves
    assert days.shape == hops.shape == (model.state.world.n,) * 2
