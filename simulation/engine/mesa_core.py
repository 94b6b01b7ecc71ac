"""Mesa's ``Model``, ``Agent`` and ``DataCollector``: the three classes the engine uses, imported in one place.

An earlier version imported ``mesa.agent``, ``mesa.model`` and ``mesa.datacollection`` without running
``mesa/__init__.py`` (and deferred pandas), which saved about 0.5 s of a whole ``conflict-sim run``; it relied on
the order of Mesa's own imports and broke with the Mesa that installs on Python 3.12 (``mesa.datacollection``
there imports ``from mesa import Agent``, a circular import under that scheme). These are Mesa's public names.
"""

from __future__ import annotations

from mesa import Agent, DataCollector, Model

__all__ = ["Agent", "DataCollector", "Model"]
