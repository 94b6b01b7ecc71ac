"""The data shipped with the package: scenarios, sweep designs, observations and fitted parameters.

In the repository they are the top-level folders ``scenarios/``, ``designs/`` and ``calibration/``; an installed
package (``pip install .``) carries the same folders as ``simulation/data/`` (``pyproject.toml`` maps them), with
the same relative layout, so that a scenario's ``fitted_parameters`` and ``observations`` paths
(``../../calibration/...``) resolve in both. :func:`data_root` finds whichever is there.

A scenario or design is named either by a path or, where no such path exists, by its shipped name::

    resolve_scenario("toy")                       # the shipped toy scenario, from any directory
    resolve_scenario("scenarios/toy")             # a path, relative to the working directory
"""

from __future__ import annotations

from pathlib import Path

PACKAGE = Path(__file__).resolve().parent
#: The installed layout: simulation/data/{scenarios,calibration,designs}.
INSTALLED = PACKAGE / "data"
#: The repository's layout: the folders beside simulation/ (an editable install, or running from a checkout).
REPOSITORY = PACKAGE.parent


def data_root() -> Path:
    """The folder holding ``scenarios/``, ``designs/`` and ``calibration/``: the installed package's
    ``simulation/data/`` if present, else the repository's top level."""
    if (INSTALLED / "scenarios").is_dir():
        return INSTALLED
    return REPOSITORY


def scenarios_dir() -> Path:
    """The folder of the shipped scenarios."""
    return data_root() / "scenarios"


def designs_dir() -> Path:
    """The folder of the shipped sweep designs."""
    return data_root() / "designs"


def observations_dir() -> Path:
    """The folder of the shipped observations (``calibration/observations``)."""
    return data_root() / "calibration" / "observations"


def scenario_names() -> list[str]:
    """The names of the shipped scenarios (folders holding a ``scenario.toml``), sorted."""
    root = scenarios_dir()
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir() if (p / "scenario.toml").is_file())


def design_names() -> list[str]:
    """The names of the shipped sweep designs (``<name>.toml``), sorted."""
    root = designs_dir()
    return sorted(p.stem for p in root.glob("*.toml")) if root.is_dir() else []


def _is_name(text: str) -> bool:
    return bool(text) and "/" not in text and "\\" not in text and text not in (".", "..")


def resolve_scenario(given: str | Path) -> Path | None:
    """The scenario directory ``given`` names: the path itself if it exists, else the shipped scenario of that
    name, else None. A path that exists is always taken as given (a local copy wins over the shipped one)."""
    path = Path(given)
    if path.exists():
        return path
    if _is_name(str(given)) and str(given) in scenario_names():
        return scenarios_dir() / str(given)
    return None


def resolve_design(given: str | Path) -> Path:
    """The design file ``given`` names: the path itself if it exists, else the shipped design of that name
    (``example`` or ``example.toml``). Anything else is returned unchanged, for the design loader to report."""
    path = Path(given)
    if path.exists():
        return path
    name = str(given).removesuffix(".toml")
    if _is_name(name) and name in design_names():
        return designs_dir() / f"{name}.toml"
    return path
