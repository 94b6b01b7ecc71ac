"""One fingerprint of the model: what a stored result was computed by.

A sweep's store and a calibration's evaluations are reused only by the same model. The fingerprint hashes the
bytes of every Python source file of the package except the app's (``simulation/app/``: a page cannot change a
number), found by walking the package's folders rather than its import lines (a moved or new file cannot drop out),
and the versions of the project, Python, NumPy, Numba, SciPy and Mesa (NumPy's random streams, for one, are not
promised stable across versions).
"""

from __future__ import annotations

import functools
import hashlib
import platform
from importlib import metadata
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent
#: Folders of the package whose code cannot change what a run computes.
NOT_MODEL = ("app",)
LIBRARIES = ("numpy", "numba", "scipy", "mesa")


def model_sources() -> list[Path]:
    """Every ``.py`` file of the package that can change a result, sorted by its path in the package."""
    return sorted((p for p in PACKAGE.rglob("*.py") if p.relative_to(PACKAGE).parts[0] not in NOT_MODEL),
                  key=lambda p: p.relative_to(PACKAGE).as_posix())


def library_versions() -> dict[str, str]:
    """The versions of Python, the project and the libraries a run's numbers depend on."""
    from simulation import __version__

    versions = {"python": platform.python_version(), "conflict-sim": __version__}
    for name in LIBRARIES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "absent"
    return versions


@functools.cache
def model_fingerprint() -> str:
    """SHA-256 (32 hex digits) over the model's sources (path and bytes of each) and :func:`library_versions`."""
    h = hashlib.sha256()
    for path in model_sources():
        h.update(path.relative_to(PACKAGE).as_posix().encode())
        h.update(b"\0")
        h.update(path.read_bytes())
    for name, version in sorted(library_versions().items()):
        h.update(f"{name}={version}\n".encode())
    return h.hexdigest()[:32]
