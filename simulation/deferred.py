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
        root = fullname.partition(".")[0]
        if root != fullname and root in _pending:
            load(root)
        return None


_finder = _SubmoduleFinder()


def defer(name: str) -> bool:
    """Put the top-level module ``name`` into ``sys.modules`` with its code deferred to its first use.

    Returns False, and does nothing, where ``name`` is imported already, is a submodule, or cannot be found (its
    import then fails as usual, when it is used).
    """
    with _lock:
        if "." in name or name in sys.modules:
            return False
        spec = importlib.util.find_spec(name)
        if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return False
        module = importlib.util.module_from_spec(spec)

        def __getattr__(attribute: str) -> Any:
            load(name)
            return getattr(module, attribute)

        module.__getattr__ = __getattr__  # type: ignore[attr-defined]
        sys.modules[name] = module
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
        return module
