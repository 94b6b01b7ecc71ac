"""Backends: where an ensemble's runs are computed — this process, a process pool, or a Dask cluster.

A backend is started once with a :class:`~simulation.sweep.ensemble.Job` (the scenario, the days and what to
keep of each run), which every worker receives once; it then runs batches of tasks, as many calls as needed
(a calibration runs one per generation on the same workers), and yields each batch's records as it finishes.

``"serial"``
    This process: for debugging, small ensembles and tests.
``"processes"``
    A :class:`concurrent.futures.ProcessPoolExecutor` on this machine. Workers fork from a server that has
    imported the model once (``forkserver``; ``spawn`` where there is none). They ignore Ctrl-C from birth: the
    parent handles it, stops them and keeps what finished.
``"dask"``
    :mod:`dask.distributed`: a ``LocalCluster``, a running cluster given by its scheduler address, or an existing
    ``Client``. The job is scattered to every worker once.

Importing this module is cheap (the command line reads :data:`BACKENDS`); the libraries load on use.
"""

from __future__ import annotations

import math
import os
import signal
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from simulation.errors import SweepError

if TYPE_CHECKING:
    from simulation.sweep.job import Job, RunTask

BACKENDS = ("serial", "processes", "dask")


def default_workers() -> int:
    """CPUs this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def split_batches(todo: Sequence[RunTask], batch_size: int | None, per_worker: int,
                  workers: int) -> list[list[RunTask]]:
    """Split ``todo`` into batches: ``batch_size`` runs each, or about ``per_worker`` batches per worker (at most 50
    runs each) — few enough that scheduling costs little, enough that the work stays balanced to the end and an
    interruption loses little."""
    todo = list(todo)
    if batch_size is None:
        batch_size = max(1, min(50, math.ceil(len(todo) / (per_worker * workers))))
    return [todo[i: i + batch_size] for i in range(0, len(todo), batch_size)]


class Backend:
    """Runs batches of an ensemble's tasks. Use :func:`open_backend`; close it (or use ``with``) when done.

    Attributes
    ----------
    name : one of :data:`BACKENDS`.
    workers : processes computing at once (for Dask: the cluster's workers, known once started).
    per_worker : batches per worker when :meth:`batches` chooses the batch size.
    """

    name = "serial"
    per_worker = 16

    def __init__(self, workers: int = 1):
        self.workers = workers
        self.job: Job | None = None

    def start(self, job: Job) -> None:
        """Give the workers the job (once; a second call with the same job does nothing)."""
        self.job = job

    def batches(self, todo: Sequence[RunTask], batch_size: int | None = None) -> list[list[RunTask]]:
        return split_batches(todo, batch_size, self.per_worker, max(1, self.workers))

    def run(self, batches: list[list[RunTask]]) -> Iterator[list[dict[str, Any]]]:
        """The records of each batch, as batches finish (in any order)."""
        assert self.job is not None, "start() the backend first"
        for batch in batches:
            yield self.job.run(batch)

    def close(self) -> None:
        """Stop the workers (if any)."""

    def __enter__(self) -> Backend:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# --------------------------------------------------------------------------------------------------------
# A process pool on this machine

_WORKER_JOB: Job | None = None


def _init_worker(job: Job) -> None:
    """Process-pool initializer: keep the job; leave Ctrl-C to the parent, which stops the pool."""
    global _WORKER_JOB
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _WORKER_JOB = job


def _run_in_pool(tasks: Sequence[RunTask]) -> list[dict[str, Any]]:
    assert _WORKER_JOB is not None, "the worker was not initialised"
    return _WORKER_JOB.run(tasks)


class ProcessBackend(Backend):
    name = "processes"

    def __init__(self, workers: int):
        super().__init__(workers)
        self._pool: Any = None

    def _start_pool(self, size: int) -> None:
        """Start ``size`` workers, all of them, while this process ignores Ctrl-C.

        A worker's initializer alone leaves a window: a SIGINT that reaches a worker while it is still starting
        prints a traceback. An ignored signal stays ignored across fork and exec (and Python keeps an inherited
        SIG_IGN), so the fork server and the workers started here ignore it from birth. The parent's handler is
        restored before returning.
        """
        import multiprocessing as mp
        from concurrent.futures import ProcessPoolExecutor

        previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
        try:
            if "forkserver" in mp.get_all_start_methods():
                ctx = mp.get_context("forkserver")
                ctx.set_forkserver_preload(["simulation.sweep.backends", "simulation.sweep.job",
                                            "simulation.engine.model"])
            else:
                ctx = mp.get_context("spawn")
            self._pool = ProcessPoolExecutor(max_workers=size, mp_context=ctx, initializer=_init_worker,
                                             initargs=(self.job,))
            # Each submission while no worker is idle starts one more worker: start all of them now.
            for f in [self._pool.submit(int) for _ in range(size)]:
                f.result()
        finally:
            signal.signal(signal.SIGINT, previous)

    def run(self, batches: list[list[RunTask]]) -> Iterator[list[dict[str, Any]]]:
        from concurrent.futures import as_completed
        from concurrent.futures.process import BrokenProcessPool

        if not batches:
            return
        if self._pool is None:
            self._start_pool(min(self.workers, len(batches)))
        clean = False
        try:
            futures = [self._pool.submit(_run_in_pool, batch) for batch in batches]
            for fut in as_completed(futures):
                try:
                    yield fut.result()
                except BrokenProcessPool:
                    raise SweepError("a worker process died (killed or out of memory); the runs finished so far "
                                     "are stored: run the same sweep again to compute the rest") from None
            clean = True
        finally:
            if not clean:  # stop batches still running (Ctrl-C, an error): their runs are simply not stored
                self._terminate()

    def _terminate(self) -> None:
        if self._pool is None:
            return
        processes = list((getattr(self._pool, "_processes", None) or {}).values())  # before shutdown() forgets
        for p in processes:
            p.terminate()
        for p in processes:
            p.join(timeout=10)
        self.close()

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None


# --------------------------------------------------------------------------------------------------------
# Dask


def _run_remote(job: Job, tasks: Sequence[RunTask]) -> list[dict[str, Any]]:
    return job.run(tasks)


class DaskBackend(Backend):
    name = "dask"
    per_worker = 8  # fewer, larger tasks than for the process pool: a Dask task costs more to schedule and report

    def __init__(self, workers: int, scheduler: str | None = None, client: Any = None):
        super().__init__(workers)
        self.scheduler = scheduler
        self.client = client
        self._own_client: Any = None
        self._cluster: Any = None
        self._remote_job: Any = None
        self._futures: list[Any] = []

    def _connect(self) -> Any:
        import logging

        from distributed import Client, LocalCluster

        if self.scheduler:
            try:
                self._own_client = Client(self.scheduler, timeout="10s")
            except OSError as e:
                raise SweepError(f"cannot connect to the Dask scheduler at {self.scheduler}: {e}") from None
        else:
            self._cluster = LocalCluster(n_workers=self.workers, threads_per_worker=1, processes=True,
                                         dashboard_address=None, silence_logs=logging.ERROR)
            self._own_client = Client(self._cluster)
        return self._own_client

    def start(self, job: Job) -> None:
        if self._remote_job is not None and job is self.job:
            return
        self.job = job
        client = self.client if self.client is not None else (self._own_client or self._connect())
        try:
            client.wait_for_workers(1, timeout=60)
        except TimeoutError:
            raise SweepError(f"the Dask scheduler at {client.scheduler.address} has no worker after 60 s; start "
                             "some with `dask worker ADDRESS`") from None
        self.workers = len(client.scheduler_info().get("workers", {}))
        self._remote_job = client.scatter(job, broadcast=True, hash=False)

    def run(self, batches: list[list[RunTask]]) -> Iterator[list[dict[str, Any]]]:
        from distributed import as_completed

        client = self.client if self.client is not None else self._own_client
        futures = [client.submit(_run_remote, self._remote_job, batch, pure=False) for batch in batches]
        self._futures = futures
        try:
            for fut in as_completed(futures):
                try:
                    records = fut.result()
                except SweepError:
                    raise
                except Exception as e:
                    raise SweepError(f"a batch failed on the Dask cluster: {type(e).__name__}: {e}; the runs "
                                     "finished so far are stored: run the same sweep again to compute the rest") from e
                fut.release()
                yield records
        finally:
            client.cancel(futures)
            self._futures = []

    def close(self) -> None:
        if self._own_client is not None:
            self._own_client.close()
            self._own_client = None
        if self._cluster is not None:
            self._cluster.close()
            self._cluster = None
        self._remote_job = None


def open_backend(backend: str = "serial", workers: int | None = None, scheduler: str | None = None,
                 client: Any = None) -> Backend:
    """A backend by name; a Dask ``scheduler`` address or ``client`` implies ``"dask"``.

    Raises
    ------
    ValueError
        An unknown backend, fewer than one worker, or a scheduler with another backend than Dask.
    """
    if scheduler is not None or client is not None:
        if backend not in ("dask", "processes"):
            raise ValueError(f"backend={backend!r}: a Dask scheduler or client needs backend='dask'")
        backend = "dask"
    if backend not in BACKENDS:
        raise ValueError(f"backend={backend!r}: choose one of {', '.join(BACKENDS)}")
    workers = default_workers() if workers is None else int(workers)
    if workers < 1:
        raise ValueError(f"workers={workers}: need at least one")
    if backend == "serial":
        return Backend(1)
    if backend == "processes":
        return ProcessBackend(workers)
    return DaskBackend(workers, scheduler, client)
