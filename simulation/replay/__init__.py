"""Replay mode: civilians respond to recorded events (ACLED's columns) instead of simulated fighting.

``conflict-sim replay SCENARIO --events FILE --out DIR`` or :func:`simulation.replay.model.replay`.
"""
