"""The draws of simulation.draws against the NumPy array calls they replace: the same numbers, and the generator
left in the same state, on random arguments with many zeros and NumPy's different algorithms (binomial inversion
and BTPE, p above and below 0.5 and p == 1; Poisson by multiplication and PTRS; hypergeometric by sampling and
HRUA). If a NumPy release starts to use random numbers for a trivially zero draw, these fail."""

import numpy as np
import pytest

from simulation.rules import draws

N_VALUES = np.array([0, 0, 0, 1, 2, 5, 13, 40, 100, 1000, 25_000, 3_000_000], dtype=np.int64)
P_VALUES = np.array([0.0, 0.0, 1.0, 0.5, 1e-9, 0.001, 0.03, 0.3, 0.49, 0.51, 0.7, 0.97, 0.999999])
LAM_VALUES = np.array([0.0, 0.0, 0.0, -0.0, 1e-6, 0.05, 0.5, 3.0, 9.99, 10.0, 10.5, 37.0, 2_000.0, 1e6])


def generators(seed):
    """Two generators in the same state, moved off the start (and a binomial cache set up) by some draws."""
    a, b = np.random.default_rng(seed), np.random.default_rng(seed)
    for g in (a, b):
        g.random(seed % 7)
        g.binomial(N_VALUES, 0.3)
    return a, b


def check(a, b, got, expected):
    assert got.dtype == expected.dtype == np.int64
    assert got.shape == expected.shape
    np.testing.assert_array_equal(got, expected)
    assert a.bit_generator.state == b.bit_generator.state


def sizes(r):
    """Array sizes around draws.LOOP_MAX (scalar calls below, an array call above), and 0 and 69."""
    return [0, 1, 2, draws.LOOP_MAX, draws.LOOP_MAX + 1, int(r.integers(1, 30)), 69]


@pytest.mark.parametrize("seed", range(40))
def test_binomial(seed):
    r = np.random.default_rng(1000 + seed)
    a, b = generators(seed)
    for size in sizes(r):
        zero_share = r.random()
        n = r.choice(N_VALUES, size) * (r.random(size) > zero_share)
        if r.random() < 0.5:
            n = np.sort(n)  # runs of the same n: NumPy's cached set-up is reused
        for p in (r.choice(P_VALUES), float(r.random()), 1.0, 0.0, 0.75, np.float64(0.2)):
            check(a, b, draws.binomial(a, n, p), b.binomial(n, p))
        p = r.choice(P_VALUES, size)
        p[r.random(size) < 0.3] = 0.0
        check(a, b, draws.binomial(a, n, p), b.binomial(n, p))
        p = r.random(size)
        check(a, b, draws.binomial(a, n, p), b.binomial(n, p))


@pytest.mark.parametrize("seed", range(40))
def test_poisson(seed):
    r = np.random.default_rng(2000 + seed)
    a, b = generators(seed)
    for size in sizes(r):
        lam = r.choice(LAM_VALUES, size) * (r.random(size) > r.random())
        check(a, b, draws.poisson(a, lam), b.poisson(lam))
        lam = r.exponential(r.choice([0.1, 2.0, 30.0]), size) * (r.random(size) > 0.8)
        check(a, b, draws.poisson(a, lam), b.poisson(lam))


@pytest.mark.parametrize("seed", range(40))
def test_hypergeometric(seed):
    r = np.random.default_rng(3000 + seed)
    a, b = generators(seed)
    for size in sizes(r):
        good = r.choice(N_VALUES, size)
        bad = r.choice(N_VALUES, size)
        total = good + bad
        sample = (r.random(size) * (total + 1)).astype(np.int64)  # 0 to total: sampling and HRUA
        sample[r.random(size) < 0.3] = 0
        full = r.random(size) < 0.1  # all of them: sampling the complement
        sample[full] = total[full]
        check(a, b, draws.hypergeometric(a, good, bad, sample), b.hypergeometric(good, bad, sample))


def test_bad_scalar_p():
    rng = np.random.default_rng(0)
    for p in (-0.1, 1.1, float("nan")):
        with pytest.raises(ValueError):
            draws.binomial(rng, np.zeros(3, dtype=np.int64), p)
