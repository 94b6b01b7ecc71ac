"""The app in a real browser: `conflict-sim viz` served on a free port and driven in headless Chromium.

Debian's ``chromium`` is driven through Playwright's ``executable_path`` (browser downloads are not possible
here). Without chromium the test is skipped, except under CI (``CI`` set), where it fails: `.ci/run` installs it.
"""

from __future__ import annotations

import os
import struct

import pytest

from scripts.app_screenshot import (
    VIEWPORT,
    controllers_on_map,
    day_pattern,
    find_chromium,
    free_port,
    launch_chromium,
    serve_app,
    step_to,
)
from simulation.app.assets import missing_packages
from simulation.app.state import DEFAULT_SCENARIO, AppModel, available_counterfactuals, default_settings, short_name

pytestmark = pytest.mark.timeout(300)

DAYS = 15  # to mid-June: Mosul, Tikrit and Tal Afar have fallen in reality by then


def chromium_or_skip() -> str:
    path = find_chromium()
    if path is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed, and under CI the browser test must run: .ci/run installs it "
                        "with `apt-get install -y chromium`")
        pytest.skip("Debian's chromium is not installed (apt-get install -y chromium); this test drives it")
    return path


def model_controllers(model: AppModel) -> dict[str, str]:
    return {pid: model.faction_ids[c] for pid, c in zip(model.world.place_ids, model.controller.tolist())}


def clickable(page, place_ids: list[str]) -> str | None:
    """The first place whose shape's centre is not covered by another place's shape."""
    return page.evaluate("""ids => ids.find(id => {
        const shape = document.querySelector(`[data-place="${id}"] .place-shape`);
        if (!shape) return false;
        const box = shape.getBoundingClientRect();
        const hit = document.elementFromPoint(box.x + box.width / 2, box.y + box.height / 2);
        return hit && hit.closest('[data-place]') && hit.closest('[data-place]').dataset.place === id;
    }) || null""", place_ids)


def png_size(path) -> tuple[int, int]:
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG file"
    return struct.unpack(">II", head[16:24])


def test_app_steps_the_offensive_in_chromium(tmp_path):
    chromium = chromium_or_skip()
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=30_000)  # each wait ends as soon as the page shows it; 30 s allows a loaded machine

    missing = missing_packages()
    assert not missing, (f"the app's front-end files are missing ({', '.join(missing)}): install them with "
                         "`.venv/bin/python -m simulation.app.assets` (make setup does)")
    # The same model the page builds, stepped beside it: the page must show exactly its state.
    reference = AppModel(**default_settings())
    names = {p.id: p.name for p in reference.scenario_data.places}

    with serve_app(DEFAULT_SCENARIO, free_port(), tmp_path / "server.log") as url, sync_playwright() as pw:
        browser = launch_chromium(pw, chromium)
        page = browser.new_page(viewport=VIEWPORT)
        failed: list[str] = []
        page.on("response", lambda r: failed.append(f"{r.status} {r.url}")
                if r.status >= 400 and r.url.startswith(url) else None)
        page.on("requestfailed", lambda r: failed.append(f"failed {r.url}") if r.url.startswith(url) else None)
        page.goto(url)

        counter = page.get_by_test_id("day-counter")
        expect(counter).to_have_text(day_pattern(0, reference.days), timeout=90_000)
        expect(page.get_by_test_id("map")).to_have_attribute("data-day", "0", timeout=30_000)
        expect(page.locator("[data-place]")).to_have_count(len(names))
        start = controllers_on_map(page)
        assert start == model_controllers(reference)

        step_to(page, DAYS, reference.days)
        for _ in range(DAYS):
            reference.step()
        expect(counter).to_have_text(day_pattern(DAYS, reference.days))
        shown = controllers_on_map(page)
        assert shown == model_controllers(reference), "the map does not show the model's controllers"
        changed = [p for p in shown if shown[p] != start[p]]
        assert changed, f"no place changed hands in {DAYS} days"

        # Clicking a place that changed hands shows its card with the new controller.
        by_size = sorted(changed, key=lambda p: -reference.world.population0[reference.world.index[p]])
        place = clickable(page, [p for p in by_size if p != "mosul"] or by_size)
        assert place is not None, "every place that changed hands is covered by another on the map"
        page.locator(f'[data-place="{place}"] .place-shape').click()
        card = page.get_by_test_id("place-card")
        expect(card).to_contain_text(names[place])
        holder = reference.scenario_data.faction(shown[place])
        expect(page.get_by_test_id("place-controller")).to_have_text(short_name(holder.name))

        # Hovering a place shows who holds it.
        page.locator(f'[data-place="{place}"] .place-shape').hover()
        hover = page.get_by_test_id("map-hover")
        expect(hover).to_contain_text(names[place])
        expect(hover).to_contain_text(f"held by {short_name(holder.name)}")

        shot = tmp_path / "app-mid-june.png"
        page.screenshot(path=str(shot))
        assert png_size(shot) == (VIEWPORT["width"], VIEWPORT["height"])
        assert shot.stat().st_size > 100_000, "the screenshot looks blank"

        # A counterfactual applies on Reset, which starts the run again from the first day.
        page.get_by_label(available_counterfactuals(reference.scenario_data)["no_air_strikes"]).check()
        expect(page.get_by_text("Settings changed")).to_be_visible()
        page.get_by_role("button", name="Reset").click()
        expect(counter).to_have_text(day_pattern(0, reference.days))
        expect(page.get_by_test_id("map")).to_have_attribute("data-day", "0")
        expect(page.get_by_text("Settings changed")).to_have_count(0)
        assert controllers_on_map(page) == start
        no_air = AppModel(**{**default_settings(), "no_air_strikes": True})
        for day in range(1, 9):  # the scenario's first sorties are flown on 5 June
            step_to(page, day, reference.days, start=day - 1)
            no_air.step()
            expect(page.locator('[data-air="true"]')).to_have_count(0)
        assert controllers_on_map(page) == model_controllers(no_air)
        assert not failed, f"requests to the app failed: {failed}"
        browser.close()


def map_shares(page, testid: str) -> dict[str, dict[str, float]]:
    """Each place's shares of runs as the ensemble map ``testid`` draws them (``data-shares``)."""
    import json

    raw = page.locator(f"[data-testid={testid}] [data-place]").evaluate_all(
        "els => Object.fromEntries(els.map(e => [e.dataset.place, e.dataset.shares]))")
    return {place: json.loads(text) for place, text in raw.items()}


def expected_shares(ens, day: int) -> dict[str, dict[str, float]]:
    share = ens.control_share()[day]
    return {pid: {ens.factions[f]: round(float(share[k, f]), 6) for f in range(len(ens.factions)) if share[k, f] > 0}
            for k, pid in enumerate(ens.scenario.place_ids)}


def set_day_slider(page, day: int, days: int) -> None:
    """Move the ensemble mode's day slider to ``day`` (1 .. days) with the keyboard, as a user can."""
    from playwright.sync_api import expect

    thumb = page.get_by_role("slider").first
    thumb.focus()
    page.keyboard.press("Home")
    for _ in range(day - 1):
        page.keyboard.press("ArrowRight")
    expect(page.get_by_test_id("ensemble-day")).to_have_text(day_pattern(day, days))


def test_ensemble_mode_shows_shares_and_a_counterfactual_beside_them(tmp_path):
    """The ensemble mode: the runs are computed in the background with a progress indicator, the map shows the
    share of runs each side holds each place (the same shares as the ensemble computed here), and choosing a
    counterfactual shows its ensemble, with other shares, beside the baseline."""
    chromium = chromium_or_skip()
    import numpy as np
    from playwright.sync_api import expect, sync_playwright

    from simulation.app.ensemble import DEFAULT_SEEDS, button_label, compute_ensemble
    from simulation.app.state import cached_scenario, observations_for

    expect.set_options(timeout=30_000)
    settings = default_settings()
    observations = observations_for(cached_scenario(settings["scenario"]))
    base = compute_ensemble(settings, None, DEFAULT_SEEDS, observations)
    other = compute_ensemble(settings, "no_air_strikes", DEFAULT_SEEDS, observations)
    differs = np.flatnonzero((base.control_share() != other.control_share()).any(axis=(1, 2)))
    assert differs.size, "no air strikes changes no share of runs on any day"
    day = base.days if base.days - 1 in differs else int(differs[0]) + 1  # the last day, if it differs there

    with serve_app(DEFAULT_SCENARIO, free_port(), tmp_path / "server.log") as url, sync_playwright() as pw:
        browser = launch_chromium(pw, chromium)
        page = browser.new_page(viewport=VIEWPORT)
        page.goto(url)
        expect(page.get_by_test_id("day-counter")).to_be_visible(timeout=90_000)
        page.get_by_role("button", name="Ensemble").click()
        status = page.get_by_test_id("ensemble-status-baseline")
        expect(status).to_contain_text("computing runs")  # the progress indicator, while the runs go on
        expect(status).to_have_text(f"Baseline: {DEFAULT_SEEDS} runs (seeds 1–{DEFAULT_SEEDS})", timeout=300_000)
        places = page.locator("[data-testid=map-baseline] [data-place]")
        expect(places).to_have_count(len(base.scenario.places))
        if day != base.days:
            set_day_slider(page, day, base.days)
        expect(page.locator("[data-testid=map-baseline] [data-testid=map]")).to_have_attribute("data-day", str(day))
        shown = map_shares(page, "map-baseline")
        assert shown == expected_shares(base, day - 1), "the map does not show the ensemble's shares"
        for place, shares in shown.items():
            assert abs(sum(shares.values()) - 1) < 1e-5, place
            wedges = page.locator(f"[data-testid=map-baseline] [data-place={place}] .place-shape path")
            assert wedges.count() == len(shares), f"{place}: one wedge per side holding it in some run"
        shot = tmp_path / "app-ensemble.png"
        page.screenshot(path=str(shot))
        assert shot.stat().st_size > 100_000, "the screenshot looks blank"

        page.get_by_role("button", name=button_label("no_air_strikes")).click()
        status = page.get_by_test_id("ensemble-status-counterfactual")
        expect(status).to_contain_text(f"{DEFAULT_SEEDS} runs (seeds 1–{DEFAULT_SEEDS})", timeout=300_000)
        # The status can read "done" a moment before the map beside it is drawn: wait for the map, as above.
        expect(page.locator("[data-testid=map-counterfactual] [data-place]")).to_have_count(len(base.scenario.places))
        expect(page.locator("[data-testid=map-counterfactual] [data-testid=map]")).to_have_attribute("data-day",
                                                                                                     str(day))
        beside = map_shares(page, "map-counterfactual")
        assert beside == expected_shares(other, day - 1)
        assert beside != shown, "the counterfactual's map shows the baseline's shares"
        assert map_shares(page, "map-baseline") == shown, "the baseline's map changed"
        expect(page.get_by_test_id("chart-ensemble-killed-counterfactual")).to_be_visible()
        browser.close()
