"""Golden runs: the toy and Iraq scenarios, seeds 1-3, run as ``conflict-sim run`` runs them, against the tables
and summaries stored in ``tests/golden/``.

    .venv/bin/python scripts/golden.py            # compare; exit 1 and name the first differences if any
    .venv/bin/python scripts/golden.py --write    # rewrite the stored runs (``make golden``): on purpose only

A stored run is the run directory's CSV tables and its ``summary.json``, each gzipped (``<file>.gz``) to keep
the repository small. From the summary, ``run_time_s`` (the wall clock), ``version`` (the package's version,
which a release bumps without changing a number) and the ``versions`` block (Python's, the libraries' and the
model's fingerprint, which differ between CI's Python 3.11, 3.12 and 3.13 legs and change with every edit of the
code) are dropped, and ``scenario_path`` and ``fitted_file`` are made relative to the repository, so that a clone
anywhere gives the same bytes. Everything else must be equal byte for byte: the same numbers on every Python.

Runs go through ``simulation.cli.main`` in this process (``--no-plots``; the report is drawn from the same
tables), so they use the scenario's shipped fitted parameters exactly as ``conflict-sim run`` does. A commit
that rewrites these files changes the model's numbers and must say so in its message.
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import io
import json
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = ROOT / "tests" / "golden"
SEEDS = (1, 2, 3)
SCENARIOS = ("toy", "iraq_june_2014")
DROPPED = ("run_time_s", "version", "versions")  # summary keys that are not the model's numbers


@dataclass(frozen=True)
class GoldenRun:
    scenario: str
    seed: int

    @property
    def name(self) -> str:
        return f"{self.scenario}-seed{self.seed}"

    @property
    def stored(self) -> Path:
        return GOLDEN / self.name


RUNS = tuple(GoldenRun(s, seed) for s in SCENARIOS for seed in SEEDS)


def produce(run: GoldenRun) -> dict[str, str]:
    """Run ``conflict-sim run scenarios/<scenario> --seed <seed> --no-plots`` in this process; return the run
    directory's files as text (``summary.json`` normalised, see the module's docstring), by file name."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from simulation.cli import main

    with tempfile.TemporaryDirectory(prefix="golden-") as tmp:
        out = Path(tmp) / run.name
        argv = ["run", str(ROOT / "scenarios" / run.scenario), "--seed", str(run.seed), "--out", str(out),
                "--no-plots", "--quiet"]
        with contextlib.redirect_stdout(io.StringIO()):
            code = main(argv)
        if code != 0:
            raise RuntimeError(f"conflict-sim {' '.join(argv)} exited with {code}")
        files = {p.name: p.read_text(encoding="utf-8") for p in sorted(out.iterdir()) if p.suffix == ".csv"}
        summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    for key in DROPPED:
        summary.pop(key, None)
    for key in ("scenario_path", "fitted_file"):
        if summary.get(key):
            summary[key] = Path(summary[key]).resolve().relative_to(ROOT).as_posix()
    files["summary.json"] = json.dumps(summary, indent=2) + "\n"
    return files


def load(run: GoldenRun) -> dict[str, str]:
    """The stored files of ``run`` as text, by file name (without ``.gz``); empty if none are stored."""
    if not run.stored.is_dir():
        return {}
    return {p.name.removesuffix(".gz"): gzip.decompress(p.read_bytes()).decode("utf-8")
            for p in sorted(run.stored.glob("*.gz"))}


def differences(expected: dict[str, str], got: dict[str, str], limit: int = 5) -> list[str]:
    """Up to ``limit`` lines saying where ``got`` differs from ``expected`` (file, line, both texts)."""
    out = []
    for name in sorted(set(expected) | set(got)):
        if name not in got:
            out.append(f"{name}: stored but not produced")
        elif name not in expected:
            out.append(f"{name}: produced but not stored")
        elif expected[name] != got[name]:
            a, b = expected[name].splitlines(), got[name].splitlines()
            line = next((i for i, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))
            out.append(f"{name} line {line + 1}: stored {a[line] if line < len(a) else '<end>'!r}, "
                       f"now {b[line] if line < len(b) else '<end>'!r}"
                       + (f" ({len(a)} lines stored, {len(b)} now)" if len(a) != len(b) else ""))
        if len(out) >= limit:
            break
    return out


def write(run: GoldenRun, files: dict[str, str]) -> list[str]:
    """Store ``files`` for ``run``: only the files whose text changed are rewritten (gzip's bytes may differ
    between zlib versions; the text is what counts), stale ones are removed. Returns the names written."""
    run.stored.mkdir(parents=True, exist_ok=True)
    old = load(run)
    written = []
    for name, text in files.items():
        if old.get(name) != text:
            (run.stored / f"{name}.gz").write_bytes(gzip.compress(text.encode("utf-8"), compresslevel=9, mtime=0))
            written.append(name)
    for name in set(old) - set(files):
        (run.stored / f"{name}.gz").unlink()
        written.append(f"{name} (removed)")
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--write", action="store_true", help="rewrite tests/golden/ from new runs")
    args = parser.parse_args(argv)
    failed = 0
    for run in RUNS:
        got = produce(run)
        if args.write:
            written = write(run, got)
            print(f"{run.name}: " + (", ".join(written) if written else "unchanged"))
            continue
        diff = differences(load(run), got)
        print(f"{run.name}: " + ("same" if not diff else "DIFFERS\n  " + "\n  ".join(diff)))
        failed += bool(diff)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
