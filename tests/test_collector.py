"""The collector held off during a command's imports (simulation/collector.py), in a fresh interpreter each: a
frozen collector must not leak into the test process."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _python(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                          env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"}, timeout=120)


def test_no_collection_during_the_imports_then_they_are_frozen_and_the_collector_runs_again():
    result = _python("""
        import gc
        from simulation.collector import collector_held
        runs = []
        gc.callbacks.append(lambda phase, info: phase == "start" and runs.append(info["generation"]))
        with collector_held():
            assert not gc.isenabled()
            junk = [[i] for i in range(50_000)]  # far more new objects than a collection waits for
            import json, decimal  # noqa: F401
        assert runs == [] and gc.isenabled() and gc.get_freeze_count() > 50_000
        cycle = []
        cycle.append(cycle)
        del cycle
        assert gc.collect() >= 1  # what is made afterwards is collected as before
        print("ok")
    """)
    assert result.stdout.strip() == "ok", result.stderr


def test_a_collector_disabled_before_stays_disabled_and_an_error_enables_it_again():
    result = _python("""
        import gc
        from simulation.collector import collector_held
        gc.disable()
        with collector_held():
            pass
        assert not gc.isenabled()
        gc.enable()
        try:
            with collector_held():
                raise ImportError("a library that fails to import")
        except ImportError:
            assert gc.isenabled()
            print("ok")
    """)
    assert result.stdout.strip() == "ok", result.stderr
