"""The FLEE case reader (simulation/flee_case.py) and FLEE's scorer (benchmarks/flee_suite.py), on small
FLEE-format directories written here. No FLEE or FabFlee needed: every expected number is worked out by hand in
the comments, following FLEE 3.1's rules as the reader's docstrings cite them.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pytest

from benchmarks import flee_suite as fs
from simulation.flee_case import (
    Closure,
    DailyData,
    ScenarioError,
    add_csv_tables,
    interpolate,
    read_flee_case,
)

LENGTH = 40

LOCATIONS = """\
#name,region,country,latitude,longitude,location_type,conflict_date,population
A,North,Home,1.0,2.0,conflict_zone,0,1000
B,North,Home,1.5,2.5,conflict_zone,5,3000
C,South,Home,2.0,3.0,town,,500
Camp1,Over,Away,3.0,4.0,camp,,800
"""
ROUTES = """\
#name1,name2,distance,forced_redirection
A,C,10,
B,C,20,0
C,Camp1,30.5,1
"""
CLOSURES = """\
#closure_type,name1,name2,closure_start,closure_end
country,Home,Away,2,4
camp,Camp1,,8,20
"""


def conflicts_csv() -> str:
    # A in conflict every day; B from day 5; C on days 3, 4 and 5 only.
    rows = ["#Day, A, B, C"]
    for t in range(LENGTH):
        rows.append(f"{t}, 1, {int(t >= 5)}, {int(3 <= t <= 5)}")
    return "\n".join(rows) + "\n"


FILES = {
    "input_csv/locations.csv": LOCATIONS,
    "input_csv/routes.csv": ROUTES,
    "input_csv/closures.csv": CLOSURES,
    "input_csv/sim_period.csv": "StartDate,2020-01-01\nLength,40\n",
    "input_csv/registration_corrections.csv": "Camp1,2020-01-05,normalize\n",
    "source_data/data_layout.csv": "total,total.csv\nCamp1,camp-a.csv,camp-b.csv\n",
    "source_data/total.csv": "2019-12-30,200\n2020-01-03,600\n2020-01-11,1000\n",
    "source_data/camp-a.csv": "Date,Count\n2020-01-01,100\n2020-01-05,300\n2020-01-09,500\n",
    "source_data/camp-b.csv": "2020-01-01,10\n#a comment\n2020-01-05,30\n2020-01-09,50\n",
}


def write_case(root: Path) -> Path:
    files = dict(FILES)
    files["input_csv/conflicts.csv"] = conflicts_csv()
    for rel, text in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text, encoding="utf-8")
    return root


def change(root: Path, rel: str, text: str) -> Path:
    write_case(root)
    (root / rel).write_text(text, encoding="utf-8")
    return root


@pytest.fixture
def case(tmp_path):
    return read_flee_case(write_case(tmp_path / "tiny"))


# ----------------------------------------------------------------------------------------------------------
# reading


def test_locations_routes_period(case):
    assert case.start_date == dt.date(2020, 1, 1) and case.length == LENGTH
    assert case.home_country == "Home"
    assert [loc.name for loc in case.locations] == ["A", "B", "C", "Camp1"]
    a, b, c, camp = case.locations
    assert (a.kind, a.initial_kind, a.conflict_date, a.population) == ("conflict_zone", "conflict_zone", 0, 1000)
    # a conflict zone with a later conflict_date starts as a town (InputGeography.StoreInputGeographyInEcosystem)
    assert (b.kind, b.initial_kind) == ("conflict_zone", "town")
    assert (c.kind, c.conflict_date, c.capacity) == ("town", None, None)
    assert camp.is_camp and camp.capacity == 800 and camp.foreign and not a.foreign
    assert (a.lat, a.lon, a.region, a.country, a.row) == (1.0, 2.0, "North", "Home", 2)
    assert case.camp_names == ("Camp1",)
    assert case.capacities.tolist() == [800]
    assert [(r.name1, r.name2, r.distance, r.forced_redirection) for r in case.routes] == [
        ("A", "C", 10.0, 0), ("B", "C", 20.0, 0), ("C", "Camp1", 30.5, 1)]


def test_closures_and_their_days(case):
    assert case.closures == (Closure("country", "Home", "Away", 2, 4, 2), Closure("camp", "Camp1", "", 8, 20, 3))
    border = case.closures[0]
    assert border.actions_on(2) == ("close",) and border.actions_on(4) == ("reopen",) and border.actions_on(3) == ()
    # FLEE tests start and end every day: an end of 0 reopens on day 0 (Burundi's remove_forced_redirection row)
    assert Closure("link", "A", "C", 0, 0, 9).actions_on(0) == ("close", "reopen")


def test_conflicts_matrix_wins_over_conflict_date(case):
    intensity, onset = case.conflict_state()
    a, b, c, camp = range(4)
    assert intensity[:, a].tolist() == [1.0] * LENGTH and onset[:, a].tolist() == [0] * LENGTH
    assert intensity[:, b].tolist() == [-1.0] * 5 + [1.0] * (LENGTH - 5)
    assert onset[5:, b].tolist() == [5] * (LENGTH - 5)
    # C is a town in locations.csv but conflicts.csv makes it a conflict zone on days 3-5; it ends on day 6
    # because day 5's value was exactly 1 (InputGeography.AddNewConflictZones)
    assert intensity[:, c].tolist() == [-1.0] * 3 + [1.0] * 3 + [-1.0] * (LENGTH - 6)
    assert np.all(intensity[:, camp] == -1.0)


def test_conflict_below_one_never_ends_and_initial_zone_without_matrix_stays(tmp_path):
    # FLEE only ends a conflict whose previous value was exactly 1; and a conflict_zone of locations.csv that
    # conflicts.csv never switches on keeps the conflict it was created with (onset -1).
    rows = ["#Day,B,C"] + [f"{t},0,{0.5 if t in (1, 2) else 0}" for t in range(LENGTH)]
    root = change(tmp_path / "c", "input_csv/conflicts.csv", "\n".join(rows) + "\n")
    k = read_flee_case(root)
    intensity, onset = k.conflict_state()
    assert intensity[:, 0].tolist() == [1.0] * LENGTH and onset[:, 0].tolist() == [-1] * LENGTH  # A
    assert intensity[:, 2].tolist() == [-1.0] + [0.5] * (LENGTH - 1)  # C: starts day 1 at 0.5, never ends


def test_spawn_weights_with_flee_timing(case):
    # pop × intensity × decay[int((time - onset) / 30)], time = t on a day the state changed, else t - 1.
    w = case.spawn_weights(decay=(1.0, 0.5))
    assert w[0].tolist() == [1000.0, 0.0, 0.0, 0.0]
    assert w[3].tolist() == [1000.0, 0.0, 500.0, 0.0]
    assert w[5].tolist() == [1000.0, 3000.0, 500.0, 0.0]
    assert w[6].tolist() == [1000.0, 3000.0, 0.0, 0.0]
    assert w[30, 0] == 1000.0  # nothing changed on day 30: refreshed at time 29, (29 - 0) // 30 = 0
    assert w[31, 0] == 500.0  # time 30 → factor 0.5
    assert w[35, 1] == 3000.0 and w[36, 1] == 1500.0  # B's onset is day 5: time 35 is 30 days on


def test_daily_data_summed_corrected_and_interpolated(case):
    # camp-a + camp-b on shared dates: days 0, 4, 8 → 110, 330, 550 (DataTable.AddCSVTables).
    # The correction on 2020-01-05 (day 4) scales the earlier observations by 330 / 110 = 3: day 0 → 330.
    (corr,) = case.corrections
    assert (corr.camp, corr.day, corr.factor) == ("Camp1", 4, 3.0)
    camp = case.data.tables[1]
    assert camp.files == ("camp-a.csv", "camp-b.csv")
    assert camp.days.tolist() == [0, 4, 8] and camp.counts.tolist() == [330, 330, 550]
    expected = [330, 330, 330, 330, 330, 385, 440, 495, 550] + [550] * (LENGTH - 9)
    assert case.data.camps[:, 0].tolist() == expected
    # total: days -2, 2, 10 → 200, 600, 1000; day 0 = 200 + 2/4 × 400 = 400, day 3 = 600 + 1/8 × 400 = 650
    assert case.data.total[:11].tolist() == [400, 500, 600, 650, 700, 750, 800, 850, 900, 950, 1000]
    assert case.data.total[-1] == 1000
    assert case.day0_camp_counts.tolist() == [330]


def test_injections_follow_flee_debt_rule(case):
    # day 0: nothing (camps pre-filled); then the daily increase of the total
    assert case.data.injections()[:11].tolist() == [0, 100, 100, 50, 50, 50, 50, 50, 50, 50, 50]
    assert case.data.injections().sum() == 1000 - 400
    d = DailyData(("X",), np.zeros((4, 1), dtype=np.int64), np.array([100, 80, 90, 130]), ())
    # diffs -20, +10, +40: a debt of 20, then 10 left, then 40 - 10 = 30 people
    assert d.injections().tolist() == [0, 0, 0, 30]
    assert d.injections(insert_day0=False).tolist() == [100, 0, 0, 30]


def test_interpolation_truncates_and_holds():
    days, counts = np.array([0.0, 3.0]), np.array([0.0, 10.0])
    assert [interpolate(days, counts, d) for d in (-5, 0, 1, 2, 3, 9)] == [0, 0, 3, 6, 10, 10]
    assert [interpolate(days, counts[::-1].copy(), d) for d in (1, 2)] == [6, 3]  # int() truncates towards 0


def test_add_csv_tables_keeps_flee_quirks():
    t1 = np.array([[0.0, 100], [10, 200]])
    t2 = np.array([[5.0, 1], [10, 2], [20, 3]])
    # day 0 of t1 before t2's first date: 100 + 0; day 5: 1 + t1's *next* value 200; day 10: 2 + 200;
    # day 20 is after t1's end: t1's last date again with the previous t2 count (2 + 200), and day 20 dropped.
    assert add_csv_tables(t1, t2).tolist() == [[0, 100], [5, 201], [10, 202], [10, 202]]


def test_summed_files_in_a_case_use_the_merge(tmp_path):
    root = write_case(tmp_path / "m")
    (root / "source_data/camp-b.csv").write_text("2020-01-03,40\n", encoding="utf-8")
    (root / "input_csv/registration_corrections.csv").write_text("", encoding="utf-8")
    k = read_flee_case(root)
    # camp-a days 0, 4, 8 (100, 300, 500) + camp-b day 2 (40): day 0 → 0 + 100; day 2 → 40 + camp-a's *next*
    # count 300; camp-a's days 4 and 8 come after camp-b's last date and are dropped.
    assert k.data.tables[1].days.tolist() == [0, 2] and k.data.tables[1].counts.tolist() == [100, 340]
    assert k.data.camps[:5, 0].tolist() == [100, 220, 340, 340, 340]


def test_hasten_divides_populations_and_counts(tmp_path):
    k = read_flee_case(write_case(tmp_path / "h"), hasten=3)
    assert [loc.population for loc in k.locations] == [333, 1000, 166, 266]
    assert k.data.total[2] == 200  # 600 / 3


# ----------------------------------------------------------------------------------------------------------
# bad rows: one line naming file, row and field

BAD = [
    ("input_csv/routes.csv", ROUTES.replace("B,C,20", "B,Nowhere,20"),
     "input_csv/routes.csv, row 3, field 'name2': 'Nowhere' is not a location of locations.csv"),
    ("input_csv/routes.csv", ROUTES.replace("30.5", "far"),
     "input_csv/routes.csv, row 4, field 'distance': 'far' is not a number"),
    ("input_csv/closures.csv", CLOSURES.replace("Home,Away", "Home,Atlantis"),
     "input_csv/closures.csv, row 2, field 'name2': 'Atlantis' is not the country of any location"),
    ("input_csv/closures.csv", CLOSURES.replace("camp,Camp1,,8", "camp,Camp9,,8"),
     "input_csv/closures.csv, row 3, field 'name1': 'Camp9' is not a location of locations.csv"),
    ("input_csv/closures.csv", CLOSURES + "link,A,B,1,2\n",
     "input_csv/closures.csv, row 4, field 'name2': no route joins 'A' and 'B' in routes.csv"),
    ("input_csv/closures.csv", CLOSURES + "wall,A,C,1,2\n",
     "input_csv/closures.csv, row 4, field 'closure_type': 'wall' is not one of"),
    ("input_csv/closures.csv", CLOSURES.replace(",2,4", ",soon,4"),
     "input_csv/closures.csv, row 2, field 'closure_start': 'soon' is not a whole number"),
    ("source_data/data_layout.csv", "total,total.csv\n",
     "input_csv/locations.csv, row 5, field 'name': camp 'Camp1' has no data"),
    ("source_data/data_layout.csv", "Camp1,camp-a.csv\n",
     "source_data/data_layout.csv, field 'name': has no 'total' row"),
    ("input_csv/locations.csv", LOCATIONS.replace(",800", ",12x"),
     "input_csv/locations.csv, row 5, field 'population': '12x' is not a whole number"),
    ("input_csv/locations.csv", LOCATIONS.replace("1.5,2.5", "north,2.5"),
     "input_csv/locations.csv, row 3, field 'latitude': 'north' is not a number"),
    ("input_csv/locations.csv", LOCATIONS.replace(",town,", ",village,"),
     "input_csv/locations.csv, row 4, field 'location_type': 'village' is not a FLEE location type"),
    ("input_csv/locations.csv", LOCATIONS + "A,North,Home,1,2,town,,5\n",
     "input_csv/locations.csv, row 6, field 'name': 'A' already named on row 2"),
    ("input_csv/locations.csv", LOCATIONS.replace("conflict_zone,5,", "conflict_zone,,"),
     "input_csv/locations.csv, row 3, field 'conflict_date': is empty"),
    ("input_csv/conflicts.csv", conflicts_csv().replace("#Day, A, B, C", "#Day, A, B, Z"),
     "input_csv/conflicts.csv, row 1, field 'Z': 'Z' is not a location of locations.csv"),
    ("input_csv/conflicts.csv", conflicts_csv().replace("\n7, 1,", "\n7, yes,"),
     "input_csv/conflicts.csv, row 9, field 'A': ' yes' is not a number"),
    ("input_csv/conflicts.csv", conflicts_csv().replace("\n7, 1,", "\n8, 1,"),
     "input_csv/conflicts.csv, row 9, field '#Day': '8' should be 7"),
    ("input_csv/conflicts.csv", "\n".join(conflicts_csv().splitlines()[:30]) + "\n",
     "input_csv/conflicts.csv: has 29 days, sim_period.csv asks for 40"),
    ("input_csv/sim_period.csv", "StartDate,2020-01-01\n",
     "input_csv/sim_period.csv, field 'Length': is missing"),
    ("input_csv/sim_period.csv", "StartDate,1 Jan 2020\nLength,40\n",
     "input_csv/sim_period.csv, row 1, field 'StartDate': '1 Jan 2020' is not a date (YYYY-MM-DD)"),
    ("source_data/camp-b.csv", "2020-01-01,10\n2020-01-05,lots\n",
     "source_data/camp-b.csv, row 2, field 'count': 'lots' is not a whole number"),
    ("source_data/camp-b.csv", "2020-01-05,10\n2020-01-01,20\n",
     "source_data/camp-b.csv, row 2, field 'date': 2020-01-01 is not after the previous observation"),
    ("input_csv/registration_corrections.csv", "Camp1,2020-01-04\n",
     "input_csv/registration_corrections.csv, row 1, field 'date': 2020-01-04 is not an observation date"),
    ("input_csv/registration_corrections.csv", "Camp7,2020-01-05\n",
     "input_csv/registration_corrections.csv, row 1, field 'name': 'Camp7' has no row"),
]


@pytest.mark.parametrize("rel,text,expected", BAD, ids=[f"{b[0].split('/')[-1]}-{i}" for i, b in enumerate(BAD)])
def test_bad_rows_raise_one_line(tmp_path, rel, text, expected):
    root = change(tmp_path / "bad", rel, text)
    with pytest.raises(ScenarioError) as e:
        read_flee_case(root)
    msg = str(e.value)
    assert "\n" not in msg
    assert msg.startswith(expected), msg


def test_missing_file_is_named(tmp_path):
    root = write_case(tmp_path / "m")
    (root / "source_data/camp-b.csv").unlink()
    with pytest.raises(ScenarioError, match=r"^source_data/camp-b.csv: file is missing$"):
        read_flee_case(root)


# ----------------------------------------------------------------------------------------------------------
# the scorer


def test_errors_by_hand():
    sim = np.array([[10, 30], [20, 20]])
    data = np.array([[20, 20], [10, 30]])
    assert fs.averaged_relative_difference(sim, data) == pytest.approx(0.5)  # (10 + 10) / 40 both days
    # undershooting: sim [0, 10] vs data [30, 10]: 30 / 40; rescaled ×4 → [0, 40]: (30 + 30) / 40
    sim, data = np.array([[0, 10]]), np.array([[30, 10]])
    assert fs.averaged_relative_difference(sim, data) == pytest.approx(0.75)
    assert fs.rescaled_relative_difference(sim, data) == pytest.approx(1.5)
    # a day where the simulated camps are empty: rescaled counts are 0 (FLEE's "only rescale if simtot > 0");
    # a day with no data divides by 1
    sim, data = np.array([[0, 0], [5, 5]]), np.array([[30, 10], [0, 0]])
    assert fs.averaged_relative_difference(sim, data) == pytest.approx((1.0 + 10.0) / 2)
    assert fs.rescaled_relative_difference(sim, data) == pytest.approx((1.0 + 0.0) / 2)


def test_mase_by_hand():
    data = np.array([[10, 0], [10, 10], [20, 10], [30, 20]])
    sim = np.array([[10, 10], [20, 0], [20, 10], [20, 30]])
    # rescaled: day 0 × 10/20 → [5, 5]; other days simtot = untot.
    # camp 0: mean |data - f| = (5 + 10 + 0 + 10) / 4 = 6.25; naive from day 1 (10): (10 + 20) / 2 = 15 → 0.4167
    # camp 1: (5 + 10 + 0 + 10) / 4 = 6.25; naive from day 1 (10): (0 + 10) / 2 = 5 → 1.25
    # weighted by Σ data: (0.4167 × 70 + 1.25 × 40) / 110
    assert fs.mase(sim, data, naive_day=1) == pytest.approx((0.4167 * 70 + 1.25 * 40) / 110)


def test_mase_of_flat_camp_is_infinite_as_in_flee():
    data = np.array([[10, 0], [10, 10], [10, 20], [10, 30]])
    assert fs.mase(data + 1, data, naive_day=1) == float("inf")


def test_baselines_by_hand():
    data = np.array([[30, 10], [20, 20]])
    split = fs.capacity_split(data, np.array([1, 3]))
    assert split.tolist() == [[10, 30], [10, 30]]
    assert fs.averaged_relative_difference(split, data) == pytest.approx((40 / 40 + 20 / 40) / 2)
    frozen = fs.frozen_shares(data, 0)
    assert frozen.tolist() == [[30, 10], [30, 10]]
    assert fs.averaged_relative_difference(frozen, data) == pytest.approx((0 + 20 / 40) / 2)
    with pytest.raises(ValueError, match="nobody on day 0"):
        fs.frozen_shares(np.array([[0, 0], [1, 1]]), 0)


def test_score_of_the_data_itself_is_zero(case):
    s = fs.score(case.data.camps, case.data.camps)
    assert (s.error, s.rescaled, s.mase7) == (0.0, 0.0, 0.0)
    # the camp's data are flat after day 30: FLEE's MASE30 is 0 / 0
    assert np.isnan(s.mase30)


def test_scorer_rejects_mismatched_tables():
    with pytest.raises(ValueError, match="must both be"):
        fs.score(np.zeros((3, 2)), np.zeros((3, 1)))


def test_read_camp_table_from_a_run(tmp_path, case):
    lines = ["date,place,population,idps,displaced_from"]
    for t in range(LENGTH):
        date = case.start_date + dt.timedelta(days=t)
        lines += [f"{date},Camp1,0,{10 * t},0", f"{date},A,1000,5,0"]
    p = tmp_path / "run" / "displacement.csv"
    p.parent.mkdir()
    p.write_text("\n".join(lines) + "\n", encoding="utf-8")
    table = fs.read_camp_table(p, case)
    assert table.camps == ("Camp1",) and table.counts[:, 0].tolist() == [10.0 * t for t in range(LENGTH)]
    p.write_text("\n".join(lines[:-2]) + "\n", encoding="utf-8")
    with pytest.raises(ScenarioError, match=r"^run/displacement.csv, field 'place': no row for camp 'Camp1' on "
                       r"2020-02-09 \(1 camp-days missing\)$"):
        fs.read_camp_table(p, case)
    p.write_text(f"{lines[0]}\n{case.start_date},Camp1,0,x,0\n", encoding="utf-8")
    with pytest.raises(ScenarioError, match=r"^run/displacement.csv, row 2, field 'idps': 'x' is not a number$"):
        fs.read_camp_table(p, case)


def test_suite_without_flee_runs_our_engine_and_the_baselines(tmp_path, capsys):
    cases = tmp_path / "cases"
    write_case(cases / "mali2012")
    out = tmp_path / "res.csv"
    code = fs.main(["--cases", str(cases), "--case", "mali2012", "--engines",
                    "conflict-sim-injected,conflict-sim-generated", "--runs-dir", str(tmp_path / "runs"),
                    "--out", str(out)])
    assert code == 0
    text = out.read_text(encoding="utf-8")
    assert "mali2012,conflict-sim-injected,1,ok," in text and "mali2012,conflict-sim-generated,1,ok," in text
    assert "mali2012,baseline-capacity-split,-,ok," in text and "baseline-shares-day30" in text
    assert (tmp_path / "runs" / "mali2012__conflict-sim-injected" / "seed1" / "displacement.csv").is_file()
    printed = capsys.readouterr().out
    assert "| mali2012 | – |" in printed  # the summary table, FLEE not run here


def test_suite_bad_case_exits_2_without_output(tmp_path, capsys):
    cases = tmp_path / "cases"
    change(cases / "mali2012", "input_csv/routes.csv", ROUTES.replace("B,C", "B,Nowhere"))
    out = tmp_path / "res.csv"
    assert fs.main(["--cases", str(cases), "--case", "mali2012", "--engines", "flee", "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: input_csv/routes.csv, row 3, field 'name2'") and "\n" not in err
    assert not out.exists()


def write_flee_run(run_dir: Path, case, sim_factor: int, seed: int = 1) -> None:
    """A finished FLEE run directory as benchmarks/flee_runner.py leaves it (out.csv in runscripts/run.py's
    format, run.json, simsetting.yml), without FLEE."""
    run_dir.mkdir(parents=True)
    head = ("Day,Date,Camp1 sim,Camp1 data,Camp1 error,Total error,refugees in camps (UNHCR),"
            "total refugees (simulation),raw UNHCR refugee count,refugees in camps (simulation),refugee_debt")
    lines = [head]
    for t in range(case.length):
        d = int(case.data.camps[t, 0])
        lines.append(f"{t},{case.start_date + dt.timedelta(days=t)},{sim_factor * d},{d},0.1,0.1,{d},{2 * d},"
                     f"{case.data.total[t]},{sim_factor * d},0")
    (run_dir / "out.csv").write_text("\n".join(lines) + "\n", encoding="latin1")
    (run_dir / "run.json").write_text(f'{{"case": "mali2012", "seed": {seed}, "wall_s": 12.5, "cpu_s": 10.0, '
                                      '"peak_rss_mib": 99.0}', encoding="utf-8")
    (run_dir / "simsetting.yml").write_text("optimisations:\n  hasten: 1\n", encoding="utf-8")


def test_suite_scores_stored_flee_runs(tmp_path, capsys):
    cases, runs = tmp_path / "cases", tmp_path / "runs"
    case = read_flee_case(write_case(cases / "mali2012"))
    write_flee_run(runs / "mali2012" / "seed1", case, sim_factor=2)
    write_flee_run(runs / "mali2012" / "seed2", case, sim_factor=1, seed=2)
    out = tmp_path / "res.csv"
    assert fs.main(["--cases", str(cases), "--case", "mali2012", "--engines", "flee", "--seeds", "4",
                    "--runs-dir", str(runs), "--stored-only", "--out", str(out)]) == 0
    rows = {(r.split(",")[1], r.split(",")[2]): r.split(",") for r in out.read_text().splitlines()[1:]}
    # twice the data in the one camp: |2d - d| / d = 1 every day; rescaled to the data's total: 0
    assert rows[("flee-3.1", "1")][3:8] == ["ok", "1.0000", "0.0000", "0.0000", "nan"]  # flat after day 30
    assert rows[("flee-3.1", "2")][4] == "0.0000"
    assert rows[("flee-3.1", "3+4")][3] == "missing"  # the seeds without a run, in one row
    mean = rows[("flee-3.1", "mean")]
    assert mean[4] == "0.5000" and mean[8:11] == ["12.5", "10.0", "99"] and mean[-1] == "2 seeds"
    assert mean[-2] == "simsetting.yml"


def test_flee_rows_from_an_earlier_table_stand_in_for_gone_runs(tmp_path, capsys):
    cases, runs = tmp_path / "cases", tmp_path / "runs"
    case = read_flee_case(write_case(cases / "mali2012"))
    write_flee_run(runs / "mali2012" / "seed1", case, sim_factor=2)
    stored = tmp_path / "stored.csv"
    assert fs.main(["--cases", str(cases), "--case", "mali2012", "--engines", "flee", "--runs-dir", str(runs),
                    "--stored-only", "--out", str(stored)]) == 0
    flee_lines = [ln for ln in stored.read_text().splitlines() if ",flee-3.1," in ln]
    assert [r.model for r in fs.read_results(stored)].count("flee-3.1") == 1
    # The run folders are gone: FLEE's rows come from the earlier table, unchanged, first in the case.
    out = tmp_path / "res.csv"
    assert fs.main(["--cases", str(cases), "--case", "mali2012", "--engines", "conflict-sim-injected",
                    "--runs-dir", str(tmp_path / "none"), "--flee-rows-from", str(stored), "--out", str(out)]) == 0
    lines = out.read_text().splitlines()
    assert lines[1:2] == flee_lines and ",conflict-sim-injected,1,ok," in lines[2]
    assert "| mali2012 | 1.000 / 0.000 |" in capsys.readouterr().out  # FLEE's stored error / rescaled
    assert fs.main(["--cases", str(cases), "--case", "mali2012", "--engines", "flee", "--flee-rows-from",
                    str(stored), "--out", str(tmp_path / "x.csv")]) == 2  # FLEE's rows twice
    assert not (tmp_path / "x.csv").exists()


def test_suite_flags_flee_data_that_differ_from_ours(tmp_path):
    cases, runs = tmp_path / "cases", tmp_path / "runs"
    case = read_flee_case(write_case(cases / "mali2012"))
    write_flee_run(runs / "mali2012" / "seed1", case, sim_factor=1)
    out_csv = runs / "mali2012" / "seed1" / "out.csv"
    text = out_csv.read_text(encoding="latin1").splitlines()
    cells = text[3].split(",")
    cells[3] = str(int(cells[3]) + 1)
    text[3] = ",".join(cells)
    out_csv.write_text("\n".join(text) + "\n", encoding="latin1")
    row = fs._flee_engine(cases / "mali2012", case, 1, runs / "mali2012" / "seed1", Path("unused.yml"), "only", 19)
    assert row.note == "FLEE's data column differs from ours on 1 camp-days"


def test_module_cli_summarises_and_exits_2_on_bad(tmp_path, capsys):
    from simulation.flee_case import main

    assert main([str(write_case(tmp_path / "ok"))]) == 0
    out = capsys.readouterr().out
    assert out.startswith("ok: 2020-01-01 + 40 days, home Home; 1 camp, 2 conflict_zone, 1 town; 3 routes")
    assert "camps on day 0: 330, last day: 550; people injected: 600" in out
    bad = change(tmp_path / "bad", "input_csv/routes.csv", ROUTES.replace("A,C", "A,Q"))
    assert main([str(bad)]) == 2
    assert capsys.readouterr().err.strip() == ("error: input_csv/routes.csv, row 2, field 'name2': 'Q' is not a "
                                               "location of locations.csv")


def test_run_folders_keep_scaled_down_runs_apart():
    runs = Path("/runs")
    assert fs.run_dir_for(runs, "car2013", Path("/c/simsetting.yml"), 2) == Path("/runs/car2013/seed2")
    assert fs.run_dir_for(runs, "car2013", Path("/c/simsetting_hasten10.yml"), 1) == Path(
        "/runs/car2013__simsetting_hasten10/seed1")
