"""The interactive app (Solara and Mesa 3's visualization): ``conflict-sim viz``; see ``docs/app.md``.

Importing this package is cheap (the command line reads the defaults below); the page loads on use.
"""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_SCENARIO = ROOT / "scenarios" / "iraq_june_2014"
DEFAULT_OBSERVATIONS = ROOT / "calibration" / "observations"
