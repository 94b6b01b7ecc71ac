"""``python -m simulation``: the same command line as ``conflict-sim``."""

from simulation.cli import entry

if __name__ == "__main__":
    entry()
