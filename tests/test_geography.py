"""The shipped base map (simulation/geography): where borders and rivers lie, and the maps drawn on it."""

from __future__ import annotations

import json

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from simulation import geography  # noqa: E402
from simulation.engine.model import ConflictModel  # noqa: E402
from simulation.runs.report import draw_map  # noqa: E402
from simulation.scenario import load_scenario  # noqa: E402
from tests.conftest import TOY  # noqa: E402

# (lat, lon) of cities, from Wikipedia's article of each; the Iraqi ones as in scenarios/iraq_june_2014/places.csv
BAGHDAD, MOSUL, RAMADI, AL_QAIM = (33.315, 44.366), (36.34, 43.13), (33.426, 43.30), (34.37, 41.09)
DAMASCUS, DEIR_EZ_ZOR, KERMANSHAH, KUWAIT_CITY = (33.51, 36.29), (35.33, 40.14), (34.31, 47.06), (29.37, 47.98)


def inside(layer: str, name: str, at: tuple[float, float]) -> bool:
    return geography.contains(geography.feature(layer, name), at[1], at[0])


def km(river: str, at: tuple[float, float]) -> float:
    return geography.distance_km(geography.feature("rivers", river), at[1], at[0])


def test_the_layers_load_with_iraq_and_its_neighbours_named():
    layers = geography.load()
    names = {c.name for c in layers["countries"]}
    assert {"Iraq", "Syria", "Turkey", "Iran", "Jordan", "Saudi Arabia", "Kuwait"} <= names
    assert len(layers["governorates"]) == 18 and {g.code for g in layers["governorates"]} == {"IRQ"}
    assert {"Tigris", "Euphrates", "Great Zab", "Diyala"} <= {r.name for r in layers["rivers"]}
    assert layers["lakes"]
    for layer in layers.values():
        for f in layer:
            for part in f.parts:
                assert part.ndim == 2 and part.shape[1] == 2 and len(part) >= 2
                assert (part[:, 0] >= 37).all() and (part[:, 0] <= 50).all()
                assert (part[:, 1] >= 28).all() and (part[:, 1] <= 39).all()
    assert geography.DATA.stat().st_size < 300_000


def test_iraqs_border_holds_baghdad_and_not_damascus():
    assert inside("countries", "Iraq", BAGHDAD)
    assert not inside("countries", "Iraq", DAMASCUS)
    assert inside("countries", "Syria", DEIR_EZ_ZOR) and not inside("countries", "Iraq", DEIR_EZ_ZOR)
    assert inside("countries", "Iran", KERMANSHAH) and not inside("countries", "Iraq", KERMANSHAH)
    assert inside("countries", "Kuwait", KUWAIT_CITY)
    assert inside("governorates", "Ninawa", MOSUL) and inside("governorates", "Al-Anbar", RAMADI)
    assert not inside("governorates", "Ninawa", RAMADI)


def test_the_tigris_and_the_euphrates_pass_their_cities():
    assert km("Tigris", MOSUL) < 5 and km("Tigris", BAGHDAD) < 5
    assert km("Euphrates", RAMADI) < 5 and km("Euphrates", AL_QAIM) < 5
    # and not each other's: the two rivers are 30 to 230 km apart at these cities
    assert km("Tigris", RAMADI) > 50 and km("Euphrates", MOSUL) > 100 and km("Euphrates", BAGHDAD) > 20


def test_distance_to_a_line_is_measured_to_its_segments():
    f = geography.Feature("line", (np.array([[44.0, 33.0], [46.0, 33.0]]),))
    assert geography.distance_km(f, 45.0, 33.0) == pytest.approx(0.0, abs=1e-9)  # mid-segment, no vertex there
    assert geography.distance_km(f, 45.0, 34.0) == pytest.approx(geography.KM_PER_DEG, rel=1e-9)


def test_a_bad_base_map_file_is_named_in_the_error(tmp_path):
    bad = tmp_path / "map.json"
    bad.write_text(json.dumps({"layers": {"countries": []}}))
    with pytest.raises(ValueError, match="map.json"):
        geography.load(str(bad))


def test_greedy_boxes_skip_what_overlaps_or_leaves_the_frame():
    obstacles = [(0, 0, 10, 10)]
    candidates = [
        [(5, 5, 15, 15), (12, 0, 22, 10)],  # the first overlaps the obstacle: the second is taken
        [(12, 5, 22, 15), (30, 0, 40, 10)],  # the first overlaps the label just placed
        [(95, 0, 105, 10)],  # out of the frame: no room
    ]
    assert geography.greedy_boxes(candidates, obstacles, (0, 0, 100, 100), pad=0) == [1, 1, None]


@pytest.fixture(scope="module")
def toy_model():
    return ConflictModel(load_scenario(TOY), seed=1, days=2).run()


def test_the_reports_map_draws_the_base_map_and_labels_that_do_not_collide(toy_model):
    fig, ax = plt.subplots(figsize=(7, 6))
    base = draw_map(toy_model, ax, 0, "test")
    # the border of every country in view, Iraq's among them, is drawn on the axes
    assert base["borders"] and all(b in ax.collections for b in base["borders"])
    iraq = geography.feature("countries", "Iraq")
    drawn = [p for b in base["borders"] for p in b.get_segments()]
    assert any(len(p) == len(iraq.parts[0]) and np.allclose(p, iraq.parts[0]) for p in drawn)
    assert set(base["rivers"]) >= {"Tigris", "Euphrates"}
    assert "IRAQ" in {t.get_text() for t in base["labels"]}
    assert ax.get_xlabel().startswith("longitude") and ax.get_ylabel().startswith("latitude")
    renderer = fig.canvas.get_renderer()
    frame = ax.get_window_extent(renderer)
    texts = [t for t in ax.texts if t.get_visible() and t.get_text()]
    boxes = [t.get_window_extent(renderer) for t in texts]
    assert len(texts) >= len(toy_model.scenario_data.places) // 2
    for i, a in enumerate(boxes):
        assert frame.x0 <= a.x0 and a.x1 <= frame.x1 and frame.y0 <= a.y0 and a.y1 <= frame.y1, texts[i].get_text()
        for j in range(i):
            assert not a.overlaps(boxes[j]), (texts[i].get_text(), texts[j].get_text())
    plt.close(fig)


def test_svg_basemap_projects_the_layers_into_the_picture():
    def project(lon, lat):
        return (np.asarray(lon) - 40.0) * 100.0, (37.0 - np.asarray(lat)) * 100.0

    svg = geography.svg_basemap(project, 600.0, 500.0)
    assert svg["countries"] and svg["borders"] and svg["rivers"] and svg["governorates"]
    assert {r["name"] for r in svg["rivers"]} >= {"Tigris", "Euphrates"}
    assert "IRAQ" in {lab["text"] for lab in svg["labels"]}
    for lab in svg["labels"]:
        assert 0 <= lab["x"] <= 600 and 0 <= lab["y"] <= 500
    json.dumps(svg)


def test_the_apps_map_has_the_base_map_and_names_that_do_not_collide(toy_model):
    from simulation.app.state import basemap_state, map_state

    state, base = map_state(toy_model, selected="refinery"), basemap_state(toy_model)
    assert base["height"] == state["height"] and base["borders"] and base["rivers"]
    assert base is basemap_state(toy_model)  # computed once: the browser is sent it once
    assert {lab["text"] for lab in base["labels"] if lab["kind"] == "country"} >= {"IRAQ"}
    places = {p["id"]: p for p in state["places"]}
    assert places["refinery"]["label"] is not None  # the selected place is named first
    assert sum(1 for p in state["places"] if p["label"]) >= len(places) // 2
    placed = []
    for p in state["places"]:
        if p["label"]:
            w, h = geography.text_size(p["name"], 13.0)
            x0 = {"start": p["label"]["x"] - 1, "middle": p["label"]["x"] - w / 2, "end": p["label"]["x"] + 1 - w}[
                p["label"]["anchor"]]
            y0 = p["label"]["y"] - 0.35 * 13 - h / 2
            placed.append((x0, y0, x0 + w, y0 + h))
    placed += [tuple(lab["box"]) for lab in base["labels"] + base["graticule"]]
    for i, a in enumerate(placed):
        assert 0 <= a[0] and a[2] <= state["width"] and 0 <= a[1] and a[3] <= state["height"]
        for b in placed[:i]:
            assert not (a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]), (a, b)
    json.dumps(base)
