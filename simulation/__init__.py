"""conflict-sim: an agent-based simulator of armed conflict and displacement on a road network."""

__version__ = "0.1.0"
