"""The model's parameters: names, built-in defaults, physical bounds and meaning.

One registry serves the model's keyword arguments, ``--set`` on the command line, the app's sliders, sweeps
and calibration. Bounds are physical: a value outside them means nothing, so it is rejected wherever it comes
from.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Parameter:
    name: str
    default: float
    low: float
    high: float
    doc: str


PARAMETERS: dict[str, Parameter] = {
    p.name: p
    for p in [
        # --- movement -------------------------------------------------------------------------------
        Parameter("speed_highway_km", 150.0, 10.0, 600.0, "km a day a unit covers on a highway"),
        Parameter("speed_road_km", 90.0, 5.0, 400.0, "km a day on an ordinary road"),
        Parameter("speed_track_km", 60.0, 5.0, 400.0, "km a day on a desert track"),
        Parameter("speed_river_km", 30.0, 1.0, 200.0, "km a day over a river crossing"),
        # --- engagement -----------------------------------------------------------------------------
        Parameter(
            "attrition_rate", 0.04, 0.001, 0.5,
            "daily casualties inflicted per unit of effective enemy strength (Lanchester coefficient)",
        ),
        Parameter(
            "lanchester_exponent", 0.8, 0.0, 1.0,
            "1 = square law (losses follow enemy strength, aimed fire); 0 = losses follow own strength",
        ),
        Parameter("killed_share", 0.3, 0.05, 0.9, "share of battle casualties who are killed (rest wounded)"),
        Parameter("defender_advantage", 1.5, 1.0, 5.0, "multiplier on the defenders' effective strength"),
        Parameter(
            "civilian_battle_harm", 0.25, 0.0, 3.0,
            "civilian casualties per combatant casualty in a battle inside a populated place (scaled by density)",
        ),
        Parameter(
            "execution_rate", 5e-4, 0.0, 5e-3,
            "people killed when an insurgent faction takes a place, per person there hostile to it (residents "
            "times 1 - sympathy): executions of prisoners, officials and minorities (e.g. some 600 Badush "
            "prison inmates in Mosul on 10 June 2014, Human Rights Watch, 30 Oct 2014)",
        ),
        # --- morale ---------------------------------------------------------------------------------
        Parameter("initial_morale", 0.7, 0.05, 1.0, "morale of a unit whose row gives none"),
        Parameter("rout_threshold", 0.3, 0.0, 0.9, "below this morale a unit routs"),
        Parameter("morale_loss_per_casualty", 2.0, 0.0, 20.0, "morale lost per share of the unit's strength lost"),
        Parameter(
            "battle_hollow_power", 0.0, 0.0, 3.0,
            "a battle's morale loss times (2 * (1 - base morale)) to this power: the same losses break a hollow "
            "unit sooner than a cohesive one (0: alike)",
        ),
        Parameter(
            "kin_fall_leaning", 0.0, 0.0, 1.0,
            "how the people where a unit stands lean to an opportunist taker of a nearby fall (the fall shock's "
            "leaning): (1 - this) * (1 - sympathy) + this * the share of the taker's kin there (1: the Peshmerga's "
            "take-over of Tuz Khurmatu does not shake the Shia Turkmen garrison of Amerli)",
        ),
        Parameter(
            "morale_outnumbered", 0.08, 0.0, 1.0,
            "daily morale loss per log-unit of enemy superiority in a battle",
        ),
        Parameter(
            "morale_fall_shock", 0.25, 0.0, 1.0,
            "morale loss for units of the losing side near a place that falls (scaled by its value)",
        ),
        Parameter(
            "morale_shock_radius_km", 150.0, 100.0, 500.0,
            "how far (road km) the news of a fall shakes morale: Tikrit is 221 road-km from Mosul, Kirkuk 187",
        ),
        Parameter(
            "hollow_power", 1.0, 0.0, 4.0,
            "a shock (a fall nearby, a lost command) hits a unit by (1 - its base morale) to this power: hollow "
            "units break, cohesive ones hold",
        ),
        Parameter(
            "leadership_ratio", 0.5, 0.05, 5.0,
            "a garrison in battle is under pressure when the hostile effective strength there is at least this "
            "share of its own",
        ),
        Parameter(
            "leadership_days", 3.0, 1.0, 15.0,
            "days in a row of pressure (or of being cut off) before a garrison loses its command",
        ),
        Parameter(
            "leadership_shock", 0.3, 0.0, 1.0,
            "morale a garrison loses with its command (times its hollowness, (1 - base morale) ** hollow_power)",
        ),
        Parameter(
            "assault_days", 0.0, 0.0, 5.0,
            "days a side must have been present at a place, alone at the end, before it takes it: times the "
            "place's fortification and 1 + log10(1 + population / 10,000) (clearing a city takes longer)",
        ),
        Parameter("morale_cutoff", 0.03, 0.0, 0.5, "daily morale loss of a unit cut off from its side's rear"),
        Parameter("morale_recovery", 0.03, 0.0, 0.5, "daily recovery of morale toward the unit's baseline"),
        Parameter("desertion_share", 0.4, 0.0, 1.0, "share of a routing unit's personnel who desert"),
        Parameter(
            "hostile_population_morale", 0.005, 0.0, 0.2,
            "daily morale loss of a government unit in a place whose population sympathises with the insurgents",
        ),
        # --- decisions ------------------------------------------------------------------------------
        Parameter("attack_ratio", 1.2, 0.2, 10.0, "insurgent attack: own effective strength over the defenders'"),
        Parameter(
            "main_effort", 0.0, 0.0, 4.0,
            "insurgent command: 0, each free unit attacks its own best target; above 0, the command takes its "
            "targets in order of appeal and sends the nearest free units able to reach each until they bring this "
            "times attack_ratio times its defence (a target they cannot bring it to is passed over), the rest joining "
            "their best target so chosen",
        ),
        Parameter("counterattack_ratio", 3.0, 0.5, 10.0, "government counter-attack: force ratio needed"),
        Parameter("reach_days", 3.0, 0.5, 15.0, "how many days of travel an objective may be away"),
        Parameter(
            "withdraw_ratio", 2.0, 0.5, 20.0,
            "a government garrison withdraws in order when the enemy within a day's reach, times (0.5 + the "
            "population's sympathy for it), outweighs the side's defence there by this ratio",
        ),
        Parameter("hold_value", 4.0, 0.0, 100.0, "places worth at least this much are held, not given up"),
        Parameter(
            "stand_share", 0.3, 0.0, 1.0,
            "places where at least this share of the people are Shia Arabs or Turkmen (composition.csv) are held, "
            "not given up: the government's own community fights for its homes with it",
        ),
        Parameter(
            "garrison_share", 0.2, 0.0, 0.9,
            "share of a force left to hold a place it moves on from; a government or tribal force leaves only if "
            "that share could hold the place against the threat to it",
        ),
        Parameter(
            "opportunist_attack_ratio", 3.0, 0.5, 20.0,
            "an opportunist attacks a place it claims that its enemy holds when its strength that can reach it is "
            "this many times the defence",
        ),
        Parameter(
            "opportunist_kin", 0.25, 0.0, 1.0,
            "an opportunist moves into, attacks or takes over a place only where at least this share of the "
            "people belong to the communities it protects (composition.csv; border crossings excepted for attacks)",
        ),
        Parameter("opportunist_radius_km", 120.0, 0.0, 500.0, "how far an opportunist faction reaches for vacuums"),
        Parameter("tribal_home_radius_km", 60.0, 0.0, 300.0, "how far tribal fighters go from their home"),
        Parameter(
            "detachment_share", 0.3, 0.01, 1.0,
            "share of a unit an opportunist faction sends to fill an abandoned place",
        ),
        # --- air power ------------------------------------------------------------------------------
        Parameter("sortie_kill_rate", 0.6, 0.0, 10.0, "expected fighters killed or wounded per sortie"),
        Parameter(
            "airlift_places", 2.0, 0.0, 20.0,
            "cut-off places a faction with an air force can resupply a day (its units there do not lose morale)",
        ),
        Parameter(
            "collateral_rate", 0.4, 0.0, 5.0,
            "expected civilians killed or wounded per sortie against a populated place",
        ),
        # --- recruitment and reinforcement ----------------------------------------------------------
        Parameter(
            "recruit_rate", 2e-5, 0.0, 1e-3,
            "daily insurgent recruits per resident of a held place, times the place's sympathy",
        ),
        Parameter("recruit_quality", 0.7, 0.1, 2.0, "quality of new recruits"),
        Parameter("reinforcement_quality", 0.9, 0.1, 2.0, "quality of scripted reinforcements"),
        Parameter("volunteer_quality", 0.5, 0.1, 2.0, "quality of mobilised volunteers"),
        # --- civilians (displacement; see docs/displacement.md) ---------------------------------------
        Parameter(
            "flight_max_share", 0.3, 0.0, 1.0,
            "largest share of a place's residents (and of the displaced sheltering there) who leave in one day",
        ),
        Parameter(
            "flight_per_casualty", 30.0, 0.0, 1e4,
            "people driven to leave per recorded-fatality equivalent felt nearby (the fear state), before saturation",
        ),
        Parameter(
            "violence_recorded_share", 1.0, 0.0, 1.0,
            "full runs: recorded-fatality equivalents per person the model kills (any party), for the civilians' fear",
        ),
        Parameter("fear_half_life_days", 2.0, 0.25, 90.0, "days for the fear of violence to halve"),
        Parameter("takeover_half_life_days", 1.0, 0.1, 90.0, "days for the fear of a place's new controller to halve"),
        Parameter(
            "battle_exposure_people", 100_000.0, 1_000.0, 1e8,
            "people of a place near its fighting (a district): violence there drives away at most these (1e8: all)",
        ),
        Parameter(
            "flight_within_place", 0.5, 0.0, 1.0,
            "share of those fleeing violence in a large place who move within it (times the share not exposed)",
        ),
        Parameter(
            "fear_radius_km", 20.0, 0.0, 300.0,
            "road km over which violence elsewhere is felt (weight exp(-km / radius); 0 = only in the place)",
        ),
        Parameter(
            "flight_takeover", 1.2, 0.0, 20.0,
            "flight hazard added when a place changes hands to a faction its population fears completely",
        ),
        Parameter(
            "flight_takeover_any", 0.1, 0.0, 1.0,
            "share of the takeover fear felt whatever the disposition, if the place is fought over (fighting to come)",
        ),
        Parameter("flight_speed_km", 40.0, 5.0, 300.0, "km a day displaced people cover on the roads"),
        Parameter(
            "destination_distance_km", 100.0, 5.0, 2000.0,
            "road km at which a destination's pull falls by a factor e (weight exp(-km / this))",
        ),
        Parameter(
            "destination_base_attraction", 0.1, 0.0, 5.0,
            "pull of a safe populated place with refuge 0 (relatives, rented rooms); a place's refuge adds to it",
        ),
        Parameter(
            "destination_nesting", 1.0, 0.05, 1.0,
            "how destinations down one road add up: a road weighs (sum of weight^(1/this))^this (1: sum; ->0: best)",
        ),
        Parameter(
            "checkpoint_admission_scale", 1.0, 0.0, 100.0,
            "multiplies every checkpoint's admission_per_day (places.csv) for fleeing people of screened groups",
        ),
        Parameter(
            "host_capacity_share", 0.5, 0.01, 10.0,
            "displaced people a place hosts, as a share of its residents, when its pull has fallen by half",
        ),
        Parameter("return_quiet_days", 10.0, 0.0, 365.0, "quiet days at home before displaced people start to return"),
        Parameter(
            "return_rate", 0.03, 0.0, 1.0,
            "daily share of a cohort that heads home once home is quiet (times 1 - fear of its controller)",
        ),
        Parameter(
            "return_near_rate", 0.2, 0.0, 1.0,
            "daily share added to return_rate for people displaced near home (times exp(-km / return_near_km))",
        ),
        Parameter("return_near_km", 20.0, 0.1, 500.0, "road km over which the near-home return rate falls by e"),
    ]
}


def defaults() -> dict[str, float]:
    """The built-in default of every parameter."""
    return {name: p.default for name, p in PARAMETERS.items()}


def check_value(name: str, value: float) -> float:
    """Return ``value`` as a float if ``name`` is a parameter and ``value`` lies within its bounds.

    Raises
    ------
    KeyError
        ``name`` is not a parameter.
    ValueError
        ``value`` is not a finite number within the bounds.
    """
    if name not in PARAMETERS:
        raise KeyError(f"unknown parameter {name!r}")
    p = PARAMETERS[name]
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"parameter {name}={value!r} is not a number") from None
    if not (p.low <= v <= p.high):  # also false for NaN
        raise ValueError(f"parameter {name}={value!r} is outside its bounds [{p.low:g}, {p.high:g}]")
    return v
