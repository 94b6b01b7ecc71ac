"""The app without a browser: counterfactual toggles, what the map and charts show, the observations beside the
model, `conflict-sim viz` input errors, and the installer of the front-end files."""

from __future__ import annotations

import json
import socket
import stat
import sys
import textwrap

import numpy as np
import pytest

from simulation.app.assets import install, missing_packages, required_packages
from simulation.app.charts import casualties_chart, displacement_charts, layout, nice_step
from simulation.app.page import slider_for
from simulation.app.state import (
    DEFAULT_SCENARIO,
    AppModel,
    available_counterfactuals,
    cached_scenario,
    casualty_comparison,
    control_comparison,
    day_label,
    default_settings,
    map_state,
    observations_for,
    place_details,
    short_name,
)
from simulation.cli import main
from simulation.parameters import PARAMETERS
from tests.conftest import TOY


@pytest.fixture(scope="module")
def mid_june():
    """The app's default model after 15 days."""
    m = AppModel(**default_settings())
    for _ in range(15):
        m.step()
    return m


def test_no_air_strikes_removes_every_sortie():
    base = AppModel(seed=3)
    none = AppModel(seed=3, no_air_strikes=True)
    base.run()
    none.run()
    assert any(e[1] == "air_strike" for e in base.log)
    assert not any(e[1] in ("air_strike", "air_sorties") for e in none.log)


def test_full_garrison_puts_the_nominal_strength_in_mosul():
    s = cached_scenario(str(DEFAULT_SCENARIO))
    rows = [f for f in s.forces if f.place == "mosul" and f.faction == "government"]
    assert rows and any(f.present_share < 1 for f in rows)
    base, full = AppModel(seed=1), AppModel(seed=1, mosul_full_strength=True)
    assert personnel_at(full, "mosul", "government") == sum(f.personnel for f in rows)
    assert personnel_at(base, "mosul", "government") == sum(round(f.personnel * f.present_share) for f in rows)


def personnel_at(model, place, faction):
    name = short_name(model.scenario_data.faction(faction).name)
    return sum(f["present"] for f in place_details(model, place)["forces"] if f["faction"] == name)


def test_checkpoints_closed_from_the_first_day():
    s = cached_scenario(str(DEFAULT_SCENARIO))
    checkpoints = [p.id for p in s.places if p.kind == "checkpoint"]
    assert checkpoints
    m = AppModel(seed=1, checkpoints_closed=True)
    assert all(m.civilians.checkpoint_open[m.world.index[c]] for c in checkpoints)
    m.step()
    assert not any(m.civilians.checkpoint_open[m.world.index[c]] for c in checkpoints)


def test_toggles_are_the_counterfactuals_a_scenario_can_take():
    """Every counterfactual of the shared registry applies to Iraq; the toy has no Mosul, so no Mosul toggles."""
    from simulation.runs.counterfactuals import COUNTERFACTUALS

    iraq = available_counterfactuals(cached_scenario(str(DEFAULT_SCENARIO)))
    assert list(iraq) == list(COUNTERFACTUALS)
    assert iraq["no_air_strikes"] == "No government air sorties all month"
    toy = available_counterfactuals(cached_scenario(str(TOY)))
    assert "no_air_strikes" in toy and not any(name.startswith("mosul") for name in toy)
    assert {k for k, v in default_settings(TOY).items() if v is False} == set(toy)


def test_app_model_is_the_cli_model_with_the_same_seed():
    """The app steps exactly the model `conflict-sim run` runs: same scenario and seed, same numbers."""
    from simulation.engine.model import ConflictModel

    a = AppModel(**default_settings(seed=5)).run()
    b = ConflictModel(cached_scenario(str(DEFAULT_SCENARIO)), seed=5).run()
    assert np.array_equal(a.rec_control, b.rec_control)
    assert np.array_equal(a.rec_killed, b.rec_killed)


def test_map_shows_the_models_state(mid_june):
    m = mid_june
    state = map_state(m, selected="tikrit")
    places = {p["id"]: p for p in state["places"]}
    assert list(places) == m.world.place_ids
    assert {pid: p["controller"] for pid, p in places.items()} == {
        pid: m.faction_ids[c] for pid, c in zip(m.world.place_ids, m.controller)}
    assert places["tikrit"]["selected"] and not places["mosul"]["selected"]
    # Population sets the size of towns: Mosul is drawn larger than Tikrit.
    assert places["mosul"]["r"] > places["tikrit"]["r"]
    assert places["baiji_refinery"]["shape"] == "square"
    assert {p["shape"] for p in state["places"] if p["kind"] == "crossing"} == {"triangle"}
    # Today's battles and air strikes are flagged where the log puts them.
    today = [e for e in m.log if e[0] == "2014-06-15"]
    assert {p["id"] for p in state["places"] if p["battle"]} == {e[2] for e in today if e[1] == "battle"}
    assert {p["id"] for p in state["places"] if p["air"]} == {e[2] for e in today if e[1] == "air_strike"}
    # Every coordinate lies inside the picture, and the document is JSON.
    for p in state["places"]:
        assert 0 <= p["x"] <= state["width"] and 0 <= p["y"] <= state["height"]
    json.dumps(state)


def test_place_card_and_day_label(mid_june):
    d = place_details(mid_june, "mosul")
    assert d["name"] == "Mosul"
    assert d["controller_id"] == mid_june.faction_ids[mid_june.controller[mid_june.world.index["mosul"]]]
    assert d["present"] == int(mid_june.civilians.present[mid_june.world.index["mosul"]])
    assert day_label(mid_june) == "Day 15 of 30 · Sun 15 Jun 2014"
    assert day_label(AppModel()) == "Day 0 of 30 · start, Sun 01 Jun 2014"
    with pytest.raises(KeyError):
        place_details(mid_june, "atlantis")


def test_observations_beside_the_model(mid_june):
    m = mid_june
    obs = observations_for(m.scenario_data)
    assert obs is not None and obs.control and all(o.use for o in obs.control)
    rows = control_comparison(m, obs)
    assert rows and all(r["date"] <= "2014-06-15" for r in rows)
    side = {f: m.coalition_of[i] for i, f in enumerate(m.faction_ids)}
    for r in rows:
        day = int(r["date"][-2:]) - 1
        assert r["model"] == m.faction_ids[m.rec_control[day, m.world.index[r["place"]]]]
        assert r["agree"] == (side[r["model"]] == side[r["reported"]])
    un = next(r for r in casualty_comparison(m, obs) if r["scope"].startswith("civilians+noncombatants"))
    assert un["reported_killed"] == 757 and un["so_far"]
    mask = np.isin(np.array(m.world.governorate), ["Ninawa", "Diyala", "Salahuddin"])
    assert un["model_killed"] == int(m.rec_killed[4:15][:, mask, -1].sum())  # civilians, 5 to 15 June
    # The Iraq observations are about another theatre than the toy scenario's.
    assert observations_for(cached_scenario(str(TOY))) is None


def test_charts_lay_out_the_series(mid_june):
    spec = layout(casualties_chart(mid_june))
    assert len(spec["series"]) == len(mid_june.faction_ids) + 1
    assert all(len(s["values"]) == 15 for s in spec["series"])
    civilians = spec["series"][-1]
    assert civilians["values"][-1] == (mid_june.rec_killed[:15, :, -1] + mid_june.rec_wounded[:15, :, -1]).sum()
    # Every point of every line lies inside the plot, under the top tick.
    plot = spec["plot"]
    ys = [float(xy.split(",")[1]) for s in spec["series"] for xy in s["d"].replace("M", "").split("L")]
    assert min(ys) >= spec["yticks"][-1]["y"] >= plot["y"] and max(ys) <= plot["y"] + plot["h"]
    obs = observations_for(mid_june.scenario_data)
    to, fled = displacement_charts(mid_june, obs)
    assert any(s.name == "Kurdistan Region" for s in to.series)
    assert any(s.name == "Mosul" for s in fled.series)
    assert any(p.title.startswith("Mosul, 2014-06-11: 500,000 reported") for p in fled.points)
    assert nice_step(1000) == 200 and nice_step(7) == 2 and nice_step(0.3) == 0.1


def test_mesa_chart_counts_dates_not_steps(mid_june):
    """Mesa's PlotMatplotlib on the data collector, drawn as Mesa draws it (post_process, then its own "Step"
    label): the x axis shows dates and says so."""
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    from simulation.app.components import _places_held_post_process

    df = mid_june.datacollector.get_model_vars_dataframe()
    ax = Figure().subplots()
    for f in mid_june.scenario_data.factions:
        ax.plot(df.loc[:, f"places_{f.id}"], label=f"places_{f.id}")
    _places_held_post_process(mid_june)(ax)
    ax.set_xlabel("Step")  # what mesa.visualization.components.matplotlib_components.PlotMatplotlib does next
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.figure.canvas.draw()
    assert ax.get_xlabel() == "date (2014), end of day" and ax.get_ylabel() == "places held"
    labels = [t.get_text() for t in ax.get_xticklabels() if t.get_text()]
    assert labels and all(t.endswith(" Jun") for t in labels) and "01 Jun" in labels  # row 0 is 1 June
    assert len(df) == 15


def test_sliders_start_at_the_scenarios_values():
    settings = default_settings()
    s = cached_scenario(str(DEFAULT_SCENARIO))
    for name in ("attack_ratio", "recruit_rate"):
        slider = slider_for(name, settings[name], s.fit_bounds.get(name))
        assert slider.value == s.parameters[name]
        assert slider.min <= slider.value <= slider.max
        assert PARAMETERS[name].low <= slider.min and slider.max <= PARAMETERS[name].high
        assert 50 <= (slider.max - slider.min) / slider.step <= 1000


def test_viz_port_taken_is_one_line_and_exit_2(capsys):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        assert main(["viz", str(TOY), "--port", str(port)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"port {port} on 127.0.0.1 is already in use" in err


@pytest.mark.parametrize("args, message", [
    (["--port", "70000"], "must be between 1 and 65535"),
    (["--host", "no-such-host.invalid"], "cannot resolve"),
])
def test_viz_bad_address_is_one_line_and_exit_2(capsys, args, message):
    assert main(["viz", str(TOY), *args]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err


def test_viz_bad_scenario_is_one_line_and_exit_2(tmp_path, capsys):
    assert main(["viz", str(tmp_path / "nothing"), "--port", "1"]) == 2
    assert "is neither a scenario directory nor a shipped scenario" in capsys.readouterr().err


def test_front_end_packages_come_from_solaras_template(tmp_path):
    import ipyvue

    specs = required_packages()
    vuetify = [s for s in specs if "solara-vuetify" in s]
    assert len(vuetify) == 1 and ("vuetify3" in vuetify[0]) == ipyvue.__version__.startswith("3")
    assert any(s.startswith("requirejs@") for s in specs)
    assert missing_packages(tmp_path) == specs


def test_install_unpacks_npm_tarballs(tmp_path):
    """``install`` with a stand-in for npm: each package lands whole under its name@version."""
    fake = tmp_path / "npm"
    fake.write_text(textwrap.dedent(f"""\
        #!{sys.executable}
        import json, sys, tarfile, io, pathlib
        spec, dest = sys.argv[2], pathlib.Path(sys.argv[sys.argv.index("--pack-destination") + 1])
        if spec.startswith("missing"):
            sys.stderr.write("npm error 404 Not Found - GET https://registry/missing\\n")
            sys.exit(1)
        name = spec.replace("@", "-").replace("/", "-").strip("-") + ".tgz"
        with tarfile.open(dest / name, "w:gz") as tar:
            for path, text in (("package/package.json", "{{}}"), ("package/dist/app.js", "x")):
                data = text.encode()
                info = tarfile.TarInfo(path)
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
        print(json.dumps([{{"filename": name}}]))
        """), encoding="utf-8")
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    cache = tmp_path / "cdn"
    install(["@scope/app@1.2.3", "requirejs@2.3.6"], cache, npm=str(fake))
    assert (cache / "@scope" / "app@1.2.3" / "dist" / "app.js").read_text() == "x"
    assert (cache / "requirejs@2.3.6" / "package.json").is_file()
    assert not [p for p in cache.rglob(".unpack-*")]
    with pytest.raises(RuntimeError, match="npm pack missing@1.0.0 failed .*404 Not Found"):
        install(["missing@1.0.0"], cache, npm=str(fake))
