"""Python's cyclic garbage collector held off while a command imports its libraries (:func:`collector_held`).

Importing NumPy, SciPy, Numba and Mesa (or matplotlib, in a report process) makes hundreds of thousands of objects
that live as long as the process: modules, classes, functions. The collector, which runs every 700 new objects,
looks at them again and again while they are made, and then in every full collection of the run: 0.05-0.14 s of
the command's process and 0.05-0.07 s of each report process's drawing after the run on the 2-core machine of
docs/performance.md (``gc.callbacks`` timings). Holding it off during the imports and then moving what they made
into the collector's permanent generation (``gc.freeze``) leaves those objects out of every later collection;
objects made afterwards (the model, the figures) are collected as before.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator


@contextlib.contextmanager
def collector_held(freeze: bool = True) -> Iterator[None]:
    """No cyclic collection inside the block; after it (also after an error), what exists is frozen (never
    collected: import-time objects that stay) if ``freeze``, and the collector is enabled again if it was."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if freeze:
            gc.freeze()
        if enabled:
            gc.enable()
