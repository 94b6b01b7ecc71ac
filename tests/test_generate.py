"""Synthetic theatres (simulation/generate/theatre.py): reproducible, valid, connected, Zipf-like, and runnable."""

from __future__ import annotations

import csv
import json

import networkx as nx
import numpy as np
import pytest

from simulation.cli import main
from simulation.engine.model import ConflictModel
from simulation.generate import generate_theatre, source
from simulation.scenario import PLACE_KINDS, load_scenario

FILES = ("scenario.toml", "places.csv", "roads.csv", "forces.csv", "events.csv", "README.md")


def read(path):
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def test_same_seed_gives_identical_files_and_another_seed_differs(tmp_path):
    a = generate_theatre(tmp_path / "a", 60, seed=5)
    b = generate_theatre(tmp_path / "b", 60, seed=5)
    c = generate_theatre(tmp_path / "c", 60, seed=6)
    assert sorted(p.name for p in a.iterdir()) == sorted(FILES)
    for name in FILES:
        assert (a / name).read_bytes() == (b / name).read_bytes(), name
    for name in ("places.csv", "roads.csv", "forces.csv"):
        assert (a / name).read_bytes() != (c / name).read_bytes(), name


def test_check_accepts_it_and_every_row_names_its_synthetic_source(tmp_path, capsys):
    d = generate_theatre(tmp_path / "t", 120, units=150, days=45, seed=3)
    assert main(["check", str(d)]) == 0
    out = capsys.readouterr().out
    assert "120 places" in out and "150 units" in out and "2014-06-01 to 2014-07-15" in out
    for name in ("places.csv", "roads.csv", "forces.csv", "events.csv"):
        rows = read(d / name)
        assert rows and {r["source"] for r in rows} == {source(3)}, name
    s = load_scenario(d)
    assert {f.doctrine for f in s.factions} == {"government", "tribal", "insurgent", "opportunist"}
    assert {f.id for f in s.factions if f.claims} == {"regional"}
    assert {p.controller for p in s.places} == {"government", "insurgent", "regional"}
    kinds = {e.kind for e in s.events}
    assert {"offensive", "reinforcement", "mobilisation", "air_sorties", "checkpoint_closed"} <= kinds
    assert len({p.governorate for p in s.places}) >= 5
    assert all(0.02 <= p.sympathy <= 0.9 for p in s.places)


def test_every_kind_of_place_and_crossings_on_the_edge(tmp_path):
    s = load_scenario(generate_theatre(tmp_path / "t", 1000, seed=2))
    kinds = [p.kind for p in s.places]
    assert set(kinds) == set(PLACE_KINDS)
    assert kinds.count("refinery") >= 1 and kinds.count("crossing") >= 4
    lat, lon = np.array([p.lat for p in s.places]), np.array([p.lon for p in s.places])
    span = min(lat.max() - lat.min(), lon.max() - lon.min())
    for p in s.places:
        if p.kind == "crossing":  # within 1 % of the box's side from one of its edges
            edge = min(p.lat - lat.min(), lat.max() - p.lat, p.lon - lon.min(), lon.max() - p.lon)
            assert edge < 0.01 * span, p.id
    assert abs(len(s.forces) / len(s.places) - 1.5) < 0.01


@pytest.mark.parametrize("places,seed", [(10, 1), (10, 7), (37, 2), (800, 4)])
def test_road_network_is_connected_and_sparse(tmp_path, places, seed):
    s = load_scenario(generate_theatre(tmp_path / "t", places, seed=seed))
    g = s.graph()
    assert g.number_of_nodes() == places and nx.is_connected(g)
    assert places - 1 <= g.number_of_edges() <= round(1.4 * places)
    assert max(d for _, d in g.degree) <= 12
    # Road km: great-circle km times a detour factor between 1.05 and 1.35 (rounded to whole km).
    pos = {p.id: (p.lat, p.lon) for p in s.places}
    for r in s.roads:
        (la1, lo1), (la2, lo2) = pos[r.a], pos[r.b]
        gc = great_circle(la1, lo1, la2, lo2)
        assert r.km >= 1 and (gc < 5 or 1.0 <= r.km / gc <= 1.4), (r, gc)


def great_circle(la1, lo1, la2, lo2):
    p1, p2, dl = np.radians(la1), np.radians(la2), np.radians(lo2 - lo1)
    h = np.sin((p2 - p1) / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return 2 * 6371.0088 * np.arcsin(np.sqrt(h))


def test_populations_follow_a_rank_size_law(tmp_path):
    s = load_scenario(generate_theatre(tmp_path / "t", 3000, seed=9))
    pops = np.sort([p.population for p in s.places if p.kind in ("city", "town", "village")])[::-1]
    rank = np.arange(1, pops.size + 1)
    slope, intercept = np.polyfit(np.log(rank), np.log(pops), 1)
    fitted = intercept + slope * np.log(rank)
    r2 = 1 - ((np.log(pops) - fitted) ** 2).sum() / ((np.log(pops) - np.log(pops).mean()) ** 2).sum()
    assert -1.15 < slope < -0.85 and r2 > 0.97, (slope, r2)
    # The largest place is the capital: the government's, fortified, the most valuable.
    big = max(s.places, key=lambda p: p.population)
    assert big.controller == "government" and big.value == max(p.value for p in s.places)


@pytest.mark.parametrize("args,message", [
    (["--places", "9"], "--places 9: must be between 10 and 100,000"),
    (["--places", "100001"], "--places 100001: must be between 10 and 100,000"),
    (["--places", "20", "--units", "3"], "--units 3"),
    (["--places", "20", "--days", "0"], "--days 0"),
    (["--places", "20", "--seed", "-1"], "--seed -1"),
    (["--places", "many"], "invalid int value"),
    ([], "required: --places"),
])
def test_bad_arguments_give_one_line_exit_2_and_no_directory(tmp_path, capsys, args, message):
    out = tmp_path / "new" / "theatre"
    assert main(["generate", str(out), *args]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err, err
    assert not (tmp_path / "new").exists()
    assert list(tmp_path.iterdir()) == []


def test_an_existing_directory_needs_force_and_force_replaces_only_a_theatre(tmp_path, capsys):
    d = tmp_path / "t"
    assert main(["generate", str(d), "--places", "12", "--quiet"]) == 0
    before = (d / "places.csv").read_bytes()
    assert main(["generate", str(d), "--places", "15"]) == 2
    assert "exists" in capsys.readouterr().err
    assert (d / "places.csv").read_bytes() == before
    assert main(["generate", str(d), "--places", "15", "--force", "--quiet"]) == 0
    assert len(read(d / "places.csv")) == 15
    other = tmp_path / "notes"
    other.mkdir()
    (other / "keep.txt").write_text("mine", encoding="utf-8")
    assert main(["generate", str(other), "--places", "15", "--force"]) == 2
    assert "not a theatre written by" in capsys.readouterr().err
    assert [p.name for p in other.iterdir()] == ["keep.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes", "t"]  # no temporary directory left


def test_a_50_place_theatre_runs_10_days(tmp_path, capsys):
    d = generate_theatre(tmp_path / "t", 50, seed=1)
    m = ConflictModel(load_scenario(d), seed=1, days=10).run()
    assert m.day == 10 and not m.running
    assert m.civilians.balance() == 0
    assert m.rec_killed.sum() > 0  # the offensives begin on day 4: there is fighting
    out = tmp_path / "run"
    assert main(["run", str(d), "--days", "10", "--no-plots", "--out", str(out), "--quiet"]) == 0
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["days"] == 10 and len(summary["final_controller"]) == 50
