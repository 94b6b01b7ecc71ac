"""Replay mode (simulation/replay): recorded events in ACLED's columns drive the civilians, no forces are
simulated, and the run directory keeps the contract of a run."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from simulation.cli import main
from simulation.replay.events import faction_of_actor, parse_date, read_events
from simulation.replay.model import replay
from simulation.scenario import ScenarioError, load_scenario
from tests.conftest import ROOT, TOY

HEADER = "event_date,event_type,sub_event_type,actor1,actor2,admin1,location,latitude,longitude,fatalities"
CHECK_RUN_DIR = Path("/work/shared/tools/check_run_dir.py")


def events(*rows: str) -> str:
    return HEADER + "\n" + "\n".join(rows) + "\n"


def test_dates_in_both_of_acleds_formats():
    assert parse_date("2014-06-10") == parse_date("10 June 2014") == parse_date("10-Jun-2014")
    with pytest.raises(ValueError):
        parse_date("June 10th")


def test_actor_names_map_to_factions():
    toy = load_scenario(TOY)
    assert faction_of_actor(toy, "Islamic State (Iraq)") == "insurgent"
    assert faction_of_actor(toy, "Military Forces of Iraq (2006-)") == "government"
    assert faction_of_actor(toy, "Military Forces of Iraq (2006-) Peshmerga") == "kurds"  # the opportunists
    assert faction_of_actor(toy, "Unknown band") is None


def test_events_are_matched_to_the_nearest_place_within_25_km():
    toy = load_scenario(TOY)
    w = {p.id: p for p in toy.places}
    days = read_events("e.csv", events(
        f"2014-06-03,Battles,Armed clash,Islamic State,,West,near west town,{w['west_town'].lat + 0.1},"
        f"{w['west_town'].lon},12",
        f"4 June 2014,Strategic developments,Non-state actor overtakes territory,Islamic State,,West,West Town,"
        f"{w['west_town'].lat},{w['west_town'].lon},0",
        "2014-06-05,Battles,Armed clash,Islamic State,,X,far away,10.0,10.0,7",
        "2014-05-05,Battles,Armed clash,Islamic State,,X,before the start,34.45,41.50,7"), toy)
    west = toy.place_ids.index("west_town")
    assert days.violence[2, west] == 12 and days.battle[2, west]
    assert days.control[3] == [(west, toy.faction_ids.index("insurgent"))]
    assert days.matched == 2 and days.skipped_far == 1 and days.skipped_dates == 1
    assert days.violence.sum() == 12
    assert "far away" in days.summary_lines()[1]


def test_a_recorded_fall_changes_control_and_drives_people_out(tmp_path):
    toy = load_scenario(TOY)
    city = next(p for p in toy.places if p.id == "north_city")
    f = tmp_path / "e.csv"
    f.write_text(events(
        f"2014-06-02,Battles,Armed clash,Islamic State,Military Forces of Iraq (2006-),N,North City,{city.lat},"
        f"{city.lon},300",
        f"2014-06-03,Strategic developments,Non-state actor overtakes territory,Islamic State,,N,North City,"
        f"{city.lat},{city.lon},0"), encoding="utf-8")
    m = replay(toy, f, seed=3)
    i = toy.place_ids.index("north_city")
    assert toy.faction_ids[int(m.controller[i])] == "insurgent"
    assert m.civilians.displaced_from[i] > 0
    assert m.civilians.balance() == 0
    assert m.units.n == 0  # no forces simulated
    assert m.rec_killed[1, i].sum() == 300  # recorded, attributed to actor2's faction
    quiet = replay(toy, tmp_path / "e.csv", seed=3, days=1)  # before the fighting: nobody leaves
    assert quiet.civilians.displaced_from.sum() == 0


def test_replay_writes_a_run_directory_with_the_contract(tmp_path):
    toy = load_scenario(TOY)
    city = next(p for p in toy.places if p.id == "north_city")
    f = tmp_path / "e.csv"
    f.write_text(events(f"2014-06-02,Battles,Armed clash,Islamic State,,N,North City,{city.lat},{city.lon},300"),
                 encoding="utf-8")
    out = tmp_path / "run"
    assert main(["replay", str(TOY), "--events", str(f), "--out", str(out), "--quiet"]) == 0
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["replay"]["notes"][0].startswith("1 events matched")
    if CHECK_RUN_DIR.is_file():
        done = subprocess.run([sys.executable, str(CHECK_RUN_DIR), str(out)], capture_output=True, text=True)
        assert done.returncode == 0, done.stdout
    else:
        for name in ("summary.json", "control.csv", "forces.csv", "casualties.csv", "events.csv",
                     "displacement.csv"):
            assert (out / name).is_file()


def test_a_bad_row_gives_one_line_exit_2_and_no_output(tmp_path, capsys):
    f = tmp_path / "e.csv"
    f.write_text(events("2014-06-02,Battles,Armed clash,Islamic State,,N,North City,36.0,abc,3"), encoding="utf-8")
    out = tmp_path / "run"
    assert main(["replay", str(TOY), "--events", str(f), "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "row 2, field 'longitude'" in err[0]
    assert not out.exists()


def test_injected_departures_replace_the_flight_rule():
    toy = load_scenario(TOY)
    days = read_events("e.csv", events(), toy)
    days.departures = np.full((toy.days, len(toy.places)), -1.0)
    i = toy.place_ids.index("north_city")
    days.departures[0, i] = 1_000
    m = replay(toy, days, seed=1, days=1)
    assert m.civilians.displaced_from[i] == 1_000


def test_control_script_writes_a_replayable_file(tmp_path):
    out = tmp_path / "control_events.csv"
    done = subprocess.run([sys.executable, str(ROOT / "scripts" / "control_events.py"), "--out", str(out)],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    iraq = load_scenario(ROOT / "scenarios" / "iraq_june_2014")
    days = read_events(str(out), out.read_text(encoding="utf-8"), iraq)
    mosul = iraq.place_ids.index("mosul")
    assert (mosul, iraq.faction_ids.index("insurgent")) in days.control[9]  # 10 June
    assert days.skipped_far == 0
    assert all(not c for c in days.control[22:])  # calibration window only: nothing after 22 June


def test_unknown_faction_in_replay_actors_is_an_error(tmp_path):
    import shutil

    toy = tmp_path / "toy"
    shutil.copytree(TOY, toy)
    with (toy / "scenario.toml").open("a", encoding="utf-8") as f:
        f.write('\n[replay]\nactors = {"Some Militia" = "nobody"}\n')
    with pytest.raises(ScenarioError, match="unknown faction 'nobody'"):
        load_scenario(toy)


def test_the_replay_fit_applies_to_replays_only(tmp_path):
    import shutil

    from simulation.replay.model import with_replay_fit

    toy = tmp_path / "toy"
    shutil.copytree(TOY, toy)
    (tmp_path / "replay_fit.toml").write_text("[parameters]\nflight_per_casualty = 777\n", encoding="utf-8")
    with (toy / "scenario.toml").open("a", encoding="utf-8") as f:
        f.write('\n[replay]\nfitted_parameters = "../replay_fit.toml"\n')
    scenario = load_scenario(toy)
    assert scenario.parameters["flight_per_casualty"] != 777  # a full run does not read it
    assert with_replay_fit(scenario).parameters["flight_per_casualty"] == 777
    assert with_replay_fit(scenario.with_parameters({"flight_per_casualty": 5})).parameters[
        "flight_per_casualty"] == 5  # --set still wins
    days = read_events("e.csv", events(), scenario)
    assert replay(scenario, days, days=1).p["flight_per_casualty"] == 777
    assert replay(scenario, days, days=1, use_fitted=False).p["flight_per_casualty"] != 777
