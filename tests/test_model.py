"""Behaviour of the model a user relies on: control changes, allies, rout, air strikes, conservation, seeds."""

from __future__ import annotations

import numpy as np
import pytest

from simulation.engine.model import LEDGER, ConflictModel
from tests.conftest import TOY, write_scenario


def run(path, seed=1, **params):
    return ConflictModel(path, seed=seed, **params).run()


def controller_of(model, place):
    return model.faction_ids[model.controller[model.world.index[place]]]


def test_strong_attacker_takes_weak_garrison(tmp_path):
    path = write_scenario(tmp_path / "strong", ["base,insurgent,1000", "town,government,20000"], ["base,town,60"],
                          ["insurgent,base,2000,1.2,0.9", "government,town,100,0.8,0.6"])
    m = run(path)
    assert controller_of(m, "town") == "insurgent"
    assert any(e[1] == "control_change" and e[2] == "town" for e in m.log)


def test_weak_attacker_does_not_take_strong_garrison(tmp_path):
    path = write_scenario(tmp_path / "weak", ["base,insurgent,1000", "town,government,20000"], ["base,town,60"],
                          ["insurgent,base,100,1.2,0.9", "government,town,3000,0.8,0.8"])
    for seed in range(5):
        m = run(path, seed=seed)
        town = m.world.index["town"]
        assert (m.rec_control[:, town] == m.faction_index["government"]).all()


def test_allies_never_fight(tmp_path):
    path = write_scenario(tmp_path / "allies", ["a,government,5000", "b,tribal,5000"], ["a,b,40"],
                          ["government,a,500,1,0.8", "tribal,a,300,1,0.8", "tribal,b,300,1,0.8",
                           "government,b,200,1,0.8"])
    m = run(path)
    assert not any(e[1] == "battle" for e in m.log)
    assert m.rec_killed.sum() == 0 and m.rec_wounded.sum() == 0
    # Allies share control: a tribal force alone in a government place does not take it.
    assert controller_of(m, "a") == "government" and controller_of(m, "b") == "tribal"


def test_low_morale_garrison_routs_and_deserters_are_not_dead(tmp_path):
    path = write_scenario(
        tmp_path / "rout", ["base,insurgent,1000", "city,government,100000", "rear,government,1000"],
        ["base,city,50", "city,rear,80"],
        ["insurgent,base,800,1.2,0.9", "government,city,3000,0.7,0.5", "government,rear,100,0.8,0.8"],
        events=["2014-06-01,morale_shock,city,government,0.45,commanders leave,test"],
    )
    # No airlift: the rear, reached only through the city, would otherwise be a besieged place the air force
    # supplies, whose garrison stands instead of routing (tests/test_rules_direction.py tests that rule).
    m = run(path, attack_ratio=0.3, airlift_places=0)
    routs = [e for e in m.log if e[1] == "rout" and e[3].startswith("government")]
    assert routs, "the demoralised garrison should rout (in the city, or at the rear it withdrew to)"
    ledger = m.personnel_balance()["government"]
    assert ledger["deserted"] > 0
    assert ledger["deserted"] > ledger["killed"]  # most of a collapse is desertion, not death
    assert controller_of(m, "city") == "insurgent"


def test_air_strikes_hit_fighters_and_civilians(tmp_path):
    places = ["base,insurgent,50000", "town,government,5000"]
    forces = ["insurgent,base,2000,1,0.9", "government,town,5000,1,0.9"]
    events = ["2014-06-01,air_sorties,,government,20,,test"]
    with_air = run(write_scenario(tmp_path / "air", places, ["base,town,400"], forces, events),
                   sortie_kill_rate=1.0, collateral_rate=1.0, attack_ratio=10)
    strikes = [e for e in with_air.log if e[1] == "air_strike"]
    assert strikes and all(e[2] == "base" for e in strikes)
    ins = with_air.faction_index["insurgent"]
    assert with_air.rec_killed[:, :, ins].sum() + with_air.rec_wounded[:, :, ins].sum() > 0
    assert with_air.rec_killed[:, :, -1].sum() + with_air.rec_wounded[:, :, -1].sum() > 0  # civilians
    without = run(write_scenario(tmp_path / "noair", places, ["base,town,400"], forces), attack_ratio=10)
    assert not any(e[1] == "air_strike" for e in without.log)
    assert without.rec_killed.sum() == 0


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_personnel_is_conserved_every_day(seed):
    m = run(TOY, seed=seed)
    for day in range(m.day):
        led = m.rec_ledger[day]
        inflow = led[LEDGER.index("initial")] + led[LEDGER.index("recruited")] + led[LEDGER.index("reinforced")]
        outflow = led[-1] + led[LEDGER.index("killed")] + led[LEDGER.index("wounded")] + led[LEDGER.index("deserted")]
        np.testing.assert_array_equal(inflow, outflow, err_msg=f"day {day}")
        assert (led >= 0).all()
    # Recorded casualties by place agree with the ledger.
    for f in range(len(m.faction_ids)):
        assert m.rec_killed[:, :, f].sum() == m.ledger["killed"][f]
        assert m.rec_wounded[:, :, f].sum() == m.ledger["wounded"][f]


def test_present_share_scales_the_starting_strength():
    m = ConflictModel(TOY, seed=1)
    gov = m.faction_index["government"]
    # North City's division: 10,000 on paper, 40 % present.
    north = m.world.index["north_city"]
    rows = np.flatnonzero((m.units.loc[: m.units.n] == north) & (m.units.faction[: m.units.n] == gov))
    assert m.units.personnel[rows].sum() == 4000
    assert m.nominal[gov] > m.ledger["initial"][gov]


def test_same_seed_same_numbers_and_different_seeds_differ():
    a, b, c = run(TOY, seed=5), run(TOY, seed=5), run(TOY, seed=6)
    for name in ("rec_control", "rec_present", "rec_killed", "rec_wounded", "rec_population"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    assert a.log == b.log
    assert not (np.array_equal(a.rec_killed, c.rec_killed) and np.array_equal(a.rec_present, c.rec_present))


def test_units_are_mesa_agents_reflecting_the_table():
    from simulation.engine.commands import FactionCommand
    from simulation.engine.units import ForceUnit

    m = ConflictModel(TOY, seed=1)
    units = m.agents_by_type[ForceUnit]
    assert len(units) == 10
    assert len(m.agents_by_type[FactionCommand]) == 4
    total = sum(u.personnel for u in units)
    assert total == m.ledger["initial"].sum()
    m.run()
    alive = m.agents_by_type[ForceUnit]
    assert sum(u.personnel for u in alive) == m.rec_ledger[-1, -1].sum()
    assert all(u.personnel > 0 for u in alive)


def test_days_argument_and_parameters_as_keywords():
    m = ConflictModel(TOY, seed=1, days=4, attack_ratio=2.5)
    m.run()
    assert m.day == 4 and m.p["attack_ratio"] == 2.5
    assert m.dates()[-1] == "2014-06-04"


def test_columns_do_not_pass_through_enemy_held_places(tmp_path):
    # The government's only road from its base to the threatened town runs through an insurgent-held village:
    # a relief column must not march through it and "take" it in passing.
    path = write_scenario(
        tmp_path / "detour",
        ["base,government,100000", "village,insurgent,1000", "town,government,5000", "camp,insurgent,10"],
        ["base,village,30", "village,town,30", "town,camp,30"],
        ["government,base,5000,1,0.9", "government,town,50,0.8,0.9", "insurgent,camp,400,1.2,0.9"],
    )
    m = ConflictModel(path, seed=1, days=6)
    days, next_hop = m.routes_for(m.coalition_of[m.faction_index["government"]])
    base, village, town = (m.world.index[p] for p in ("base", "village", "town"))
    assert next_hop[base, town] == -1 and np.isinf(days[base, town])  # no way through
    assert next_hop[base, village] == village  # but the village itself may be attacked
    m.run()
    assert not any(e[1] == "control_change" and e[2] == "village" for e in m.log)


def test_sleeper_cells_wait_for_the_offensive(tmp_path):
    # The cells rise when the column from the base (strong enough to attack) arrives on the offensive's first day.
    path = write_scenario(
        tmp_path / "sleepers", ["city,government,200000,0.8", "base,insurgent,1000"], ["city,base,80"],
        ["government,city,200,0.7,0.5", "insurgent,city,600,1.2,0.9", "insurgent,base,500,1,0.9"],
        events=["2014-06-05,offensive,,insurgent,1,,test"],
    )
    m = ConflictModel(path, seed=1).run()
    first_battle = min(e[0] for e in m.log if e[1] == "battle")
    assert first_battle == "2014-06-05"
    assert any(e[0] == "2014-06-05" and e[1] == "uprising" and e[2] == "city" for e in m.log)
    city = m.world.index["city"]
    assert (m.rec_control[:4, city] == m.faction_index["government"]).all()


def test_a_finished_model_can_be_garbage_collected():
    # Sweeps and calibration run thousands of models in one process: none may be kept alive.
    import gc
    import weakref

    refs = [weakref.ref(run(TOY, seed=s)) for s in range(3)]
    gc.collect()
    assert all(r() is None for r in refs)


def test_wounded_civilians_stay_in_the_population(tmp_path):
    places = ["base,insurgent,50000", "town,government,5000"]
    forces = ["insurgent,base,2000,1,0.9", "government,town,5000,1,0.9"]
    events = ["2014-06-01,air_sorties,,government,20,,test"]
    m = run(write_scenario(tmp_path / "air", places, ["base,town,400"], forces, events),
            collateral_rate=3.0, attack_ratio=10)
    killed, wounded = m.rec_killed[:, :, -1].sum(), m.rec_wounded[:, :, -1].sum()
    assert killed > 0 and wounded > 0
    c = m.civilians
    assert c.killed.sum() == killed
    assert c.residents.sum() + c.total_displaced + killed == c.initial.sum()


def test_forces_from_abroad_enter_at_a_crossing_even_if_the_enemy_holds_it(tmp_path):
    # Elsewhere a reinforcement for an enemy-held place arrives at the nearest place its side holds.
    path = write_scenario(
        tmp_path / "crossing", ["capital,government,100000", "border,government,0", "den,insurgent,1000"],
        ["capital,border,100", "capital,den,100"],
        ["government,capital,5000,1,0.9", "government,border,100,0.8,0.8", "insurgent,den,50,1,0.9"],
        events=["2014-06-03,reinforcement,border,insurgent,800,from abroad,test",
                "2014-06-03,reinforcement,capital,insurgent,300,cannot land in the capital,test"],
    )
    places = path / "places.csv"
    places.write_text(places.read_text().replace("Border,town", "Border,crossing"))
    m = ConflictModel(path, seed=1, days=5).run()
    arrivals = {e[3].split()[0]: e[2] for e in m.log if e[1] == "reinforcement"}
    assert arrivals == {"800": "border", "300": "den"}
    assert any(e[1] == "battle" and e[2] == "border" for e in m.log) or controller_of(m, "border") == "insurgent"
