"""The four notebooks execute top to bottom without error, at the small size CI uses, and draw their plots.

Each runs in a fresh Jupyter kernel (nbclient) with ``CONFLICT_SIM_NB_SCALE=small`` and its sweep stores in a
temporary directory, exactly as a user runs them (``jupyter nbconvert --execute`` or a notebook server).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import ROOT

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def test_the_four_notebooks_are_there():
    assert [p.name for p in NOTEBOOKS] == ["01_quickstart.ipynb", "02_parameter_sweep.ipynb",
                                          "03_sensitivity.ipynb", "04_counterfactuals.ipynb"]


def _images(nb) -> int:
    return sum("image/png" in out.get("data", {}) for cell in nb.cells if cell.cell_type == "code"
               for out in cell.get("outputs", []))


@pytest.mark.timeout(900)
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_executes_small(path: Path, tmp_path, monkeypatch):
    monkeypatch.setenv("CONFLICT_SIM_NB_SCALE", "small")
    monkeypatch.setenv("CONFLICT_SIM_NB_OUT", str(tmp_path / "store"))
    monkeypatch.delenv("CONFLICT_SIM_DASK_SCHEDULER", raising=False)
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    nb = nbformat.read(path, as_version=4)
    assert all(not cell.get("outputs") for cell in nb.cells if cell.cell_type == "code"), \
        f"{path.name} is committed with outputs; clear them"
    nbclient.NotebookClient(nb, timeout=600, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}}).execute()
    assert _images(nb) >= 1, f"{path.name} drew no plot"
    errors = [out for cell in nb.cells if cell.cell_type == "code" for out in cell.get("outputs", [])
              if out.get("output_type") == "error"]
    assert not errors
    assert any((tmp_path / "store").rglob("batch-*.parquet")), "the notebook's sweep wrote no store"
