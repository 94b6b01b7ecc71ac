"""Errors a user can cause, and the exit codes the command line gives for them.

Library code raises these; only :mod:`simulation.cli` turns them into messages and exit codes, so that no library
module imports a command-line module.
"""

from __future__ import annotations

from collections.abc import Sequence

EXIT_BAD_INPUT = 2


class UsageError(Exception):
    """Bad command-line input; the message is one line."""


class OutputError(OSError):
    """The output directory cannot be written (it exists, or its parent is not writable)."""


class SweepError(RuntimeError):
    """Runs of an ensemble could not finish (a worker died, a batch failed, the cluster is unreachable).

    Runs finished before the error are in the store; running the same sweep again computes only the rest.
    """


def check_days_and_seed(days: int | None, seed: int | None, max_days: int) -> None:
    """Raise :class:`UsageError` for ``--days`` outside 1..``max_days`` or a negative ``--seed`` (None: not given)."""
    if days is not None and not 1 <= days <= max_days:
        raise UsageError(f"--days {days}: must be between 1 and {max_days}")
    if seed is not None and seed < 0:
        raise UsageError(f"--seed {seed}: must be a whole number >= 0")


def parse_sets(items: Sequence[str]) -> dict[str, float]:
    from simulation.parameters import check_value

    out = {}
    for item in items:
        name, sep, value = item.partition("=")
        name = name.strip()
        if not sep or not name:
            raise UsageError(f"--set {item!r}: expected name=value")
        try:
            out[name] = check_value(name, value)
        except KeyError:
            raise UsageError(f"--set {item!r}: unknown parameter {name!r} (see `conflict-sim params`)") from None
        except ValueError as e:
            raise UsageError(f"--set {item!r}: {e}") from None
    return out
