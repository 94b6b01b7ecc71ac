"""Backends: where a sweep's runs are computed — this process, a process pool, or a Dask cluster.

Each backend yields lists of records as batches finish. Workers load the scenario once and run batches of runs.
"""

from __future__ import annotations

import json
import math
import os
import signal
from collections.abc import Iterator, Sequence
from typing import Any

from simulation.errors import SweepError
from simulation.fingerprint import model_fingerprint
from simulation.runs.outcomes import run_outcomes
from simulation.scenario import Scenario
from simulation.sweep.store import RunSpec, RunTask

BACKENDS = ("serial", "processes", "dask")

_WORKER_SCENARIO: Scenario | None = None


def _init_worker(scenario: Scenario) -> None:
    """Process-pool initializer: keep the scenario; leave Ctrl-C to the parent, which stops the pool."""
    global _WORKER_SCENARIO
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _WORKER_SCENARIO = scenario


def run_batch(scenario: Scenario, tasks: Sequence[RunTask], spec: RunSpec) -> list[dict[str, Any]]:
    """Run ``tasks`` on ``scenario``; return one record (key, seed, parameters, outcomes) per task.

    Raises
    ------
    SweepError
        This worker's model code differs from the code that planned the sweep.
    """
    from simulation.engine.model import ConflictModel

    if model_fingerprint() != spec.model:
        import socket

        raise SweepError(f"worker on {socket.gethostname()} (pid {os.getpid()}) runs a different version of the "
                         "model code than the process that planned the sweep; install the same version everywhere")
    out = []
    for task in tasks:
        s = scenario.with_parameters(task.parameters, origin="design") if task.parameters else scenario
        model = ConflictModel(s, seed=task.seed, days=spec.days)
        model.run()
        out.append({"key": task.key, "seed": task.seed, "parameters": json.dumps(task.parameters, sort_keys=True),
                    **run_outcomes(model, spec.places, spec.daily)})
    return out


def _run_batch_in_pool(tasks: Sequence[RunTask], spec: RunSpec) -> list[dict[str, Any]]:
    assert _WORKER_SCENARIO is not None, "the worker was not initialised"
    return run_batch(_WORKER_SCENARIO, tasks, spec)


# --------------------------------------------------------------------------------------------------------
# Backends: each yields lists of records as batches finish


def _batches(todo: list[RunTask], batch_size: int | None, per_worker: int, workers: int) -> list[list[RunTask]]:
    """Split ``todo`` into batches: ``batch_size`` runs each, or about ``per_worker`` batches per worker (at most 50
    runs each) — few enough that scheduling costs little, enough that the work stays balanced to the end and an
    interruption loses little."""
    if batch_size is None:
        batch_size = max(1, min(50, math.ceil(len(todo) / (per_worker * workers))))
    return [todo[i: i + batch_size] for i in range(0, len(todo), batch_size)]


def _serial(scenario: Scenario, batches: list[list[RunTask]], spec: RunSpec) -> Iterator[list[dict]]:
    for batch in batches:
        yield run_batch(scenario, batch, spec)


def _processes(scenario: Scenario, batches: list[list[RunTask]], spec: RunSpec,
               workers: int) -> Iterator[list[dict]]:
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor, as_completed
    from concurrent.futures.process import BrokenProcessPool

    # forkserver: workers fork from a clean server that has imported the model once (fast start, no inherited
    # threads); spawn where forkserver does not exist.
    if "forkserver" in mp.get_all_start_methods():
        ctx = mp.get_context("forkserver")
        ctx.set_forkserver_preload(["simulation.sweep.backends", "simulation.engine.model"])
    else:
        ctx = mp.get_context("spawn")
    pool = ProcessPoolExecutor(max_workers=min(workers, len(batches)), mp_context=ctx, initializer=_init_worker,
                               initargs=(scenario,))
    clean = False
    try:
        futures = [pool.submit(_run_batch_in_pool, batch, spec) for batch in batches]
        for fut in as_completed(futures):
            try:
                yield fut.result()
            except BrokenProcessPool:
                raise SweepError("a worker process died (killed or out of memory); the runs finished so far "
                                 "are stored: run the same sweep again to compute the rest") from None
        clean = True
    finally:
        if not clean:  # stop batches still running (Ctrl-C, an error): their runs are simply not stored
            processes = list((getattr(pool, "_processes", None) or {}).values())  # before shutdown() forgets them
            for p in processes:
                p.terminate()
            for p in processes:
                p.join(timeout=10)
        pool.shutdown(wait=True, cancel_futures=True)


def _dask_client(workers: int, scheduler: str | None) -> tuple[Any, Any]:
    import logging

    from distributed import Client, LocalCluster

    if scheduler:
        try:
            return Client(scheduler, timeout="10s"), None
        except OSError as e:
            raise SweepError(f"cannot connect to the Dask scheduler at {scheduler}: {e}") from None
    cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None,
                           silence_logs=logging.ERROR)
    return Client(cluster), cluster


def _dask(scenario: Scenario, todo: list[RunTask], batch_size: int | None, spec: RunSpec, workers: int,
          scheduler: str | None, client: Any, info: dict[str, Any]) -> Iterator[list[dict]]:
    from distributed import as_completed

    own_client, cluster = (None, None) if client is not None else _dask_client(workers, scheduler)
    client = client if client is not None else own_client
    futures = []
    try:
        try:
            client.wait_for_workers(1, timeout=60)
        except TimeoutError:
            raise SweepError(f"the Dask scheduler at {client.scheduler.address} has no worker after 60 s; start "
                             "some with `dask worker ADDRESS`") from None
        info["workers"] = len(client.scheduler_info().get("workers", {}))
        # Fewer, larger tasks than for the process pool: a Dask task costs more to schedule and to report.
        batches = _batches(todo, batch_size, 8, max(1, info["workers"]))
        remote_scenario = client.scatter(scenario, broadcast=True, hash=False)
        futures = [client.submit(run_batch, remote_scenario, batch, spec, pure=False) for batch in batches]
        for fut in as_completed(futures):
            try:
                records = fut.result()
            except SweepError:
                raise
            except Exception as e:
                raise SweepError(f"a batch failed on the Dask cluster: {type(e).__name__}: {e}; the runs finished "
                                 "so far are stored: run the same sweep again to compute the rest") from e
            fut.release()
            yield records
    finally:
        if futures:
            client.cancel(futures)
        if own_client is not None:
            own_client.close()
        if cluster is not None:
            cluster.close()


# --------------------------------------------------------------------------------------------------------
# The sweep


def default_workers() -> int:
    """CPUs this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1

