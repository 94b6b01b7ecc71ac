"""The command line: the run directory's files and columns, byte-identical reruns, one-line errors."""

from __future__ import annotations

import csv
import json
import subprocess
import sys

import pytest

from simulation.cli import main
from tests.conftest import TOY

COLUMNS = {
    "control.csv": ["date", "place", "controller"],
    "forces.csv": ["date", "place", "faction", "personnel", "arriving"],
    "casualties.csv": ["date", "place", "party", "killed", "wounded"],
    "events.csv": ["date", "kind", "place", "detail"],
    "displacement.csv": ["date", "place", "population", "idps", "displaced_from"],
    "personnel.csv": ["date", "faction", "initial", "recruited", "reinforced", "killed", "wounded", "deserted",
                      "present"],
}


@pytest.fixture(scope="module")
def toy_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "toy"
    assert main(["run", str(TOY), "--seed", "1", "--out", str(out), "--quiet"]) == 0
    return out


def test_run_writes_every_file_with_its_columns(toy_run):
    for name, cols in COLUMNS.items():
        with (toy_run / name).open(encoding="utf-8", newline="") as f:
            reader = csv.reader(f)
            assert next(reader) == cols, name
            rows = list(reader)
        assert rows or name == "casualties.csv", f"{name} is empty"
    control = list(csv.DictReader((toy_run / "control.csv").open(encoding="utf-8")))
    assert len(control) == 30 * 9  # one row per place per day
    assert {r["date"] for r in control} == {f"2014-06-{d:02d}" for d in range(1, 31)}
    for png in ("map.png", "control.png", "casualties.png", "forces.png", "displacement.png"):
        assert (toy_run / png).stat().st_size > 1000
    report = (toy_run / "report.md").read_text(encoding="utf-8")
    assert "![control at the start and the end](map.png)" in report


def test_summary_holds_totals_and_final_controllers(toy_run):
    s = json.loads((toy_run / "summary.json").read_text(encoding="utf-8"))
    assert s["scenario"] == "toy" and s["seed"] == 1 and s["days"] == 30
    assert set(s["totals"]["killed"]) == {"government", "tribal", "insurgent", "kurds", "civilian"}
    assert set(s["final_controller"]) == {
        "border_crossing", "west_town", "river_town", "refinery", "desert_camp", "north_city", "checkpoint",
        "haven", "capital"}
    assert s["parameters"]["attack_ratio"] > 0 and s["version"]
    casualties = list(csv.DictReader((toy_run / "casualties.csv").open(encoding="utf-8")))
    assert sum(int(r["killed"]) for r in casualties) == s["totals"]["killed_all"]


def test_summary_names_the_versions_that_computed_it(toy_run):
    from importlib import metadata

    from simulation import __version__
    from simulation.fingerprint import model_fingerprint

    v = json.loads((toy_run / "summary.json").read_text(encoding="utf-8"))["versions"]
    assert v["python"] == ".".join(map(str, sys.version_info[:3]))
    for lib in ("numpy", "numba", "scipy", "mesa"):
        assert v[lib] == metadata.version(lib)
    assert v["conflict-sim"] == __version__ and v["model_fingerprint"] == model_fingerprint()


def test_gis_layers_hold_coordinates_kind_population_and_daily_control(toy_run):
    from simulation.scenario import load_scenario

    scenario = load_scenario(TOY)
    places = json.loads((toy_run / "places.geojson").read_text(encoding="utf-8"))
    assert places["type"] == "FeatureCollection" and len(places["features"]) == len(scenario.places)
    control = {(r["date"], r["place"]): r["controller"]
               for r in csv.DictReader((toy_run / "control.csv").open(encoding="utf-8"))}
    final = json.loads((toy_run / "summary.json").read_text(encoding="utf-8"))["final_controller"]
    for feature, place in zip(places["features"], scenario.places):
        props = feature["properties"]
        assert feature["geometry"] == {"type": "Point", "coordinates": [place.lon, place.lat]}
        assert (props["id"], props["kind"], props["governorate"], props["population"]) == \
            (place.id, place.kind, place.governorate, place.population)
        daily = {k.removeprefix("control_"): v for k, v in props.items() if k.startswith("control_")}
        assert len(daily) == 30 and all(control[d, place.id] == c for d, c in daily.items())
        assert props["controller_end"] == final[place.id] and props["controller_start"] == place.controller
    roads = json.loads((toy_run / "roads.geojson").read_text(encoding="utf-8"))["features"]
    at = {p.id: [p.lon, p.lat] for p in scenario.places}
    assert len(roads) == len(scenario.roads)
    for feature, road in zip(roads, scenario.roads):
        assert feature["geometry"]["coordinates"] == [at[road.a], at[road.b]]
        assert feature["properties"] == {"from": road.a, "to": road.b, "km": road.km, "kind": road.kind}


def test_same_seed_gives_byte_identical_files_except_run_time(toy_run, tmp_path):
    again = tmp_path / "again"
    assert main(["run", str(TOY), "--seed", "1", "--out", str(again), "--quiet"]) == 0
    names = sorted(p.name for p in toy_run.iterdir())
    assert names == sorted(p.name for p in again.iterdir())
    for name in names:
        if name == "summary.json":
            a = json.loads((toy_run / name).read_text())
            b = json.loads((again / name).read_text())
            a.pop("run_time_s"), b.pop("run_time_s")
            assert a == b
        else:
            assert (toy_run / name).read_bytes() == (again / name).read_bytes(), name


def test_set_overrides_a_parameter_and_is_recorded(tmp_path):
    out = tmp_path / "set"
    assert main(["run", str(TOY), "--days", "3", "--set", "attack_ratio=2.5", "--no-plots", "--out", str(out),
                 "--quiet"]) == 0
    s = json.loads((out / "summary.json").read_text())
    assert s["parameters"]["attack_ratio"] == 2.5 and s["days"] == 3
    assert s["overrides"] == {"attack_ratio": 2.5} and s["fitted_file"] is None  # the toy has no fitted file


def test_report_states_its_inputs_and_sets_the_run_beside_the_reports(tmp_path):
    from simulation.engine.model import ConflictModel
    from simulation.runs.observed import control_comparison, scenario_observations
    from simulation.scenario import load_scenario

    out = tmp_path / "iraq"
    assert main(["run", "iraq_june_2014", "--set", "attack_ratio=0.8", "--out", str(out), "--quiet"]) == 0
    report = (out / "report.md").read_text(encoding="utf-8")
    s = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert s["fitted_file"].endswith("calibration/fitted/iraq_june_2014.toml")
    assert f"- fitted parameters: `{s['fitted_file']}`" in report
    assert "- parameters set for this run: `--set attack_ratio=0.8`" in report
    assert "## The run beside the reports" in report
    # The same comparison, from the model rerun with the same seed and parameters.
    model = ConflictModel(load_scenario("iraq_june_2014").with_parameters({"attack_ratio": 0.8}), seed=1).run()
    rows = control_comparison(model, scenario_observations(model.scenario_data))
    assert len(rows) > 20
    assert f"{sum(r['agree'] for r in rows)} of {len(rows)} reports match" in report
    assert report.count("| ✓ |") + report.count("| ✗ |") == len(rows)
    assert "| civilians+noncombatants in Ninawa,Diyala,Salahuddin | 2014-06-05 to 2014-06-22 | 757 |" in report
    assert "people who had left Mosul | 500,000 |" in report


def test_report_of_a_scenario_without_observations_says_so(toy_run):
    report = (toy_run / "report.md").read_text(encoding="utf-8")
    assert "- fitted parameters: none" in report and "- parameters set for this run: none" in report
    assert "The scenario names no observations" in report


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--set", "no_such=1"], "unknown parameter 'no_such'"),
        (["--set", "attack_ratio=99"], "outside its bounds"),
        (["--set", "attack_ratio"], "expected name=value"),
        (["--days", "0"], "--days 0"),
    ],
)
def test_bad_options_exit_2_with_one_line_and_no_output(tmp_path, capsys, args, fragment):
    out = tmp_path / "out"
    assert main(["run", str(TOY), "--out", str(out), *args]) == 2
    err = capsys.readouterr().err
    assert fragment in err and err.count("\n") == 1
    assert not out.exists() and not list(tmp_path.glob(".out.*"))


def test_bad_scenario_exits_2_names_file_row_field_and_leaves_nothing(toy_copy, tmp_path):
    forces = toy_copy / "forces.csv"
    forces.write_text(forces.read_text().replace("kurds,haven,4000", "kurds,haven,-4000"), encoding="utf-8")
    out = tmp_path / "out"
    proc = subprocess.run([sys.executable, "-m", "simulation.cli", "run", str(toy_copy), "--out", str(out)],
                          capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        "error: toy/forces.csv, row 10, field 'personnel': -4000 must be > 0"]
    assert "Traceback" not in proc.stderr and not out.exists()


def test_existing_output_directory_is_refused_unless_forced(toy_run, capsys):
    assert main(["run", str(TOY), "--out", str(toy_run)]) == 2
    assert "output directory exists" in capsys.readouterr().err


def test_help_explains_every_option(capsys):
    with pytest.raises(SystemExit):
        main(["run", "--help"])
    text = capsys.readouterr().out
    for option in ("--seed", "--days", "--set", "--out", "--force", "--no-plots"):
        assert option in text


def test_the_parser_and_the_public_api_import_no_heavy_library():
    """``conflict-sim --help`` and a mistyped option answer before NumPy, pandas or the model are imported, and
    ``import simulation`` is as cheap (its public names load on use)."""
    heavy = ("numpy", "pandas", "scipy", "numba", "mesa", "networkx", "simulation.engine.model")
    code = ("import sys, simulation, simulation.cli as c; c.build_parser(); "
            f"print(sorted(m for m in {heavy!r} if m in sys.modules)); "
            "from simulation import ConflictModel, calibrate, validate, run_sweep, load_scenario")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout


def test_no_library_module_imports_a_command_line_module():
    """Only command-line modules (``cli.py``, and ``__main__.py`` for ``python -m simulation``) import command-line
    modules: the CLI sits above the library."""
    import ast
    from pathlib import Path

    package = Path(__file__).resolve().parents[1] / "simulation"
    offenders = []
    for path in package.rglob("*.py"):
        if path.name in ("cli.py", "__main__.py"):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [node.module or ""] if isinstance(node, ast.ImportFrom) else \
                [a.name for a in node.names] if isinstance(node, ast.Import) else []
            offenders += [f"{path.relative_to(package)} imports {n}" for n in names
                          if n == "simulation.cli" or n.endswith(".cli")]
    assert offenders == []


def test_the_command_lets_openblas_threads_sleep_unless_told_otherwise(monkeypatch, capsys):
    """OPENBLAS_THREAD_TIMEOUT is set before NumPy's import (in a fresh process, and inherited by the report
    processes), and a user's own value is kept."""
    import simulation.cli as cli

    name, value = cli.BLAS_IDLE
    monkeypatch.delenv(name, raising=False)
    assert main(["check", str(TOY)]) == 0
    assert cli.os.environ[name] == value
    monkeypatch.setenv(name, "28")
    assert main(["check", str(TOY)]) == 0
    assert cli.os.environ[name] == "28"
    capsys.readouterr()


def test_a_single_run_starts_no_resource_tracker(tmp_path):
    """tqdm's default lock is also a multiprocessing lock, whose semaphore starts multiprocessing's resource tracker
    (another Python process); a single run uses a thread lock instead."""
    code = f"""
import multiprocessing.resource_tracker as rt
from simulation.cli import main
assert main(["run", {str(TOY)!r}, "--days", "2", "--out", {str(tmp_path / 'run')!r}, "--quiet", "--no-plots"]) == 0
print(rt._resource_tracker._pid)
"""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "None"
