"""Deferred modules (simulation/deferred.py): the real module, run on its first use, once.

Each test works on a throw-away package written under tmp_path, imported in a fresh interpreter (a subprocess),
so that no test leaves a half-imported module behind.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _package(tmp_path: Path, init: str = "") -> Path:
    pkg = tmp_path / "heavy"
    pkg.mkdir()
    (pkg / "__init__.py").write_text(textwrap.dedent(init) or textwrap.dedent("""
        import builtins
        builtins.heavy_runs = getattr(builtins, "heavy_runs", 0) + 1
        VALUE = 42
        from heavy.part import helper
    """))
    (pkg / "part.py").write_text("def helper():\n    return 'helped'\n")
    (pkg / "other.py").write_text("import heavy\nSEEN = heavy.VALUE\n")
    return tmp_path


def _python(path: Path, code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                          env={"PYTHONPATH": f"{ROOT}:{path}", "PATH": "/usr/bin:/bin"}, timeout=120)


def test_a_deferred_module_runs_on_its_first_use_only(tmp_path):
    path = _package(tmp_path)
    result = _python(path, """
        import builtins, inspect, sys
        from simulation.deferred import defer, is_deferred
        assert defer("heavy")
        import heavy
        assert heavy.__name__ == "heavy" and heavy.__file__.endswith("__init__.py") and heavy.__path__
        inspect.getmodule(inspect.currentframe())  # looks at every module's __file__, as Mesa's logger does
        assert getattr(builtins, "heavy_runs", 0) == 0 and is_deferred("heavy")
        assert heavy.VALUE == 42 and heavy.helper() == "helped"
        from heavy import VALUE
        assert builtins.heavy_runs == 1 and not is_deferred("heavy") and sys.modules["heavy"] is heavy
        assert not hasattr(heavy, "missing")
        print("ok")
    """)
    assert result.stdout.strip() == "ok", result.stderr


def test_importing_a_submodule_runs_the_deferred_package_first(tmp_path):
    path = _package(tmp_path)
    result = _python(path, """
        import builtins
        from simulation.deferred import defer
        defer("heavy")
        import heavy.other
        assert builtins.heavy_runs == 1 and heavy.other.SEEN == 42
        print("ok")
    """)
    assert result.stdout.strip() == "ok", result.stderr


def test_a_module_imported_already_or_missing_is_left_alone(tmp_path):
    path = _package(tmp_path)
    result = _python(path, """
        import sys, heavy
        from simulation.deferred import defer
        assert not defer("heavy") and sys.modules["heavy"].VALUE == 42
        assert not defer("no_such_module_here") and "no_such_module_here" not in sys.modules
        assert not defer("heavy.part")  # imported with its package
        print("ok")
    """)
    assert result.stdout.strip() == "ok", result.stderr


def test_a_submodule_deferred_before_its_package_runs_on_its_first_use_only(tmp_path):
    path = _package(tmp_path, """
        import heavy.part as part
        VALUE = 42
    """)
    (path / "heavy" / "part.py").write_text(textwrap.dedent("""
        import builtins
        builtins.part_runs = getattr(builtins, "part_runs", 0) + 1
        def helper():
            return 'helped'
    """))
    (path / "heavy" / "inner").mkdir()
    (path / "heavy" / "inner" / "__init__.py").write_text("import builtins\nbuiltins.inner_runs = 1\n")
    (path / "heavy" / "inner" / "leaf.py").write_text("LEAF = 'leaf'\n")
    result = _python(path, """
        import builtins, inspect, sys
        from simulation.deferred import defer, is_deferred
        assert defer("heavy.part") and defer("heavy.inner") and "heavy" not in sys.modules  # the package not run
        import heavy  # binds heavy.part itself (as Mesa binds mesa.experimental)
        inspect.getmodule(inspect.currentframe())
        assert heavy.VALUE == 42 and getattr(builtins, "part_runs", 0) == 0 and is_deferred("heavy.part")
        assert heavy.part.helper() == "helped" and builtins.part_runs == 1 and not is_deferred("heavy.part")
        assert sys.modules["heavy.part"] is heavy.part
        assert not hasattr(builtins, "inner_runs")
        from heavy.inner.leaf import LEAF  # a submodule of a deferred submodule runs that first
        assert LEAF == "leaf" and builtins.inner_runs == 1 and not is_deferred("heavy.inner")
        assert heavy.inner.leaf.LEAF == "leaf"
        assert not defer("heavy.part") and not defer("heavy.missing")
        path = heavy.__path__[0]
        open(path + "/late.py", "w").write("import builtins\\nbuiltins.late_runs = 1\\nLATE = 'late'\\n")
        assert defer("heavy.late") and is_deferred("heavy.late")  # its package imported already: bound in it
        assert heavy.late is sys.modules["heavy.late"] and not hasattr(builtins, "late_runs")
        assert heavy.late.LATE == "late" and builtins.late_runs == 1
        print("ok")
    """)
    assert result.stdout.strip() == "ok", result.stderr


def test_a_deferred_module_that_fails_fails_at_its_first_use_and_is_not_kept(tmp_path):
    path = _package(tmp_path, "raise ValueError('broken package')\n")
    result = _python(path, """
        import sys
        from simulation.deferred import defer
        defer("heavy")
        import heavy
        try:
            heavy.VALUE
        except ValueError as e:
            assert str(e) == "broken package" and "heavy" not in sys.modules
            print("ok")
    """)
    assert result.stdout.strip() == "ok", result.stderr


def test_a_single_run_uses_none_of_the_deferred_libraries_and_all_still_work(tmp_path):
    """The run's own code uses none; Mesa 3.5 (Python 3.12 and later) uses NetworkX and its experimental package
    (which imports SciPy's spatial index) as it is imported, Mesa 3.3 uses neither; neither uses pandas; SciPy
    binds NumPy's f2py and testing but does not use them."""
    result = _python(ROOT, f"""
        import sys
        import numpy
        from simulation.cli import SINGLE_RUN_UNUSED, main
        from simulation.deferred import defer, is_deferred
        assert SINGLE_RUN_UNUSED == ("pandas", "networkx", "mesa.experimental", "numpy.f2py", "numpy.testing")
        for name in SINGLE_RUN_UNUSED:
            defer(name)
        import mesa, scipy.sparse.csgraph
        used_by_mesa = {{m for m in SINGLE_RUN_UNUSED if not is_deferred(m)}}
        assert "pandas" not in used_by_mesa
        assert main(["run", "toy", "--days", "3", "--out", {str(tmp_path / 'run')!r}, "--quiet", "--no-plots"]) == 0
        used = {{m for m in SINGLE_RUN_UNUSED if not is_deferred(m)}}
        assert used == used_by_mesa, f"a single run used {{sorted(used - used_by_mesa)}}"
        assert "scipy.spatial" not in sys.modules or "mesa.experimental" in used_by_mesa  # only through Mesa 3.5
        import pandas as pd, networkx as nx
        assert pd.DataFrame({{"a": [1, 2]}})["a"].sum() == 3 and nx.path_graph(3).number_of_edges() == 2
        assert mesa.experimental.continuous_space.ContinuousSpace.__name__ == "ContinuousSpace"
        numpy.testing.assert_equal(numpy.arange(2), [0, 1])
        assert callable(numpy.f2py.run_main)
        assert not any(is_deferred(m) for m in SINGLE_RUN_UNUSED)
        print("ok")
    """)
    assert result.stdout.strip().endswith("ok"), result.stderr


def test_the_command_defers_pandas_before_it_imports_the_model():
    result = _python(ROOT, """
        import sys
        from simulation.cli import _import_model
        from simulation.deferred import is_deferred
        _import_model(single_run=True)
        assert "simulation.engine.model" in sys.modules and is_deferred("pandas") and is_deferred("numpy.testing")
        assert "scipy.spatial" not in sys.modules or not is_deferred("mesa.experimental")  # only through Mesa 3.5
        print("ok")
    """)
    assert result.stdout.strip() == "ok", result.stderr
