"""Modules whose code runs on their first use, not when they are imported (:func:`defer`).

``conflict-sim run`` needs Mesa's ``Model``, ``Agent`` and ``DataCollector``, but ``import mesa`` imports the whole
framework, and with it pandas (0.25-0.3 s of the command's 1.8 s with ``--no-plots``, for Mesa's methods that return
data frames, which the command never calls). Rather than importing parts of Mesa (which depends on the order of
Mesa's own imports, and broke with the Mesa that installs on Python 3.12), the command defers pandas: ``import
pandas`` (in Mesa or anywhere) gives the real module object, created from its specification, with ``__name__``,
``__file__``, ``__path__`` and ``__spec__`` set but its ``__init__`` not yet run. The first use of any other
attribute (``pandas.DataFrame``, ``from pandas import X``, ``pandas.__version__``) or the import of a submodule
(``import pandas.core.frame``) runs it, in that same module object, which from then on is the ordinary module.

The module's ``__getattr__`` (PEP 562) is called only for attributes the module lacks, so code that looks at every
module's ``__file__`` (``inspect.getmodule``, which Mesa's logger calls at import) does not run it; this is why
:class:`importlib.util.LazyLoader`, which runs the module on any attribute, does not serve here. A lock makes the
first use safe from several threads.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.util
import sys
import threading
from collections.abc import Sequence
from types import ModuleType
from typing import Any

_lock = threading.RLock()
_pending: dict[str, ModuleType] = {}


class _SubmoduleFinder(importlib.abc.MetaPathFinder):
    """Runs a deferred package before one of its submodules is imported (the submodule may rely on it), then lets
    the ordinary finders find the submodule."""

    def find_spec(self, fullname: str, path: Sequence[str] | None = None,
                  target: ModuleType | None = None) -> importlib.machinery.ModuleSpec | None:
        for name in [p for p in _pending if fullname.startswith(p + ".")]:
            load(name)
        return None


_finder = _SubmoduleFinder()


def _find_spec(name: str) -> importlib.machinery.ModuleSpec | None:
    """The specification of the module ``name``, found without running any module (nor the packages above it)."""
    parent, _, _ = name.rpartition(".")
    if not parent or parent in sys.modules:
        return importlib.util.find_spec(name)  # imports nothing (its package, if any, is imported already)
    above = _find_spec(parent)
    if above is None or above.submodule_search_locations is None:
        return None
    for finder in sys.meta_path:  # as the import system searches a package's path
        find = getattr(finder, "find_spec", None)
        spec = None if finder is _finder or find is None else find(name, list(above.submodule_search_locations))
        if spec is not None:
            return spec
    return None


def defer(name: str) -> bool:
    """Put the module ``name`` into ``sys.modules`` with its code deferred to its first use.

    ``name`` may be a submodule: deferred after its package is imported (``numpy.testing``), it is bound in the
    package as an import would bind it; deferred before (``mesa.experimental``), the package is not run, and its
    own ``import`` of the submodule gives the deferred module (binding it in the package is then up to that
    ``import``, as Mesa's ``import mesa.experimental as experimental`` does).
    Returns False, and does nothing, where ``name`` is imported already or cannot be found (its import then fails
    as usual, when it is used).
    """
    with _lock:
        if name in sys.modules:
            return False
        spec = _find_spec(name)
        if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return False
        module = importlib.util.module_from_spec(spec)

        def __getattr__(attribute: str) -> Any:
            load(name)
            return getattr(module, attribute)

        module.__getattr__ = __getattr__  # type: ignore[attr-defined]
        sys.modules[name] = module
        parent, _, child = name.rpartition(".")
        if parent in sys.modules:  # as the import system binds a submodule in its package (NumPy's own lazy
            setattr(sys.modules[parent], child, module)  # attributes would otherwise import it again, and again)
        _pending[name] = module
        if _finder not in sys.meta_path:
            sys.meta_path.insert(0, _finder)
        return True


def is_deferred(name: str) -> bool:
    """Whether ``name`` was deferred by :func:`defer` and has not run yet."""
    return name in _pending


def load(name: str) -> ModuleType:
    """Run the deferred module ``name`` now (nothing if it has run); returns it.

    Raises
    ------
    KeyError
        ``name`` was never deferred (and is not imported).
    """
    with _lock:
        module = _pending.pop(name, None)
        if module is None:
            return sys.modules[name]
        if not _pending and _finder in sys.meta_path:
            sys.meta_path.remove(_finder)
        del module.__dict__["__getattr__"]
        try:
            module.__spec__.loader.exec_module(module)  # type: ignore[union-attr]
        except BaseException:
            sys.modules.pop(name, None)  # as a failed import: the next import tries again
            raise
        parent, _, child = name.rpartition(".")
        if parent in sys.modules:  # as the import system binds a submodule in its package
            setattr(sys.modules[parent], child, module)
        return module
