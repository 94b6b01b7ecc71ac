"""The same scenario, parameters and seed give byte-identical run files in separate processes.

Each run is a fresh ``conflict-sim`` process with its own ``PYTHONHASHSEED`` (so set and dict-of-set iteration
orders differ between them); every file of the run directory, the PNG plots included, must be identical
byte for byte, except ``run_time_s`` in ``summary.json``. A sweep gives the same table serially, on a process
pool and on a local Dask cluster (each in a process with its own hash seed), and each of its rows is what
``conflict-sim run`` gives with that row's seed and parameters.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT, TOY

IRAQ = ROOT / "scenarios" / "iraq_june_2014"
HASH_SEEDS = ("1", "4242")


def run_in_processes(scenario: Path, base: Path, args: list[str]) -> list[Path]:
    """Run ``conflict-sim run scenario`` once per hash seed, concurrently, each in its own process."""
    outs, procs = [], []
    for h in HASH_SEEDS:
        out = base / f"hash{h}"
        env = {**os.environ, "PYTHONHASHSEED": h, "PYTHONPATH": str(ROOT)}
        procs.append(subprocess.Popen([sys.executable, "-m", "simulation.cli", "run", str(scenario), "--out", str(out),
                                       "--quiet", *args], env=env, cwd=base, stdout=subprocess.PIPE,
                                      stderr=subprocess.PIPE, text=True))
        outs.append(out)
    for p in procs:
        stdout, stderr = p.communicate(timeout=300)
        assert p.returncode == 0, stderr
    return outs


def assert_identical(a: Path, b: Path) -> None:
    names = sorted(p.name for p in a.iterdir())
    assert names == sorted(p.name for p in b.iterdir())
    for name in names:
        if name == "summary.json":
            sa, sb = (json.loads((d / name).read_text(encoding="utf-8")) for d in (a, b))
            assert sa.pop("run_time_s") is not None and sb.pop("run_time_s") is not None
            assert sa == sb
            lines = [[ln for ln in (d / name).read_bytes().splitlines() if b'"run_time_s"' not in ln] for d in (a, b)]
            assert lines[0] == lines[1], "summary.json differs in more than run_time_s"
        else:
            assert (a / name).read_bytes() == (b / name).read_bytes(), f"{name} differs between processes"


@pytest.mark.parametrize(("scenario", "args"), [
    (TOY, ["--seed", "3"]),
    (IRAQ, ["--seed", "7", "--days", "15", "--set", "attack_ratio=1.1"]),
], ids=["toy", "iraq"])
def test_two_processes_with_different_hash_seeds_write_identical_runs(scenario, args, tmp_path):
    a, b = run_in_processes(scenario, tmp_path, args)
    assert any(p.suffix == ".png" for p in a.iterdir()), "plots are part of the comparison"
    assert_identical(a, b)


def write_many_factions(root: Path) -> Path:
    """Eight factions, one coalition of three (f2, f5, f7) next to a lone faction (f3).

    Coalitions used to be numbered in the iteration order of a frozenset of alliance pairs, which follows
    PYTHONHASHSEED: with this layout the battle reports listed the sides in a different order in different
    processes.
    """
    from tests.conftest import write_scenario

    write_scenario(root, ["a,f2,20000", "b,f3,1000", "c,f5,0", "d,f0,500"], ["a,b,30", "b,c,40", "c,d,50"],
                   ["f2,a,800,1,0.9", "f5,a,400,1,0.9", "f7,b,300,1,0.9", "f3,b,900,1,0.9", "f0,d,200,1,0.9",
                    "f1,c,150,1,0.9", "f4,c,150,1,0.9", "f6,d,100,1,0.9"])
    toml = ['[scenario]\nname = "eight"\nstart_date = 2014-06-01\nend_date = 2014-06-10\n']
    toml += [f'[[factions]]\nid = "f{i}"\ndoctrine = "insurgent"\n' for i in range(8)]
    toml.append('[relations]\nallied = [["f2", "f5"], ["f2", "f7"], ["f5", "f7"]]\n')
    (root / "scenario.toml").write_text("\n".join(toml), encoding="utf-8")
    return root


def test_coalitions_of_many_factions_are_reproducible_across_hash_seeds(tmp_path):
    scenario = write_many_factions(tmp_path / "eight")
    a, b = run_in_processes(scenario, tmp_path, ["--seed", "1", "--no-plots"])
    events = (a / "events.csv").read_text(encoding="utf-8")
    assert "f2+f5+f7" in events, "the test needs battles of the three-faction coalition"
    assert_identical(a, b)


def test_a_sweep_gives_the_same_numbers_on_every_backend_and_as_single_runs(tmp_path):
    """Serial, a process pool and a local Dask cluster, each in a process with its own hash seed, write the same
    results.csv byte for byte; and each row holds the numbers of ``conflict-sim run`` with that row's seed and
    parameters, run in yet another process."""
    design = tmp_path / "design.toml"
    design.write_text("[sweep]\nsweep_seed = 5\ndays = 10\n[grid]\nattack_ratio = [0.8, 1.6]\n", encoding="utf-8")
    backends = {"1": ["--backend", "serial"], "99": ["--backend", "processes", "--workers", "2"],
                "4242": ["--backend", "dask", "--workers", "2"]}
    procs = {}
    for h, args in backends.items():
        env = {**os.environ, "PYTHONHASHSEED": h, "PYTHONPATH": str(ROOT)}
        procs[h] = subprocess.Popen([sys.executable, "-m", "simulation.cli", "sweep", str(TOY), "--design", str(design),
                                     "--seeds", "2", "--out", str(tmp_path / f"sweep{h}"), "--quiet", *args], env=env,
                                    cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    for p in procs.values():
        _, err = p.communicate(timeout=600)
        assert p.returncode == 0, err
    tables = {h: (tmp_path / f"sweep{h}" / "results.csv").read_bytes() for h in backends}
    assert tables["1"] == tables["99"] == tables["4242"]

    import csv
    import io

    rows = list(csv.DictReader(io.StringIO(tables["1"].decode("utf-8"))))
    assert len(rows) == 4
    row = rows[3]
    out = tmp_path / "single"
    env = {**os.environ, "PYTHONHASHSEED": "7", "PYTHONPATH": str(ROOT)}
    subprocess.run([sys.executable, "-m", "simulation.cli", "run", str(TOY), "--seed", row["seed"], "--days", "10",
                    "--set", f"attack_ratio={row['attack_ratio']}", "--no-plots", "--quiet", "--out", str(out)],
                   env=env, cwd=tmp_path, check=True, capture_output=True, timeout=300)
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    for kind in ("killed", "wounded"):
        for party, value in summary["totals"][kind].items():
            assert int(row[f"{kind}_{party}"]) == value, (kind, party)
    assert summary["totals"]["killed_all"] > 0, "the compared run should have some fighting"
    assert int(row["displaced"]) == summary["totals"]["displaced"]
    assert int(row["control_changes"]) == summary["control_changes"]
