"""The package as pip installs it: every subpackage and shipped file in the wheel, the extras consistent, and
the installed layout finding its scenarios, designs, fitted files and observations from any directory."""

from __future__ import annotations

import fnmatch
import os
import re
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

from simulation import extras, shipped
from tests.conftest import ROOT

PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
SETUPTOOLS = PYPROJECT["tool"]["setuptools"]
DATA = {"scenarios": "simulation.data.scenarios", "calibration": "simulation.data.calibration",
        "designs": "simulation.data.designs"}


def _name(requirement: str) -> str:
    """The normalised distribution name of a requirement (``dask[distributed]>=2024.1`` -> ``dask``)."""
    return re.split(r"[\[<>=!~;\s]", requirement, maxsplit=1)[0].lower().replace("_", "-")


def test_every_subpackage_is_listed():
    """An unlisted subpackage would be left out of ``pip install .`` while tests (run from the repository) pass."""
    found = {".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "simulation").rglob("__init__.py")}
    listed = set(SETUPTOOLS["packages"])
    assert found - listed == set(), "add these to [tool.setuptools] packages in pyproject.toml"
    assert listed - found == set(DATA.values())
    assert {SETUPTOOLS["package-dir"][v]: v for v in DATA.values()} == {k: v for k, v in DATA.items()}


def test_every_shipped_file_is_package_data():
    globs = SETUPTOOLS["package-data"]
    for folder, package in DATA.items():
        for path in (ROOT / folder).rglob("*"):
            if path.is_file() and "__pycache__" not in path.parts:
                rel = path.relative_to(ROOT / folder).as_posix()
                assert any(fnmatch.fnmatchcase(rel, g) and rel.count("/") == g.count("/") for g in globs[package]), \
                    f"{folder}/{rel} is not in [tool.setuptools.package-data] {package!r}"


def test_extras_are_consistent_and_nothing_is_listed_twice():
    project = PYPROJECT["project"]
    optional = project["optional-dependencies"]
    assert set(optional) == {*extras.MODULES, "dev"}
    dev = optional["dev"][0]  # dev = every extra + the test tools
    assert dev.startswith("conflict-sim[") and set(dev[13:-1].split(",")) == set(extras.MODULES)
    names = [_name(r) for r in project["dependencies"]] + [_name(r) for e in optional.values() for r in e]
    repeated = {n for n in names if names.count(n) > 1} - {"mesa", "conflict-sim"}  # mesa[rec] adds Mesa's extra
    assert repeated == set()
    assert set(extras.COMMANDS.values()) <= set(extras.MODULES)
    assert not {"solara", "dask", "salib", "pyarrow"} & {_name(r) for r in project["dependencies"]}


def test_a_missing_extra_is_one_line_naming_it(monkeypatch, capsys):
    from simulation.cli import main

    real = extras.importlib.util.find_spec
    monkeypatch.setattr(extras.importlib.util, "find_spec", lambda m: None if m == "pyarrow" else real(m))
    assert main(["sweep", "toy", "--design", "example"]) == 2
    err = capsys.readouterr().err
    assert err == ("error: `conflict-sim sweep` needs the [sweep] extra (pyarrow not installed): "
                   "pip install 'conflict-sim[sweep]'\n")
    with pytest.raises(extras.MissingExtra, match=r"simulation.run_sweep needs the \[sweep\] extra"):
        from simulation import run_sweep  # noqa: F401


def test_shipped_names_and_paths(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert shipped.scenario_names() == ["iraq_june_2014", "toy"]
    assert shipped.resolve_scenario("toy") == shipped.scenarios_dir() / "toy"
    assert shipped.resolve_design("example") == shipped.resolve_design("example.toml") == \
        shipped.designs_dir() / "example.toml"
    (tmp_path / "toy").mkdir()
    assert shipped.resolve_scenario("toy") == Path("toy")  # a path that exists wins over the shipped name
    assert shipped.resolve_scenario("elsewhere/toy") is None and shipped.resolve_scenario("narnia") is None


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """The wheel ``pip install .`` builds, unpacked as site-packages would hold it."""
    tmp = tmp_path_factory.mktemp("wheel")
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp), str(ROOT)],
                           capture_output=True, text=True)
    assert built.returncode == 0, built.stderr[-3000:]
    wheel = next(tmp.glob("conflict_sim-*.whl"))
    site = tmp / "site"
    with zipfile.ZipFile(wheel) as z:
        z.extractall(site)
    return site


def test_the_wheel_holds_the_code_and_the_data(installed):
    for folder in DATA:
        for path in (ROOT / folder).rglob("*"):
            if path.is_file() and "__pycache__" not in path.parts:
                assert (installed / "simulation" / "data" / folder / path.relative_to(ROOT / folder)).is_file()
    for path in (ROOT / "simulation").rglob("*.py"):
        assert (installed / path.relative_to(ROOT)).is_file(), path


def test_the_installed_layout_works_from_any_directory(installed, tmp_path):
    """From another directory, the unpacked wheel (first on the path) finds its scenarios by name, applies the
    fitted file the scenario names and lists what it ships."""
    env = {**os.environ, "PYTHONPATH": str(installed)}

    def run(*args: str) -> str:
        out = subprocess.run([sys.executable, "-m", "simulation", *args], cwd=tmp_path, env=env,
                             capture_output=True, text=True)
        assert out.returncode == 0, out.stderr
        return out.stdout

    listing = run("scenarios")
    assert "iraq_june_2014" in listing and "toy" in listing and str(installed / "simulation" / "data") in listing
    assert run("check", "iraq_june_2014").startswith("iraq_june_2014: ok")
    code = ("from simulation import load_scenario, shipped; s = load_scenario('iraq_june_2014'); "
            "print(s.fitted_used, s.fitted_file, shipped.observations_dir())")
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True)
    used, fitted, observations = out.stdout.split()
    data = installed / "simulation" / "data"
    assert used == "True" and Path(fitted) == data / "calibration" / "fitted" / "iraq_june_2014.toml"
    assert Path(observations) == data / "calibration" / "observations"
    bad = subprocess.run([sys.executable, "-m", "simulation", "run", "narnia"], cwd=tmp_path, env=env,
                         capture_output=True, text=True)
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "narnia: is neither" in bad.stderr
