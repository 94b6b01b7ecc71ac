"""Holding Ctrl-C and SIGTERM back while the process is somewhere it must not be interrupted."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_deferring: list[list[int]] = []  # the signals held by the deferral in force, if any (main thread only)


@contextmanager
def signals_deferred() -> Iterator[list[int]]:
    """Hold SIGINT and SIGTERM back for the duration of the block; a held signal is raised again at its end.

    Used where an exception raised by a signal handler would do harm: while a run directory is renamed into
    place or cleaned up (a second Ctrl-C would leave half of it done), and during a model's day, when compiled
    code may be loading (an exception raised inside Numba's and llvmlite's loading code can be swallowed by a
    destructor, or leave LLVM's objects in a state that crashes the interpreter at exit). Only the main thread
    can install handlers; elsewhere this does nothing.

    Yields the list of the signals held so far, so that a long block can stop early. Inside another such block
    it costs nothing and holds the signals for the outer one: they are raised at the outer block's end.
    """
    if threading.current_thread() is not threading.main_thread():
        yield []
        return
    if _deferring:
        yield _deferring[-1]
        return
    held: list[int] = []
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    if any(h is None for h in previous.values()):  # a handler installed from C: leave it alone
        yield held
        return
    for sig in previous:
        signal.signal(sig, lambda signum, frame: held.append(signum))
    _deferring.append(held)
    try:
        yield held
    finally:
        _deferring.pop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if held:
            signal.raise_signal(held[0])


_pending: list[int] = []  # signals received whose exception may have been swallowed (see exit_on_signals)


def _exception_for(signum: int) -> BaseException:
    return KeyboardInterrupt() if signum == signal.SIGINT else SystemExit(128 + signum)


def _raise(signum: int, frame: object) -> None:
    _pending.append(signum)
    raise _exception_for(signum)


@contextmanager
def exit_on_signals() -> Iterator[None]:
    """For the block, Ctrl-C raises KeyboardInterrupt and SIGTERM SystemExit(143), and both are remembered; the
    previous handlers are restored at its end.

    An exception raised by a signal handler is lost if the handler happens to run inside a finalizer
    (``__del__``, which the garbage collector may call at any moment, and compiled code's libraries have some):
    Python prints "Exception ignored" and goes on. :func:`raise_pending`, called once a simulated day, raises it
    again. For the command line; outside the main thread this does nothing.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    _pending.clear()
    for sig in previous:
        signal.signal(sig, _raise)
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        _pending.clear()


def raise_pending() -> None:
    """Raise the exception of a signal received under :func:`exit_on_signals` whose exception was lost."""
    if _pending and signal.getsignal(signal.SIGTERM) is _raise:
        signum = _pending[0]
        _pending.clear()
        raise _exception_for(signum)
