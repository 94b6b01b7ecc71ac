"""Loading and validating scenarios: good input loads, bad input names the file, row and field."""

from __future__ import annotations

import pytest

from simulation.scenario import ScenarioError, load_scenario
from tests.conftest import TOY


def test_toy_loads_with_typed_immutable_data():
    s = load_scenario(TOY)
    assert s.name == "toy"
    assert s.days == 30
    assert len(s.places) == 9 and len(s.roads) == 11
    assert s.relation("government", "tribal") == "allied"
    assert s.relation("government", "kurds") == "neutral"
    assert s.relation("insurgent", "kurds") == "hostile"
    with pytest.raises(AttributeError):
        s.places[0].population = 1  # frozen
    assert s.graph().number_of_nodes() == 9


def _edit(path, old, new):
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


@pytest.mark.parametrize(
    ("file", "old", "new", "expected"),
    [
        ("places.csv", "id,name,kind", "ident,name,kind", "toy/places.csv, row 1, field 'ident'"),
        ("roads.csv", "haven,capital,330", "haven,atlantis,330", "toy/roads.csv, row 12, field 'to': unknown place"),
        ("forces.csv", "Border column", "Border column", None),  # no-op guard for the next case
        ("forces.csv", "insurgent,border_crossing,1200", "insurgent,border_crossing,-5",
         "toy/forces.csv, row 2, field 'personnel'"),
        ("events.csv", "2014-06-12,reinforcement", "2014-13-12,reinforcement", "toy/events.csv, row 4, field 'date'"),
        ("forces.csv", "kurds,haven,4000", "martians,haven,4000", "toy/forces.csv, row 10, field 'faction'"),
        ("scenario.toml", 'name = "toy"', 'name = "toy', "toy/scenario.toml: is not valid TOML"),
    ],
)
def test_bad_input_names_file_row_and_field(toy_copy, file, old, new, expected):
    _edit(toy_copy / file, old, new)
    if expected is None:
        load_scenario(toy_copy)
        return
    with pytest.raises(ScenarioError) as err:
        load_scenario(toy_copy)
    message = str(err.value)
    assert expected in message
    assert "\n" not in message


def test_missing_source_is_rejected(toy_copy):
    _edit(toy_copy / "roads.csv", "330,road,toy: invented for tests", "330,road,")
    with pytest.raises(ScenarioError, match="roads.csv, row 12, field 'source': is empty"):
        load_scenario(toy_copy)


def test_disconnected_road_network_is_rejected(toy_copy):
    _edit(toy_copy / "roads.csv", "border_crossing,west_town,80,desert track,toy: invented for tests\n", "")
    with pytest.raises(ScenarioError, match="not connected: place 'border_crossing'"):
        load_scenario(toy_copy)


def test_parameter_out_of_bounds_in_toml_is_rejected(toy_copy):
    _edit(toy_copy / "scenario.toml", "[parameters]\n", "[parameters]\nrout_threshold = 7\n")
    with pytest.raises(ScenarioError, match=r"field 'parameters.rout_threshold'.*outside its bounds"):
        load_scenario(toy_copy)


def test_with_parameters_checks_names_and_bounds():
    s = load_scenario(TOY)
    assert s.with_parameters({"attack_ratio": 2.0}).parameters["attack_ratio"] == 2.0
    with pytest.raises(ScenarioError, match="unknown parameter"):
        s.with_parameters({"no_such_thing": 1})
    with pytest.raises(ScenarioError, match="outside its bounds"):
        s.with_parameters({"killed_share": 2})


def test_road_and_alliance_groups_are_networkx_connected_components():
    """Loading a scenario finds connected groups without NetworkX: the same groups, in the same order (which picks
    the place named in the "not connected" error)."""
    import random

    import networkx as nx

    from simulation.scenario import _components

    rng = random.Random(5)
    for trial in range(200):
        n = rng.randint(1, 30)
        nodes = [f"p{i}" for i in rng.sample(range(60), n)]
        extra = [f"q{i}" for i in range(rng.randint(0, 2))]  # named only by a road
        edges = [(rng.choice(nodes + extra), rng.choice(nodes + extra)) for _ in range(rng.randint(0, 2 * n))]
        g = nx.Graph()
        g.add_nodes_from(nodes)
        g.add_edges_from(edges)
        want = [sorted(c) for c in nx.connected_components(g)]
        assert [sorted(c) for c in _components(nodes, edges)] == want, trial
