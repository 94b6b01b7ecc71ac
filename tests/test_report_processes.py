"""``conflict-sim run`` with its report drawn by other processes (:mod:`simulation.runs.plotting`): the same files
as drawn in the command's own process, a clear error and no output when a report process fails, and no model
library in a report process."""

from __future__ import annotations

import json
import pickle
import subprocess
import sys

import pytest

from simulation.cli import main
from simulation.runs import plotting
from simulation.runs.plotting import ENV, ReportError, ReportProcesses
from tests.conftest import ROOT, TOY


def _run(monkeypatch, out, processes: str) -> int:
    monkeypatch.setenv(ENV, processes)
    return main(["run", str(TOY), "--seed", "3", "--out", str(out), "--quiet"])


@pytest.mark.parametrize("fork", [True, False] if plotting.FORK else [False])
def test_report_processes_write_the_same_files_as_one_process(monkeypatch, tmp_path, fork):
    """With ``fork``, one process imports matplotlib and forks to draw the map and the series at once (Linux);
    without, each has its own process."""
    monkeypatch.setattr(plotting, "FORK", fork)
    runs = {n: tmp_path / f"p{n}" for n in ("0", "1", "2")}
    for n, out in runs.items():
        assert _run(monkeypatch, out, n) == 0
    names = sorted(p.name for p in runs["0"].iterdir())
    assert {"map.png", "control.png", "casualties.png", "forces.png", "displacement.png", "report.md"} <= set(names)
    for n in ("1", "2"):
        assert sorted(p.name for p in runs[n].iterdir()) == names
        for name in names:
            a, b = (runs["0"] / name).read_bytes(), (runs[n] / name).read_bytes()
            if name == "summary.json":
                a, b = json.loads(a), json.loads(b)
                a.pop("run_time_s"), b.pop("run_time_s")
            assert a == b, f"{name} differs when drawn by {n} other process(es)"


def test_a_failed_report_process_fails_the_command_and_writes_nothing(monkeypatch, tmp_path, capsys):
    broken = tmp_path / "broken"
    (broken / "matplotlib").mkdir(parents=True)
    (broken / "matplotlib" / "__init__.py").write_text('raise ImportError("no matplotlib here (a test)")\n')
    monkeypatch.setenv("PYTHONPATH", str(broken))  # the report processes find this matplotlib first
    out = tmp_path / "runs" / "toy"
    assert _run(monkeypatch, out, "2") == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith("error: the report could not be drawn: map (ImportError: no matplotlib here (a test))")
    assert "series and markdown (ImportError" in err
    assert not (tmp_path / "runs").exists()  # neither the run directory, nor its .partial, nor its parent


def test_an_unknown_number_of_report_processes_is_bad_input(monkeypatch, tmp_path, capsys):
    out = tmp_path / "toy"
    assert _run(monkeypatch, out, "3") == 2
    assert f"{ENV}=3: expected auto, 0, 1 or 2" in capsys.readouterr().err
    assert not out.exists()


@pytest.mark.parametrize("fork", [True, False])
def test_closing_ends_report_processes_that_got_no_run(fork):
    report = ReportProcesses(fork=fork)
    procs = [proc for _, proc, _ in report._procs]
    assert len(procs) == (1 if fork else 2) and all(p.poll() is None for p in procs)
    report.close()
    assert all(p.poll() is not None for p in procs)


@pytest.mark.skipif(not plotting.FORK, reason="a report process forks on Linux only")
def test_a_part_that_fails_after_the_fork_is_named_and_fails_the_command(tmp_path):
    """The map is drawn, the series cannot be (a view without its casualties): the error names the series."""
    from simulation.engine.model import ConflictModel
    from simulation.runs.run_view import RunView

    model = ConflictModel(TOY, seed=1, days=4)
    model.run()
    view = RunView.from_model(model)
    del view.__dict__["rec_killed"]
    with ReportProcesses(fork=True) as report, pytest.raises(ReportError) as e:
        report.write(view, {}, tmp_path)
    assert str(e.value).startswith("the report could not be drawn: series and markdown (AttributeError: ")
    assert "map" not in str(e.value) and (tmp_path / "map.png").is_file()


def test_a_report_process_names_its_error():
    from simulation.runs.run_view import RunView

    report = ReportProcesses((("nonsense",),))
    with pytest.raises(ReportError, match=r"nonsense \(report parts: map, series, markdown \(got nonsense\)\)"):
        report.write(RunView([]), {}, ROOT)
    report.close()


def test_a_report_process_imports_no_model_library(tmp_path):
    """What a report process loads: the run's view and the report, not Mesa, Numba, NetworkX or SciPy."""
    from simulation.engine.model import ConflictModel
    from simulation.runs.run_view import RunView

    model = ConflictModel(TOY, seed=1, days=4)
    model.run()
    view = tmp_path / "view.pickle"
    view.write_bytes(pickle.dumps(RunView.from_model(model)))
    heavy = ("mesa", "numba", "networkx", "scipy", "pandas", "simulation.engine.model")
    code = (f"import pickle, sys; v = pickle.loads(open({str(view)!r}, 'rb').read()); "
            "import simulation.runs.report; "
            f"print(v.day, v.dates()[-1], sorted(m for m in {heavy!r} if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.split() == ["4", model.dates()[-1], "[]"]


def test_a_map_drafted_from_another_scenario_is_drawn_again(tmp_path):
    """The map's process drafts the map from the model as built; given a run whose places differ from the draft's,
    it draws the whole map again rather than colour the wrong places."""
    from simulation.engine.model import ConflictModel
    from simulation.runs.report import write_map
    from simulation.runs.run_view import RunView
    other = RunView.from_model(ConflictModel(ROOT / "scenarios" / "iraq_june_2014", seed=1, days=2))
    model = ConflictModel(TOY, seed=1, days=4)
    model.run()
    view = RunView.from_model(model)
    (tmp_path / "here").mkdir()
    (tmp_path / "there").mkdir()
    write_map(view, tmp_path / "here")
    with ReportProcesses((("map",),)) as report:
        report.draft(other)
        report.write(view, {}, tmp_path / "there")
    assert (tmp_path / "there" / "map.png").read_bytes() == (tmp_path / "here" / "map.png").read_bytes()


def test_report_processes_run_this_package_whatever_the_working_directory_holds(monkeypatch, tmp_path):
    """Run from a directory that holds another ``simulation`` package (another checkout, say): the report is
    drawn by this package's code, as the model is run by it."""
    (tmp_path / "simulation").mkdir()
    (tmp_path / "simulation" / "__init__.py").write_text('raise ImportError("the wrong simulation package")\n')
    monkeypatch.setenv("PYTHONPATH", str(ROOT))  # this package on the path, as a run from a checkout has it
    monkeypatch.chdir(tmp_path)
    assert _run(monkeypatch, tmp_path / "out", "2") == 0
    assert (tmp_path / "out" / "map.png").is_file()


def test_auto_draws_elsewhere_only_while_the_cpus_are_not_contended(monkeypatch, tmp_path):
    """``auto`` reads the tasks running now and how long tasks waited for a CPU (Linux), not the load average,
    which counts the command's own last runs; without those files, the load average decides."""
    pressure, loadavg = tmp_path / "cpu", tmp_path / "loadavg"
    pressure.write_text("some avg10=2.50 avg60=9.00 avg300=30.00 total=123\nfull avg10=0.00 avg60=0.00 "
                        "avg300=0.00 total=0\n")
    loadavg.write_text("6.00 6.00 6.00 1/300 4242\n")  # only this process running
    monkeypatch.setattr(plotting.os, "getloadavg", lambda: (6.0, 6.0, 6.0))  # ignored while the files are read
    assert plotting.others_running(loadavg) == 0
    assert not plotting.cpus_contended(2, pressure, loadavg)
    loadavg.write_text("6.00 6.00 6.00 2/300 4242\n")  # a neighbour on the other CPU, now
    assert plotting.cpus_contended(2, pressure, loadavg)
    assert plotting.cpus_contended(2, pressure, loadavg, earlier=1)
    assert not plotting.cpus_contended(2, pressure, loadavg, earlier=0)  # not at the earlier look: a passing task
    assert not plotting.cpus_contended(4, pressure, loadavg)  # two CPUs left free
    loadavg.write_text("6.00 6.00 6.00 1/300 4242\n")
    pressure.write_text("some avg10=35.00 avg60=9.00 avg300=30.00 total=123\n")
    assert plotting.cpus_contended(2, pressure, loadavg)  # tasks waited
    missing = tmp_path / "none"
    assert plotting.others_running(missing) is None
    assert plotting.cpus_contended(2, missing, missing)  # load 6 on 2 CPUs
    monkeypatch.setattr(plotting.os, "getloadavg", lambda: (0.5, 0.5, 0.5))
    assert not plotting.cpus_contended(2, missing, missing)
    monkeypatch.delenv(ENV, raising=False)
    monkeypatch.setattr(plotting, "available_cpus", lambda: 2)
    monkeypatch.setattr(plotting, "cpus_contended", lambda cpus, earlier=None: True)
    assert ReportProcesses.start() is None  # drawn in the command's process
    monkeypatch.setattr(plotting, "cpus_contended", lambda cpus, earlier=None: False)
    report = ReportProcesses.start()
    assert report is not None
    report.close()
    monkeypatch.setattr(plotting, "available_cpus", lambda: 1)
    assert ReportProcesses.start() is None
