"""The app (``conflict-sim viz``) is reachable only from this machine unless told otherwise.

A real server is started on a free port with the default options; the kernel's table of listening sockets
(``/proc/net/tcp``, ``/proc/net/tcp6``) must show it bound to the loopback address only, it must serve the page
there, and Ctrl-C must stop it cleanly.
"""

from __future__ import annotations

import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import ROOT, TOY

LOOPBACK = {"0100007F", "00000000000000000000000001000000"}  # 127.0.0.1 and ::1 as /proc/net/tcp{,6} spell them

pytestmark = pytest.mark.skipif(not Path("/proc/net/tcp").exists(), reason="needs Linux's /proc/net/tcp")


def listening_addresses(port: int) -> list[str]:
    """Local addresses (hex, as the kernel prints them) of the sockets listening on ``port``."""
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        if not Path(table).exists():
            continue
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, hexport = local.rsplit(":", 1)
            if state == "0A" and int(hexport, 16) == port:
                found.append(address)
    return found


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_viz_binds_the_loopback_address_by_default(tmp_path):
    scenario = tmp_path / "toy"
    shutil.copytree(TOY, scenario)
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "simulation.cli", "viz", str(scenario), "--port", str(port)],
                            cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(ROOT)}, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        banner = ""
        deadline = time.monotonic() + 180
        while "http://" not in banner:
            assert proc.poll() is None, f"viz stopped: {proc.stderr.read()}"
            assert time.monotonic() < deadline, "viz did not start"
            if select.select([proc.stdout], [], [], 0.2)[0]:
                banner += proc.stdout.readline()
        assert f"http://127.0.0.1:{port}/" in banner
        addresses = listening_addresses(port)
        assert addresses, "nothing listens on the port the app announced"
        assert set(addresses) <= LOOPBACK, f"the app listens beyond this machine: {addresses}"
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=60) as page:
            assert page.status == 200
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
        assert "Traceback" not in err
        assert listening_addresses(port) == []
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)
