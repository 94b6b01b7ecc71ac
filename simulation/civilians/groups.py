"""Who flees from whom: population groups, their share of each place, and their fear of each faction.

A scenario with ``composition.csv`` splits each place's people into groups (Sunni Arab, Shia Arab, Kurd, Sunni
and Shia Turkmen, Christian, Yazidi, Shabak, other ...). Each group fears each faction according to the
faction's doctrine, from 0 (not at all) to 1 (flees its arrival with the whole takeover hazard), and feels the
violence around it with a weight (1: as the model's ``flight_per_casualty`` says). Civilians are then cohorts by
origin *and* group (:class:`simulation.civilians.displacement.Civilians`): origin ``k = g * n + p`` is group
``g`` of place ``p``.

Without ``composition.csv`` everyone is one group, ``everyone``, and the fear of a faction is each place's own,
from its ``sympathy`` (:func:`sympathy_hostility`): the model as it was before groups.

Fear of a doctrine, by group (``DEFAULT_FEAR``; a scenario's ``[displacement.fear]`` table overrides any
entry). These are judgements mapped from the June 2014 record (research/june2014_displacement.md, section 5;
the sources are named there), not fits:

- **insurgent**: Shia Arabs and Shia Turkmen (Tal Afar's Shia fled west and south when it fell: Reuters via
  Hurriyet 15 Jun 2014; Amnesty 2 Jul 2014), Christians (most of Mosul's remaining Christians fled on 10 June:
  AP 22 Jul 2014), Yazidis and Shabak (kidnappings from 10 June: HRW; Shabak forced to flee Mosul: UN Special
  Rapporteur, May 2015) fear the insurgents fully (1.0); Kurds 0.8 (the east bank of Mosul emptied toward the
  Kurdistan Region); Sunni Turkmen 0.3 (Tal Afar's Sunni families fled east, and many went home by mid-July:
  IOM DTM 16 Jul 2014); Sunni Arabs 0.05 ("We are not afraid of [the militants]": DW 12 Jun 2014).
- **government**: Sunni Arabs 0.5 ("We are afraid that the government will bomb the city, like they did in
  Fallujah": DW 12 Jun 2014), Sunni Turkmen 0.3, others 0-0.1.
- **tribal** (pro-government Sunni tribes): feared little; Shia groups 0.2.
- **opportunist** (the Peshmerga): Sunni Arabs 0.2 and Turkmen 0.2 in the disputed territories, Kurds,
  Christians and Yazidis not at all.
- **violence**: 1 for every group (no source distinguishes them).

Screening at checkpoints (IRIN, 16 Jul 2014: "Kurds and Christians, or those who have sponsors inside
Kurdistan, are able to pass relatively easily, but generally Sunni and Shia Arabs and Turkomen are being stopped
or sent to temporary holding sites"): the groups named in ``[displacement] unscreened_groups`` pass a
checkpoint's daily admission capacity without counting against it (:mod:`simulation.civilians.travel`).
"""

from __future__ import annotations

import numpy as np

# The names of the data format live with its loader (the loader imports nothing of the civilians).
from simulation.scenario import DOCTRINE_COLUMNS, GROUPS, ONE_GROUP

__all__ = ["DEFAULT_FEAR", "DOCTRINE_COLUMNS", "GROUPS", "ONE_GROUP", "fear_matrix", "split_population",
           "sympathy_hostility"]


DEFAULT_FEAR: dict[str, dict[str, float]] = {
    "sunni_arab": {"government": 0.5, "insurgent": 0.05, "tribal": 0.05, "opportunist": 0.2, "violence": 1.0},
    "shia_arab": {"government": 0.0, "insurgent": 1.0, "tribal": 0.2, "opportunist": 0.1, "violence": 1.0},
    "kurd": {"government": 0.1, "insurgent": 0.8, "tribal": 0.1, "opportunist": 0.0, "violence": 1.0},
    "sunni_turkmen": {"government": 0.3, "insurgent": 0.3, "tribal": 0.1, "opportunist": 0.2, "violence": 1.0},
    "shia_turkmen": {"government": 0.0, "insurgent": 1.0, "tribal": 0.2, "opportunist": 0.2, "violence": 1.0},
    "christian": {"government": 0.1, "insurgent": 1.0, "tribal": 0.1, "opportunist": 0.0, "violence": 1.0},
    "yazidi": {"government": 0.1, "insurgent": 1.0, "tribal": 0.1, "opportunist": 0.0, "violence": 1.0},
    "shabak": {"government": 0.1, "insurgent": 1.0, "tribal": 0.2, "opportunist": 0.1, "violence": 1.0},
    "other": {"government": 0.3, "insurgent": 0.5, "tribal": 0.2, "opportunist": 0.1, "violence": 1.0},
}
"""Each group's fear of each doctrine (0-1) and its weight on violence felt (see the module's docstring)."""

DOCTRINE_SIDE = {"insurgent": 1.0, "government": -1.0, "tribal": -0.5, "opportunist": 0.0}
"""Where a faction's doctrine stands between the insurgents (+1) and the government (-1), for the fear of a
population known only by its ``sympathy`` (one group). Tribal fighters are local (their own tribes' towns fear
them less than the army); opportunists (the Peshmerga) are neither side's enemy."""


def sympathy_hostility(sympathy: np.ndarray, side: np.ndarray) -> np.ndarray:
    """How much each place's population fears each faction, from 0 (not at all) to 1, from its sympathy.

    Parameters
    ----------
    sympathy : array of shape (n,), the population's disposition toward the insurgents (0-1).
    side : array of shape (f,), each faction's side: +1 insurgent, -1 government (see ``DOCTRINE_SIDE``).

    Returns
    -------
    array of shape (n, f): ``max(side, 0) * (1 - sympathy) + max(-side, 0) * sympathy``, clipped to [0, 1].
    A side of 0 (an opportunist third party) is feared by nobody.

    Examples
    --------
    >>> sympathy_hostility(np.array([0.1, 0.9]), np.array([1.0, -1.0]))
    array([[0.9, 0.1],
           [0.1, 0.9]])
    """
    toward_insurgents = np.maximum(side, 0.0)[None, :] * (1.0 - sympathy[:, None])
    toward_government = np.maximum(-side, 0.0)[None, :] * sympathy[:, None]
    return np.clip(toward_insurgents + toward_government, 0.0, 1.0)


def fear_matrix(groups: tuple[str, ...], overrides: dict[str, dict[str, float]] | None = None) -> np.ndarray:
    """Each group's fear of each doctrine and weight on violence, ``[group, DOCTRINE_COLUMNS]``.

    ``DEFAULT_FEAR``, with the entries of ``overrides`` (a scenario's ``[displacement.fear]``) replacing it; a
    group without a default row fears every faction 0.5 and violence 1 unless overridden.

    Examples
    --------
    >>> fear_matrix(("shia_turkmen",))[0, DOCTRINE_COLUMNS.index("insurgent")]
    1.0
    """
    out = np.empty((len(groups), len(DOCTRINE_COLUMNS)))
    for g, name in enumerate(groups):
        row = dict(DEFAULT_FEAR.get(name, {d: (1.0 if d == "violence" else 0.5) for d in DOCTRINE_COLUMNS}))
        row.update((overrides or {}).get(name, {}))
        out[g] = [row[d] for d in DOCTRINE_COLUMNS]
    return out


def split_population(population: np.ndarray, shares: np.ndarray) -> np.ndarray:
    """Whole people of each group at each place, ``[group, place]``, summing exactly to ``population``.

    Largest remainders: each group gets ``floor(population * share)`` and the people left over go one each to the
    groups with the largest fractional parts (ties to the first group).

    Parameters
    ----------
    population : (n,) whole people per place.
    shares : (G, n) each group's share of each place (columns sum to 1 within 0.01; they are renormalised).

    Examples
    --------
    >>> split_population(np.array([10, 3]), np.array([[0.55, 1.0], [0.45, 0.0]])).tolist()
    [[6, 3], [4, 0]]
    """
    shares = shares / shares.sum(axis=0, keepdims=True)
    exact = population[None, :] * shares
    whole = np.floor(exact).astype(np.int64)
    left = population - whole.sum(axis=0)
    order = np.argsort(-(exact - whole), axis=0, kind="stable")
    for p in np.flatnonzero(left):
        whole[order[: left[p], p], p] += 1
    return whole
