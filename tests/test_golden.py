"""Golden runs: the toy and Iraq scenarios, seeds 1-3, give exactly the stored tables and summaries.

The stored runs live in ``tests/golden/`` and are rewritten on purpose only, by ``make golden``
(``scripts/golden.py --write``); see that script for what is stored and what is left out of the summary. A
change that moves any number of any run fails here with the first differing lines.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "golden.py"
_spec = importlib.util.spec_from_file_location("golden_script", SCRIPT)
golden = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = golden  # dataclasses look their module up there
_spec.loader.exec_module(golden)


@pytest.mark.parametrize("run", golden.RUNS, ids=lambda r: r.name)
def test_run_matches_the_stored_golden_run(run):
    stored = golden.load(run)
    assert stored, f"{run.stored}: no stored run (write them with `make golden`)"
    assert set(stored) >= {"summary.json", "control.csv", "forces.csv", "casualties.csv", "events.csv",
                           "displacement.csv", "personnel.csv"}
    diff = golden.differences(stored, golden.produce(run))
    assert not diff, f"{run.name} differs from tests/golden/ (rewrite with `make golden` only if the change " \
                     "of numbers is intended, and say so in the commit message):\n" + "\n".join(diff)


def test_the_comparison_sees_a_changed_number():
    """The comparison is exact: one digit changed anywhere in a table is a difference."""
    stored = golden.load(golden.RUNS[0])
    changed = dict(stored)
    lines = changed["casualties.csv"].splitlines(keepends=True)
    last = lines[-1]
    lines[-1] = last[:-2] + str((int(last[-2]) + 1) % 10) + last[-1]  # the last digit of the last row
    changed["casualties.csv"] = "".join(lines)
    assert golden.differences(stored, changed)
    assert not golden.differences(stored, dict(stored))
