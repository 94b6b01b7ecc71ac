"""Roads kept road by road (compressed rows) rather than as dense place × place matrices.

A theatre has a few roads a place (1.36 on average in the Iraq scenario and the generated ones), so the world keeps
each directed road's km, speed and whether it is open in arrays of one entry a road, in row-major order (increasing
start, then end: the order of ``np.nonzero`` on a dense matrix), with ``ptr`` the first road out of each place. At
10,000 places the three dense matrices of float64 (km, speed, days) and the one of bools took 2.3 GiB; by road they
take 0.6 MiB.

:class:`RoadMatrix` reads such arrays as an (n, n) matrix, ``m[a, b]`` (0 or False where there is no road), for the
code that looks up a few roads at once; the compiled rules find a road among a place's few with
:func:`road_between`. Either way the values are those the dense matrices held.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numba import njit
from numpy.lib.mixins import NDArrayOperatorsMixin


class RoadMatrix(NDArrayOperatorsMixin):
    """A read-only (n, n) view of a value a road: ``m[a, b]`` is the value of the road ``a -> b``, ``fill`` where
    there is none.

    Indexing by two integers or two integer arrays (broadcast) looks the roads up (by bisection in the roads'
    ``a * n + b`` keys); ``toarray()``, ``np.asarray(m)`` and arithmetic (``m / 2``, ``m > 0``) give the dense
    (n, n) matrix, for checks on small theatres. The values are read from ``values`` as they are now (the world
    opens and closes roads in place).
    """

    def __init__(self, n: int, keys: np.ndarray, values: np.ndarray, fill: Any = 0):
        self.n = n
        self.keys = keys
        self.values = values
        self.fill = values.dtype.type(fill)
        self.shape = (n, n)
        self.dtype = values.dtype

    def __getitem__(self, key: tuple) -> Any:
        if not (isinstance(key, tuple) and len(key) == 2):
            raise IndexError("a RoadMatrix is indexed by [a, b]")
        a, b = np.asarray(key[0]), np.asarray(key[1])
        if a.dtype.kind not in "iu" or b.dtype.kind not in "iu":
            raise IndexError("a RoadMatrix is indexed by integers or integer arrays")
        if not self.keys.size:
            out = np.full(np.broadcast(a, b).shape, self.fill, dtype=self.dtype)
            return out[()] if out.ndim == 0 else out
        want = a.astype(np.int64) * self.n + b
        at = np.searchsorted(self.keys, want)
        at = np.minimum(at, self.keys.size - 1)
        found = self.keys[at] == want
        out = self.values[at]
        if not found.all():
            out = np.where(found, out, self.fill)
        return out[()] if out.ndim == 0 else out

    def toarray(self) -> np.ndarray:
        """The dense (n, n) matrix."""
        out = np.full((self.n, self.n), self.fill, dtype=self.dtype)
        out.reshape(-1)[self.keys] = self.values
        return out

    @property
    def T(self) -> np.ndarray:  # noqa: N802 (as NumPy names it)
        """The dense matrix, transposed."""
        return self.toarray().T

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        out = self.toarray()
        return out if dtype is None else out.astype(dtype)

    def __array_ufunc__(self, ufunc: np.ufunc, method: str, *inputs: Any, **kwargs: Any) -> Any:
        inputs = tuple(x.toarray() if isinstance(x, RoadMatrix) else x for x in inputs)
        return getattr(ufunc, method)(*inputs, **kwargs)


@njit(cache=True, inline="always")
def road_between(ptr: np.ndarray, to: np.ndarray, a: int, b: int) -> int:
    """The road from place ``a`` to place ``b`` (found among ``a``'s few roads, ``to[ptr[a]:ptr[a + 1]]``), or
    -1 if there is none."""
    for k in range(ptr[a], ptr[a + 1]):
        if to[k] == b:
            return k
    return -1


@njit(cache=True, inline="always")
def road_open(ptr: np.ndarray, to: np.ndarray, is_open: np.ndarray, a: int, b: int) -> bool:
    """Whether there is an open road from ``a`` to ``b``."""
    k = road_between(ptr, to, a, b)
    return k >= 0 and is_open[k]


@njit(cache=True, inline="always")
def road_value(ptr: np.ndarray, to: np.ndarray, values: np.ndarray, a: int, b: int) -> float:
    """The value (km, speed) of the road from ``a`` to ``b``, 0.0 if there is none (as a dense matrix held)."""
    k = road_between(ptr, to, a, b)
    return values[k] if k >= 0 else 0.0
