"""``conflict-sim import-flee FLEE_DIR --out SCENARIO_DIR`` (see :mod:`simulation.flee_import`); light to import, as
every module that registers a sub-command must be (the parser loads no NumPy)."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import Any


def register_cli(subparsers: Any, commands: dict[str, Callable[[argparse.Namespace], int]]) -> None:
    """Add the ``import-flee`` sub-command."""
    p = subparsers.add_parser(
        "import-flee", help="convert a FLEE case (input_csv/, source_data/) into a scenario directory",
        description="Convert a FLEE case as FLEE 3.1 reads it (FabFlee's flee3_validation layout) into a scenario "
        "directory: places (FLEE's names kept exactly), roads, closures as road events, conflicts, UNHCR's daily "
        "series with FLEE's registration corrections. Run it with `conflict-sim replay SCENARIO_DIR --totals "
        "injected|generated --out DIR`. See docs/flee.md.")
    p.add_argument("case", metavar="FLEE_DIR", type=Path, help="a FLEE case directory (input_csv/, source_data/)")
    p.add_argument("--out", type=Path, required=True, metavar="SCENARIO_DIR", help="scenario directory to write")
    p.add_argument("--force", action="store_true", help="replace SCENARIO_DIR if it exists")
    commands["import-flee"] = cmd_import_flee


def cmd_import_flee(args: argparse.Namespace) -> int:
    from simulation.errors import OutputError
    from simulation.flee_import import import_flee

    try:
        out = import_flee(args.case, args.out, overwrite=args.force)
    except FileExistsError as e:
        raise OutputError(str(e)) from None
    print(f"scenario directory: {out}")
    return 0
