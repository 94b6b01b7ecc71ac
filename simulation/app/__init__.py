"""The interactive app (Solara and Mesa 3's visualization): ``conflict-sim viz``; see ``docs/app.md``.

Importing this package is cheap (the command line reads the defaults below); the page loads on use. The app needs
the ``[app]`` extra (``pip install 'conflict-sim[app]'``).
"""

from simulation.shipped import observations_dir, scenarios_dir

DEFAULT_SCENARIO = scenarios_dir() / "iraq_june_2014"
DEFAULT_OBSERVATIONS = observations_dir()
