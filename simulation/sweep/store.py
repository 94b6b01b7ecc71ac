"""The store of an ensemble: each run's key, and a directory of Parquet batches to resume from.

Each row carries a key (:func:`run_key`): a hash of the model's fingerprint, the scenario's content
(:func:`scenario_fingerprint`), the resolved parameter values, the seed, the number of days and what is kept of
the run. An ensemble first reads the keys already in the store and computes only the missing runs. A batch is
written to a temporary file and renamed, so a file is whole or absent; ``store.json`` names the model that
computed the runs, and a store of another model is not resumed.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from simulation.errors import SweepError
from simulation.scenario import Scenario


def _digest(obj: Any) -> str:
    text = json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def scenario_fingerprint(scenario: Scenario) -> str:
    """A hash of everything in a scenario that can change a run, except its parameter values.

    Sources and the directory's path are left out (editing a citation does not change a result); parameter
    values enter each run's key separately, as resolved values.
    """
    def rows(items: Iterable[Any]) -> list[dict[str, Any]]:
        out = []
        for item in items:
            d = dataclasses.asdict(item)
            d.pop("source", None)
            out.append(d)
        return out

    return _digest({
        "start": scenario.start_date.isoformat(), "end": scenario.end_date.isoformat(),
        "factions": rows(scenario.factions),
        "allied": sorted(sorted(p) for p in scenario.allied),
        "neutral": sorted(sorted(p) for p in scenario.neutral),
        "places": rows(scenario.places), "roads": rows(scenario.roads),
        "forces": rows(scenario.forces), "events": rows(scenario.events),
    })[:32]


def run_key(scenario_hash: str, parameters: Mapping[str, float], seed: int, days: int, model: str,
            measure: Mapping[str, Any]) -> str:
    """The store key of one run: a hash of the model's fingerprint, the scenario, the resolved parameter values,
    the seed, the days and what is kept of the run (``measure``: e.g. the key places and daily series of a sweep,
    the loss settings and observations of a calibration)."""
    return _digest({"model": model, "scenario": scenario_hash, "parameters": dict(parameters), "seed": int(seed),
                    "days": int(days), **measure})[:32]


# --------------------------------------------------------------------------------------------------------
# The store


def as_frame(records: Sequence[Mapping[str, Any]] | pd.DataFrame, dtypes: Mapping[str, str]) -> pd.DataFrame:
    """Records as a frame with the store's columns (``key``, ``seed``, ``parameters``, then ``dtypes``) and dtypes,
    the same whatever the records came from (a worker, a Parquet file). An ``object`` column holds lists of
    integers (daily series, a run's records), which Parquet gives back as arrays."""
    cols = {"key": "str", "seed": "int64", "parameters": "str", **dtypes}
    df = records if isinstance(records, pd.DataFrame) else pd.DataFrame.from_records(list(records))
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise SweepError(f"stored runs lack the columns {', '.join(missing[:3])}")
    df = df[list(cols)].copy()
    for c, dtype in cols.items():
        if dtype == "object":
            df[c] = [np.asarray(v, dtype=np.int64).tolist() for v in df[c]]
        else:
            df[c] = df[c].astype(dtype)
    return df.reset_index(drop=True)


def _alive(pid: int) -> bool:
    """Whether process ``pid`` is running on this machine."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's
        return True
    return True


class ForeignStore(SweepError):
    """A store holds runs of another version of the model (or of an unknown one): it is not resumed."""


class ResultStore:
    """A directory of Parquet files, one per finished batch, each row keyed by :func:`run_key`.

    Files are written to a temporary name and renamed, so a reader sees whole batches only; rows with the
    same key are the same run (the model is deterministic), and :meth:`load` returns each key once.

    ``store.json`` records the fingerprint of the model that computed the runs
    (:func:`simulation.fingerprint.model_fingerprint`) and the versions of the libraries behind it. Opened with
    ``model=`` (to write or resume), a store whose runs come from another fingerprint is refused
    (:class:`ForeignStore`): a resumed sweep or calibration never mixes results of two versions of the model.
    Opened without, it is only read.
    """

    META = "store.json"

    def __init__(self, path: str | Path, model: str | None = None):
        self.path = Path(path)
        self._keys: dict[Path, frozenset[str]] = {}
        if model is not None:
            self._claim(model)

    def _claim(self, model: str) -> None:
        """Check that the store's runs come from ``model``; record it in a new store."""
        meta = self.path / self.META
        if meta.is_file():
            try:
                recorded = json.loads(meta.read_text(encoding="utf-8")).get("model_fingerprint")
            except (OSError, ValueError, AttributeError):
                recorded = None
            if recorded != model:
                raise ForeignStore(f"{self.path}: its runs were computed by another version of the model "
                                   f"(fingerprint {recorded}, this one {model}); delete it or choose another store")
            return
        if self.files():
            raise ForeignStore(f"{self.path}: its runs do not record the model that computed them; delete it or "
                               "choose another store")
        from simulation.fingerprint import library_versions

        self.path.mkdir(parents=True, exist_ok=True)
        tmp = self.path / f".{self.META}.{os.getpid()}.partial"
        try:
            tmp.write_text(json.dumps({"model_fingerprint": model, "libraries": library_versions()}, indent=2)
                           + "\n", encoding="utf-8")
            os.replace(tmp, meta)
        finally:
            tmp.unlink(missing_ok=True)

    def files(self) -> list[Path]:
        return sorted(self.path.glob("batch-*.parquet")) if self.path.is_dir() else []

    def remove_orphans(self) -> list[Path]:
        """Delete the temporary files of batches whose writer died before renaming them (a sweep killed while
        writing); a live process's are kept. Returns the files deleted."""
        gone = []
        for f in self.path.glob(".batch-*.partial") if self.path.is_dir() else []:
            pid = f.name.rsplit(".", 2)[-2]
            if pid.isdigit() and not _alive(int(pid)):
                f.unlink(missing_ok=True)
                gone.append(f)
        return gone

    def _file_keys(self, f: Path) -> frozenset[str]:
        if f not in self._keys:
            import pyarrow.parquet as pq

            try:
                self._keys[f] = frozenset(pq.read_table(f, columns=["key"]).column("key").to_pylist())
            except Exception as e:  # a foreign or damaged file: name it
                raise SweepError(f"{f}: not a readable batch of this store ({e})") from None
        return self._keys[f]

    def done_keys(self) -> set[str]:
        """Keys of every run in the store."""
        out: set[str] = set()
        for f in self.files():
            out |= self._file_keys(f)
        return out

    def write(self, frame: pd.DataFrame) -> Path:
        """Write one batch atomically; return its path."""
        self.path.mkdir(parents=True, exist_ok=True)
        name = f"batch-{hashlib.sha256(''.join(sorted(frame['key'])).encode()).hexdigest()[:24]}.parquet"
        final = self.path / name
        tmp = self.path / f".{name}.{os.getpid()}.partial"
        try:
            frame.to_parquet(tmp, index=False)
            with open(tmp, "rb") as fh:
                os.fsync(fh.fileno())
            os.replace(tmp, final)
        finally:
            tmp.unlink(missing_ok=True)
        self._keys[final] = frozenset(frame["key"])
        return final

    def load(self, keys: Iterable[str] | None, dtypes: Mapping[str, str]) -> pd.DataFrame:
        """The stored rows of ``keys`` (each once; ``None``: every row), with the outcome columns ``dtypes``."""
        import pyarrow as pa
        import pyarrow.compute as pc
        import pyarrow.parquet as pq

        wanted = self.done_keys() if keys is None else set(keys)
        value_set = pa.array(sorted(wanted), type=pa.string())
        parts = []
        for f in self.files():
            if self._file_keys(f) & wanted:
                table = pq.read_table(f)
                parts.append(table.filter(pc.is_in(table.column("key"), value_set=value_set)))
        if not parts:
            return as_frame(pd.DataFrame(columns=["key", "seed", "parameters", *dtypes]), dtypes)
        # One conversion to pandas for all batches (much faster than one per file).
        df = pa.concat_tables(parts, promote_options="permissive").to_pandas()
        return as_frame(df.drop_duplicates("key"), dtypes)

