"""The report of ``conflict-sim run`` drawn by other processes while the model is imported and run.

matplotlib's import (about 0.6 s) and the report's plots (1-2 s) cost more than a 30-day run of the Iraq scenario.
``conflict-sim run`` therefore starts its report processes (:class:`ReportProcesses`) before it imports the model:
each imports matplotlib and :mod:`simulation.runs.report` while the model is imported and run, then receives what
the report reads of the finished run (a :class:`~simulation.runs.run_view.RunView`, pickled through its standard
input) and writes its part into the run directory's temporary folder: the map in one process, the daily series
and ``report.md`` in the other, at the same time, while the command writes the tables. The files are those
:func:`simulation.runs.report.write_report` writes in one process, byte for byte.

Before the run, the command also sends a view of the model as built (:meth:`ReportProcesses.draft`): the map's
process then draws all of ``map.png`` that does not depend on the run (the base map, roads, labels and legends:
:class:`simulation.runs.report.MapDraft`) while the model runs, and after it only the places' colours, the titles
and the drawing into pixels remain.

On Linux the two are one process until the run is over: it imports matplotlib and drafts the map beside the
command (so that, on two CPUs, nothing competes with the model's imports and run), then forks, and the map and the
series are drawn at the same time by the process and its copy, without a second import of matplotlib. Elsewhere
each part has a process of its own from the start. Either way matplotlib is imported once more than in one
process, so they help only where a CPU would otherwise be idle; :meth:`ReportProcesses.start` draws in the
command's own process otherwise.

A report process that fails or dies fails the command (:class:`ReportError`, naming the part and its error, exit
code 1), and the run directory is not written: it is written atomically
(:func:`simulation.runs.directories.atomic_directory`).

This module is light (no matplotlib, no model); :func:`main` is a report process.
"""

from __future__ import annotations

import os
import pickle
import signal
import subprocess
import sys
import tempfile
import threading
import traceback
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from simulation.errors import UsageError
from simulation.runs.run_view import PARTS, RunView

#: The report's parts by process: the map is about half of the drawing.
GROUPS: tuple[tuple[str, ...], ...] = (("map",), ("series", "markdown"))
#: The variable that overrides :meth:`ReportProcesses.start`'s choice.
ENV = "CONFLICT_SIM_REPORT_PROCESSES"
#: How a report process names a part it could not draw, on a line of its standard error: this, the parts, a tab and
#: the error.
FAILED = "report part failed: "
#: Whether a report process may fork to draw its groups of parts at the same time (after one import of matplotlib).
FORK = sys.platform == "linux" and hasattr(os, "fork")


class ReportError(RuntimeError):
    """A report process failed: the run directory is not written."""


def available_cpus() -> int:
    """The CPUs this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


#: Above this share of the last ten seconds (in %) during which some runnable task waited for a CPU (Linux's
#: pressure stall information), the CPUs count as busy.
PRESSURE_LIMIT = 10.0
PRESSURE = Path("/proc/pressure/cpu")
LOADAVG = Path("/proc/loadavg")


def others_running(loadavg: Path = LOADAVG) -> int | None:
    """Tasks running or ready to run on the machine at this moment besides this process (the fourth field of Linux's
    ``/proc/loadavg``), or None where unknown."""
    try:
        return int(loadavg.read_text(encoding="ascii").split()[3].split("/")[0]) - 1
    except (OSError, IndexError, ValueError):
        return None


#: :func:`others_running` when this module was imported, early in the command (a second look, some 30 ms before
#: :meth:`ReportProcesses.start`'s own: a task that ran only at one of the two moments does not count).
OTHERS_AT_IMPORT = others_running()


def cpus_contended(cpus: int, pressure: Path = PRESSURE, loadavg: Path = LOADAVG,
                   earlier: int | None = None) -> bool:
    """Whether other work keeps the CPUs busy: other tasks running now on all but this process's CPU (in this look
    at ``loadavg`` and in the ``earlier`` one, where given), or tasks that waited for a CPU more than
    :data:`PRESSURE_LIMIT` % of the last ten seconds (``some avg10`` of ``pressure``); where the kernel says
    neither (not Linux), a load average above ``cpus - 1``.

    Not the load average: it counts this command's own last runs (two busy processes on two CPUs), and after a few
    runs in a row it sent the report into the command's process, which is slower on an idle machine
    (docs/performance.md). Pressure alone misses neighbours that use the CPUs without waiting (one task on each
    CPU), where drawing here is the faster choice too, hence the tasks running now."""
    looks = [n for n in (earlier, others_running(loadavg)) if n is not None]
    if looks and all(n >= cpus - 1 for n in looks):
        return True
    try:
        some = pressure.read_text(encoding="ascii").splitlines()[0].split()
        return float(dict(f.split("=", 1) for f in some[1:])["avg10"]) > PRESSURE_LIMIT
    except (OSError, IndexError, KeyError, ValueError):
        if looks:
            return False
        load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float(cpus)
        return load > cpus - 1


class ReportProcesses:
    """The report processes of one run: started now (they import matplotlib and wait), given the finished run by
    :meth:`write`; ended by :meth:`close` (or leaving the ``with`` block) whatever happens.

    Use :meth:`start`, which gives None where the report is better drawn in the command's own process.
    """

    def __init__(self, groups: tuple[tuple[str, ...], ...] = GROUPS, fork: bool | None = None) -> None:
        """One process for all ``groups`` (each drawn by a fork of it) with ``fork`` (default :data:`FORK`), else one
        process a group."""
        fork = FORK if fork is None else fork
        # The package this process runs, wherever it was found (an editable install, a path added at run time);
        # where that folder is already on the new process's path (site-packages), its order is left alone. -P:
        # not the working directory first, where another checkout's `simulation` may be.
        root = str(Path(__file__).resolve().parents[2])
        code = (f"import sys; {root!r} in sys.path or sys.path.insert(0, {root!r}); "
                "from simulation.runs.plotting import main; from simulation.exiting import exit_now; "
                "exit_now(main(sys.argv[1:]))")
        self._procs: list[tuple[tuple[tuple[str, ...], ...], subprocess.Popen[bytes], IO[bytes]]] = []
        self._writers: list[threading.Thread] = []
        # Its own process group, so that close() ends its forks too.
        group = {"process_group": 0} if os.name == "posix" else {}
        try:
            for owned in ((groups,) if fork else tuple((g,) for g in groups)):
                err = tempfile.TemporaryFile()
                args = [a for k, g in enumerate(owned) for a in ((["+"] if k else []) + list(g))]
                proc = subprocess.Popen([sys.executable, "-P", "-c", code, *args], stdin=subprocess.PIPE,
                                        stdout=subprocess.DEVNULL, stderr=err, **group)
                self._procs.append((owned, proc, err))
        except BaseException:
            self.close()
            raise

    @classmethod
    def start(cls) -> ReportProcesses | None:
        """The report processes, or None where drawing in this process is cheaper: no idle CPU to draw on (fewer
        than two CPUs, or other work keeping them busy: :func:`cpus_contended`), since a report process costs more
        CPU time (another interpreter, NumPy imported again). ``CONFLICT_SIM_REPORT_PROCESSES`` overrides: ``0``
        draws here, ``1`` in one other process, ``2`` in two at once, the map apart (on Linux, one process and its
        fork)."""
        wanted = os.environ.get(ENV, "auto").strip().lower()
        if wanted not in ("auto", "0", "1", "2"):
            raise UsageError(f"{ENV}={wanted}: expected auto, 0, 1 or 2")
        if wanted == "auto":
            cpus = available_cpus()
            wanted = "2" if cpus >= 2 and not cpus_contended(cpus, earlier=OTHERS_AT_IMPORT) else "0"
        if wanted == "0":
            return None
        try:
            return cls(GROUPS if wanted == "2" else (PARTS,))
        except OSError:  # no interpreter to start (an embedded Python): draw here
            return None

    def draft(self, view: RunView) -> None:
        """Have the map's process draw what it can of the map before the run: ``view`` is the model as built.

        Sent by a thread: the view is larger than a pipe holds (0.36 MB for the Iraq scenario), and the process may
        still be importing matplotlib; the model need not wait for it."""
        payload = pickle.dumps(("draft", view), protocol=pickle.HIGHEST_PROTOCOL)
        for owned, proc, _ in self._procs:
            if any("map" in g for g in owned):
                writer = threading.Thread(target=self._write, args=(proc, payload, False), daemon=True)
                writer.start()
                self._writers.append(writer)

    def write(self, view: RunView, data: dict[str, Any], out: Path) -> None:
        """:meth:`send`, then :meth:`wait`."""
        self.send(view, data, out)
        self.wait()

    def send(self, view: RunView, data: dict[str, Any], out: Path) -> None:
        """Have the processes write the report of ``view`` (whose summary is ``data``) into the folder ``out``."""
        self._write_all(pickle.dumps(("draw", view, data, str(out)), protocol=pickle.HIGHEST_PROTOCOL), close=True)

    def _write_all(self, payload: bytes, close: bool) -> None:
        self._join_writers()
        for _, proc, _ in self._procs:
            self._write(proc, payload, close)

    @staticmethod
    def _write(proc: subprocess.Popen[bytes], payload: bytes, close: bool) -> None:
        assert proc.stdin is not None
        try:
            proc.stdin.write(payload)
            if close:
                proc.stdin.close()
            else:
                proc.stdin.flush()
        except (BrokenPipeError, ValueError):  # it died already (its exit code and error say why), or was closed
            pass

    def _join_writers(self) -> None:
        for writer in self._writers:
            writer.join()
        self._writers = []

    def wait(self) -> None:
        """Wait for the processes to finish the report.

        Raises
        ------
        ReportError
            A process failed or died: which part, and its error (else its last error line).
        """
        failures = []
        for owned, proc, err in self._procs:
            code = proc.wait()
            err.seek(0)
            text = err.read().decode("utf-8", "replace")
            if code != 0:
                lines = [line.strip() for line in text.splitlines() if line.strip()]
                named = [line[len(FAILED):].split("\t", 1) for line in lines if line.startswith(FAILED)]
                if named:
                    failures += [f"{parts} ({why})" for parts, why in named]
                    continue
                why = lines[-1] if lines else (f"killed by signal {-code}" if code < 0 else f"exit code {code}")
                failures.append(f"{' and '.join(p for g in owned for p in g)} ({why})")
            elif text:
                sys.stderr.write(text)  # its warnings, as if drawn here
        if failures:
            raise ReportError("the report could not be drawn: " + "; ".join(failures))

    def close(self) -> None:
        """End the processes still running (after an error or an interrupt) and release their files."""
        for _, proc, _ in self._procs:
            if proc.poll() is None or proc.returncode != 0:  # it, or a fork of it, may still be drawing
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except (AttributeError, OSError):  # not POSIX, or none left in its group
                    proc.kill()
            proc.wait()
        self._join_writers()  # a writer still writing to a process just ended stops at its broken pipe
        for _, proc, err in self._procs:
            if proc.stdin is not None and not proc.stdin.closed:
                try:
                    proc.stdin.close()
                except BrokenPipeError:
                    pass
            err.close()
        self._procs = []

    def __enter__(self) -> ReportProcesses:
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


def _failed(parts: tuple[str, ...], error: BaseException) -> None:
    traceback.print_exception(error)
    why = traceback.format_exception_only(error)[-1].strip()
    print(f"{FAILED}{' and '.join(parts)}\t{why}", file=sys.stderr, flush=True)


def main(argv: list[str]) -> int:
    """A report process: import the report, then read from standard input ``("draft", view)`` (optional: the model
    as built, from which the map is drafted) and ``("draw", view, data, folder)``, and write the parts ``argv``
    names. Groups of parts separated by ``+`` are drawn at the same time, each after the first by a fork."""
    groups = [tuple(g.split()) for g in " ".join(argv).split("+")]
    unknown = [p for g in groups for p in g if p not in PARTS]
    if unknown or not all(groups):
        print(f"report parts: {', '.join(PARTS)} (got {' '.join(argv) or 'none'})", file=sys.stderr)
        return 2
    from simulation.collector import collector_held

    try:
        # No collection before the run is over, then all of it frozen (matplotlib, the draft, the view): the forks'
        # collections look at what they draw only (0.05-0.07 s less of each).
        with collector_held():
            from simulation.runs.report import MapDraft, series_figures  # matplotlib, while the model is imported

            draft = series = None
            while True:
                try:
                    message = pickle.load(sys.stdin.buffer)
                except EOFError:  # the command ended before its run did (an error, an interrupt): nothing to draw
                    return 0
                if message[0] == "draft":
                    if any("map" in g for g in groups):
                        draft = MapDraft(message[1])
                    if any("series" in g for g in groups):
                        series = series_figures()  # their empty figures, for a fork to fill
                    continue
                _, view, data, out = message
                break
        if draft is not None and not draft.fits(view):
            draft = None
    except Exception as e:
        for g in groups:
            _failed(g, e)
        return 1
    forks = {}
    for g in groups[1:]:
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:  # the copy: draws its group and leaves at once (no clean-up of the process it copies)
            code = _draw(g, draft, series, view, data, Path(out))
            sys.stderr.flush()
            os._exit(code)
        forks[pid] = g
    code = _draw(groups[0], draft, series, view, data, Path(out))
    for pid, g in forks.items():
        status = os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
        if status < 0:
            print(f"{FAILED}{' and '.join(g)}\tkilled by signal {-status}", file=sys.stderr, flush=True)
        code = code or int(status != 0)
    return code


def _draw(parts: tuple[str, ...], draft: Any, series: Any, view: RunView, data: dict[str, Any], out: Path) -> int:
    """Write ``parts`` of the report of ``view`` into ``out`` (the map from ``draft`` where one fits, the series into
    the figures ``series`` where made); 0 if done."""
    try:
        from simulation.runs.report import MapDraft, write_markdown, write_series

        if "map" in parts:
            (draft or MapDraft(view)).finish(view, out)
        if "series" in parts:
            write_series(view, out, figures=series)
        if "markdown" in parts:
            write_markdown(view, data, out)
    except Exception as e:
        _failed(parts, e)
        return 1
    return 0
