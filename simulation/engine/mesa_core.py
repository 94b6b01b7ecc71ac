"""Mesa's ``Model``, ``Agent`` and ``DataCollector``, imported without the rest of Mesa.

``import mesa`` runs ``mesa/__init__.py``, which imports the whole framework: its grid and continuous spaces
(SciPy's spatial index), the discrete spaces, the batch runner and pandas (through ``mesa.datacollection``'s
``DataFrame`` methods). That took 0.6 s of the 3.1 s of a whole ``conflict-sim run`` of the Iraq scenario on this
machine, and the model uses three classes. :func:`load` imports only ``mesa.agent``, ``mesa.model`` and
``mesa.datacollection``; the pandas that ``mesa.datacollection`` imports at its top (0.25 s, for the methods that
return data frames) is imported when one of those methods first uses it.

If Mesa's package is not imported yet, its module is created without running ``mesa/__init__.py``; that file runs
on the first access to any other attribute of the package (``mesa.space``, ``mesa.__version__``, ``from mesa
import batch_run``), so code that uses Mesa as a whole later (the app, a notebook) sees the whole package.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from types import ModuleType
from typing import Any


def _package() -> ModuleType:
    """The ``mesa`` package module: imported already, or created with its ``__init__`` deferred."""
    if "mesa" in sys.modules:
        return sys.modules["mesa"]
    spec = importlib.util.find_spec("mesa")
    if spec is None or spec.loader is None:
        raise ModuleNotFoundError("No module named 'mesa'", name="mesa")
    module = importlib.util.module_from_spec(spec)  # __path__ is set: its submodules can be imported
    finished = False

    def __getattr__(name: str) -> Any:
        nonlocal finished
        if finished or name.startswith("__") and name not in ("__version__", "__all__"):
            raise AttributeError(f"module 'mesa' has no attribute {name!r}")
        finished = True
        del module.__dict__["__getattr__"]
        spec.loader.exec_module(module)  # mesa/__init__.py, in this module: the package becomes whole
        return getattr(module, name)

    module.__getattr__ = __getattr__  # type: ignore[attr-defined]
    sys.modules["mesa"] = module
    return module


class _Pandas:
    """Stands for the module ``pandas`` in ``mesa.datacollection`` until it is used: then imports it."""

    def __getattr__(self, name: str) -> Any:
        import pandas

        return getattr(pandas, name)


def _datacollection() -> ModuleType:
    if "mesa.datacollection" in sys.modules or "pandas" in sys.modules:
        return importlib.import_module("mesa.datacollection")
    sys.modules["pandas"] = None  # type: ignore[assignment]  # its `import pandas as pd` fails, and is skipped
    try:
        module = importlib.import_module("mesa.datacollection")
    finally:
        del sys.modules["pandas"]
    module.pd = _Pandas()  # type: ignore[attr-defined]
    return module


def load() -> tuple[type, type, type]:
    """``(mesa.Model, mesa.Agent, mesa.DataCollector)``."""
    _package()
    agent = importlib.import_module("mesa.agent")
    model = importlib.import_module("mesa.model")
    return model.Model, agent.Agent, _datacollection().DataCollector


Model, Agent, DataCollector = load()
