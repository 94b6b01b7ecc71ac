"""Where compiled code and plotting caches go when the usual places cannot be written.

Numba caches the model's compiled loops (``cache=True``) beside their source, in the package's ``__pycache__``
folders, and where those are read-only (a system-wide or container install), in the user's cache folder
(``~/.cache/numba`` on Linux). Where neither can be written (a read-only package *and* home: containers,
service accounts, some Dask workers), Numba cannot even import the model ("cannot cache function ...: no
locator available"). Matplotlib likewise wants ``~/.config/matplotlib`` and warns twice without it.

:func:`configure` runs once when :mod:`simulation` is imported, before Numba or matplotlib is. Where neither
location is writable and ``NUMBA_CACHE_DIR`` (or ``MPLCONFIGDIR``) is not set, it sets them to a private folder
in the temporary directory, ``conflict-sim-<user>``, and logs one warning line. Child processes (process pools,
local Dask workers) inherit the variables and so neither probe nor warn again. Set ``NUMBA_CACHE_DIR`` yourself
to keep the compiled code in a place of your choosing (it is then compiled once, not once per temporary folder).
It costs a few file-system calls and imports neither library.
"""

from __future__ import annotations

import logging
import os
import stat
import sys
import tempfile
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent
log = logging.getLogger("simulation")


def writable(directory: Path) -> bool:
    """Whether files can be created in ``directory`` (created if missing), tried as Numba does: by creating
    one. Permission bits alone do not tell (root, read-only mounts)."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=directory):
            pass
    except OSError:
        return False
    return True


def numba_user_cache() -> Path:
    """Numba's user-wide cache folder (``numba.misc.appdirs``' ``user_cache_dir`` for the app ``numba``)."""
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Caches" / "numba"
    if sys.platform == "win32":
        return Path(os.environ.get("LOCALAPPDATA", Path.home() / "AppData" / "Local")) / "numba" / "Cache"
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "numba"


def matplotlib_config() -> Path:
    """Matplotlib's configuration and cache folder when ``MPLCONFIGDIR`` is not set."""
    if sys.platform.startswith(("linux", "freebsd")):
        return Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config") / "matplotlib"
    return Path.home() / ".matplotlib"


def _private_folder() -> Path | None:
    """``<tmp>/conflict-sim-<user>``, created mode 0700, reused by later runs only if it is this user's own
    folder that nobody else can write (so that no one can plant compiled code in it); else a new private folder."""
    try:
        user = str(os.getuid()) if hasattr(os, "getuid") else os.environ.get("USERNAME", "user")
        folder = Path(tempfile.gettempdir()) / f"conflict-sim-{user}"
        try:
            folder.mkdir(mode=0o700)
        except FileExistsError:
            pass
        st = folder.lstat()
        own = not hasattr(os, "getuid") or st.st_uid == os.getuid()
        if stat.S_ISDIR(st.st_mode) and own and not st.st_mode & 0o022 and writable(folder):
            return folder
        return Path(tempfile.mkdtemp(prefix="conflict-sim-"))
    except OSError:
        return None


def _package_writable() -> bool:
    """Whether Numba can cache beside the model's sources: every subpackage's ``__pycache__`` is writable."""
    folders = [PACKAGE, *(p for p in PACKAGE.iterdir() if (p / "__init__.py").is_file())]
    return all(writable(p / "__pycache__") for p in folders)


def configure() -> str | None:
    """Point Numba and matplotlib at a private temporary folder where they could write nowhere else.

    Returns the warning logged (None if nothing needed changing).
    """
    numba = "NUMBA_CACHE_DIR" not in os.environ and not _package_writable() and not writable(numba_user_cache())
    mpl = "MPLCONFIGDIR" not in os.environ and not writable(matplotlib_config())
    if not (numba or mpl):
        return None
    folder = _private_folder()
    if folder is None:
        message = ("conflict-sim: no writable cache folder (the package, the home directory and the temporary "
                   "directory are read-only): set NUMBA_CACHE_DIR and MPLCONFIGDIR to a writable folder")
        log.warning(message)
        return message
    what = []
    if numba:
        os.environ["NUMBA_CACHE_DIR"] = str(folder / "numba")
        if "numba" in sys.modules:  # imported before simulation: Numba reads its configuration on import
            sys.modules["numba"].config.CACHE_DIR = os.environ["NUMBA_CACHE_DIR"]
        what.append("compiled code (Numba)")
    if mpl:
        os.environ["MPLCONFIGDIR"] = str(folder / "matplotlib")
        what.append("matplotlib's cache")
    where = "the package and the home directory are" if numba else "the home directory is"
    verb = "go" if len(what) > 1 else "goes"
    message = (f"conflict-sim: {where} read-only: {' and '.join(what)} {verb} to {folder} (set NUMBA_CACHE_DIR and "
               "MPLCONFIGDIR to choose another folder)")
    log.warning(message)
    return message
