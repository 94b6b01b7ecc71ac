"""``conflict-sim import-flee`` and ``conflict-sim replay --totals`` on small FLEE-format cases written here (no
FLEE or FabFlee needed); the expected numbers are worked out by hand in the comments."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from benchmarks import flee_suite as fs
from simulation.cli import main
from simulation.flee_case import read_flee_case
from simulation.flee_import import import_flee
from simulation.flee_replay import read_flee_inputs, read_move_chance, read_replay_settings, run_flee_replay
from simulation.scenario import ScenarioError, load_scenario

# A conflict zone and a town at home, a camp abroad, 10 km apart each; the border is closed on days 0 and 1
# (FLEE closes it on day 0 and reopens it on day 2). UNHCR's total: 100 on day 0, 600 on day 5, so 100, 200, ...,
# 600 a day (linear) and FLEE injects 0 on day 0 (the camps are filled) and 100 a day after. The camp's
# figures: 50 on day 0, 300 on day 5: 50, 100, 150, 200, 250, 300.
CASE = {
    "input_csv/locations.csv": "#name,region,country,latitude,longitude,location_type,conflict_date,population\n"
                               "Kaga Bandoro,North,Home,1.0,2.0,conflict_zone,0,1000\n"
                               "Mid-Town,North,Home,1.1,2.1,town,,500\n"
                               "Camp Nord,Over,Away,1.2,2.2,camp,,1000\n",
    "input_csv/routes.csv": "#name1,name2,distance,forced_redirection\nKaga Bandoro,Mid-Town,10,\n"
                            "Mid-Town,Camp Nord,10,\n",
    "input_csv/closures.csv": "#closure_type,name1,name2,closure_start,closure_end\ncountry,Home,Away,0,2\n",
    "input_csv/sim_period.csv": "StartDate,2020-01-01\nLength,6\n",
    "input_csv/conflicts.csv": "#Day,Kaga Bandoro\n" + "".join(f"{t},1\n" for t in range(6)),
    "input_csv/registration_corrections.csv": "",
    "source_data/data_layout.csv": "total,total.csv\nCamp Nord,camp.csv\n",
    "source_data/total.csv": "2020-01-01,100\n2020-01-06,600\n",
    "source_data/camp.csv": "2020-01-01,50\n2020-01-06,300\n",
}
# 20 km of road in a quarter-day; camps only, and never full (capacity 10 x 1,000).
FAST = {"flight_speed_km": 300.0, "destination_base_attraction": 0.0, "host_capacity_share": 10.0}


def write_case(root: Path, **changes: str) -> Path:
    for rel, text in {**CASE, **changes}.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text, encoding="utf-8")
    return root


def rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


@pytest.fixture
def scenario_dir(tmp_path):
    return import_flee(write_case(tmp_path / "tiny"), tmp_path / "scenario")


def test_converter_keeps_names_places_roads_closures_and_series(scenario_dir):
    s = load_scenario(scenario_dir)
    assert s.place_ids == ("Kaga Bandoro", "Mid-Town", "Camp Nord")  # FLEE's names, exactly
    assert [(r.a, r.b, r.km) for r in s.roads] == [("Kaga Bandoro", "Mid-Town", 10), ("Mid-Town", "Camp Nord", 10)]
    assert s.days == 6 and str(s.start_date) == "2020-01-01"
    places = {r["id"]: r for r in rows(scenario_dir / "flee_places.csv")}
    assert places["Camp Nord"]["kind"] == "camp" and places["Camp Nord"]["capacity"] == "1000"
    assert places["Camp Nord"]["country"] == "Away" and places["Kaga Bandoro"]["kind"] == "origin"
    assert [p.refuge for p in s.places] == [0, 0, 1]  # camps pull the displaced
    # The country closure closes the one road between Home and Away on day 0 and opens it on day 2.
    assert [(str(e.date), e.kind, e.place) for e in s.events] == [
        ("2020-01-01", "road_blocked", "Mid-Town|Camp Nord"), ("2020-01-03", "road_opened", "Mid-Town|Camp Nord")]
    obs = [int(r["refugees"]) for r in rows(scenario_dir / "flee_observations.csv")]
    assert obs == [50, 100, 150, 200, 250, 300]
    totals = rows(scenario_dir / "flee_totals.csv")
    assert [int(r["total"]) for r in totals] == [100, 200, 300, 400, 500, 600]
    assert [int(r["injected"]) for r in totals] == [0, 100, 100, 100, 100, 100]
    conflicts = rows(scenario_dir / "flee_conflicts.csv")
    assert {r["place"] for r in conflicts} == {"Kaga Bandoro"} and len(conflicts) == 6
    assert float(conflicts[0]["spawn_weight"]) == 1000  # population x intensity 1 x decay 1
    inputs = read_flee_inputs(s)
    assert inputs.camps.tolist() == [2] and inputs.injected.tolist() == [0, 100, 100, 100, 100, 100]


def test_injected_totals_fill_the_camp_once_the_border_opens(scenario_dir):
    m = run_flee_replay(scenario_dir, "injected", overrides=FAST)
    camp = m.records.idps[:, 2]
    # Day 0: the camp's 50 pre-placed. Day 1: 100 injected at Kaga Bandoro, but the only road to the camp is
    # closed: they wait at home. Day 2 (open): those 100 and the day's 100 reach the camp: 250; then +100 a day.
    assert camp.tolist() == [50, 50, 250, 350, 450, 550]
    assert m.civilians.balance() == 0
    sim, data = camp[:, None].astype(float), read_flee_case(scenario_dir.parent / "tiny").data.camps
    # |sim - data| / data a day: 0, 50/100, 100/150, 150/200, 200/250, 250/300; mean (0 + .5 + .666667 + .75 + .8
    # + .833333) / 6 = 0.591667. One camp: rescaling to the data's total makes it exact.
    assert fs.averaged_relative_difference(sim, data) == pytest.approx(3.55 / 6, abs=1e-6)
    assert fs.rescaled_relative_difference(sim, data) == 0


def test_generated_flight_uses_no_unhcr_figure(scenario_dir):
    m = run_flee_replay(scenario_dir, "generated", overrides=FAST)
    camp = m.records.idps[:, 2]
    assert camp[0] == 0 and camp[1] == 0  # nobody pre-placed; the border is closed on days 0 and 1
    assert camp[-1] > 0  # the conflict drives people out once it opens
    assert m.civilians.displaced_from[0] > 0 and m.civilians.balance() == 0
    # Its numbers do not depend on UNHCR's: double every figure and the run is the same.
    (scenario_dir / "flee_totals.csv").write_text((scenario_dir / "flee_totals.csv").read_text().replace(
        ",100,", ",200,"), encoding="utf-8")
    assert np.array_equal(run_flee_replay(scenario_dir, "generated", overrides=FAST).records.idps, m.records.idps)


def test_cli_converts_replays_and_the_run_directory_scores(tmp_path, capsys):
    case = write_case(tmp_path / "tiny")
    scen, run = tmp_path / "s", tmp_path / "run"
    assert main(["import-flee", str(case), "--out", str(scen)]) == 0
    assert main(["replay", str(scen), "--totals", "injected", "--out", str(run), "--no-plots",
                 "--set", "flight_speed_km=300", "--set", "destination_base_attraction=0"]) == 0
    table = fs.read_camp_table(run / "displacement.csv", read_flee_case(case))
    assert table.counts[:, 0].tolist() == [50, 50, 250, 350, 450, 550]
    assert main(["replay", str(scen), "--totals", "generated", "--out", str(tmp_path / "gen"), "--no-plots"]) == 0
    assert main(["replay", str(scen), "--out", str(tmp_path / "x")]) == 2  # neither --events nor --totals
    assert "--events FILE is required" in capsys.readouterr().err


@pytest.mark.parametrize("rel,text,expected", [
    ("input_csv/routes.csv", "#name1,name2,distance\nKaga Bandoro,Nowhere,10\n", "routes.csv, row 2"),
    ("input_csv/closures.csv", "#closure_type,name1,name2,closure_start,closure_end\ncountry,Home,Atlantis,0,2\n",
     "closures.csv, row 2"),
    ("source_data/data_layout.csv", "total,total.csv\n", "Camp Nord"),  # a camp with no data
])
def test_bad_rows_one_line_exit_2_nothing_written(tmp_path, capsys, rel, text, expected):
    case = write_case(tmp_path / "bad", **{rel: text})
    out = tmp_path / "scenario"
    assert main(["import-flee", str(case), "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and expected in err[0], err
    assert not out.exists() and [p.name for p in tmp_path.iterdir()] == ["bad"]


def test_place_names_only_where_the_scenario_asks(scenario_dir):
    toml = scenario_dir / "scenario.toml"
    text = toml.read_text(encoding="utf-8")
    toml.write_text(text.replace('place_ids = "names"\n', ""), encoding="utf-8")
    with pytest.raises(ScenarioError, match=r"places.csv, row 2, field 'id': 'Kaga Bandoro' is not an id "
                       r"\(lowercase letters, digits and _\)"):
        load_scenario(scenario_dir)
    toml.write_text(text.replace('place_ids = "names"', 'place_ids = "any"'), encoding="utf-8")
    with pytest.raises(ScenarioError, match=r"field 'scenario.place_ids': 'any' is not one of ids, names"):
        load_scenario(scenario_dir)
    toml.write_text(text, encoding="utf-8")
    places = scenario_dir / "places.csv"
    places.write_text(places.read_text(encoding="utf-8").replace("Mid-Town,Mid-Town", "Mid|Town,Mid-Town", 1),
                      encoding="utf-8")
    with pytest.raises(ScenarioError, match=r"row 3, field 'id': 'Mid\|Town' is not a place name"):
        load_scenario(scenario_dir)


def test_a_camp_no_road_reaches_is_kept_in_a_converted_case(tmp_path):
    locations = CASE["input_csv/locations.csv"] + "Far Camp,Over,Away,5,5,camp,,10\n"
    case = write_case(tmp_path / "c", **{"input_csv/locations.csv": locations,
                                         "source_data/data_layout.csv": "total,total.csv\nCamp Nord,camp.csv\n"
                                         "Far Camp,far.csv\n", "source_data/far.csv": "2020-01-01,5\n"})
    s = load_scenario(import_flee(case, tmp_path / "s"))
    assert "Far Camp" in s.place_ids
    m = run_flee_replay(s, "injected", overrides=FAST)
    assert m.records.idps[:, 3].tolist() == [5] * 6  # pre-placed, nobody else can get there


# Towns pull a little (0.01 against the camp's 1, distance hardly matters; the fitted file is not used): on day 1
# the border is closed and the 100 injected can only reach Mid-Town, where they all stop; later about 1 in 100
# of those passing through stops there.
TOWNS_PULL = {**FAST, "destination_base_attraction": 0.01, "destination_distance_km": 2000.0}


def test_town_move_chance_moves_the_displaced_on_from_towns_not_camps(scenario_dir):
    runs = {m: run_flee_replay(scenario_dir, "injected", use_fitted=False, overrides=TOWNS_PULL,
                            town_move_chance=m)
            for m in (0.0, 0.5, 1.0)}
    for m, run in runs.items():
        town, camp = run.records.idps[:, 1], run.records.idps[:, 2]
        assert town[:2].tolist() == [0, 100] and camp[:2].tolist() == [50, 50], m
        assert (np.diff(camp) >= 0).all(), m  # nobody moves on from an open camp
        assert run.civilians.balance() == 0
    # No move chance: the 100 stay in Mid-Town for good (a few of the later days' people stop there too).
    assert (runs[0.0].records.idps[2:, 1] >= 100).all()
    # Move chance 1/2: day 2, half of the 100 move on (an exact half: 50), a few of the day's people stop.
    town = runs[0.5].records.idps[:, 1]
    assert 50 <= town[2] <= 52 and 25 <= town[3] <= 28 and town[5] < 12  # about halved each day
    # Move chance 1: day 2, all of the 100 move on to the camp (50 + 100 waiting + 100 of the day, but the few of
    # the day who stop in Mid-Town).
    town, camp = runs[1.0].records.idps[:, 1], runs[1.0].records.idps[:, 2]
    assert town[2:].max() <= 2 and camp[2] >= 248


def test_injected_residents_are_the_injected_people_only(scenario_dir):
    m = run_flee_replay(scenario_dir, "injected", use_fitted=False, overrides=TOWNS_PULL, town_move_chance=0.5)
    c = m.civilians
    # FLEE's agents are only those it injects: 100 a day on days 1-5 at Kaga Bandoro and the camp's 50 of day 0;
    # Mid-Town's population (500) is a spawn weight and a pull, not people.
    assert int(c.initial_by_origin.sum()) == 550 and c.residents.tolist() == [0, 0, 0]
    assert int(c.displaced_from[0]) == 550


def test_move_chance_is_read_from_the_fitted_files_flee_replay_table(scenario_dir):
    fitted = scenario_dir / "fitted.toml"
    fitted.write_text("[parameters]\nflight_speed_km = 300\n\n[flee_replay]\ntown_move_chance = 0.25\n",
                      encoding="utf-8")
    assert read_move_chance(load_scenario(scenario_dir)) == 0.25
    assert read_move_chance(load_scenario(scenario_dir, use_fitted=False)) == 0.0  # --no-fitted: off
    fitted.write_text("[parameters]\nflight_speed_km = 300\n", encoding="utf-8")
    assert read_move_chance(load_scenario(scenario_dir)) == 0.0  # no table: off
    fitted.write_text("[flee_replay]\ntown_move_chance = 1.5\n", encoding="utf-8")
    with pytest.raises(ScenarioError, match=r"fitted.toml, field 'flee_replay.town_move_chance': 1.5 must be a "
                       r"number in \[0, 1\]"):
        read_move_chance(load_scenario(scenario_dir))
    # The file's value is the run's unless one is given.
    fitted.write_text("[flee_replay]\ntown_move_chance = 1\n", encoding="utf-8")
    assert run_flee_replay(scenario_dir, "injected", overrides=TOWNS_PULL).records.idps[2:, 1].max() <= 2
    assert run_flee_replay(scenario_dir, "injected", overrides=TOWNS_PULL,
                           town_move_chance=0.0).records.idps[2:, 1].min() >= 100


# Towns pull half as much as a camp, nobody moves on: who stops at Mid-Town depends on how full the camp looks.
HALF_PULL = {**TOWNS_PULL, "destination_base_attraction": 0.5}


def test_capacity_buffer_keeps_a_camps_full_pull_until_that_share_of_its_capacity(scenario_dir):
    def camp(share: float, buffer: float) -> list[int]:
        m = run_flee_replay(scenario_dir, "injected", use_fitted=False, town_move_chance=0.0, capacity_buffer=buffer,
                            overrides={**HALF_PULL, "host_capacity_share": share})
        assert m.civilians.balance() == 0
        return m.records.idps[:, 2].tolist()

    # Capacity 1,000: the camp never holds 500, so with a buffer of 0.5 or more it pulls as an empty camp every
    # day (the same run whatever the buffer); with no buffer its pull falls from the first arrivals, more people
    # stop in Mid-Town and fewer reach the camp.
    full = camp(1.0, 0.5)
    assert camp(1.0, 0.9) == camp(1.0, 0.99) == full
    linear = camp(1.0, 0.0)
    assert linear[:2] == full[:2] == [50, 50] and all(a < b for a, b in zip(linear[3:], full[3:]))
    # Capacity 350 (0.35 x 1,000): with FLEE's buffer (0.9) the camp pulls fully up to 315 and fills to its
    # capacity by day 5; with no buffer it falls short of it.
    assert 340 <= camp(0.35, 0.9)[5] <= 350 and camp(0.35, 0.0)[5] < 310
    with pytest.raises(ValueError, match=r"capacity_buffer must be in \[0, 1\)"):
        camp(1.0, 1.0)


def test_capacity_buffer_is_read_from_the_fitted_files_flee_replay_table(scenario_dir):
    fitted = scenario_dir / "fitted.toml"
    fitted.write_text("[flee_replay]\ntown_move_chance = 0.25\ncapacity_buffer = 0.9\n", encoding="utf-8")
    assert read_replay_settings(load_scenario(scenario_dir)) == {"town_move_chance": 0.25, "capacity_buffer": 0.9}
    assert read_replay_settings(load_scenario(scenario_dir, use_fitted=False)) == {"town_move_chance": 0.0,
                                                                                   "capacity_buffer": 0.0}
    fitted.write_text("[flee_replay]\ncapacity_buffer = 1\n", encoding="utf-8")
    with pytest.raises(ScenarioError, match=r"fitted.toml, field 'flee_replay.capacity_buffer': 1 must be a "
                       r"number in \[0, 0.99\]"):
        read_replay_settings(load_scenario(scenario_dir))
    # The file's buffer is the run's unless one is given.
    fitted.write_text("[flee_replay]\ncapacity_buffer = 0.9\n", encoding="utf-8")
    over = {**HALF_PULL, "host_capacity_share": 0.35}
    from_file = run_flee_replay(scenario_dir, "injected", overrides=over).records.idps[:, 2]
    given = run_flee_replay(scenario_dir, "injected", overrides=over, capacity_buffer=0.9).records.idps[:, 2]
    none = run_flee_replay(scenario_dir, "injected", overrides=over, capacity_buffer=0.0).records.idps[:, 2]
    assert from_file.tolist() == given.tolist() != none.tolist()


def test_fit_flee_starts_from_a_fitted_file_and_keeps_it_unless_it_finds_better(tmp_path):
    import importlib.util

    spec = importlib.util.spec_from_file_location("fit_flee", Path(__file__).resolve().parents[1] / "scripts" /
                                                  "fit_flee.py")
    fit = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(fit)
    for name in fit.TRAINING:  # the tiny case under both training names
        write_case(tmp_path / "cases" / name)
    start = tmp_path / "start.toml"
    start.write_text("[parameters]\n" + "".join(f"{k} = {v}\n" for k, v in {**TOWNS_PULL, "destination_nesting": 1.0,
                                                                            "fear_radius_km": 10.0}.items())
                     + "\n[flee_replay]\ntown_move_chance = 0.5\n", encoding="utf-8")
    out, log = tmp_path / "fit.toml", tmp_path / "search.csv"
    assert fit.main(["--cases", str(tmp_path / "cases"), "--evals", "2", "--refine", "0", "--start", str(start),
                     "--out", str(out), "--log", str(log)]) == 0
    evals = rows(log)
    first = evals[0]
    # The start point is evaluated first, its missing capacity_buffer at FLEE's 0.9; then the 2 random draws.
    assert first["stage"] == "injected0" and float(first["capacity_buffer"]) == 0.9
    assert float(first["town_move_chance"]) == 0.5 and float(first["destination_base_attraction"]) == 0.01
    injected = [r for r in evals if r["stage"].startswith("injected")]
    assert len(injected) == 3
    best = min(injected, key=lambda r: float(r["objective"]))
    import tomllib

    written = tomllib.loads(out.read_text(encoding="utf-8"))
    assert written["flee_replay"]["capacity_buffer"] == pytest.approx(float(best["capacity_buffer"]), rel=1e-5)
    assert set(written["flee_replay"]) == {"town_move_chance", "capacity_buffer"}
    # The start file has no flight-rule parameters: that stage starts from its draws alone (2 of them).
    assert [r["stage"] for r in evals if r["stage"].startswith("flight")] == ["flight", "flight"]


@pytest.mark.parametrize(("name", "edit", "message"), [
    ("flee_conflicts.csv", lambda rows: rows[3].__setitem__(2, "high"),
     r"flee_conflicts.csv, row 4, field 'intensity': 'high' is not a number"),
    ("flee_conflicts.csv", lambda rows: rows[2].__setitem__(3, "-1"),
     r"flee_conflicts.csv, row 3, field 'spawn_weight': -1 must be a number >= 0"),
    ("flee_conflicts.csv", lambda rows: rows[5].__setitem__(0, "2021-01-01"),
     r"flee_conflicts.csv, row 6, field 'date': 2021-01-01 is outside the scenario's dates"),
    ("flee_conflicts.csv", lambda rows: rows[2].__setitem__(1, "Nowhere"),
     r"flee_conflicts.csv, row 3, field 'place': unknown place 'Nowhere'"),
    ("flee_conflicts.csv", lambda rows: rows.__setitem__(4, rows[4][:2]),
     r"flee_conflicts.csv, row 5, field 'intensity': None is not a number"),
    ("flee_observations.csv", lambda rows: rows[2].__setitem__(1, "Mid-Town"),
     r"flee_observations.csv, row 3, field 'place': 'Mid-Town' is not a camp of flee_places.csv"),
    ("flee_observations.csv", lambda rows: rows[3].__setitem__(2, "nan"),
     r"flee_observations.csv, row 4, field 'refugees': nan must be a number >= 0"),
    ("flee_totals.csv", lambda rows: rows[6].__setitem__(0, "6 Jan"),
     r"flee_totals.csv, row 7, field 'date': '6 Jan' is not a date \(YYYY-MM-DD\)"),
    ("flee_totals.csv", lambda rows: rows[1].__setitem__(2, ""),
     r"flee_totals.csv, row 2, field 'injected': '' is not a number"),
])
def test_a_bad_row_of_the_replays_tables_is_named(scenario_dir, name, edit, message):
    path = scenario_dir / name
    with path.open(newline="", encoding="utf-8") as f:
        table = list(csv.reader(f))
    edit(table)
    with path.open("w", newline="", encoding="utf-8") as f:
        csv.writer(f, lineterminator="\n").writerows(table)
    with pytest.raises(ScenarioError, match=message):
        read_flee_inputs(load_scenario(scenario_dir))
