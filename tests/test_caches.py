"""Numba's and matplotlib's caches where the package and the home directory are read-only (simulation.caches)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from simulation import caches
from tests.conftest import ROOT


@pytest.fixture
def clean_env(monkeypatch, tmp_path):
    for name in ("NUMBA_CACHE_DIR", "MPLCONFIGDIR"):
        # setenv first, so that monkeypatch records the original state and restores it after the test, also
        # when configure() sets the variable (else it would leak into every later test and its subprocesses).
        monkeypatch.setenv(name, "")
        monkeypatch.delenv(name)
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setattr(caches.tempfile, "tempdir", None)  # gettempdir() reads TMPDIR again
    yield tmp_path
    caches.tempfile.tempdir = None


def test_nothing_changes_where_the_package_is_writable(clean_env, monkeypatch):
    monkeypatch.setattr(caches, "matplotlib_config", lambda: clean_env / "mpl")
    assert caches.configure() is None
    assert "NUMBA_CACHE_DIR" not in os.environ and "MPLCONFIGDIR" not in os.environ


def test_nothing_writable_gives_a_private_folder_and_one_warning(clean_env, monkeypatch, caplog):
    monkeypatch.setattr(caches, "writable", lambda d: str(d).startswith(str(clean_env)))
    monkeypatch.setattr(caches, "numba_user_cache", lambda: Path("/nonexistent/.cache/numba"))
    monkeypatch.setattr(caches, "matplotlib_config", lambda: Path("/nonexistent/.config/matplotlib"))
    message = caches.configure()
    folder = clean_env / f"conflict-sim-{os.getuid()}"
    assert os.environ["NUMBA_CACHE_DIR"] == str(folder / "numba")
    assert os.environ["MPLCONFIGDIR"] == str(folder / "matplotlib")
    assert (folder.stat().st_mode & 0o777) == 0o700
    assert [r.getMessage() for r in caplog.records] == [message] and "\n" not in message
    assert "NUMBA_CACHE_DIR" in message
    # A child process inherits the variables: it neither probes nor warns again.
    assert caches.configure() is None


def test_a_folder_others_can_write_is_not_reused(clean_env, monkeypatch):
    planted = clean_env / f"conflict-sim-{os.getuid()}"
    planted.mkdir(mode=0o777)
    planted.chmod(0o777)
    monkeypatch.setattr(caches, "writable", lambda d: str(d).startswith(str(clean_env)))
    monkeypatch.setattr(caches, "numba_user_cache", lambda: Path("/nonexistent/numba"))
    caches.configure()
    # (a folder, not a prefix of the name: the fresh temporary folder "conflict-sim-" + 8 random characters may
    # begin with the uid's digits)
    assert planted not in Path(os.environ["NUMBA_CACHE_DIR"]).parents
    assert Path(os.environ["NUMBA_CACHE_DIR"]).parent.stat().st_mode & 0o077 == 0


def _can_mount_read_only() -> bool:
    if not shutil.which("unshare") or os.geteuid() != 0:
        return False
    probe = subprocess.run(["unshare", "-m", "sh", "-c", "mount --bind / /mnt && mount -o remount,ro,bind /mnt"],
                           capture_output=True)
    return probe.returncode == 0


@pytest.mark.skipif(not _can_mount_read_only(), reason="needs root and mount namespaces (unshare -m) to make the "
                    "package and the home directory read-only")
def test_the_model_imports_with_the_package_and_home_read_only(tmp_path):
    """The issue's case: importing the model used to fail with Numba's "no locator available"."""
    home = tmp_path / "home"
    home.mkdir()
    package = ROOT / "simulation"
    script = (f"mount --bind {package} {package} && mount -o remount,ro,bind {package} && "
              f"mount --bind {home} {home} && mount -o remount,ro,bind {home} && "
              f"exec {sys.executable} -c 'import simulation.engine.model, matplotlib.pyplot'")
    env = {k: v for k, v in os.environ.items() if k not in ("NUMBA_CACHE_DIR", "MPLCONFIGDIR", "XDG_CACHE_HOME",
                                                             "XDG_CONFIG_HOME")}
    env.update(HOME=str(home), TMPDIR=str(tmp_path), PYTHONPATH=str(ROOT))
    out = subprocess.run(["unshare", "-m", "sh", "-c", script], env=env, cwd=tmp_path, capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    lines = out.stderr.splitlines()
    assert len(lines) == 1 and "the package and the home directory are read-only" in lines[0], out.stderr
    assert (tmp_path / f"conflict-sim-{os.getuid()}" / "numba").is_dir()
