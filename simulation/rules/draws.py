"""Binomial, Poisson and hypergeometric draws over arrays that are mostly trivially zero, made cheaper.

A NumPy ``Generator`` method called on an array has a fixed cost of several microseconds (some 6 us for
``binomial``/``poisson``, over 20 us for ``hypergeometric``, which checks its arguments with array operations),
against well under a microsecond for a call on scalars. The model draws every day over the 69 places, most of
which have nothing to draw (no casualties, a mean of 0), and over a few units.

NumPy draws an array element by element, in order, with the same C routine as a scalar call, and that routine
returns 0 without using any random number for ``binomial`` with ``n == 0`` or ``p == 0``, ``poisson`` with
``lam == 0`` and ``hypergeometric`` with ``nsample == 0``. So drawing only the other elements, in the same order,
one scalar call each or one array call on just those, gives the same numbers and leaves the generator in the same
state. (The only other state, ``binomial``'s cache of set-up values, is a function of ``(n, p)`` and is touched
only by the draws made.) ``tests/test_draws.py`` checks this, values and ``bit_generator.state``, on random
arguments, including ``p == 1``, ``p > 0.5``, large ``n`` (NumPy's BTPE algorithm), ``lam >= 10`` (PTRS) and a
scalar ``p``, so it fails if a future NumPy changes it.

Each function takes 1-D arrays (int64 counts, float64 probabilities and means) and returns what the NumPy call
would: an int64 array of the same shape. One difference: NumPy rejects bad arguments anywhere in the array (say
a ``p`` outside [0, 1] or NaN where ``n == 0``); these check only the elements they draw (and a scalar ``p``).

The model uses them where they pay, measured on the draws of Iraq runs: over the places (civilian casualties,
mostly none), over the units' losses split into killed and wounded in air strikes, over routing units'
deserters, and for the hypergeometric split of civilian casualties. Where nearly every element is drawn (the
battle losses, the recruits), one array call is cheaper than scalar calls and stays.
"""

from __future__ import annotations

import numpy as np

LOOP_MAX = 8
"""Up to this many draws, one scalar call each (about 0.5 us a draw); more, one array call on them."""


def binomial(rng: np.random.Generator, n: np.ndarray, p: float | np.ndarray) -> np.ndarray:
    """``rng.binomial(n, p)``: the same numbers, and the generator left in the same state.

    ``n``: 1-D int64 array; ``p``: a float or a float array of ``n``'s shape.
    """
    out = np.zeros(n.size, dtype=np.int64)
    if np.ndim(p) == 0:
        p = float(p)
        if not 0.0 <= p <= 1.0:
            raise ValueError("p < 0, p > 1 or p is NaN")
        if p == 0.0:
            return out
        idx = n.nonzero()[0]
        if idx.size > LOOP_MAX:
            out[idx] = rng.binomial(n[idx], p)
        else:
            for i in idx.tolist():
                out[i] = rng.binomial(n.item(i), p)
        return out
    idx = ((n != 0) & (p != 0.0)).nonzero()[0]
    if idx.size > LOOP_MAX:
        out[idx] = rng.binomial(n[idx], p[idx])
    else:
        for i in idx.tolist():
            out[i] = rng.binomial(n.item(i), p.item(i))
    return out


def poisson(rng: np.random.Generator, lam: np.ndarray) -> np.ndarray:
    """``rng.poisson(lam)``: the same numbers, and the generator left in the same state.

    ``lam``: 1-D float64 array.
    """
    out = np.zeros(lam.size, dtype=np.int64)
    idx = lam.nonzero()[0]
    if idx.size > LOOP_MAX:
        out[idx] = rng.poisson(lam[idx])
    else:
        for i in idx.tolist():
            out[i] = rng.poisson(lam.item(i))
    return out


def hypergeometric(rng: np.random.Generator, ngood: np.ndarray, nbad: np.ndarray, nsample: np.ndarray) -> np.ndarray:
    """``rng.hypergeometric(ngood, nbad, nsample)``: the same numbers, and the generator left in the same state.

    ``ngood``, ``nbad``, ``nsample``: 1-D int64 arrays of the same shape. The array call costs over 20 us, so
    this draws one scalar call at a time whatever the number of draws.
    """
    out = np.zeros(nsample.size, dtype=np.int64)
    for i, (g, b, s) in enumerate(zip(ngood.tolist(), nbad.tolist(), nsample.tolist())):
        if s:
            out[i] = rng.hypergeometric(g, b, s)
    return out
