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


def start_pool(workers: int, initializer: Callable[..., None] = _ignore_sigint,
               initargs: tuple[Any, ...] = ()) -> ProcessPoolExecutor:
    """A spawned process pool whose workers ignore Ctrl-C from birth.

    The parent handles Ctrl-C and shuts the pool down. A worker's initializer alone leaves a window: a SIGINT
    that reaches a worker while it is still starting (importing NumPy) prints a traceback. So the workers are
    started here, all of them, while the parent ignores SIGINT; an ignored signal stays ignored across exec,
    and Python keeps an inherited SIG_IGN. The parent's handler is restored before returning.
    """
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        pool = ProcessPoolExecutor(workers, mp_context=get_context("spawn"), initializer=initializer,
                                   initargs=initargs)
        # Each submission while no worker is idle starts one more worker: start all of them now.
        for f in [pool.submit(int) for _ in range(workers)]:
            f.result()
    finally:
        signal.signal(signal.SIGINT, previous)
    return pool


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
        with start_pool(workers) as pool:
            try:
                for r in pool.map(func, items, chunksize=chunk):
                    out.append(r)
                    bar.update(1)
            except BaseException:
                pool.shutdown(wait=True, cancel_futures=True)
                raise
    return out
