"""Leaving a command's process without the interpreter's teardown (simulation/exiting.py): what the user would
miss of it still happens."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _run(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, cwd=ROOT,
                          timeout=60)


def test_exit_code_output_and_atexit_functions_survive(tmp_path):
    mark = tmp_path / "atexit-ran"
    result = _run(f"""
        import atexit, sys
        from pathlib import Path
        from simulation.exiting import exit_now
        atexit.register(lambda: Path({str(mark)!r}).write_text("yes"))
        sys.stdout.write("unflushed output")
        sys.stderr.write("unflushed error")
        exit_now(3)
    """)
    assert result.returncode == 3
    assert result.stdout == "unflushed output" and result.stderr == "unflushed error"
    assert mark.read_text() == "yes"


def test_a_running_thread_is_waited_for(tmp_path):
    mark = tmp_path / "thread-done"
    result = _run(f"""
        import threading, time
        from pathlib import Path
        from simulation.exiting import exit_now
        def work():
            time.sleep(0.3)
            Path({str(mark)!r}).write_text("done")
        threading.Thread(target=work).start()
        exit_now(0)
    """)
    assert result.returncode == 0, result.stderr
    assert mark.read_text() == "done"


def test_the_command_line_exits_with_its_code_and_prints_its_output(tmp_path):
    out = tmp_path / "run"
    ok = subprocess.run([sys.executable, "-m", "simulation", "run", "toy", "--days", "3", "--out", str(out),
                         "--quiet", "--no-plots"], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert ok.returncode == 0 and ok.stdout.strip() == str(out) and (out / "summary.json").is_file()
    bad = subprocess.run([sys.executable, "-m", "simulation", "run", "toy", "--days", "0"], capture_output=True,
                         text=True, cwd=ROOT, timeout=300)
    assert bad.returncode == 2 and bad.stderr.startswith("error: ") and bad.stderr.count("\n") == 1
