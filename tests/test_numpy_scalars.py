"""Scalar helpers of the compiled rules that stand in for NumPy's ufuncs give NumPy's own results, NaN, -0.0 and
infinities included (checked against live NumPy)."""

from __future__ import annotations

import numpy as np

from simulation.rules.morale import np_clip, np_maximum, np_minimum

SPECIAL = [np.nan, -np.inf, np.inf, -0.0, 0.0, 1.0, -1.0, 0.5, 1e-9]


def _same(a: np.ndarray, b: np.ndarray) -> None:
    a, b = np.asarray(a), np.asarray(b)
    assert a.dtype == b.dtype and a.shape == b.shape
    assert a.tobytes() == b.tobytes()  # bit for bit, not approximately


def test_scalar_helpers_are_numpys():
    for x in SPECIAL:
        for y in SPECIAL:
            _same(np.float64(np_maximum(x, y)), np.maximum(np.float64(x), np.float64(y)))
            _same(np.float64(np_minimum(x, y)), np.minimum(np.float64(x), np.float64(y)))
            for z in SPECIAL:
                if not y <= z:
                    continue
                _same(np.float64(np_clip(x, y, z)), np.clip(np.array([x]), y, z)[0])
