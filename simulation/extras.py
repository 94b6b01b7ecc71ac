"""Optional parts of the package and what each needs: ``pip install 'conflict-sim[app]'`` and so on.

The core install runs scenarios and writes run directories and reports. The extras (``pyproject.toml``,
``[project.optional-dependencies]``) add the rest:

- ``app``: the interactive app, ``conflict-sim viz`` (Solara and Mesa's visualization);
- ``sweep``: ``conflict-sim sweep``, ``calibrate``, ``validate`` (of a scenario) and ``sensitivity`` (the Parquet
  store, Dask, SALib);
- ``ema``: :mod:`simulation.ema`, the adapter for EMA Workbench;
- ``dev``: all of these and the test tools (what ``make test`` installs).

A command whose extra is missing stops before it starts, with one line naming the extra to install (exit 2). The
check looks the modules up without importing them (``importlib.util.find_spec``), so it costs next to nothing.
"""

from __future__ import annotations

import argparse
import importlib.util
from pathlib import Path

#: The modules each extra brings, by import name; tests/test_packaging.py checks these against pyproject.toml.
MODULES: dict[str, tuple[str, ...]] = {
    "app": ("solara", "altair", "uvicorn"),
    "sweep": ("dask", "distributed", "SALib", "pyarrow"),
    "ema": ("ema_workbench",),
}
#: The extra each sub-command of ``conflict-sim`` needs (the others need only the core).
COMMANDS: dict[str, str] = {
    "viz": "app",
    "sweep": "sweep",
    "calibrate": "sweep",
    "validate": "sweep",
    "sensitivity": "sweep",
}


class MissingExtra(ImportError):
    """An optional part of the package is not installed; the message names the extra to install."""


def missing(extra: str) -> list[str]:
    """The modules of ``extra`` that cannot be imported here (empty if the extra is installed)."""
    return [m for m in MODULES[extra] if importlib.util.find_spec(m) is None]


def require(extra: str, what: str) -> None:
    """Raise :class:`MissingExtra` if ``extra`` is not installed; ``what`` names what needs it in the message."""
    absent = missing(extra)
    if absent:
        raise MissingExtra(f"{what} needs the [{extra}] extra ({', '.join(absent)} not installed): "
                           f"pip install 'conflict-sim[{extra}]'")


def require_extra(args: argparse.Namespace) -> None:
    """Raise :class:`MissingExtra` if the sub-command ``args.command`` needs an extra that is not installed.

    ``validate`` of a run directory needs only the core; of a scenario, it runs the model through the sweep's
    backends and store.
    """
    extra = COMMANDS.get(args.command)
    if extra is None:
        return
    if args.command == "validate" and (Path(getattr(args, "target", "")) / "summary.json").is_file():
        return
    require(extra, f"`conflict-sim {args.command}`")
