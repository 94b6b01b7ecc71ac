"""The compiled arithmetic of simulation/combat.py gives exactly the numbers of the NumPy code it
replaced, which is kept here as the reference (Civilians.kill at commit 7f5c904), on random inputs; the random
draws between the compiled steps are the same calls in both."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from simulation.displacement import Civilians

SEEDS = range(16)
def _same(a: np.ndarray, b: np.ndarray) -> None:
    a, b = np.asarray(a), np.asarray(b)
    assert a.dtype == b.dtype and a.shape == b.shape
    assert a.tobytes() == b.tobytes()  # bit for bit, not approximately


def _civilians(rng: np.random.Generator, n: int) -> SimpleNamespace:
    residents = np.where(rng.random(n) < 0.2, 0, rng.integers(0, 200_000, n)).astype(np.int64)
    cohort = np.where(rng.random((n, n)) < 0.6, 0, rng.integers(0, 5000, (n, n))).astype(np.int64)
    cohort[:, rng.random(n) < 0.3] = 0  # places sheltering nobody
    np.fill_diagonal(cohort, 0)
    cohort_days = np.where(cohort > 0, cohort * rng.random((n, n)) * 30, 0.0)
    return SimpleNamespace(residents=residents, cohort=cohort, cohort_days=cohort_days,
                           killed=np.zeros(n, dtype=np.int64), world=SimpleNamespace(n=n))


def _reference_kill(self: SimpleNamespace, counts: np.ndarray) -> np.ndarray:
    """Civilians.kill at commit 7f5c904."""
    counts = np.asarray(counts).astype(np.int64)
    if not counts.any():
        return counts
    idps = self.cohort.sum(axis=0)
    counts = np.minimum(counts, self.residents + idps)
    from_residents = counts.copy()
    mixed = (counts > 0) & (idps > 0)
    if mixed.any():
        from_residents[mixed] = self.rng.hypergeometric(self.residents[mixed], idps[mixed], counts[mixed])
    self.residents -= from_residents
    for c in np.flatnonzero(counts > from_residents).tolist():
        k = int(counts[c] - from_residents[c])
        take = self.rng.multivariate_hypergeometric(self.cohort[:, c], k, method="marginals")
        mean = np.divide(self.cohort_days[:, c], self.cohort[:, c], out=np.zeros(self.world.n),
                         where=self.cohort[:, c] > 0)
        self.cohort[:, c] -= take
        self.cohort_days[:, c] = np.where(self.cohort[:, c] > 0, self.cohort_days[:, c] - take * mean, 0.0)
    self.killed += counts
    return counts


@pytest.mark.parametrize("seed", SEEDS)
def test_kill_matches_numpy(seed):
    rng = np.random.default_rng(300 + seed)
    n = 15
    new = _civilians(rng, n)
    ref = SimpleNamespace(**{k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in vars(new).items()})
    new.rng, ref.rng = np.random.default_rng(seed), np.random.default_rng(seed)
    for day in range(6):
        counts = np.where(rng.random(n) < 0.5, 0, rng.integers(0, 60_000, n))
        if day == 2:
            counts[:] = 0  # nobody harmed
        if day == 3:
            counts = counts.astype(np.int32)  # another integer type
        given = counts.copy()
        _same(Civilians.kill(new, counts), _reference_kill(ref, counts))
        _same(counts, given)  # the caller's array is left alone
        for name in ("residents", "cohort", "cohort_days", "killed"):
            _same(getattr(new, name), getattr(ref, name))
    assert new.rng.random() == ref.rng.random()  # the same random numbers were used
