"""Run directories written atomically, and checked before a run: light (no model), so that a command can check
its output directory before it imports the model.

The directory is written into a temporary sibling and renamed into place when complete, so that an interrupted
run never leaves a half-written directory under the requested name.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from simulation.engine.signals import signals_deferred
from simulation.errors import OutputError


def _missing_ancestors(path: Path) -> list[Path]:
    """The ancestors of ``path`` that do not exist yet, nearest first."""
    missing = []
    for parent in path.absolute().parents:
        if parent.exists():
            break
        missing.append(parent)
    return missing


def check_run_target(out: str | Path, overwrite: bool = False, protect: Sequence[str | Path] = ()) -> None:
    """Raise :class:`OutputError` now if the run directory ``out`` could not be written at the end of a run.

    Parameters
    ----------
    out : the run directory to write.
    overwrite : whether an existing run directory may be replaced (``--force``).
    protect : directories that must never be replaced, nor anything holding them (the scenario directory,
        the working directory).

    Raises
    ------
    OutputError
        ``out`` exists (and ``overwrite`` is false, or it is not a run directory, or it holds a protected
        directory), or the nearest existing ancestor of ``out`` is not a writable directory.
    """
    out = Path(out)
    if out.exists() or out.is_symlink():
        if not overwrite:
            raise OutputError(f"{out}: output directory exists (choose another --out or pass --force)")
        if not out.is_dir() or out.is_symlink():
            raise OutputError(f"{out}: exists and is not a directory; --force replaces only a run directory")
        resolved = out.resolve()
        for p in protect:
            if Path(p).resolve().is_relative_to(resolved):
                raise OutputError(f"{out}: --force would delete {p}; choose another --out")
        if any(out.iterdir()) and not (out / "summary.json").is_file():
            raise OutputError(f"{out}: is not a run directory (no summary.json); --force replaces only a run "
                              "directory")
    missing = _missing_ancestors(out)
    existing = out.absolute().parents[len(missing)] if missing else out.absolute().parent
    if not existing.is_dir():
        raise OutputError(f"{out}: cannot create the output directory ({existing} is not a directory)")
    try:
        with signals_deferred():  # a signal between the two calls would leave the probe behind
            Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".partial", dir=existing)).rmdir()
    except OSError as e:
        raise OutputError(f"{out}: cannot create the output directory in {existing} ({e.strerror})") from None


@contextmanager
def atomic_directory(out: Path, overwrite: bool = False) -> Iterator[Path]:
    """Yield a temporary directory beside ``out``; on success it becomes ``out``, on any error it is removed.

    Directories created on the way to ``out`` are removed again on error too, so that a failed or interrupted
    write leaves nothing behind. An ``OSError`` while writing (a full disk) becomes an :class:`OutputError`.
    """
    out = Path(out)
    if out.exists() and not overwrite:
        raise OutputError(f"{out}: output directory exists (choose another --out or pass --force)")
    parent = out.parent if str(out.parent) else Path(".")
    created = _missing_ancestors(out)
    tmp: Path | None = None
    old: Path | None = None
    try:
        # A signal that arrives while the directory is made is raised once it exists: the cleanup below sees it.
        with signals_deferred():
            try:
                parent.mkdir(parents=True, exist_ok=True)
                tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".partial", dir=parent))
            except OSError as e:
                raise OutputError(f"{out}: cannot create the output directory ({e.strerror})") from None
        old = tmp.with_name(tmp.name.removesuffix(".partial") + ".replaced")
        yield tmp
        with signals_deferred():
            if out.exists():
                # Move the old directory aside first, so that a failure here never loses both.
                os.replace(out, old)
                os.replace(tmp, out)
                shutil.rmtree(old, ignore_errors=True)
            else:
                os.replace(tmp, out)
    except BaseException as e:
        with signals_deferred():
            if old is not None and old.exists() and not out.exists():
                os.replace(old, out)
            if tmp is not None:
                shutil.rmtree(tmp, ignore_errors=True)
            _remove_empty(created)
        if isinstance(e, OSError) and not isinstance(e, OutputError):
            where = f" ({e.filename})" if e.filename else ""
            raise OutputError(f"{out}: cannot write the output: {e.strerror or e}{where}") from None
        raise


def _remove_empty(directories: list[Path]) -> None:
    for d in directories:  # nearest first, so children go before their parents
        try:
            d.rmdir()
        except OSError:
            break
