"""``conflict-sim generate DIR --places N``: write a synthetic theatre (:mod:`simulation.generate.theatre`)."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import Any

from simulation.errors import UsageError

MIN_PLACES, MAX_PLACES = 10, 100_000  # as simulation.generate.theatre (kept here: --help must not load NumPy)




def register_cli(subparsers: Any, commands: dict[str, Callable[[argparse.Namespace], int]]) -> None:
    """Add the ``generate`` sub-command."""
    p = subparsers.add_parser(
        "generate", help="write a synthetic theatre of any size (for scaling benchmarks and tests)",
        description="Write a synthetic but plausible theatre in the scenario format: invented places with "
        "rank-size populations, a thinned Delaunay road network, governorates, four factions, forces and "
        "events. The same arguments give byte-identical files. See simulation/generate.py.")
    p.add_argument("out", metavar="DIR", type=Path, help="directory to write (must not exist unless --force)")
    p.add_argument("--places", type=int, required=True, help=f"number of places ({MIN_PLACES} to {MAX_PLACES:,})")
    p.add_argument("--units", type=int, default=None, help="number of initial units (default 1.5 per place)")
    p.add_argument("--days", type=int, default=30, help="days the scenario lasts (default 30)")
    p.add_argument("--seed", type=int, default=1, help="seed of the random generator (default 1)")
    p.add_argument("--force", action="store_true", help="replace DIR if it is a theatre written by this command")
    p.add_argument("--quiet", action="store_true", help="print only the directory's path")
    commands["generate"] = cmd_generate


def cmd_generate(args: argparse.Namespace) -> int:
    from simulation.generate.theatre import GenerateError, generate_theatre

    try:
        out = generate_theatre(args.out, args.places, args.units, args.days, args.seed, force=args.force)
    except GenerateError as e:
        raise UsageError(str(e)) from None
    if args.quiet:
        print(out)
    else:
        places = (out / "places.csv").read_text(encoding="utf-8").count("\n") - 1
        roads = (out / "roads.csv").read_text(encoding="utf-8").count("\n") - 1
        units = (out / "forces.csv").read_text(encoding="utf-8").count("\n") - 1
        events = (out / "events.csv").read_text(encoding="utf-8").count("\n") - 1
        print(f"{out}: {places} places, {roads} roads, {units} units, {events} events, {args.days} days "
              f"(seed {args.seed})")
    return 0
