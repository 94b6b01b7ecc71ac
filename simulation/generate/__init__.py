"""Synthetic theatres in the scenario format, for scaling benchmarks and tests (:mod:`.theatre`); the
``conflict-sim generate`` sub-command (:mod:`.cli`)."""

from __future__ import annotations

from typing import Any


def __getattr__(name: str) -> Any:
    # Loaded on use, so that the command line can register ``generate`` without importing NumPy.
    import importlib

    theatre = importlib.import_module("simulation.generate.theatre")

    try:
        return getattr(theatre, name)
    except AttributeError:
        raise AttributeError(name) from None
