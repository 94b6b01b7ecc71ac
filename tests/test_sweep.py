"""Sweeps: the same table on every backend, seeds from the sweep seed, resume after a kill with every run once,
design files with located errors, outcomes that mean what they say, Sobol indices, counterfactual transforms."""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from simulation.cli import main
from simulation.engine.model import ConflictModel
from simulation.fingerprint import model_fingerprint
from simulation.runs.counterfactuals import (
    COUNTERFACTUALS,
    apply_counterfactuals,
    close_checkpoints,
    drop_events,
    full_strength_garrison,
    no_air_strikes,
)
from simulation.runs.outcomes import fall_days, key_places, run_outcomes
from simulation.runs.output import summary
from simulation.scenario import ScenarioError, load_scenario
from simulation.sweep import (
    ForeignStore,
    ResultStore,
    load_design,
    run_seed,
    run_sweep,
    scenario_fingerprint,
    sobol_indices,
    sobol_sample,
)
from tests.conftest import ROOT, write_scenario

IRAQ = ROOT / "scenarios" / "iraq_june_2014"
GRID = {"attack_ratio": [0.8, 1.6], "defender_advantage": [1.2, 2.5]}


@pytest.fixture(scope="module")
def iraq():
    return load_scenario(IRAQ)


@pytest.fixture(scope="module")
def serial_table(iraq):
    return run_sweep(iraq, GRID, seeds=2, days=8, backend="serial")


def test_table_has_one_row_per_run_in_design_order(serial_table, iraq):
    df = serial_table
    assert len(df) == 8
    assert df["run"].tolist() == list(range(8))
    assert df[["set", "replicate"]].values.tolist() == [[s, r] for s in range(4) for r in range(2)]
    assert df[["attack_ratio", "defender_advantage"]].drop_duplicates().values.tolist() == \
        [[0.8, 1.2], [0.8, 2.5], [1.6, 1.2], [1.6, 2.5]]
    for pid in key_places(iraq):
        assert f"fell_day_{pid}" in df and f"held_{pid}" in df
    assert {"killed_civilian", "wounded_insurgent", "displaced", "places_insurgent", "refinery_held"} <= set(df)
    assert df.attrs["computed"] == 8 and df.attrs["reused"] == 0


def test_seeds_derive_from_the_sweep_seed_and_are_shared_across_parameter_sets(serial_table):
    df = serial_table
    assert df["seed"].tolist() == [run_seed(0, r) for r in df["replicate"]]
    assert df.groupby("replicate")["seed"].nunique().eq(1).all()  # common random numbers
    assert run_seed(0, 0) != run_seed(0, 1) != run_seed(1, 1)
    assert run_seed(7, 3) == int(np.random.SeedSequence(7).spawn(4)[3].generate_state(2, np.uint32)
                                 .astype(np.uint64) @ np.array([2**32, 1], dtype=np.uint64)) & (2**63 - 1)


def test_a_run_is_the_model_run_with_that_seed(serial_table, iraq):
    row = serial_table.iloc[5]
    s = iraq.with_parameters({"attack_ratio": row["attack_ratio"], "defender_advantage": row["defender_advantage"]})
    model = ConflictModel(s, seed=int(row["seed"]), days=8).run()
    expected = run_outcomes(model, key_places(iraq))
    for column, value in expected.items():
        got = row[column]
        assert (pd.isna(got) and value is None) or got == value, column


def test_same_table_with_processes_and_on_a_dask_local_cluster(serial_table, iraq, tmp_path):
    procs = run_sweep(iraq, GRID, seeds=2, days=8, backend="processes", workers=2, store=tmp_path / "p")
    pd.testing.assert_frame_equal(procs, serial_table)
    dask = run_sweep(iraq, GRID, seeds=2, days=8, backend="dask", workers=2)
    pd.testing.assert_frame_equal(dask, serial_table)
    # Other batch sizes and another order of execution: still the same table.
    reordered = run_sweep(iraq, list(reversed([{"attack_ratio": a, "defender_advantage": d}
                                               for a in GRID["attack_ratio"] for d in GRID["defender_advantage"]])),
                          seeds=2, days=8, backend="serial", batch_size=3)
    back = reordered.sort_values(["attack_ratio", "defender_advantage", "replicate"]).reset_index(drop=True)
    cols = [c for c in serial_table if c not in ("run", "set")]
    pd.testing.assert_frame_equal(back[cols], serial_table[cols])


def test_store_resumes_extends_and_never_duplicates(iraq, tmp_path, serial_table):
    store = tmp_path / "store"
    first = run_sweep(iraq, GRID, seeds=[0], days=8, backend="serial", store=store)
    assert first.attrs["computed"] == 4
    full = run_sweep(iraq, GRID, seeds=2, days=8, backend="serial", store=store)
    assert (full.attrs["computed"], full.attrs["reused"]) == (4, 4)
    pd.testing.assert_frame_equal(full, serial_table)
    again = run_sweep(iraq, GRID, seeds=2, days=8, backend="serial", store=store)
    assert again.attrs["computed"] == 0
    rows = pd.concat([pd.read_parquet(f) for f in ResultStore(store).files()])
    assert len(rows) == rows["key"].nunique() == 8
    # A change of parameter values, days or scenario content is a different run.
    other = run_sweep(iraq, {"attack_ratio": [0.8]}, seeds=1, days=9, backend="serial", store=store)
    assert other.attrs["computed"] == 1


def test_a_resumed_sweep_refuses_a_store_of_another_model(iraq, tmp_path, capsys):
    kw = dict(design={"attack_ratio": [0.8]}, seeds=1, days=3, backend="serial", store=tmp_path / "store")
    run_sweep(iraq, **kw)
    meta = tmp_path / "store" / "store.json"
    assert json.loads(meta.read_text())["model_fingerprint"] == model_fingerprint()
    assert run_sweep(iraq, **kw).attrs["reused"] == 1  # the same model: resumed
    meta.write_text(meta.read_text().replace('"model_fingerprint": "', '"model_fingerprint": "0ther'))
    with pytest.raises(ForeignStore, match="computed by another version of the model"):
        run_sweep(iraq, **kw)
    # On the command line: one located line, exit 2, and the store as it was.
    design = tmp_path / "design.toml"
    design.write_text("[sweep]\ndays = 3\n[grid]\nattack_ratio = [0.8]\n", encoding="utf-8")
    out = tmp_path / "sweep"
    assert main(_sweep_cmd(design, out)[3:]) == 0
    capsys.readouterr()
    stored = sorted((out / "store").iterdir())
    meta = out / "store" / "store.json"
    meta.write_text(meta.read_text().replace('"model_fingerprint": "', '"model_fingerprint": "0ther'))
    assert main(_sweep_cmd(design, out)[3:]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {out / 'store'}: its runs were computed by another")
    assert sorted((out / "store").iterdir()) == stored


def test_keys_follow_scenario_content_not_its_sources(iraq):
    renamed = dataclasses.replace(iraq, places=tuple(dataclasses.replace(p, source="another citation")
                                                     for p in iraq.places))
    assert scenario_fingerprint(renamed) == scenario_fingerprint(iraq)
    assert scenario_fingerprint(no_air_strikes(iraq)) != scenario_fingerprint(iraq)


def _descendants(pid: int) -> list[int]:
    out = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        children = (task / "children").read_text().split() if (task / "children").exists() else []
        for c in map(int, children):
            out += [c, *_descendants(c)]
    return out


def _sweep_cmd(design: Path, out: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "simulation.cli", "sweep", str(IRAQ), "--design", str(design), "--out", str(out),
            "--quiet", *extra]


def _wait_for_batches(store: Path, proc: subprocess.Popen, n: int, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while len(list(store.glob("batch-*.parquet"))) < n:
        assert proc.poll() is None, "the sweep finished before it could be killed"
        assert time.monotonic() < deadline, "no batch was written"
        time.sleep(0.05)


def _check_complete(out: Path, total: int) -> pd.DataFrame:
    store = ResultStore(out / "store")
    rows = pd.concat([pd.read_parquet(f) for f in store.files()])
    assert len(rows) == rows["key"].nunique() == total  # every run exactly once
    assert not list((out / "store").glob(".*partial"))
    df = pd.read_parquet(out / "results.parquet")
    assert len(df) == df["key"].nunique() == total
    return df


@pytest.fixture(scope="module")
def small_design(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("design")
    design = tmp_path / "design.toml"
    design.write_text('[sweep]\nseeds = 2\nsweep_seed = 3\ndays = 10\n\n'
                      '[grid]\nattack_ratio = [0.6, 1.0, 1.4, 1.8]\nrout_threshold = [0.2, 0.4]\n', encoding="utf-8")
    return design


def test_a_killed_writers_half_written_batch_is_removed_and_a_live_ones_kept(tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    store = ResultStore(tmp_path / "store")
    store.path.mkdir()
    orphan = store.path / f".batch-0123.parquet.{dead.pid}.partial"
    writing = store.path / f".batch-4567.parquet.{os.getpid()}.partial"
    for f in (orphan, writing):
        f.write_bytes(b"half a batch")
    assert store.remove_orphans() == [orphan]
    assert not orphan.exists() and writing.exists()


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="needs /proc")
@pytest.mark.parametrize("victim", ["sweep", "worker"])
def test_sweep_killed_halfway_resumes_with_every_run_once(small_design, tmp_path, victim):
    out = tmp_path / "sweep"
    backend = ("--backend", "serial") if victim == "sweep" else ("--backend", "processes", "--workers", "2")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(_sweep_cmd(small_design, out, *backend), cwd=tmp_path, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        _wait_for_batches(out / "store", proc, 1)
        if victim == "sweep":
            proc.kill()  # SIGKILL: no chance to clean up
            assert proc.wait(30) == -signal.SIGKILL
        else:
            workers = [p for p in _descendants(proc.pid) if "forkserver" in Path(f"/proc/{p}/cmdline").read_text()]
            os.kill(max(workers), signal.SIGKILL)  # the newest process: a worker, not the fork server
            _, err = proc.communicate(timeout=120)
            assert proc.returncode == 1
            assert err.strip().splitlines() == [
                "error: a worker process died (killed or out of memory); the runs finished so far are stored: "
                "run the same sweep again to compute the rest"]
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    stored = len(ResultStore(out / "store").done_keys())
    assert 0 < stored < 16
    assert not (out / "results.parquet").exists()
    subprocess.run(_sweep_cmd(small_design, out, "--backend", "serial"), cwd=tmp_path, env=env, check=True,
                   capture_output=True, timeout=300)
    info = json.loads((out / "sweep.json").read_text())
    assert (info["computed"], info["reused"]) == (16 - stored, stored)
    resumed = _check_complete(out, 16)
    # The same table as a sweep that was never interrupted.
    subprocess.run(_sweep_cmd(small_design, tmp_path / "fresh", "--backend", "serial"), cwd=tmp_path, env=env,
                   check=True, capture_output=True, timeout=300)
    pd.testing.assert_frame_equal(resumed, pd.read_parquet(tmp_path / "fresh" / "results.parquet"))


def test_ctrl_c_stops_the_workers_and_keeps_finished_batches(small_design, tmp_path):
    out = tmp_path / "sweep"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(_sweep_cmd(small_design, out, "--workers", "2"), cwd=tmp_path, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        _wait_for_batches(out / "store", proc, 1)
        children = _descendants(proc.pid)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130
    assert err.startswith("interrupted: ") and "run the same command again" in err
    time.sleep(0.5)
    assert not [p for p in children if Path(f"/proc/{p}").exists()
                and "zombie" not in Path(f"/proc/{p}/status").read_text()], "worker processes left running"
    assert not list((out / "store").glob(".*partial"))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[grid]\nattack_ratio = [0.8, 99]\n", "design.toml, field 'attack_ratio': parameter attack_ratio=99"),
        ("[grid]\nattak_ratio = [0.8]\n", "design.toml, field 'attak_ratio': unknown parameter 'attak_ratio'"),
        ("[grid]\nattack_ratio = []\n", "design.toml, field 'attack_ratio': must be a non-empty list"),
        ("[sweep]\nseeds = 0\n[grid]\nattack_ratio = [1]\n", "design.toml, field 'sweep.seeds'"),
        ("[sweep]\nsed = 1\n[grid]\nattack_ratio = [1]\n", "design.toml, field 'sweep.sed': unknown key"),
        ("[grid]\nattack_ratio = [1]\n[[sets]]\nattack_ratio = 1\n", "needs exactly one of [grid], [[sets]]"),
        ("[sample]\nmethod = 'sobol'\nn = 10\n[sample.bounds]\nattack_ratio = [0.5, 2]\n",
         "design.toml, field 'n': n = 10: Sobol sampling needs a power of two"),
        ("[sample]\nmethod = 'lhs'\nn = 4\n[sample.bounds]\nattack_ratio = [2, 0.5]\n",
         "design.toml, field 'attack_ratio': [2, 0.5] needs low < high"),
        ("[fixed]\nattack_ratio = 1\n[grid]\nattack_ratio = [1, 2]\n",
         "design.toml, field 'attack_ratio': is both varied and fixed"),
        ("[sweep]\nkey_places = ['atlantis']\n[grid]\nattack_ratio = [1]\n",
         "design.toml, field 'sweep.key_places': unknown place 'atlantis'"),
        ("[sweep]\ndays = 100000\n[grid]\nattack_ratio = [1]\n",
         "design.toml, field 'sweep.days': 100000 must be a whole number between 1 and 3660"),
        ("[grid\n", "design.toml: is not valid TOML"),
    ],
)
def test_bad_design_file_is_one_located_line_exit_2_and_no_output(tmp_path, capsys, text, expected):
    design = tmp_path / "design.toml"
    design.write_text(text, encoding="utf-8")
    out = tmp_path / "sweep"
    assert main(_sweep_cmd(design, out)[3:]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and expected in lines[0], lines
    assert not out.exists()


def test_design_file_kinds(tmp_path):
    d = tmp_path / "d.toml"
    d.write_text("[fixed]\nkilled_share = 0.4\n[[sets]]\nattack_ratio = 0.9\n[[sets]]\n", encoding="utf-8")
    design = load_design(d).design
    assert design.sets == ({"killed_share": 0.4, "attack_ratio": 0.9}, {"killed_share": 0.4})
    d.write_text("[sample]\nmethod = 'lhs'\nn = 10\nseed = 2\n[sample.bounds]\nattack_ratio = [0.5, 2.0]\n"
                 "rout_threshold = [0.1, 0.5]\n", encoding="utf-8")
    lhs = load_design(d).design
    values = np.array([[s["attack_ratio"], s["rout_threshold"]] for s in lhs.sets])
    assert len(lhs) == 10 and (values.min(axis=0) >= [0.5, 0.1]).all() and (values.max(axis=0) <= [2.0, 0.5]).all()
    # Latin hypercube: one point in each tenth of each range.
    assert sorted(np.floor((values[:, 0] - 0.5) / 0.15).astype(int)) == list(range(10))


def test_fall_days():
    control = np.array([[0, 0, 3], [2, 1, 3], [2, 0, 0], [0, 0, 3]])
    initial = np.array([0, 0, 3])
    coalition = np.array([0, 0, 1, 2])  # factions 0 and 1 are allies
    assert fall_days(control, initial, coalition).tolist() == [1, -1, 2]


def test_outcomes_of_a_town_that_falls(tmp_path):
    root = write_scenario(tmp_path / "s", places=["a,government,1000", "b,insurgent,1000", "c,government,1000"],
                          roads=["a,b,20", "b,c,400"],
                          forces=["government,a,30,0.5,0.3", "insurgent,b,3000,1.0,0.9", "government,c,2000,1,0.9"],
                          days=12)
    s = load_scenario(root)
    model = ConflictModel(s, seed=1).run()
    out = run_outcomes(model, key_places(s, "all"))
    assert out["fell_day_a"] is not None and out["held_a"] is False
    assert out["fell_day_b"] is None and out["held_b"] is True
    assert out["refinery_held"] is None  # no refinery in this scenario
    totals = summary(model)["totals"]
    for party, n in totals["killed"].items():
        assert out[f"killed_{party}"] == n
    assert sum(out[f"places_{f}"] for f in s.faction_ids) == 3
    assert out["places_insurgent"] >= 2 and out["population_insurgent"] >= 2000
    assert out["control_changes"] >= 1


def test_sobol_indices_find_the_parameter_that_matters():
    design = sobol_sample({"attack_ratio": [0.5, 2.0], "rout_threshold": [0.1, 0.5], "killed_share": [0.1, 0.5]},
                          n=64, seed=1)
    assert len(design) == 64 * 5
    rows = [{"set": i, "replicate": r, "y": s["attack_ratio"] ** 2 + 0.01 * s["killed_share"]}
            for i, s in enumerate(design.sets) for r in range(2)]
    results = pd.DataFrame(rows).sample(frac=1.0, random_state=1)  # any order
    si = sobol_indices(design, results, "y", seed=1)
    assert si.loc["attack_ratio", "S1"] > 0.9 and si.loc["attack_ratio", "ST"] > 0.9
    assert abs(si.loc["rout_threshold", "ST"]) < 0.02
    with pytest.raises(ValueError, match="missing values"):
        sobol_indices(design, results.assign(y=np.nan), "y")
    # An output that no parameter moves has no variance to apportion.
    assert sobol_indices(design, results.assign(y=3.0), "y").isna().all().all()


def test_counterfactuals(iraq):
    no_air = no_air_strikes(iraq)
    assert not [e for e in no_air.events if e.kind == "air_sorties"]
    assert len(no_air.events) == len(iraq.events) - sum(e.kind == "air_sorties" for e in iraq.events)

    full = full_strength_garrison(iraq, "mosul")
    at_mosul = [f for f in full.forces if f.place == "mosul" and f.faction in ("government", "tribal")]
    assert at_mosul and all(f.present_share == 1.0 for f in at_mosul)
    assert [f for f in full.forces if f.place != "mosul"] == [f for f in iraq.forces if f.place != "mosul"]
    assert ConflictModel(full, seed=1, days=1).personnel_of(0) > ConflictModel(iraq, seed=1, days=1).personnel_of(0)

    closed = close_checkpoints(iraq)
    checkpoints = {p.id for p in iraq.places if p.kind == "checkpoint"}
    first = [e for e in closed.events if e.kind.startswith("checkpoint_")]
    assert {e.place for e in first} == checkpoints
    assert all(e.kind == "checkpoint_closed" and e.date == iraq.start_date for e in first)

    held = apply_counterfactuals(iraq, ["mosul_held"])
    assert all(f.morale == 1.0 and f.present_share == 1.0 for f in held.forces
               if f.place == "mosul" and f.faction in ("government", "tribal"))
    assert [f for f in held.forces if f.place != "mosul"] == [f for f in iraq.forces if f.place != "mosul"]
    assert set(COUNTERFACTUALS) >= {"no_air_strikes", "mosul_full_strength", "checkpoints_closed"}
    with pytest.raises(ScenarioError, match="unknown place 'atlantis'"):
        full_strength_garrison(iraq, "atlantis")
    with pytest.raises(ScenarioError, match="no 'defection' event"):
        drop_events(iraq, "defection", place="mosul")
    with pytest.raises(KeyError, match="unknown counterfactual"):
        apply_counterfactuals(iraq, ["no_war"])


def test_daily_series_survive_the_store(iraq, tmp_path):
    kw = dict(design={"attack_ratio": [1.0]}, seeds=2, days=5, backend="serial", key_places=["mosul"], daily=True)
    stored = run_sweep(iraq, store=tmp_path / "store", **kw)
    in_memory = run_sweep(iraq, **kw)
    pd.testing.assert_frame_equal(stored, in_memory)
    series = stored.loc[0, "daily_places_insurgent"]
    assert isinstance(series, list) and len(series) == 5 and all(isinstance(x, int) for x in series)
    assert series[-1] == stored.loc[0, "places_insurgent"]
    assert sum(stored.loc[0, "daily_killed"]) == sum(stored.loc[0, f"killed_{p}"]
                                                     for p in (*iraq.faction_ids, "civilian"))
