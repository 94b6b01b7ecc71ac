"""Every malformed input in ``tests/bad_inputs/`` is answered the way a user editing a spreadsheet needs.

Each case is a small TOML manifest: the edits to make to a copy of ``scenarios/toy`` (or of ``base``; with
``observations = true`` also a copy of ``calibration/observations``) -- find/replace, a whole file, bytes such
as a byte-order mark, another encoding, a deleted file --, the command line, and the error it must give. For
every case the CLI must exit with code 2 and print exactly one line on stderr that starts with the location
(file, row where there is one, field where there is one), with no traceback, and leave nothing behind: no
output directory, no ``.partial`` directory, no stray file. A case with ``known_bug`` is an expected failure
(strict: it fails the suite once fixed, so that the marker is removed).

``docs/errors.md`` lists every case with the message it gives; regenerate it with
``.venv/bin/python -m tests.test_bad_inputs`` after adding a case.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tomllib
import traceback
from dataclasses import dataclass
from pathlib import Path

import pytest

from simulation.cli import main
from tests.conftest import ROOT, TOY

CORPUS = Path(__file__).resolve().parent / "bad_inputs"
SECTIONS = {
    "csv": "CSV files: structure and encoding",
    "places": "places.csv",
    "roads": "roads.csv",
    "forces": "forces.csv",
    "events": "events.csv",
    "composition": "composition.csv",
    "toml": "scenario.toml",
    "fitted": "The fitted-parameters file",
    "cli": "The command line",
    "out": "The output directory",
    "calibrate": "conflict-sim calibrate",
    "validate": "conflict-sim validate",
    "sensitivity": "conflict-sim sensitivity",
    "sweep": "conflict-sim sweep",
    "viz": "conflict-sim viz",
    "replay": "conflict-sim replay",
}
# Grouped as docs/errors.md lists them: by the file or the part of the command line they concern.
CASES = sorted(CORPUS.glob("*.toml"), key=lambda c: (list(SECTIONS).index(c.stem.split("-")[0]), c.stem))
DEFAULT_ARGS = ["run", "{scenario}", "--out", "{out}", "--no-plots"]
DOC = ROOT / "docs" / "errors.md"


@dataclass
class Outcome:
    code: int
    stderr: str
    tmp: Path
    scenario: Path
    out: Path
    manifest: dict
    before: dict  # the files in tmp after set-up, before the command ran


def _fill(text: str, tmp: Path, scenario: Path, out: Path) -> str:
    return (text.replace("{tmp}", str(tmp)).replace("{scenario}", str(scenario)).replace("{out}", str(out))
            .replace("{observations}", str(tmp / "observations")))


def _apply_edit(tmp: Path, scenario: Path, edit: dict) -> None:
    path = (tmp / edit["root"] if "root" in edit else scenario) / edit["file"]
    if edit.get("delete"):
        path.unlink()
        return
    if "content" in edit:
        text = edit["content"]
    else:
        text = path.read_text(encoding="utf-8")
    if "find" in edit:
        assert edit["find"] in text, f"{edit['find']!r} is not in {path.name}: the corpus case is stale"
        text = text.replace(edit["find"], edit["replace"], 1)
    data = text.encode(edit.get("encoding", "utf-8"))
    path.write_bytes(bytes.fromhex(edit.get("prepend_hex", "")) + data)


def prepare(case: Path, tmp: Path) -> tuple[dict, Path, Path, list[str]]:
    """Make the case's scenario and surroundings in ``tmp``; return (manifest, scenario, out, argv)."""
    manifest = tomllib.loads(case.read_text(encoding="utf-8"))
    base = manifest.get("base", "toy")
    scenario = tmp / base
    shutil.copytree(TOY.parent / base, scenario)
    if manifest.get("observations"):
        shutil.copytree(ROOT / "calibration" / "observations", tmp / "observations")
    out = tmp / "out"
    for edit in manifest.get("edit", []):
        _apply_edit(tmp, scenario, edit)
    setup = manifest.get("setup", {})
    if setup.get("out") == "run-directory":
        out.mkdir()
        (out / "summary.json").write_text("{}\n", encoding="utf-8")
    elif setup.get("out") == "other-directory":
        out.mkdir()
        (out / "thesis.tex").write_text("months of work\n", encoding="utf-8")
    elif setup.get("out") == "file":
        out.write_text("not a directory\n", encoding="utf-8")
    if "file" in setup:
        (tmp / setup["file"]).write_text("a file\n", encoding="utf-8")
    if "run_summary" in setup:  # a run directory holding only this summary.json
        (tmp / "run").mkdir()
        (tmp / "run" / "summary.json").write_text(_fill(setup["run_summary"], tmp, scenario, out), encoding="utf-8")
    argv = [_fill(a, tmp, scenario, out) for a in manifest.get("args", DEFAULT_ARGS)]
    return manifest, scenario, out, argv


def _snapshot(tmp: Path) -> dict[str, bytes | None]:
    return {str(p.relative_to(tmp)): (p.read_bytes() if p.is_file() else None) for p in sorted(tmp.rglob("*"))}


def run_case(case: Path, tmp: Path) -> Outcome:
    """Run one case through the CLI in this process (working directory ``tmp``), capturing stderr."""
    import contextlib
    import io

    manifest, scenario, out, argv = prepare(case, tmp)
    before = _snapshot(tmp)
    err = io.StringIO()
    cwd = Path.cwd()
    sigterm = signal.getsignal(signal.SIGTERM)
    os.chdir(tmp)
    try:
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            try:
                code = main(argv)
            except SystemExit as e:  # argparse's --help/--version only; errors must not exit this way
                code = e.code
            except Exception:  # what the user would see: a traceback and exit status 1
                traceback.print_exc()
                code = 1
    finally:
        os.chdir(cwd)
        signal.signal(signal.SIGTERM, sigterm)
    return Outcome(code, err.getvalue(), tmp, scenario, out, manifest, before)


def expected_location(expect: dict) -> str:
    loc = expect.get("file", "")
    if "row" in expect:
        loc += f", row {expect['row']}"
    if "field" in expect:
        loc += f", field '{expect['field']}'"
    return loc + ": " if loc else ""


def check_outcome(o: Outcome) -> None:
    expect = o.manifest["expect"]
    assert o.code == 2, o.stderr
    assert "Traceback" not in o.stderr
    lines = o.stderr.splitlines()
    assert len(lines) == 1 and o.stderr.endswith("\n"), f"not one line: {o.stderr!r}"
    line = lines[0]
    assert line.startswith("error: " + expected_location(expect)), line
    assert _fill(expect["message"], o.tmp, o.scenario, o.out) in line, line
    # Nothing written: the temporary directory holds exactly what the case set up.
    after = _snapshot(o.tmp)
    assert after == o.before, f"files changed: {sorted(set(after) ^ set(o.before))}"


def test_the_corpus_covers_what_the_issue_lists():
    names = {c.stem for c in CASES}
    assert len(names) >= 30
    for needed in ("csv-missing-column", "csv-extra-column", "csv-empty-file", "places-not-a-number",
                   "places-nan", "places-negative", "places-duplicate-id", "roads-unknown-place",
                   "roads-disconnected", "forces-unknown-faction", "events-unknown-kind", "events-date-outside",
                   "toml-syntax", "toml-alliance-not-transitive", "toml-parameter-out-of-bounds", "cli-set-unknown",
                   "out-exists", "out-parent-is-a-file", "csv-latin-1", "csv-bom", "toml-bom", "cli-days-zero"):
        assert needed in names


def _marks(case: Path) -> list:
    bug = tomllib.loads(case.read_text(encoding="utf-8")).get("known_bug")
    return [pytest.mark.xfail(reason=bug, strict=True)] if bug else []


@pytest.mark.parametrize("case", [pytest.param(c, id=c.stem, marks=_marks(c)) for c in CASES])
def test_bad_input_gives_one_located_line_exit_2_and_no_output(case, tmp_path):
    outcome = run_case(case, tmp_path)
    assert outcome.manifest["description"] and outcome.manifest["expect"]["message"]
    check_outcome(outcome)


SUBPROCESS_CASES = ["csv-latin-1", "toml-alliance-not-transitive", "cli-set-unknown", "out-parent-is-a-file",
                    "cli-unknown-option"]


@pytest.mark.parametrize("name", SUBPROCESS_CASES)
def test_the_installed_command_gives_the_same_single_line(name, tmp_path):
    """Through a real process: exit status 2, one line, no traceback (nothing hidden by the in-process runs)."""
    case = CORPUS / f"{name}.toml"
    manifest, scenario, out, argv = prepare(case, tmp_path)
    before = _snapshot(tmp_path)
    proc = subprocess.run([sys.executable, "-m", "simulation.cli", *argv], capture_output=True, text=True,
                          cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=120)
    check_outcome(Outcome(proc.returncode, proc.stderr, tmp_path, scenario, out, manifest, before))
    assert proc.stdout == ""


def render_doc(outcomes: list[tuple[Path, Outcome]]) -> str:
    """docs/errors.md: every case with the message it gives (temporary paths shown as <tmp>)."""
    lines = [
        "# Errors for bad input",
        "",
        "Every case below is a file in `tests/bad_inputs/`, run by `tests/test_bad_inputs.py` through the",
        "command line. Each gives exit code 2, exactly this one line on stderr (the location first: file, row",
        "where there is one, field where there is one), no traceback, and no output directory. Rows are counted",
        "as a spreadsheet counts them: the header is row 1. `<tmp>` stands for wherever the case ran.",
        "",
        "Regenerate this file after adding a case: `.venv/bin/python -m tests.test_bad_inputs`.",
    ]
    section = None
    bugs = [(case, o) for case, o in outcomes if "known_bug" in o.manifest]
    for case, o in outcomes:
        if "known_bug" in o.manifest:
            continue
        prefix = case.stem.split("-")[0]
        if prefix != section:
            section = prefix
            lines += ["", f"## {SECTIONS[prefix]}", ""]
        message = o.stderr.strip().replace(str(o.tmp), "<tmp>")
        args = " ".join(a.replace(str(o.tmp), "<tmp>") for a in prepare_args(o))
        lines.append(f"- **{o.manifest['description']}** (`{case.stem}`; `conflict-sim {args}`)")
        lines.append(f"  ``{message}``")
    if bugs:
        lines += ["", "## Known gaps", "", "These cases still end in a traceback or leave output behind; their tests",
                  "are marked as expected failures until the command is fixed.", ""]
        for case, o in bugs:
            args = " ".join(a.replace(str(o.tmp), "<tmp>") for a in prepare_args(o))
            lines.append(f"- **{o.manifest['description']}** (`{case.stem}`; `conflict-sim {args}`): "
                         f"{o.manifest['known_bug']}")
    return "\n".join(lines) + "\n"


def prepare_args(o: Outcome) -> list[str]:
    return [_fill(a, o.tmp, o.scenario, o.out) for a in o.manifest.get("args", DEFAULT_ARGS)]


def _all_outcomes(base: Path) -> list[tuple[Path, Outcome]]:
    outcomes = []
    for case in CASES:
        tmp = base / case.stem
        tmp.mkdir(parents=True)
        outcomes.append((case, run_case(case, tmp)))
    return outcomes


def test_docs_list_every_case_with_the_message_it_gives(tmp_path):
    expected = render_doc(_all_outcomes(tmp_path))
    assert DOC.is_file(), "docs/errors.md is missing: run .venv/bin/python -m tests.test_bad_inputs"
    assert DOC.read_text(encoding="utf-8") == expected, (
        "docs/errors.md is out of date: run .venv/bin/python -m tests.test_bad_inputs")


if __name__ == "__main__":
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        DOC.write_text(render_doc(_all_outcomes(Path(d))), encoding="utf-8")
    print(f"wrote {DOC.relative_to(ROOT)} ({len(CASES)} cases)")
