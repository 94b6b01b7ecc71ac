"""The compiled engagement arithmetic (simulation/combat.py) gives exactly the numbers of the NumPy code it
replaced, which is kept here as the reference (ConflictModel._engage, _harm_civilians, _air_strikes and
Civilians.kill at commit 7f5c904), on random inputs; the random draws between the compiled steps are the same
calls in both."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from simulation.civilians import harm
from simulation.civilians.displacement import Civilians
from simulation.rules import combat

SEEDS = range(16)
HOSTILE = [np.array([[0, 1, 0], [1, 0, 1], [0, 1, 0]], dtype=bool),  # the Iraq and toy scenarios' relations
           np.array([[0, 1, 1, 1], [1, 0, 1, 0], [1, 1, 0, 1], [1, 0, 1, 0]], dtype=bool)]


def _same(a: np.ndarray, b: np.ndarray) -> None:
    a, b = np.asarray(a), np.asarray(b)
    assert a.dtype == b.dtype and a.shape == b.shape
    assert a.tobytes() == b.tobytes()  # bit for bit, not approximately


def _units(rng: np.random.Generator, n_places: int, nf: int, units: int) -> SimpleNamespace:
    """A random unit table with spare capacity (rows beyond ``units`` hold garbage, as a grown table may)."""
    cap = units + 5
    u = SimpleNamespace(
        loc=rng.integers(0, n_places, cap).astype(np.int32), faction=rng.integers(0, nf, cap).astype(np.int32),
        personnel=np.where(rng.random(cap) < 0.1, 0, rng.integers(1, 3000, cap)).astype(np.int64),
        quality=rng.random(cap) + 0.2, morale=np.where(rng.random(cap) < 0.1, rng.random(cap) * 0.05, rng.random(cap)),
        routing=rng.random(cap) < 0.15)
    u.here = (rng.random(units) < 0.8) & (u.personnel[:units] > 0)
    return u


def _world(rng: np.random.Generator, n_places: int, hostile: np.ndarray) -> SimpleNamespace:
    nc = hostile.shape[0]
    nf = nc + 1
    coalition_of = np.r_[np.arange(nc), rng.integers(0, nc, 1)].astype(np.int64)
    return SimpleNamespace(n=n_places, nc=nc, nf=nf, hostile=hostile, coalition_of=coalition_of,
                           controller=rng.integers(0, nf, n_places).astype(np.int64),
                           fortification=1.0 + rng.random(n_places), battle=rng.random(n_places) < 0.4)


def _civilians(rng: np.random.Generator, n: int) -> SimpleNamespace:
    residents = np.where(rng.random(n) < 0.2, 0, rng.integers(0, 200_000, n)).astype(np.int64)
    cohort = np.where(rng.random((n, n)) < 0.6, 0, rng.integers(0, 5000, (n, n))).astype(np.int64)
    cohort[:, rng.random(n) < 0.3] = 0  # places sheltering nobody
    np.fill_diagonal(cohort, 0)
    cohort_days = np.where(cohort > 0, cohort * rng.random((n, n)) * 30, 0.0)
    return SimpleNamespace(residents=residents, cohort=cohort, cohort_days=cohort_days,
                           killed=np.zeros(n, dtype=np.int64), world=SimpleNamespace(n=n))


# ---------------------------------------------------------------------------------------------------------
# Battles


@pytest.mark.parametrize("seed", SEEDS)
def test_battle_matches_numpy(seed):
    rng = np.random.default_rng(seed)
    hostile = HOSTILE[seed % 2]
    w = _world(rng, 12, hostile)
    units = int(rng.integers(1, 40))
    u = _units(rng, w.n, w.nf, units)
    ref_u = SimpleNamespace(**{k: v.copy() for k, v in vars(u).items()})
    da, alpha, ks, per_cas, outn = 1.5, [0.8, 1.0, 0.0, 1.3][seed % 4], 0.3, 0.8, 0.15
    rate = 0.02 if seed % 3 else 5.0  # at 5.0 the expected casualties often exceed the personnel: capped
    places = np.flatnonzero(w.battle)
    intensity = rng.gamma(4.0, 0.25, places.size)
    ledger = {k: rng.integers(0, 100, w.nf) for k in ("killed", "wounded")}
    today = {k: rng.integers(0, 100, (w.n, w.nf + 1)) for k in ("killed", "wounded")}
    ref_ledger = {k: v.copy() for k, v in ledger.items()}
    ref_today = {k: v.copy() for k, v in today.items()}

    # The compiled steps, with the model's NumPy steps between them.
    nc = w.nc
    rows = np.empty(units, dtype=np.int64)
    N, E, share = np.zeros((w.n, nc)), np.zeros((w.n, nc)), np.zeros((w.n, nc))
    k = combat.battle_strengths(u.here, w.battle, u.loc, u.faction, u.personnel, u.quality, u.morale, u.routing,
                                w.coalition_of, w.controller, w.fortification, da, hostile, rows, N, E, share)
    rows = rows[:k]
    fire = N * (share @ hostile.astype(float))
    before, prob = np.empty(k, dtype=np.int64), np.empty(k)
    with np.errstate(divide="ignore", invalid="ignore"):
        combat.battle_hit_probability(rows, k, u.loc, u.faction, w.coalition_of, u.personnel, places, intensity,
                                      rate, fire, N, np.power(fire, alpha), np.power(N, 1.0 - alpha), before, prob)
    draws = np.random.default_rng(seed + 1000)
    cas = draws.binomial(before, prob)
    killed = draws.binomial(cas, ks)
    lost, ratio, total_cas = np.empty(k), np.empty(k), np.zeros(w.n)
    combat.battle_losses(rows, k, u.loc, u.faction, w.coalition_of, u.personnel, before, cas, killed, fire, E,
                         ledger["killed"], ledger["wounded"], today["killed"], today["wounded"], lost, ratio,
                         total_cas)
    combat.battle_morale(rows, k, u.morale, lost, np.log(ratio), per_cas, outn)

    # The NumPy code of ConflictModel._engage and simulation.combat.
    n = units
    r = ref_u
    ref_rows = np.flatnonzero(r.here[:n] & w.battle[r.loc[:n]])
    _same(rows, ref_rows)
    if ref_rows.size == 0:  # no battle (the model does not engage then; bincount would give integers)
        return
    coal = w.coalition_of[r.faction[ref_rows]]
    loc = r.loc[ref_rows]
    holds = w.coalition_of[w.controller[loc]] == coal
    mult = np.where(holds, da * w.fortification[loc], 1.0)
    eff = r.personnel[ref_rows] * r.quality[ref_rows] * r.morale[ref_rows] * mult
    eff = np.where(r.routing[ref_rows], 0.0, eff)
    key = loc * nc + coal
    ref_N = np.bincount(key, r.personnel[ref_rows], w.n * nc).reshape(w.n, nc)
    ref_E = np.bincount(key, eff, w.n * nc).reshape(w.n, nc)
    h = hostile.astype(float)
    targets = ref_N @ h
    ref_share = np.divide(ref_E, targets, out=np.zeros_like(ref_E), where=targets > 0)
    ref_fire = ref_N * (ref_share @ h)
    level = np.ones(w.n)
    level[places] = intensity
    with np.errstate(divide="ignore", invalid="ignore"):
        lam = rate * level[:, None] * np.power(ref_fire, alpha) * np.power(ref_N, 1.0 - alpha)
    lam = np.where((ref_fire > 0) & (ref_N > 0), lam, 0.0)
    lam = np.minimum(lam, ref_N)
    ref_prob = np.divide(lam, ref_N, out=np.zeros_like(lam), where=ref_N > 0).clip(0, 1)
    ref_before = r.personnel[ref_rows].copy()
    _same(N, ref_N)
    _same(E, ref_E)
    _same(share, ref_share)
    _same(fire, ref_fire)
    _same(before, ref_before)
    _same(prob, ref_prob[loc, coal])
    r.personnel[ref_rows] -= cas
    fac = r.faction[ref_rows]
    wounded = cas - killed
    np.add.at(ref_ledger["killed"], fac, killed)
    np.add.at(ref_ledger["wounded"], fac, wounded)
    np.add.at(ref_today["killed"], (loc, fac), killed)
    np.add.at(ref_today["wounded"], (loc, fac), wounded)
    ref_lost = np.divide(cas, ref_before, out=np.zeros(ref_rows.size), where=ref_before > 0)
    ratio_ = np.divide(ref_fire[loc, coal], ref_E[loc, coal], out=np.full(ref_rows.size, 10.0),
                       where=ref_E[loc, coal] > 0)
    drop = per_cas * ref_lost + outn * np.log(np.maximum(ratio_, 1.0))
    r.morale[ref_rows] = np.clip(r.morale[ref_rows] - drop, 0.0, 1.0)
    _same(lost, ref_lost)
    _same(ratio, np.maximum(ratio_, 1.0))
    _same(total_cas, np.bincount(loc, cas, w.n))
    for name in ("personnel", "morale"):
        _same(getattr(u, name), getattr(r, name))
    for key_ in ("killed", "wounded"):
        _same(ledger[key_], ref_ledger[key_])
        _same(today[key_], ref_today[key_])


def test_battle_morale_clips_like_numpy():
    morale = np.array([0.5, 0.2, 0.9, -0.0, 0.0, 1.0, np.nan, 0.3])
    lost = np.array([0.1, 0.9, -2.0, 0.0, 0.0, -0.5, 0.0, np.nan])
    log_ratio = np.array([0.0, 1.0, 0.0, 0.0, -0.0, 0.0, 0.0, 0.0])
    rows = np.arange(morale.size)
    ref = np.clip(morale - (0.8 * lost + 0.15 * log_ratio), 0.0, 1.0)
    combat.battle_morale(rows, rows.size, morale, lost, log_ratio, 0.8, 0.15)
    _same(morale, ref)


# ---------------------------------------------------------------------------------------------------------
# Civilians caught in the fighting


@pytest.mark.parametrize("seed", SEEDS)
def test_civilian_harm_matches_numpy(seed):
    rng = np.random.default_rng(200 + seed)
    n = 15
    civ = _civilians(rng, n)
    present = civ.residents + civ.cohort.sum(axis=0)
    residents = present.astype(float)
    total_cas = np.where(rng.random(n) < 0.5, 0.0, rng.integers(0, 500, n).astype(float))
    flown = np.where(rng.random(n) < 0.5, 0, rng.integers(0, 30, n))

    expected = np.empty(n)
    anything = harm.exposed_harm(total_cas, 0.05, civ.residents, civ.cohort, expected)
    ref = 0.05 * total_cas * (residents / (residents + 20_000.0))
    _same(expected, ref)
    assert anything == bool(ref.any())
    harm.collateral_harm(flown, 0.7, civ.residents, civ.cohort, expected)
    _same(expected, 0.7 * flown * residents / (residents + 20_000.0))

    drawn = np.where(rng.random(n) < 0.4, 0, rng.integers(0, 300_000, n))
    cas = np.empty(n, dtype=np.int64)
    anything = harm.at_most_present(drawn, civ.residents, civ.cohort, cas)
    _same(cas, np.minimum(drawn, present))
    assert anything == bool(cas.any())

    killed = rng.binomial(cas, 0.3)
    today_killed, today_wounded = rng.integers(0, 9, (n, 4)), rng.integers(0, 9, (n, 4))
    ref_k, ref_w = today_killed.copy(), today_wounded.copy()
    harm.civilian_toll(cas, killed, today_killed, today_wounded)
    ref_k[:, -1] += killed
    ref_w[:, -1] += cas - killed
    _same(today_killed, ref_k)
    _same(today_wounded, ref_w)


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


# ---------------------------------------------------------------------------------------------------------
# Air strikes


@pytest.mark.parametrize("seed", SEEDS)
def test_air_strikes_match_numpy(seed):
    rng = np.random.default_rng(400 + seed)
    hostile_c = HOSTILE[seed % 2]
    w = _world(rng, 12, hostile_c)
    units = int(rng.integers(0, 40))
    u = _units(rng, w.n, w.nf, units)
    ref_personnel = u.personnel.copy()
    present_c = np.where(rng.random((w.n, w.nc)) < 0.5, 0.0, rng.integers(0, 3000, (w.n, w.nc)).astype(float))
    if seed % 5 == 0:
        present_c[:] = 0.0  # no enemy anywhere
    c = int(rng.integers(0, w.nc))
    hostile = hostile_c[c]
    skr, ks, sorties = 0.9, 0.3, int(rng.integers(1, 40))
    ledger = {k: rng.integers(0, 100, w.nf) for k in ("killed", "wounded")}
    today = {k: rng.integers(0, 100, (w.n, w.nf + 1)) for k in ("killed", "wounded")}
    ref_ledger = {k: v.copy() for k, v in ledger.items()}
    ref_today = {k: v.copy() for k, v in today.items()}
    today_sorties = rng.integers(0, 5, w.n)
    ref_sorties = today_sorties.copy()

    targets, pvals = np.empty(w.n), np.empty(w.n)
    total = combat.sortie_weights(present_c, hostile, targets, pvals)
    # The NumPy code of ConflictModel._air_strikes and simulation.combat.allocate_sorties.
    ref_targets = present_c @ hostile
    _same(targets, ref_targets)
    assert total == ref_targets.sum()
    if total <= 0:
        return
    _same(pvals, ref_targets / ref_targets.sum())
    flown = np.random.default_rng(seed).multinomial(sorties, pvals)
    n = units
    rows, before, prob = np.empty(n, dtype=np.int64), np.empty(n, dtype=np.int64), np.empty(n)
    k = combat.sortie_hit_probability(flown, u.here, u.loc, u.faction, w.coalition_of, hostile, u.personnel,
                                      targets, skr, today_sorties, rows, before, prob)
    ref_sorties += flown
    ref_rows = np.flatnonzero(u.here & (flown[u.loc[:n]] > 0) & hostile[w.coalition_of[u.faction[:n]]])
    loc, fac = u.loc[ref_rows], u.faction[ref_rows]
    expected = skr * flown
    ref_prob = np.divide(expected, ref_targets, out=np.zeros_like(expected, dtype=float),
                         where=ref_targets > 0).clip(0, 1)[loc]
    _same(today_sorties, ref_sorties)
    _same(rows[:k], ref_rows)
    _same(before[:k], ref_personnel[ref_rows])
    _same(prob[:k], ref_prob)

    draws = np.random.default_rng(seed + 1000)
    lost = draws.binomial(before[:k], prob[:k])
    killed = draws.binomial(lost, ks)
    hit = np.zeros(w.n, dtype=np.int64)
    combat.book_losses(rows, k, u.loc, u.faction, u.personnel, lost, killed, ledger["killed"], ledger["wounded"],
                       today["killed"], today["wounded"], hit)
    ref_personnel[ref_rows] -= lost
    wounded = lost - killed
    np.add.at(ref_ledger["killed"], fac, killed)
    np.add.at(ref_ledger["wounded"], fac, wounded)
    np.add.at(ref_today["killed"], (loc, fac), killed)
    np.add.at(ref_today["wounded"], (loc, fac), wounded)
    _same(u.personnel, ref_personnel)
    _same(hit, np.bincount(loc, lost, w.n).astype(np.int64))
    for key_ in ("killed", "wounded"):
        _same(ledger[key_], ref_ledger[key_])
        _same(today[key_], ref_today[key_])
