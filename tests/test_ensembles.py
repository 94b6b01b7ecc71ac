"""Ensembles: ``conflict-sim run --seeds N`` and ``conflict-sim compare``.

The model's rules change while this is written, so nothing here depends on a particular fall date or count:
the tests check structure (files, columns, rows), sums (shares sum to 1), consistency (an ensemble's run is the
single run of its seed; fall dates agree with control), reproducibility (same seeds, same files, whatever the
worker count) and the command line's errors.
"""

from __future__ import annotations

import csv
import json
import re
import struct
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from simulation.cli import main
from simulation.engine.model import ConflictModel
from simulation.runs.compare import Comparison, run_comparison
from simulation.runs.ensemble import (
    BAND_COLUMNS,
    EnsembleResult,
    posterior_draw,
    posterior_path,
    run_ensemble,
)
from simulation.runs.ensemble_output import ensemble_directory
from simulation.runs.outcomes import fall_days
from simulation.scenario import load_scenario
from tests.conftest import ROOT, TOY

IRAQ = ROOT / "scenarios" / "iraq_june_2014"
TABLES = ("control_share.csv", "fall_dates.csv", "bands.csv")

pytestmark = pytest.mark.timeout(600)


@pytest.fixture(scope="module")
def iraq() -> EnsembleResult:
    return run_ensemble(IRAQ, seeds=4, backend="serial")


@pytest.fixture(scope="module")
def iraq_dir(tmp_path_factory) -> Path:
    """An ensemble directory with its report, written by the command line."""
    out = tmp_path_factory.mktemp("ens") / "iraq"
    assert main(["run", str(IRAQ), "--seeds", "3", "--workers", "2", "--out", str(out), "--quiet"]) == 0
    return out


def test_shares_sum_to_one(iraq):
    share = iraq.control_share()
    assert share.shape == (iraq.days, len(iraq.scenario.places), len(iraq.factions))
    assert np.allclose(share.sum(axis=2), 1.0, rtol=0, atol=1e-12)
    assert ((share >= 0) & (share <= 1)).all()
    # a share is a count of runs over the runs
    assert np.allclose(share * iraq.runs, np.round(share * iraq.runs), atol=1e-9)
    frame = iraq.control_share_frame()
    assert list(frame.columns) == ["date", "place", "controller", "share"]
    assert len(frame) == iraq.days * len(iraq.scenario.places) * len(iraq.factions)
    assert np.allclose(frame.groupby(["date", "place"])["share"].sum(), 1.0, rtol=0, atol=1e-12)


def test_a_run_of_the_ensemble_is_the_single_run_of_its_seed(iraq):
    assert iraq.seeds.tolist() == [1, 2, 3, 4]
    model = ConflictModel(iraq.scenario, seed=3).run()
    assert np.array_equal(iraq.control[2], model.rec_control)
    assert np.array_equal(iraq.killed[2], model.rec_killed.sum(axis=1))
    assert np.array_equal(iraq.left[2], model.rec_displaced_from.sum(axis=1))
    assert np.array_equal(iraq.personnel[2], model.rec_ledger[:, -1, :])


def test_fall_dates_agree_with_control(iraq):
    df = iraq.fall_dates_frame()
    assert list(df.columns) == ["place", "controller", "seed", "date"]
    assert len(df) == len(iraq.scenario.places) * len(iraq.factions) * iraq.runs
    start = iraq.scenario.start_date
    row_of = {int(s): r for r, s in enumerate(iraq.seeds)}
    place = {p: k for k, p in enumerate(iraq.scenario.place_ids)}
    faction = {f: i for i, f in enumerate(iraq.factions)}
    initial = iraq.initial()
    for rec in df.itertuples():
        series = iraq.control[row_of[rec.seed], :, place[rec.place]]
        f = faction[rec.controller]
        before = np.concatenate([[initial[place[rec.place]]], series[:-1]])
        onsets = np.flatnonzero((series == f) & (before != f))
        if rec.date == "":
            assert onsets.size == 0
        else:
            assert (pd.Timestamp(rec.date).date() - start).days == onsets[0]
    # A place that fell passed to some side outside its coalition on its fall day.
    fell = iraq.fell_days()
    assert np.array_equal(fell, np.stack([fall_days(iraq.control[r], initial, iraq.coalition_of())
                                          for r in range(iraq.runs)]))


def test_bands_are_ordered_and_cumulative_counts_grow(iraq):
    bands = iraq.bands_frame()
    assert list(bands.columns) == ["date", "series", *BAND_COLUMNS]
    q = bands[list(BAND_COLUMNS)].to_numpy()
    assert (np.diff(q, axis=1) >= -1e-9).all()
    series = set(bands["series"])
    for name in ("killed_civilian", "wounded_government", "displaced_left", "displaced_now",
                 "people_insurgent", "personnel_peshmerga", "places_government"):
        assert name in series
    for party in iraq.parties:
        for col in BAND_COLUMNS:
            v = bands.loc[bands["series"] == f"killed_{party}", col].to_numpy()
            assert (np.diff(v) >= -1e-9).all(), f"killed_{party} {col} falls"
    # every day, the places held by the factions add up to all the places (in each run, so in the median too
    # when there is one run; here: the means do)
    held = sum(iraq.series()[f"places_{f}"] for f in iraq.factions)
    assert (held == len(iraq.scenario.places)).all()


def test_the_directory_holds_every_file_and_every_picture_the_report_names(iraq_dir):
    for name in (*TABLES, "summary.json", "report.md"):
        assert (iraq_dir / name).is_file(), name
    assert not (iraq_dir / "runs").exists(), "runs' own directories only with --keep-runs"
    report = (iraq_dir / "report.md").read_text(encoding="utf-8")
    named = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", report)
    assert {"share_maps.png", "fall_dates.png", "fan_casualties.png", "fan_control.png", "fan_forces.png",
            "fan_displacement.png", "fan_reported.png"} <= set(named)
    for name in named:
        head = (iraq_dir / name).read_bytes()[:24]
        assert head[:8] == b"\x89PNG\r\n\x1a\n", name
        width, height = struct.unpack(">II", head[16:24])
        assert width > 300 and height > 200, name
    assert sorted(p.name for p in iraq_dir.glob("*.png")) == sorted(set(named))
    summary = json.loads((iraq_dir / "summary.json").read_text(encoding="utf-8"))
    assert summary["runs"] == 3 and summary["seeds"] == [1, 2, 3]
    assert summary["scenario"] == "iraq_june_2014" and summary["fitted_file"]
    assert summary["posterior_file"] is None and summary["set"] == {}
    assert {"python", "numpy", "model_fingerprint"} <= set(summary["versions"])
    with (iraq_dir / "control_share.csv").open(encoding="utf-8") as f:
        shares = pd.read_csv(f)
    assert np.allclose(shares.groupby(["date", "place"])["share"].sum(), 1.0, atol=1e-9)


def _same_files(a: Path, b: Path) -> None:
    for name in TABLES:
        assert (a / name).read_bytes() == (b / name).read_bytes(), name
    sa, sb = (json.loads((d / "summary.json").read_text(encoding="utf-8")) for d in (a, b))
    for s in (sa, sb):
        for key in ("run_time_s", "workers", "backend"):
            s.pop(key)
    assert sa == sb


def test_same_seeds_same_files_whatever_the_workers(tmp_path):
    scenario = load_scenario(TOY)
    a = tmp_path / "serial"
    b = tmp_path / "two"
    ensemble_directory(scenario, a, seeds=5, first_seed=3, backend="serial", plots=False)
    ensemble_directory(scenario, b, seeds=5, first_seed=3, workers=2, plots=False)
    _same_files(a, b)
    assert json.loads((a / "summary.json").read_text(encoding="utf-8"))["seeds"] == [3, 4, 5, 6, 7]


def test_keep_runs_writes_each_runs_directory_as_a_single_run_would(tmp_path):
    out = tmp_path / "ens"
    assert main(["run", str(TOY), "--seeds", "2", "--seed", "5", "--keep-runs", "--no-plots", "--out", str(out),
                 "--quiet", "--workers", "2"]) == 0
    assert sorted(p.name for p in (out / "runs").iterdir()) == ["seed-5", "seed-6"]
    single = tmp_path / "single"
    assert main(["run", str(TOY), "--seed", "6", "--no-plots", "--out", str(single), "--quiet"]) == 0
    for name in ("control.csv", "casualties.csv", "displacement.csv", "personnel.csv", "events.csv"):
        assert (out / "runs" / "seed-6" / name).read_bytes() == (single / name).read_bytes(), name


def test_posterior_draws_depend_on_the_seed_only_and_are_what_ran(tmp_path):
    scenario = load_scenario(IRAQ)
    path = posterior_path(scenario)
    assert path is not None and path.is_file()
    from simulation.calibration.fitted import load_posterior

    post = load_posterior(path)
    assert posterior_draw(post, 7) == posterior_draw(post, 7)
    assert len({tuple(posterior_draw(post, s).values()) for s in range(1, 30)}) > 5
    out = tmp_path / "post"
    assert main(["run", str(IRAQ), "--seeds", "2", "--seed", "7", "--posterior", "--set", "attack_ratio=0.5",
                 "--no-plots", "--out", str(out), "--quiet", "--workers", "1"]) == 0
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["posterior_file"] == str(path)
    assert summary["set"] == {"attack_ratio": 0.5}
    draws = summary["posterior_draws"]
    assert len(draws) == 2 and all("attack_ratio" not in d for d in draws)  # --set wins over the posterior
    expected = {k: v for k, v in posterior_draw(post, 8).items() if k != "attack_ratio"}
    assert draws[1] == expected
    model = ConflictModel(scenario.with_parameters({"attack_ratio": 0.5, **expected}), seed=8).run()
    shares = pd.read_csv(out / "control_share.csv")
    last = shares[shares["date"] == shares["date"].max()]
    held = {(r.place, r.controller) for r in last.itertuples() if r.share > 0}
    ids = model.world.place_ids
    assert {(ids[k], model.faction_ids[c]) for k, c in enumerate(model.rec_control[-1])} <= held


@pytest.mark.parametrize("argv, message", [
    (["--seeds", "0"], "--seeds 0: need at least one run"),
    (["--seeds", "-3"], "--seeds -3: need at least one run"),
    (["--seeds", "2", "--workers", "0"], "--workers 0: need at least one"),
    (["--workers", "2"], "--workers needs --seeds N"),
    (["--keep-runs"], "--keep-runs needs --seeds N"),
    (["--seeds", "2", "--posterior"], "--posterior: scenario toy has no posterior sample"),
    (["--seeds", "2", "--map-date", "2015-01-01"], "--map-date 2015-01-01: outside the run"),
    (["--seeds", "2", "--set", "attack_ratio=99"], "attack_ratio"),
])
def test_bad_ensemble_arguments_one_line_exit_2_no_output(tmp_path, capsys, argv, message):
    out = tmp_path / "out"
    assert main(["run", str(TOY), *argv, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: ") and message in err
    assert not out.exists() and list(tmp_path.iterdir()) == []


def test_compare_unknown_counterfactual_lists_the_names(tmp_path, capsys):
    out = tmp_path / "cmp"
    assert main(["compare", str(IRAQ), "--counterfactual", "no_air_strikes", "--counterfactual", "no_such_thing",
                 "--seeds", "2", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no_such_thing" in err and "no_air_strikes" in err and "mosul_held" in err
    assert not out.exists()
    assert main(["compare", str(IRAQ), "--counterfactual", "no_air_strikes", "--seeds", "0",
                 "--out", str(out)]) == 2
    assert "--seeds 0" in capsys.readouterr().err


def test_comparison_pairs_the_seeds_and_its_numbers_follow_from_the_ensembles():
    cmp = run_comparison(IRAQ, ["no_air_strikes"], seeds=3, backend="serial")
    base, cf = cmp.baseline, cmp.counterfactuals["no_air_strikes"]
    assert np.array_equal(base.seeds, cf.seeds)
    assert not any(e.kind == "air_sorties" for e in cf.scenario.events)
    places = cmp.places_frame()
    fb, fc = base.fell_days() >= 0, cf.fell_days() >= 0
    for r in places.itertuples():
        k = base.scenario.place_ids.index(r.place)
        assert r.fell_baseline == pytest.approx(fb[:, k].mean())
        assert r.fell_counterfactual == pytest.approx(fc[:, k].mean())
        assert r.change == pytest.approx(fc[:, k].mean() - fb[:, k].mean())
        assert r.change_low <= r.change + 1e-12 and r.change <= r.change_high + 1e-12
    diffs = cmp.differences_frame().set_index("series")
    killed = cf.killed.sum(axis=(1, 2)) - base.killed.sum(axis=(1, 2))
    assert diffs.loc["killed_all", "mean_difference"] == pytest.approx(killed.mean())
    assert diffs.loc["killed_all", "difference_p50"] == pytest.approx(np.median(killed))
    with pytest.raises(ValueError, match="pair up"):
        Comparison(base, {"other": run_ensemble(IRAQ, seeds=[5, 6, 7], backend="serial")})


def test_compare_writes_its_directory_and_every_picture_its_report_names(tmp_path):
    out = tmp_path / "cmp"
    assert main(["compare", str(IRAQ), "--counterfactual", "no_air_strikes", "--seeds", "2", "--out", str(out),
                 "--quiet", "--workers", "2"]) == 0
    for name in ("places.csv", "differences.csv", "summary.json", "report.md"):
        assert (out / name).is_file(), name
    for sub in ("baseline", "no_air_strikes"):
        for name in (*TABLES, "summary.json"):
            assert (out / sub / name).is_file(), f"{sub}/{name}"
    report = (out / "report.md").read_text(encoding="utf-8")
    named = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", report)
    assert "share_maps.png" in named and "fall_dates.png" in named
    for name in named:
        assert (out / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", name
    with (out / "places.csv").open(encoding="utf-8") as f:
        assert next(csv.reader(f))[:3] == ["counterfactual", "place", "name"]
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert list(summary["counterfactuals"]) == ["no_air_strikes"]
