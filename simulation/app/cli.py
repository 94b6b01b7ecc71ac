"""``conflict-sim viz [SCENARIO_DIR] [--port N]``: serve the interactive app (:mod:`simulation.app`).

The server binds 127.0.0.1 by default, so the app is reachable only from this machine; ``--host 0.0.0.0``
opens it to the network. A port that is taken is one line on stderr and exit code 2.
"""

from __future__ import annotations

import argparse
import errno
import os
import socket
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

DEFAULT_PORT = 8765


def register_cli(subparsers: Any, commands: dict[str, Callable[[argparse.Namespace], int]]) -> None:
    """Add the ``viz`` sub-command."""
    p = subparsers.add_parser(
        "viz", help="serve the interactive app: map, controls, parameters, counterfactuals and charts",
        description="Serve the interactive app in a browser (Solara and Mesa 3's visualization): watch the "
        "scenario unfold on a map, step or play it, change parameters and counterfactuals. See docs/app.md.")
    p.add_argument("scenario", metavar="SCENARIO", nargs="?", default="iraq_june_2014",
                   help="scenario directory, or the name of a shipped scenario (default iraq_june_2014)")
    p.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port to listen on (default {DEFAULT_PORT})")
    p.add_argument("--host", default="127.0.0.1",
                   help="address to bind (default 127.0.0.1: this machine only; 0.0.0.0 opens it to the network)")
    p.add_argument("--seed", type=int, default=1, help="seed the app starts with (default 1; changeable in the app)")
    p.add_argument("--observations", type=Path, default=None, metavar="DIR",
                   help="observations shown beside the model (default: the directory scenario.toml names, else "
                   "calibration/observations if it is about this scenario's places)")
    commands["viz"] = cmd_viz


def bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host:port``.

    Raises
    ------
    simulation.cli.UsageError
        The port is out of range or taken, or the address cannot be bound (one line saying which).
    """
    from simulation.errors import UsageError

    if not 0 < port < 65536:
        raise UsageError(f"--port {port}: must be between 1 and 65535")
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as e:
        raise UsageError(f"--host {host}: cannot resolve the address ({e.strerror})") from None
    family, _, _, _, address = infos[0]
    sock = socket.socket(family, socket.SOCK_STREAM)
    # As uvicorn does: a port left in TIME_WAIT by a server that just stopped can be reused at once.
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
        sock.listen(128)
    except OSError as e:
        sock.close()
        if e.errno == errno.EADDRINUSE:
            raise UsageError(f"port {port} on {host} is already in use (is the app already running? "
                             "choose another with --port)") from None
        raise UsageError(f"cannot listen on {host}:{port}: {e.strerror}") from None
    sock.set_inheritable(True)
    return sock


def cmd_viz(args: argparse.Namespace) -> int:
    from simulation.app.state import cached_scenario, observations_for

    scenario = cached_scenario(str(args.scenario))  # a bad scenario fails here: one line, exit 2
    if args.observations is not None:
        observations_for(scenario, args.observations)  # and so do bad observations given explicitly
    sock = bind(args.host, args.port)

    from simulation.app.page import OBSERVATIONS_ENV, SCENARIO_ENV, SEED_ENV

    # Solara reads its settings from the environment when it is imported, so set them first.
    os.environ[SCENARIO_ENV] = str(Path(scenario.path).resolve())
    os.environ[SEED_ENV] = str(args.seed)
    os.environ[OBSERVATIONS_ENV] = str(args.observations.resolve()) if args.observations else ""
    os.environ["SOLARA_APP"] = "simulation.app.page:Page"
    os.environ.setdefault("SOLARA_TELEMETRY_MIXPANEL_ENABLE", "False")  # no calls home
    os.environ.setdefault("SOLARA_MODE", "production")

    import warnings

    import uvicorn

    # Solara warns, on every page served over plain http at an address other than "localhost" (127.0.0.1 is one),
    # in 12 lines, that the session cookie falls back from SameSite=None to SameSite=Lax. Lax is right for this
    # app, which no other site embeds in a frame; docs/app.md says so once, the log need not on every visit.
    warnings.filterwarnings("ignore", message="Cookies with samesite=none require https", category=UserWarning)

    from simulation.app.assets import cache_directory, missing_packages

    missing = missing_packages()
    if missing:
        print(f"note: the app's front-end files ({', '.join(missing)}) are not in {cache_directory()}; the browser "
              "will need internet access to load the page (install them with `python -m simulation.app.assets`)",
              file=sys.stderr)
    host = f"[{args.host}]" if ":" in args.host else args.host
    print(f"conflict-sim viz: {scenario.name} at http://{host}:{args.port}/ (Ctrl-C to stop)", flush=True)
    config = uvicorn.Config("solara.server.starlette:app", log_level="warning", timeout_graceful_shutdown=3)
    try:
        uvicorn.Server(config).run(sockets=[sock])
    except KeyboardInterrupt:
        pass
    finally:
        sock.close()
    return 0
