"""Invariants of the model over random small scenarios (hypothesis).

Whatever the graph, the forces, the relations between factions, the events and the parameters (within their
bounds), every day of a run must keep the books: personnel in = personnel present + killed + wounded +
deserted; civilians at home + displaced + harmed = the initial population; every place held by a faction that
exists, taken only by a side with troops there; no negative count anywhere; allies never on opposite sides of
a battle, and no fighting at all where no two factions are hostile. The run finishes and its summary is
JSON. Scenarios are written as files and loaded, so the loader is exercised too.

Examples are bounded (``max_examples``) so that this file runs in well under a minute on one core; set
``HYPOTHESIS_PROFILE=thorough`` for a longer search.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import tempfile
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from simulation.engine.model import LEDGER, ConflictModel
from simulation.parameters import PARAMETERS
from simulation.runs.output import summary
from simulation.scenario import DOCTRINES, ROAD_KINDS, load_scenario

settings.register_profile("default", max_examples=100, deadline=None, derandomize=True, database=None,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
settings.register_profile("thorough", max_examples=1000, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))

START = dt.date(2014, 6, 1)
# Parameters drawn anywhere within their physical bounds (the rest keep their defaults).
VARIED = ("attrition_rate", "lanchester_exponent", "killed_share", "defender_advantage", "civilian_battle_harm",
          "initial_morale", "rout_threshold", "morale_loss_per_casualty", "desertion_share", "attack_ratio",
          "counterattack_ratio", "reach_days", "garrison_share", "sortie_kill_rate", "collateral_rate",
          "recruit_rate", "speed_road_km", "morale_fall_shock")


@st.composite
def scenarios(draw: st.DrawFn) -> dict:
    """A small random scenario as plain data (see :func:`write`)."""
    nf = draw(st.integers(2, 4))
    factions = [dict(id=f"f{i}", doctrine=draw(st.sampled_from(DOCTRINES)),
                     mobility=draw(st.floats(0.5, 2.0)), air_force=draw(st.booleans())) for i in range(nf)]
    # Relations the model can honour: factions fall into coalitions (allied within), and each pair of
    # coalitions is either neutral or hostile.
    coalition = [draw(st.integers(0, nf - 1)) for _ in range(nf)]
    labels = sorted(set(coalition))
    between = {(a, b): draw(st.sampled_from(["hostile", "neutral"])) for a in labels for b in labels if a < b}
    allied, neutral = [], []
    for i in range(nf):
        for j in range(i + 1, nf):
            ci, cj = sorted((coalition[i], coalition[j]))
            if ci == cj:
                allied.append((i, j))
            elif between[(ci, cj)] == "neutral":
                neutral.append((i, j))

    n = draw(st.integers(2, 6))
    places = [dict(id=f"p{k}", controller=draw(st.integers(0, nf - 1)),
                   population=draw(st.sampled_from([0, 50, 5_000, 200_000])),
                   value=draw(st.floats(0, 5)), sympathy=draw(st.floats(0, 1)),
                   fortification=draw(st.floats(1, 3)), refuge=draw(st.floats(0, 1))) for k in range(n)]
    # A random spanning tree keeps the graph connected; extra roads make cycles.
    edges = {tuple(sorted((k, draw(st.integers(0, k - 1))))) for k in range(1, n)}
    for _ in range(draw(st.integers(0, n))):
        a, b = draw(st.integers(0, n - 1)), draw(st.integers(0, n - 1))
        if a != b:
            edges.add(tuple(sorted((a, b))))
    roads = [dict(a=a, b=b, km=draw(st.floats(5, 400)), kind=draw(st.sampled_from(ROAD_KINDS)))
             for a, b in sorted(edges)]
    forces = [dict(faction=draw(st.integers(0, nf - 1)), place=draw(st.integers(0, n - 1)),
                   personnel=draw(st.integers(1, 5000)), quality=draw(st.floats(0.2, 2.0)),
                   present_share=draw(st.floats(0, 1)), morale=draw(st.floats(0, 1)))
              for _ in range(draw(st.integers(1, 8)))]

    days = draw(st.integers(1, 12))
    events = []
    for _ in range(draw(st.integers(0, 4))):
        day = draw(st.integers(0, days - 1))
        kind = draw(st.sampled_from(["reinforcement", "mobilisation", "defection", "morale_shock", "air_sorties",
                                     "road_blocked", "road_opened", "checkpoint_closed", "checkpoint_opened",
                                     "offensive"]))
        f, k = draw(st.integers(0, nf - 1)), draw(st.integers(0, n - 1))
        if kind.startswith("road_"):
            road = roads[draw(st.integers(0, len(roads) - 1))]
            place, faction, amount = f"p{road['a']}|p{road['b']}", "", 0
        elif kind.startswith("checkpoint_"):
            place, faction, amount = f"p{k}", "", 0
        elif kind == "morale_shock":
            place, faction, amount = f"p{k}", f"f{f}", draw(st.floats(0, 1))
        elif kind == "offensive":
            place, faction, amount = "", f"f{f}", draw(st.sampled_from([0, 1]))
        else:
            place, faction, amount = f"p{k}", f"f{f}", draw(st.integers(0, 3000))
        events.append(dict(date=START + dt.timedelta(days=day), kind=kind, place=place, faction=faction,
                           amount=amount))
    parameters = {}
    for name in draw(st.lists(st.sampled_from(VARIED), max_size=6, unique=True)):
        p = PARAMETERS[name]
        parameters[name] = draw(st.floats(p.low, p.high))
    return dict(factions=factions, allied=allied, neutral=neutral, places=places, roads=roads, forces=forces,
                events=events, parameters=parameters, days=days, seed=draw(st.integers(0, 2**32 - 1)))


def write(spec: dict, root: Path) -> Path:
    """Write ``spec`` as a scenario directory."""
    root.mkdir(parents=True)
    end = START + dt.timedelta(days=spec["days"] - 1)
    toml = [f'[scenario]\nname = "random"\nstart_date = {START}\nend_date = {end}\n']
    for f in spec["factions"]:
        toml.append(f'[[factions]]\nid = "{f["id"]}"\ndoctrine = "{f["doctrine"]}"\nmobility = {f["mobility"]!r}\n'
                    f'air_force = {str(f["air_force"]).lower()}\n')
    pair = lambda ij: f'["f{ij[0]}", "f{ij[1]}"]'  # noqa: E731
    toml.append(f"[relations]\nallied = [{', '.join(map(pair, spec['allied']))}]\n"
                f"neutral = [{', '.join(map(pair, spec['neutral']))}]\n")
    toml.append("[parameters]\n" + "".join(f"{k} = {v!r}\n" for k, v in spec["parameters"].items()))
    (root / "scenario.toml").write_text("\n".join(toml), encoding="utf-8")
    rows = ["id,name,kind,governorate,lat,lon,population,controller,value,sympathy,fortification,refuge,source"]
    for k, p in enumerate(spec["places"]):
        rows.append(f"{p['id']},P{k},town,G{k % 2},{33 + 0.3 * k!r},{43 + 0.2 * k!r},{p['population']},"
                    f"f{p['controller']},{p['value']!r},{p['sympathy']!r},{p['fortification']!r},{p['refuge']!r},"
                    "generated")
    (root / "places.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    (root / "roads.csv").write_text("from,to,km,kind,source\n" + "".join(
        f"p{r['a']},p{r['b']},{r['km']!r},{r['kind']},generated\n" for r in spec["roads"]), encoding="utf-8")
    (root / "forces.csv").write_text("faction,place,personnel,quality,present_share,morale,source\n" + "".join(
        f"f{u['faction']},p{u['place']},{u['personnel']},{u['quality']!r},{u['present_share']!r},{u['morale']!r},"
        "generated\n" for u in spec["forces"]), encoding="utf-8")
    (root / "events.csv").write_text("date,kind,place,faction,amount,note,source\n" + "".join(
        f"{e['date']},{e['kind']},{e['place']},{e['faction']},{e['amount']!r},,generated\n"
        for e in spec["events"]), encoding="utf-8")
    return root


def check_civilians(m: ConflictModel) -> None:
    """People are conserved: at home + displaced (sheltering or on the road) + harmed = the initial population."""
    c = m.civilians
    for name in ("residents", "idps", "killed", "displaced_from"):
        assert (getattr(c, name) >= 0).all(), f"negative civilians.{name} on day {m.day}"
    assert c.total_displaced >= 0
    assert int(c.residents.sum()) + c.total_displaced + int(c.killed.sum()) == int(c.initial.sum()), f"day {m.day}"


def check_records(m: ConflictModel, spec: dict) -> None:
    nf, d = len(m.faction_ids), m.day
    fidx = {f: i for i, f in enumerate(m.faction_ids)}
    # No negative counts anywhere in the daily records.
    for name in ("rec_present", "rec_arriving", "rec_killed", "rec_wounded", "rec_population", "rec_idps",
                 "rec_displaced_from", "rec_ledger"):
        assert (getattr(m, name)[:d] >= 0).all(), name
    # Controllers are factions of the scenario, and a place changes hands only to a side with troops there.
    ctrl = m.rec_control[:d]
    assert ((ctrl >= 0) & (ctrl < nf)).all()
    start = np.array([fidx[f"f{p['controller']}"] for p in spec["places"]])
    before = np.vstack([start[None, :], ctrl[:-1]])
    for day, place in zip(*np.nonzero(ctrl != before)):
        side = m.coalition_of == m.coalition_of[ctrl[day, place]]
        assert m.rec_present[day, place, side].sum() > 0, f"place {place} taken on day {day} by nobody there"
    for day in range(d):
        led = m.rec_ledger[day]
        inflow = sum(led[LEDGER.index(k)] for k in ("initial", "recruited", "reinforced"))
        outflow = led[-1] + sum(led[LEDGER.index(k)] for k in ("killed", "wounded", "deserted"))
        np.testing.assert_array_equal(inflow, outflow, err_msg=f"personnel not conserved on day {day}")
        # The force tables account for everyone alive: at a place or on the road toward one.
        np.testing.assert_array_equal(m.rec_present[day].sum(axis=0) + m.rec_arriving[day].sum(axis=0), led[-1])
        # Casualty tables agree with the ledger, day by day.
        prev = m.rec_ledger[day - 1] if day else np.zeros_like(led)
        for k, rec in (("killed", m.rec_killed), ("wounded", m.rec_wounded)):
            i = LEDGER.index(k)
            np.testing.assert_array_equal(rec[day, :, :nf].sum(axis=0), led[i] - prev[i], err_msg=f"{k}, day {day}")
    # Civilians killed in the tables are the ones removed from the population; the wounded stay in it.
    assert m.rec_killed[:d, :, nf].sum() == m.civilians.killed.sum()


def check_fighting(m: ConflictModel, spec: dict) -> None:
    nf, d = len(m.faction_ids), m.day
    allied = {frozenset((f"f{i}", f"f{j}")) for i, j in spec["allied"]}
    neutral = {frozenset((f"f{i}", f"f{j}")) for i, j in spec["neutral"]}
    hostile = lambda a, b: a != b and frozenset((a, b)) not in allied | neutral  # noqa: E731
    where = {(date, place) for date, kind, place, _ in m.log if kind in ("battle", "air_strike")}
    for _, kind, _, detail in m.log:
        if kind != "battle":
            continue
        sides = [part.rsplit(" ", 1)[0].split("+") for part in detail.split(";")[0].split(", ")]
        assert len(sides) >= 2, detail
        for i, a in enumerate(sides):
            for b in sides[i + 1:]:
                assert not any(frozenset((x, y)) in allied for x in a for y in b), f"allies fought: {detail}"
        assert any(hostile(x, y) for i, a in enumerate(sides) for b in sides[i + 1:] for x in a for y in b), detail
    # Every combatant casualty happened in a battle or an air strike at that place on that day.
    dates = m.dates()
    for day, place, f in zip(*np.nonzero(m.rec_killed[:d, :, :nf] + m.rec_wounded[:d, :, :nf])):
        assert (dates[day], m.world.place_ids[place]) in where, (dates[day], place, f)
    if not any(hostile(a, b) for a in m.faction_ids for b in m.faction_ids):
        assert m.rec_killed[:d, :, :nf].sum() + m.rec_wounded[:d].sum() == 0
        # Without fighting only executions kill: an insurgent faction alone in a place held by a neutral one takes
        # it, and executes some of the people there.
        executed = sum(int(detail.split(" ", 1)[0]) for _, kind, _, detail in m.log if kind == "executions")
        assert m.rec_killed[:d, :, nf:].sum() == executed
        assert not any(kind in ("battle", "air_strike") for _, kind, _, _ in m.log)


@given(scenarios())
def test_invariants_hold_every_day_of_a_random_scenario(spec):
    with tempfile.TemporaryDirectory() as tmp:
        scenario = load_scenario(write(spec, Path(tmp) / "random"))
    m = ConflictModel(scenario, seed=spec["seed"])
    check_civilians(m)
    while m.running:
        m.step()
        check_civilians(m)
        assert (m.units.personnel[: m.units.n] >= 0).all()
    assert m.day == spec["days"] and not m.running
    check_records(m, spec)
    check_fighting(m, spec)
    json.dumps(summary(m, run_time_s=0.0))  # the summary of any run is plain JSON
