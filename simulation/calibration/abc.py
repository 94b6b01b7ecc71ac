"""Sequential Monte Carlo approximate Bayesian computation (SMC-ABC), in NumPy.

The algorithm is the *replenishment* SMC-ABC of Drovandi & Pettitt (2011): keep a population of particles
(parameter vectors, each with the distance of one simulation from the observations); at every step drop the
worst ``drop`` share, which sets the next tolerance to the largest distance kept; refill the population by
resampling the survivors and moving each copy with a few Metropolis–Hastings steps whose proposal is a
Gaussian random walk with twice the survivors' covariance (Beaumont et al. 2009), reflected at the prior's
bounds (a reflected random walk is still symmetric, so under the uniform prior a move is accepted exactly when
its simulation is within the tolerance; rejecting proposals that leave the box instead would reject most moves
in several dimensions). The number of steps adapts to the
acceptance rate so that each copy moves with probability ``1 - c``. It stops when the budget of simulations is
spent or the acceptance rate falls below ``min_acceptance`` (the tolerance has reached the model's noise).

Why this and not pyabc: the prior here is uniform over a box (the scenario's ``[fit]`` bounds), the distance is
the calibration loss of an ensemble of runs, and the budget is a few thousand particle evaluations on a shared
two-core machine.
Replenishment SMC-ABC spends an exact, predictable number of simulations per step (one batch per MCMC step,
evaluated in parallel by the caller's pool), needs no kernel density weights (uniform prior, symmetric
proposal: the particles are equally weighted), and restarts deterministically from its seed, so an
interrupted calibration resumes from the on-disk cache of simulations. pyabc would bring a database
(SQLAlchemy), its own samplers and scheduler and many dependencies for the same algorithm family, and its
samplers do not share our process pool or cache. The whole algorithm is ~80 lines below.

References
----------
C. C. Drovandi and A. N. Pettitt, "Estimation of parameters for macroparasite population evolution using
approximate Bayesian computation", Biometrics 67 (2011) 225–233.
M. A. Beaumont, J.-M. Cornuet, J.-M. Marin and C. P. Robert, "Adaptive approximate Bayesian computation",
Biometrika 96 (2009) 983–990.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

Simulate = Callable[[np.ndarray, np.ndarray], np.ndarray]


@dataclass
class AbcResult:
    """The ABC posterior sample and how it was reached.

    Attributes
    ----------
    particles : ``[n, d]`` parameter vectors, equally weighted.
    distances : distance of each particle's simulation.
    epsilon : the final tolerance (largest distance in the population).
    simulations : simulations run.
    history : one dict per step: tolerance, acceptance rate, MCMC steps, simulations so far.
    """

    particles: np.ndarray
    distances: np.ndarray
    epsilon: float
    simulations: int
    history: list[dict[str, float]] = field(default_factory=list)

    @property
    def unique(self) -> int:
        """Distinct particles (resampling duplicates particles; moves that are rejected keep the duplicates)."""
        return len(np.unique(self.particles, axis=0))

    def quantiles(self, q: tuple[float, ...] = (0.05, 0.5, 0.95)) -> np.ndarray:
        """``[len(q), d]`` quantiles of each parameter."""
        return np.quantile(self.particles, q, axis=0)


def reflect(x: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Fold ``x`` back into the box ``[lo, hi]`` by reflection at its faces (a symmetric map of the line)."""
    width = hi - lo
    z = np.mod((x - lo) / width, 2.0)
    return lo + np.where(z > 1.0, 2.0 - z, z) * width


def smc_abc(simulate: Simulate, bounds: np.ndarray, n_particles: int, budget: int,
            rng: np.random.Generator, drop: float = 0.5, c: float = 0.01, min_acceptance: float = 0.02,
            max_steps: int = 5, callback: Callable[[dict[str, float]], None] | None = None) -> AbcResult:
    """Sample the ABC posterior of a simulator under a uniform prior over ``bounds``.

    Parameters
    ----------
    simulate : ``simulate(x, seeds)`` returns the distance of one simulation for each row of ``x`` (``[k, d]``),
        run with the given seeds (``[k]``).
    bounds : ``[d, 2]`` lower and upper bound of each parameter (the uniform prior).
    n_particles : population size.
    budget : the most simulations to run (the initial population included).
    rng : drives every draw (proposals, resampling and simulation seeds): same ``rng`` state, same result.
    drop : share of the population replaced at each step (sets the next tolerance).
    c : each resampled particle should move with probability about ``1 - c``.
    min_acceptance : stop when the MCMC acceptance rate falls below this.
    max_steps : the most MCMC steps per particle and tolerance.
    callback : called with the step's summary after every step.

    Returns
    -------
    AbcResult

    Raises
    ------
    ValueError
        The budget does not cover the initial population, or fewer than 4 particles are asked for.
    """
    bounds = np.asarray(bounds, dtype=float)
    lo, hi = bounds[:, 0], bounds[:, 1]
    d = len(lo)
    if n_particles < 4:
        raise ValueError(f"n_particles={n_particles}: at least 4 are needed")
    if budget < n_particles:
        raise ValueError(f"budget={budget} does not cover the initial population of {n_particles}")

    def seeds(k: int) -> np.ndarray:
        return rng.integers(0, 2**31 - 1, size=k)

    x = lo + (hi - lo) * rng.random((n_particles, d))
    dist = np.asarray(simulate(x, seeds(n_particles)), dtype=float)
    sims = n_particles
    history: list[dict[str, float]] = []
    n_drop = max(1, int(np.floor(drop * n_particles)))
    steps = 2
    while True:
        order = np.argsort(dist, kind="stable")
        x, dist = x[order], dist[order]
        keep = n_particles - n_drop
        epsilon = float(dist[keep - 1])
        if sims + n_drop > budget:
            break
        # Resample the dropped share from the survivors, then move the copies.
        pick = rng.integers(0, keep, size=n_drop)
        x[keep:], dist[keep:] = x[pick], dist[pick]
        cov = 2.0 * np.atleast_2d(np.cov(x[:keep], rowvar=False)) + 1e-12 * np.diag((hi - lo) ** 2)
        chol = np.linalg.cholesky(cov)
        steps = int(min(max_steps, steps, (budget - sims) // n_drop))
        accepted = tried = 0
        for _ in range(steps):
            prop = reflect(x[keep:] + rng.standard_normal((n_drop, d)) @ chol.T, lo, hi)
            new = np.asarray(simulate(prop, seeds(n_drop)), dtype=float)
            sims += n_drop
            ok = new <= epsilon
            x[keep:][ok], dist[keep:][ok] = prop[ok], new[ok]
            accepted += int(ok.sum())
            tried += n_drop
        rate = accepted / max(tried, 1)
        step = {"epsilon": epsilon, "acceptance": rate, "mcmc_steps": steps, "simulations": sims}
        history.append(step)
        if callback:
            callback(step)
        if rate < min_acceptance:
            break
        steps = int(np.ceil(np.log(c) / np.log(1.0 - rate))) if rate < 1 else 1
    return AbcResult(particles=x, distances=dist, epsilon=float(dist.max()), simulations=sims, history=history)
