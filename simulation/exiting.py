"""Leaving a command's process without the interpreter's teardown (:func:`exit_now`).

After a ``conflict-sim run``, Python's finalization (freeing every module and object: Numba's compiled kernels and
LLVM's modules among them) took 0.2 s, a report process's 0.1 s, on the 2-core machine of docs/performance.md,
after the work was done and while the user waits. :func:`exit_now` does what matters of that teardown (the
``atexit`` functions, flushing the standard streams) and leaves with ``os._exit``. Only where no thread but daemon
threads (which the interpreter does not wait for either) runs beside the main one: otherwise (a thread pool, a
worker still running) the interpreter's own exit joins those threads first.
"""

from __future__ import annotations

import atexit
import os
import sys
import threading
from typing import NoReturn


def exit_now(code: int) -> NoReturn:
    """Exit with ``code``: the ``atexit`` functions run and the output is flushed, but objects and modules are not
    freed one by one (the operating system takes the process's memory back at once)."""
    main = threading.main_thread()
    if any(t is not main and not t.daemon and t.is_alive() for t in threading.enumerate()):
        sys.exit(code)
    atexit._run_exitfuncs()  # what the interpreter runs on exit: logging, multiprocessing, temporary files' finalizers
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe (`| head`), a closed stream: as the interpreter, say nothing
            pass
    os._exit(code)
