"""A process pool map with a progress bar, for runs that are independent of each other."""

from __future__ import annotations

import signal
import sys
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from typing import Any


def _ignore_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C and shuts the pool down


def pool_map(func: Callable[[Any], Any], items: Iterable[Any], workers: int = 1, desc: str | None = None,
             progress: bool = True) -> list[Any]:
    """``[func(x) for x in items]``, in ``workers`` processes (spawned) when more than one, in order.

    ``func`` must be picklable (a module-level function or an instance of a module-level class). The result
    does not depend on ``workers``.
    """
    from tqdm import tqdm

    items = list(items)
    out = []
    with tqdm(total=len(items), desc=desc, unit="run", file=sys.stderr, disable=not progress, leave=False) as bar:
        if workers <= 1 or len(items) <= 1:
            for x in items:
                out.append(func(x))
                bar.update(1)
            return out
        chunk = max(1, min(8, len(items) // (4 * workers)))
        with ProcessPoolExecutor(workers, mp_context=get_context("spawn"), initializer=_ignore_sigint) as pool:
            try:
                for r in pool.map(func, items, chunksize=chunk):
                    out.append(r)
                    bar.update(1)
            except BaseException:
                pool.shutdown(wait=True, cancel_futures=True)
                raise
    return out
