"""Shared fixtures: the toy scenario and a builder for tiny scenarios written to a temporary directory."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TOY = ROOT / "scenarios" / "toy"

FACTIONS = """
[[factions]]
id = "government"
name = "Government"
colour = "#1f77b4"
doctrine = "government"
air_force = true

[[factions]]
id = "tribal"
name = "Tribes"
colour = "#2ca02c"
doctrine = "tribal"

[[factions]]
id = "insurgent"
name = "Insurgents"
colour = "#222222"
doctrine = "insurgent"
mobility = 1.8

[relations]
allied = [["government", "tribal"]]
"""


def write_scenario(root: Path, places: list[str], roads: list[str], forces: list[str], events: list[str] = (),
                   parameters: str = "", days: int = 10) -> Path:
    """Write a small scenario. ``places`` rows: ``id,controller,population[,sympathy]``; ``roads``: ``a,b,km``;
    ``forces``: ``faction,place,personnel,quality,morale``; ``events``: full events.csv rows."""
    root.mkdir(parents=True, exist_ok=True)
    end = f"2014-06-{days:02d}"
    (root / "scenario.toml").write_text(
        f'[scenario]\nname = "{root.name}"\nstart_date = 2014-06-01\nend_date = {end}\n{FACTIONS}\n'
        f"[parameters]\n{parameters}\n", encoding="utf-8")
    rows = ["id,name,kind,governorate,lat,lon,population,controller,value,sympathy,source"]
    for k, spec in enumerate(places):
        pid, ctrl, pop, *rest = spec.split(",")
        sym = rest[0] if rest else "0.5"
        rows.append(f"{pid},{pid.title()},town,G,{33 + k * 0.3:.2f},{43 + k * 0.3:.2f},{pop},{ctrl},2,{sym},test")
    (root / "places.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    (root / "roads.csv").write_text("from,to,km,kind,source\n" + "".join(f"{r},road,test\n" for r in roads),
                                    encoding="utf-8")
    (root / "forces.csv").write_text("faction,place,personnel,quality,morale,source\n"
                                     + "".join(f"{f},test\n" for f in forces), encoding="utf-8")
    (root / "events.csv").write_text("date,kind,place,faction,amount,note,source\n"
                                     + "".join(f"{e}\n" for e in events), encoding="utf-8")
    return root


@pytest.fixture
def toy_copy(tmp_path: Path) -> Path:
    """A writable copy of the toy scenario."""
    dest = tmp_path / "toy"
    shutil.copytree(TOY, dest)
    return dest
