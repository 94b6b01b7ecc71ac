"""Mutation check: does the fast test set notice when a rule is broken?

Each mutant is one named edit of the package's source (a sign flipped, a rule switched off, a comparison
reversed), applied to a copy of the repository in a temporary directory; the fast tests (direction tests,
golden runs, model properties) run on that copy, and the table says which tests killed each mutant (failed)
or that it survived (every test passed: the tests cannot tell the broken rule from the real one). The golden
runs fail on any change of any number, so the table counts them apart: a mutant that only they kill is one no
test of its rule notices.

    .venv/bin/python scripts/mutants.py                 # every mutant; prints the table
    .venv/bin/python scripts/mutants.py -k fall_shock   # only the mutants whose name contains this
    .venv/bin/python scripts/mutants.py --list          # the mutants, without running anything

Each mutant names the test of its rule; exit code 0 if every mutant was killed by it (and perhaps others), 1
if one survived or was killed only by other tests, 2 if a mutation no longer applies (the code it
edits has moved or changed: update ``MUTANTS``) or the unmutated copy fails the tests.

Mutations are (file, exact old text, new text): the old text must occur exactly as often as the entry says, so
an edit of the code that moves it makes this script fail loudly instead of testing nothing. The copy keeps the
files' modification times and their Numba caches, so only the mutated module (and the modules that import it)
are compiled again.
"""

from __future__ import annotations

import argparse
import ast
import os
import shutil
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
COPIED = ("simulation", "tests", "scenarios", "calibration", "scripts", "pyproject.toml")
FAST_TESTS = ("tests/test_rules_direction.py", "tests/test_golden.py", "tests/test_properties.py")
TIMEOUT_S = 1200
RUNS_GOLDEN = 6  # tests/test_golden.py: toy and Iraq, seeds 1-3


@dataclass(frozen=True)
class Mutant:
    name: str
    what: str
    file: str
    old: str
    new: str
    test: str  # the test of the mutated rule (a part of its id), which must be among the killers
    count: int = 1  # how many times ``old`` occurs (all are replaced)


# The table of mutants. Texts are those of the code after the architecture rework and the collapse rules (issue
# 16); when the code they edit moves, update them here.
MUTANTS = (
    Mutant("executions_inverted", "executions follow sympathy instead of hostility (1 - sympathy)",
           "simulation/rules/control.py",
           'hostile = present * (1.0 - state.world.sympathy[place])',
           'hostile = present * state.world.sympathy[place]',
           test="test_executions_where_insurgents_take_a_place"),
    Mutant("executions_by_any_taker", "any faction taking a place executes, not only insurgents",
           "simulation/engine/model.py",
           'if s.sides.insurgent[new]:\n                killed = control.executions',
           'if True:\n                killed = control.executions',
           test="test_no_executions_where_the_government_takes_a_place"),
    Mutant("recruitment_inverted", "recruits follow 1 - sympathy instead of sympathy",
           "simulation/rules/insurgency.py",
           "lam[m] = rate * residents[q] * sympathy[q]",
           "lam[m] = rate * residents[q] * (1.0 - sympathy[q])",
           test="test_recruits_grow_with_sympathy"),
    Mutant("recruits_where_not_held", "recruits come from the places the faction does not hold",
           "simulation/rules/insurgency.py",
           "        if controller[q] == faction:\n            held[m] = q",
           "        if controller[q] != faction:\n            held[m] = q",
           test="test_no_recruits_where_the_faction_holds_nothing"),
    Mutant("target_value_inverted", "insurgents prefer the least valuable target",
           "simulation/rules/orders.py",
           'appeal[q] = value[q] * (0.5 + pl.sympathy[q])',
           'appeal[q] = 1.0 / (value[q] + 1e-9) * (0.5 + pl.sympathy[q])',
           test="test_insurgents_prefer_valuable_sympathetic_weakly_held_targets[value]"),
    Mutant("target_sympathy_inverted", "insurgents prefer the least sympathetic target",
           "simulation/rules/orders.py",
           'appeal[q] = value[q] * (0.5 + pl.sympathy[q])',
           'appeal[q] = value[q] * (1.5 - pl.sympathy[q])',
           test="test_insurgents_prefer_valuable_sympathetic_weakly_held_targets[sympathy]"),
    Mutant("target_weakness_inverted", "insurgents prefer the most strongly held target",
           "simulation/rules/orders.py",
           "* potential[q] / (potential[q] + attack_ratio * defence[q]",
           "* (attack_ratio * defence[q] + 1e-9) / (potential[q] + attack_ratio * defence[q]",
           test="test_insurgents_prefer_valuable_sympathetic_weakly_held_targets[garrison]"),
    Mutant("lanchester_one_minus_exponent", "the Lanchester exponent replaced by 1 - exponent",
           "simulation/rules/combat.py",
           'alpha = p["lanchester_exponent"]',
           'alpha = 1.0 - p["lanchester_exponent"]',
           test="test_losses_follow_enemy_strength_and_own_numbers"),
    Mutant("defender_advantage_inverted", "defenders' strength divided by their advantage in battle",
           "simulation/rules/combat.py",
           'mult = defender_advantage * pl.fortification[at] if',
           'mult = 1.0 / (defender_advantage * pl.fortification[at]) if',
           test="test_defenders_fight_with_their_advantage"),
    Mutant("fall_shock_removed", "the fall of a place shakes nobody",
           "simulation/engine/model.py",
           "            morale.fall_shock(s, changes.places,",
           "            0 and morale.fall_shock(s, changes.places,",
           test="test_the_fall_shock_reaches_only_the_losing_side"),
    # (Dropping the radius test alone changes nothing: beyond the radius 1 - d / radius is negative and a unit
    # feels only positive shocks.)
    Mutant("fall_shock_distance_ignored", "the fall shock does not fade with distance within its radius",
           "simulation/rules/morale.py",
           "* relative * (1.0 - d / radius_floor) \\",
           "* relative * 1.0 \\",
           test="test_the_fall_shock_reaches_only_the_losing_side"),
    Mutant("fall_shock_on_others", "the fall shock reaches everyone but the losing side",
           "simulation/rules/morale.py",
           "if coalition_of[u.faction[r]] != losing[i]:",
           "if coalition_of[u.faction[r]] == losing[i]:",
           test="test_the_fall_shock_reaches_only_the_losing_side"),
    Mutant("fall_shock_from_empty_places", "the fall of a place nobody ever garrisoned shakes the losing side too",
           "simulation/rules/morale.py",
           "garrisoned = state.was_garrisoned[places]",
           "garrisoned = state.was_garrisoned[places] | True",
           test="test_the_fall_of_an_empty_place_shakes_nobody"),
    Mutant("rout_along_the_front", "a routing unit makes for the nearest place of its side, whatever the rear",
           "simulation/rules/morale.py",
           "if rearward and days[q, rear] > days[here, rear]:",
           "if rearward and days[q, rear] > days[here, rear] + np.inf:",
           test="test_a_rout_runs_toward_the_rear_not_along_the_front"),
    Mutant("shock_routs_without_the_enemy_near", "a shaken unit below the threshold routs at the news alone",
           "simulation/rules/morale.py",
           "cause[r] = pr.battle[u.loc[r]] or cut_off or (u.shocked[r] and near)",
           "cause[r] = pr.battle[u.loc[r]] or cut_off or u.shocked[r]",
           test="test_a_shock_routs_a_unit_only_with_the_enemy_near"),
    Mutant("sleeper_cells_no_threat", "sleeper cells beside a shaken unit do not count as the enemy near",
           "simulation/rules/morale.py",
           "            out[u.loc[hostile_cells], c] = True",
           "            out[u.loc[hostile_cells], c] = out[u.loc[hostile_cells], c]",
           test="test_a_shock_routs_a_unit_only_with_the_enemy_near"),
    Mutant("column_drops_no_detachment", "a column sent to attack leaves empty towns on its way unoccupied",
           "simulation/rules/orders.py",
           "    return attacks if occupy is None else occupy._replace(then=attacks)",
           "    return attacks if occupy is None else occupy._replace(\n"
           "        rows=occupy.rows[~np.isin(occupy.rows, sent)],\n"
           "        targets=occupy.targets[~np.isin(occupy.rows, sent)],\n"
           "        then=attacks)",
           test="test_a_column_sent_on_drops_a_detachment"),
    Mutant("detachment_races_third_party", "a detachment races a third party to the vacuum it could fill",
           "simulation/rules/orders.py",
           "            empty &= ~((state.holder == h) & (_threat_of(state, third) > 0))",
           "            empty &= True",
           test="test_a_column_sent_on_drops_a_detachment"),
    Mutant("broken_garrison_holds_on", "a garrison that has lost the will to fight leaves no vacuum",
           "simulation/rules/orders.py",
           "    return garrisoned & ~firm\n",
           "    return garrisoned & ~garrisoned\n",
           test="test_the_peshmerga_take_over_a_claimed_post_whose_garrison_has_lost"),
    Mutant("vacuum_crossings_need_kin", "the Peshmerga fill a crossing's vacuum only where their kin live",
           "simulation/rules/orders.py",
           "        (state.kin >= params[\"opportunist_kin\"]) | w.crossing)",
           "        (state.kin >= params[\"opportunist_kin\"]))",
           test="test_the_peshmerga_take_over_a_claimed_post_whose_garrison_has_lost"),
    Mutant("withdrawal_into_dead_end", "a withdrawal takes the nearest unthreatened place, linked to the rear or not",
           "simulation/rules/orders.py",
           "                if mode < 2 and not linked[q]:",
           "                if mode < 2 and not (True or linked[q]):",
           test="test_a_withdrawal_goes_back_toward_the_rear"),
    Mutant("besieged_garrison_breaks", "a besieged garrison supplied by air breaks like any other",
           "simulation/rules/morale.py",
           "and cause[r] and not supplied[u.faction[r], u.loc[r]]",
           "and cause[r] and not (False and supplied[u.faction[r], u.loc[r]])",
           test="test_a_besieged_garrison_the_air_force_supplies"),
    Mutant("waiting_peshmerga_attack", "the Peshmerga waiting in a claimed town the army holds are sent to attack",
           "simulation/rules/orders.py",
           "    keep = ~np.isin(rows, sent) & ~_waiting(state, c, loc, allowed)",
           "    keep = ~np.isin(rows, sent)",
           test="test_the_peshmerga_waiting_in_a_claimed_town"),
    Mutant("enclave_joins_every_offensive", "insurgents holding an enclave join their governorate's offensive "
           "wherever it begins", "simulation/rules/insurgency.py",
           "        at[f] &= ~enclave | joined",
           "        at[f] &= ~enclave | ~joined | joined",
           test="test_insurgents_holding_an_enclave_join"),
    Mutant("withdrawal_to_next_small_town", "a withdrawing garrison stops at the next small town on the enemy's road",
           "simulation/rules/orders.py",
           "                if mode < 2 and no_stand[q] and days[here, q] < 1.0:",
           "                if False and mode < 2 and no_stand[q] and days[here, q] < 1.0:",
           test="test_a_withdrawal_passes_the_next_small_town"),
    Mutant("garrison_stripped_regardless", "a garrison is sent off whenever its whole strength outweighs the threat, "
           "whatever would stay", "simulation/rules/orders.py",
           "        safe[q] = holder[q] != side or need[q] + own_def[q] <= garrison_share * own_def[q]",
           "        safe[q] = need[q] <= 0",
           test="test_a_garrison_is_stripped_to_reinforce_only_if"),
    Mutant("broken_vacuum_needs_enemy_near", "a broken garrison is a vacuum only with the enemy near",
           "simulation/rules/orders.py",
           "        threat[holder[broken], np.flatnonzero(broken)] = 1.0",
           "        pass",
           test="test_a_garrison_that_broke_on_the_news"),
    Mutant("waiting_peshmerga_fill_vacuums", "the Peshmerga waiting in a claimed town the army holds are sent into "
           "vacuums elsewhere", "simulation/rules/orders.py",
           "        stay = _waiting(state, c, loc, allowed) if claimed is not None else np.zeros(loc.size, dtype=bool)",
           "        stay = np.zeros(loc.size, dtype=bool)",
           test="test_the_peshmerga_waiting_in_a_claimed_town_are_not_sent"),
    Mutant("own_community_given_up", "the government gives up towns of its own community like any other",
           "simulation/rules/orders.py",
           '    stand = state.loyal >= p["stand_share"]',
           "    stand = state.loyal > 2.0",
           test="test_the_government_holds_a_town_of_its_own_community"),
    Mutant("occupation_by_too_small_unit", "the nearest unit is sent to occupy a town even if it cannot spare a "
           "detachment", "simulation/rules/orders.py",
           "    rows, loc, row = rows[big], loc[big], row[big]",
           "    pass",
           test="test_an_empty_town_is_occupied_by_the_nearest_unit"),
    Mutant("cohesion_inverted", "a battle's losses break a cohesive unit sooner than a hollow one",
           "simulation/rules/combat.py",
           "            drop = drop * (2.0 * (1.0 - base[r])) ** power",
           "            drop = drop * (2.0 * base[r]) ** power",
           test="test_the_same_losses_break_a_hollow_unit_sooner"),
    Mutant("kin_leaning_inverted", "the Kurds' take-over shakes a garrison most where fewest of its people are kin",
           "simulation/rules/morale.py",
           "                leaning = (1.0 - kin_weight) * (1.0 - pl.sympathy[here]) + kin_weight * kin[here]",
           "                leaning = (1.0 - kin_weight) * (1.0 - pl.sympathy[here]) + kin_weight * (1.0 - kin[here])",
           test="test_the_kurds_taking_a_town_shake_a_garrison_by_how_far"),
    Mutant("main_effort_unsized", "a main effort sends every unit able to reach its first target, whatever it needs",
           "simulation/rules/orders.py",
           "            if got >= need:\n                break",
           "            if False:\n                break",
           test="test_a_main_effort_gathers_the_units"),
    Mutant("garrison_sent_on", "the garrison a column leaves behind is sent on again the next day",
           "simulation/rules/orders.py",
           "        if not garrisons and u.garrison_at[r] == here:",
           "        if False and not garrisons and u.garrison_at[r] == here:",
           test="test_the_garrison_a_column_leaves_behind"),
    Mutant("recruits_stuck_in_garrison", "recruits joining a garrison stay with it for good",
           "simulation/rules/insurgency.py",
           "            u.garrison_at[r] = -1  # recruits free a garrison",
           "            pass  # recruits free a garrison",
           test="test_the_garrison_a_column_leaves_behind"),
    Mutant("battle_has_two_losers", "both sides of a battle may break the same day",
           "simulation/rules/morale.py",
           "        if breaks[r] and not (pr.battle[q]",
           "        if breaks[r] and not (False and pr.battle[q]",
           test="test_a_battle_has_one_loser"),
    Mutant("news_adds_up", "each day's news of a fall lowers a unit's morale again, however it compares",
           "simulation/rules/morale.py",
           "        if worst > 0.0 and u.base_morale[r] - worst < u.morale[r]:\n"
           "            u.morale[r] = np_clip(u.base_morale[r] - worst, 0.0, 1.0)",
           "        if worst > 0.0:\n            u.morale[r] = np_clip(u.morale[r] - worst, 0.0, 1.0)",
           test="test_news_of_falls_does_not_add_up_from_day_to_day"),
    Mutant("fall_shock_summed", "a unit feels the sum of the day's fall shocks, not the largest",
           "simulation/rules/morale.py",
           "            if s > worst:\n                worst = s",
           "            if s > 0.0:\n                worst += s",
           test="test_the_fall_shock_hits_hollow_units_harder_with_the_largest"),
    Mutant("fall_shock_hollowness_inverted", "the fall shock hits cohesive units harder than hollow ones",
           "simulation/rules/morale.py",
           "* (1.0 - u.base_morale[r]) ** hollow_power * 2.0 * leaning",
           "* u.base_morale[r] ** hollow_power * 2.0 * leaning",
           test="test_the_fall_shock_hits_hollow_units_harder_with_the_largest"),
    Mutant("fall_shock_leaning_inverted", "the fall shock grows with the sympathy for the loser, not the taker",
           "simulation/rules/morale.py",
           "leaning = pl.sympathy[here] if insurgent_taker[i] else 1.0 - pl.sympathy[here]",
           "leaning = 1.0 - pl.sympathy[here] if insurgent_taker[i] else pl.sympathy[here]",
           test="test_the_fall_shock_hits_hollow_units_harder_with_the_largest"),
    Mutant("merge_across_cohesion", "idle units of different cohesion merge",
           "simulation/rules/movement.py",
           "* 1001 + cohesion",
           "* 1001 + 0",
           test="test_the_fall_shock_hits_hollow_units_harder_with_the_largest"),
    Mutant("rout_comparison_reversed", "units rout above the rout threshold instead of below",
           "simulation/rules/morale.py",
           "not u.routing[r] and u.morale[r] < rout_threshold \\",
           "not u.routing[r] and u.morale[r] > rout_threshold \\",
           test="test_a_unit_routs_below_the_threshold"),
    Mutant("rout_without_cause", "units below the threshold rout with no battle, cut-off or shock that day",
           "simulation/rules/morale.py",
           "                and cause[r]:",
           "                and True:",
           test="test_no_rout_without_a_cause_that_day"),
    Mutant("rout_ignores_threat", "routing units make for the nearest place of their side, threatened or not",
           "simulation/rules/morale.py",
           "if calm_only and threat[q] > 0:",
           "if calm_only and threat[q] < 0:",
           test="test_routing_units_make_for_a_place_no_enemy_threatens"),
    Mutant("no_fall_back", "routing units inside an enemy's place dissolve instead of falling back",
           "simulation/rules/morale.py",
           "        for j in range(m):",
           "        for j in range(0):",
           test="test_routing_attackers_fall_back_the_way_they_came"),
    Mutant("fall_back_ignores_way_came", "routing units inside an enemy's place take the shortest road out",
           "simulation/rules/morale.py",
           "if back >= 0 and road_open(rd.ptr, rd.to, rd.is_open, here, back):",
           "if False and road_open(rd.ptr, rd.to, rd.is_open, here, back):",
           test="test_routing_attackers_fall_back_the_way_they_came"),
    Mutant("leadership_ratio_inverted", "garrisons lose their command when they outnumber the enemy",
           "simulation/rules/morale.py",
           "enemy >= ratio * own",
           "enemy <= ratio * own",
           test="test_a_garrison_long_outnumbered_loses_its_command"),
    Mutant("leadership_hits_cohesive", "a lost command hits cohesive units harder than hollow ones",
           "simulation/rules/morale.py",
           "shock * (1.0 - u.base_morale[r]) ** hollow_power, 0.0, 1.0)",
           "shock * u.base_morale[r] ** hollow_power, 0.0, 1.0)",
           test="test_a_garrison_long_outnumbered_loses_its_command"),
    Mutant("uprising_on_odds", "sleeper cells rise when the offensive begins, whoever is there",
           "simulation/rules/insurgency.py",
           "if personnel_c[here, c] > 0 or not enemies:",
           "if True:",
           test="test_sleeper_cells_rise_only_when_their_side_arrives"),
    Mutant("threat_before_offensive", "units threaten from governorates where their offensive has not begun",
           "simulation/rules/orders.py",
           "if not hostile[c] or not offensive_in[f, governorate[u.loc[r]]]:",
           "if not hostile[c]:",
           test="test_only_units_whose_offensive_has_begun_where_they_stand"),
    Mutant("threat_anywhere", "units threaten places in governorates where their offensive has not begun",
           "simulation/rules/orders.py",
           "1.0 if days[q] / speed <= 1.0 and offensive_in[f, governorate[q]] else 0.0",
           "1.0 if days[q] / speed <= 1.0 else 0.0",
           test="test_only_units_whose_offensive_has_begun_where_they_stand"),
    Mutant("no_occupation", "insurgents never occupy undefended places they do not attack",
           "simulation/rules/orders.py",
           "        empty[q] = ok",
           "        empty[q] = False",
           test="test_insurgents_occupy_an_undefended_place"),
    Mutant("opportunist_kin_ignored", "the Peshmerga attack claimed places whoever lives there",
           "simulation/rules/orders.py",
           "if enemy_held[q] and allowed[q] and potential[q] >= ratio * defence[q]:",
           "if enemy_held[q] and potential[q] >= ratio * defence[q]:",
           test="test_the_peshmerga_attack_claimed_places"),
    Mutant("opportunist_never_attacks", "the Peshmerga never attack",
           "simulation/rules/orders.py",
           "attack = _claim_attacks(state,",
           "attack = None and _claim_attacks(state,",
           test="test_the_peshmerga_attack_claimed_places"),
    Mutant("handover_strength_inverted", "the Peshmerga take over where they are weaker than the garrison",
           "simulation/rules/control.py",
           "if own > 0 and own >= pr.effective[q, h]:",
           "if own > 0 and own <= pr.effective[q, h]:",
           test="test_the_peshmerga_take_over_a_claimed_place"),
    Mutant("handover_removed", "the Peshmerga never take over a place whose garrison broke",
           "simulation/rules/control.py",
           "            k = _handovers(",
           "            k = k if True else _handovers(",
           test="test_the_peshmerga_take_over_a_claimed_place"),
    Mutant("assault_instant", "a place changes hands the day a side is alone there, however fortified",
           "simulation/rules/control.py",
           " and present_days[p, winner] >= clear_days[p]:",
           ":",
           test="test_an_assault_takes_longer_on_a_fortified_place"),
    Mutant("fortification_no_shelter", "fortification does not shelter the holder from fire",
           "simulation/rules/combat.py",
           "fire[np.arange(n), state.holder] /= state.world.fortification",
           "fire[np.arange(n), state.holder] /= 1.0",
           test="test_fortification_shelters_the_holder_from_fire"),
    Mutant("morale_recovery_sign", "calm units' morale moves away from its base instead of toward it",
           "simulation/rules/morale.py",
           'm = m + (morale_recovery * (base_morale - m) if calm else 0.0)',
           'm = m - (morale_recovery * (base_morale - m) if calm else 0.0)',
           test="test_morale_recovers_toward_its_base"),
    Mutant("desertion_counted_as_killed", "routing units' deserters booked as killed",
           "simulation/rules/morale.py",
           't.ledger[DESERTED, u.faction[r]] += deserters[i]',
           't.ledger[3, u.faction[r]] += deserters[i]  # 3: killed',
           test="test_deserters_are_booked_as_deserted_not_killed"),
    Mutant("deserters_vanish", "routing units' deserters leave the unit but not booked anywhere",
           "simulation/rules/morale.py",
           't.ledger[DESERTED, u.faction[r]] += deserters[i]',
           't.ledger[DESERTED, u.faction[r]] += 0',
           test="test_deserters_are_booked_as_deserted_not_killed"),
    Mutant("flight_toward_danger", "people leave toward places more dangerous than theirs",
           "simulation/civilians/travel.py",
           "if hazard[d] < leaving[c] and appeal[d] > 0:",
           "if hazard[d] > leaving[c] and appeal[d] > 0:",
           test="test_people_flee_toward_safer_places", count=2),
    Mutant("quiet_takeover_feared_as_fought", "a place handed over quietly frightens like one fought over",
           "simulation/civilians/travel.py",
           "anyone = takeover_any if fought else 0.0",
           "anyone = takeover_any",
           test="test_a_quiet_takeover_frightens_a_group_only_by_its_fear_of_the_taker"),
    Mutant("quiet_day_violence_feared", "violence below one casualty-equivalent a day adds to the fear",
           "simulation/civilians/travel.py",
           "(felt[c] if felt[c] >= 1.0 else 0.0)",
           "felt[c]",
           test="test_violence_below_one_casualty_equivalent_a_day_drives_nobody_away"),
    Mutant("violence_recorded_share_ignored", "full runs feel all the model's killed, whatever the share",
           "simulation/engine/model.py",
           'felt = records.day_violence(s) * p["violence_recorded_share"]',
           'felt = records.day_violence(s) * 1.0',
           test="test_flight_from_fighting_follows_the_share_of_its_violence_counted_as_recorded_fatalities"),
    Mutant("violence_counts_sorties", "the civilians feel each air sortie as a person killed",
           "simulation/rules/records.py",
           "        violence[p] = v\n",
           "        violence[p] = v + t.sorties[p]\n",
           test="test_the_violence_civilians_feel_is_the_killed_not_the_wounded_or_the_sorties"),
    Mutant("flight_into_battles", "displaced people enter and cross places with a battle",
           "simulation/civilians/travel.py",
           "open_to_idps[d] = not battle[d] and checkpoint_open[d]",
           "open_to_idps[d] = checkpoint_open[d]",
           test="test_people_never_flee_into_or_through_a_battle_or_a_closed_checkpoint[battle]"),
    Mutant("checkpoint_closure_ignored", "closed checkpoints admit and let through displaced people",
           "simulation/civilians/travel.py",
           "open_to_idps[d] = not battle[d] and checkpoint_open[d]",
           "open_to_idps[d] = not battle[d]",
           test="test_people_never_flee_into_or_through_a_battle_or_a_closed_checkpoint[checkpoint]"),
    Mutant("air_strikes_on_own_forces", "an air force bombs its own coalition instead of its enemies",
           "simulation/rules/combat.py",
           'hostile = sides.hostile[sides.coalition_of[f]]',
           'hostile = np.arange(sides.hostile.shape[0]) == sides.coalition_of[f]',
           test="test_air_strikes_fall_on_enemy_concentrations"),
    Mutant("air_sorties_spread_evenly", "sorties spread over every place, not by the enemies there",
           "simulation/rules/combat.py",
           'pvals[at] = targets[at] / total',
           'pvals[at] = 1.0 / targets.size',
           test="test_air_strikes_fall_on_enemy_concentrations"),
)


def apply(mutant: Mutant, root: Path) -> None:
    """Edit ``mutant.file`` under ``root``; raise ``LookupError`` if its old text is not there as often as
    expected."""
    path = root / mutant.file
    text = path.read_text(encoding="utf-8")
    found = text.count(mutant.old)
    if found != mutant.count:
        raise LookupError(f"{mutant.name}: {mutant.file} has the old text {found} times, not {mutant.count}: "
                          f"{mutant.old!r}")
    path.write_text(text.replace(mutant.old, mutant.new), encoding="utf-8")
    compile(path.read_text(encoding="utf-8"), str(path), "exec")  # a mutant must still be valid Python


def module_of(path: Path, root: Path) -> str:
    parts = path.relative_to(root).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def importers(module: str, root: Path) -> set[Path]:
    """The package's files that import ``module``, directly or through others (and its own file)."""
    files = {module_of(p, root): p for p in (root / "simulation").rglob("*.py")}
    imports: dict[str, set[str]] = {}
    for name, path in files.items():
        found = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module:
                found.add(node.module)
                found.update(f"{node.module}.{a.name}" for a in node.names)
            elif isinstance(node, ast.Import):
                found.update(a.name for a in node.names)
        imports[name] = found & set(files)
    reached, todo = {module}, [module]
    while todo:
        m = todo.pop()
        for name, found in imports.items():
            if m in found and name not in reached:
                reached.add(name)
                todo.append(name)
    return {files[m] for m in reached if m in files}


def drop_compiled(files: set[Path]) -> None:
    """Remove the Numba caches (and bytecode) of ``files``: a compiled function calling one of the mutated
    module would otherwise keep the unmutated callee from its cache."""
    for path in files:
        cache = path.parent / "__pycache__"
        for f in cache.glob(f"{path.stem}.*"):
            f.unlink()


def copy_repo(dest: Path) -> Path:
    for name in COPIED:
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(src, dest / name, copy_function=shutil.copy2,
                            ignore=shutil.ignore_patterns(".hypothesis", ".pytest_cache"))
        else:
            shutil.copy2(src, dest / name)
    return dest


def run_tests(root: Path, tests: tuple[str, ...]) -> tuple[list[str], list[str], str]:
    """Run ``tests`` on the copy at ``root``; return the ids of the tests run and of those that failed, and a
    status word."""
    report = root / "report.xml"
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-o", "addopts=",
           f"--junitxml={report}", *tests]
    env = {**os.environ, "PYTHONPATH": str(root), "HYPOTHESIS_PROFILE": "default"}
    env.pop("NUMBA_DISABLE_JIT", None)
    try:
        proc = subprocess.run(cmd, cwd=root, env=env, capture_output=True, text=True, timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired:
        return [], [], "timeout"
    if not report.exists():
        return [], [], f"error (pytest exit {proc.returncode}): {proc.stdout[-500:]} {proc.stderr[-500:]}"
    ran, failed = [], []
    for case in ET.parse(report).getroot().iter("testcase"):
        ran.append(f"{case.get('classname', '').rsplit('.', 1)[-1]}::{case.get('name')}")
        if case.find("failure") is not None or case.find("error") is not None:
            failed.append(ran[-1])
    if proc.returncode not in (0, 1):
        return ran, failed, f"error (pytest exit {proc.returncode}): {proc.stdout[-500:]}"
    return ran, failed, "killed" if failed else "survived"


def check_copy_imports_itself(root: Path) -> None:
    out = subprocess.run([sys.executable, "-c", "import simulation; print(simulation.__file__)"], cwd=root,
                         env={**os.environ, "PYTHONPATH": str(root)}, capture_output=True, text=True, check=True)
    if not Path(out.stdout.strip()).resolve().is_relative_to(root.resolve()):
        raise RuntimeError(f"the copy imports {out.stdout.strip()}, not its own package")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-k", dest="select", default="", help="only mutants whose name contains this")
    parser.add_argument("--list", action="store_true", help="list the mutants and exit")
    parser.add_argument("--tests", nargs="+", default=list(FAST_TESTS), help="the tests to run on each mutant")
    args = parser.parse_args(argv)
    chosen = [m for m in MUTANTS if args.select in m.name]
    if args.list:
        for m in chosen:
            print(f"{m.name:32} {m.file:34} {m.what}")
        return 0
    with tempfile.TemporaryDirectory(prefix="mutants-") as tmp:
        tmp = Path(tmp)
        # Every mutation must still apply before anything runs.
        for m in chosen:
            scratch = copy_repo(tmp / "check" / m.name)
            try:
                apply(m, scratch)
            except (LookupError, SyntaxError) as e:
                print(f"mutation does not apply: {e}", file=sys.stderr)
                return 2
        shutil.rmtree(tmp / "check")
        pristine = copy_repo(tmp / "pristine")
        check_copy_imports_itself(pristine)
        started = time.perf_counter()
        ran, failed, status = run_tests(pristine, tuple(args.tests))
        if status != "survived":  # the unmutated copy must pass everything
            print(f"the unmutated copy fails its tests ({status}): {failed}", file=sys.stderr)
            return 2
        for m in chosen:
            if not any(m.test in t for t in ran):
                print(f"{m.name}: its test {m.test!r} is not among the tests run", file=sys.stderr)
                return 2
        print(f"unmutated copy: all tests pass ({time.perf_counter() - started:.0f} s)", flush=True)
        rows = []
        for m in chosen:
            root = copy_repo(tmp / m.name)
            apply(m, root)
            drop_compiled(importers(module_of(root / m.file, root), root))
            started = time.perf_counter()
            _, failed, status = run_tests(root, tuple(args.tests))
            rows.append((m, status, failed, time.perf_counter() - started))
            shown = ", ".join(failed[:3]) + (f" (+{len(failed) - 3} more)" if len(failed) > 3 else "")
            print(f"{m.name}: {status} in {rows[-1][3]:.0f} s{': ' + shown if failed else ''}", flush=True)
            shutil.rmtree(root)
    print()
    print("| mutant | what it changes | its rule's test | also killed by | golden runs failing |")
    print("|---|---|---|---|---|")
    for m, status, failed, _ in rows:
        own = [f for f in failed if m.test in f]
        others = [f for f in failed if m.test not in f and not f.startswith("test_golden::")]
        golden = sum(f.startswith("test_golden::") for f in failed)
        verdict = "killed" if own else f"**{status if status != 'killed' else 'not killed'}**"
        also = f"{len(others)} other test{'s' if len(others) != 1 else ''}" if others else "-"
        golden_col = f"{golden} of {RUNS_GOLDEN}" if any("test_golden" in t for t in args.tests) else "not run"
        print(f"| `{m.name}` | {m.what} (`{m.file}`) | {verdict}: `{m.test}` | {also} | {golden_col} |")
    survived = [m.name for m, status, _, _ in rows if status != "killed"]
    missed = [m.name for m, status, failed, _ in rows if status == "killed" and not any(m.test in f for f in failed)]
    print(f"\n{len(rows) - len(survived)} of {len(rows)} mutants killed"
          + (f"; not killed: {', '.join(survived)}" if survived else "")
          + (f"; killed, but not by their rule's test: {', '.join(missed)}" if missed else ""))
    return 1 if survived or missed else 0


if __name__ == "__main__":
    sys.exit(main())
