"""The ensemble pictures of the docs: the report's share maps and the app's ensemble mode, as small PNGs.

    .venv/bin/python scripts/ensemble_screenshots.py --report runs/iraq-100     # an ensemble directory
    .venv/bin/python scripts/ensemble_screenshots.py --app                      # serve the app, drive Chromium

``--report DIR`` copies ``DIR/share_maps.png`` to ``docs/img/ensemble-share-maps.png``; ``--app`` serves the app,
switches to the ensemble mode (20 seeds), chooses *No air strikes* beside the baseline, waits for both
ensembles and saves the top of the page to ``docs/img/app-ensemble.png``. Both are reduced to at most 1200
pixels wide and a palette of 256 colours (Pillow), so that the repository stays small.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

IMG = ROOT / "docs" / "img"


def shrink(src: Path, dest: Path, width: int = 1200, crop_height: int | None = None) -> Path:
    """``src`` reduced to ``width`` pixels wide (optionally its top ``crop_height`` pixels only), 256 colours."""
    from PIL import Image

    with Image.open(src) as im:
        im = im.convert("RGB")
        if crop_height is not None:
            im = im.crop((0, 0, im.width, min(crop_height, im.height)))
        if im.width > width:
            im = im.resize((width, round(im.height * width / im.width)), Image.LANCZOS)
        # Fast octree keeps the rare colours (a faction seen in few places); median cut merges them away.
        im.quantize(colors=256, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE).save(dest, optimize=True)
    return dest


def app_screenshot(out: Path) -> Path:
    from playwright.sync_api import expect, sync_playwright

    from scripts.app_screenshot import VIEWPORT, find_chromium, free_port, launch_chromium, serve_app
    from simulation.app.ensemble import DEFAULT_SEEDS, button_label
    from simulation.app.state import DEFAULT_SCENARIO

    chromium = find_chromium()
    if chromium is None:
        raise SystemExit("error: chromium is not installed (apt-get install -y chromium)")
    raw = out.with_suffix(".raw.png")
    log = out.with_suffix(".server.log")
    try:
        with serve_app(DEFAULT_SCENARIO, free_port(), log) as url, sync_playwright() as pw:
            browser = launch_chromium(pw, chromium)
            page = browser.new_page(viewport=VIEWPORT)
            page.goto(url)
            expect(page.get_by_test_id("day-counter")).to_be_visible(timeout=120_000)
            page.get_by_role("button", name="Ensemble").click()
            page.get_by_role("button", name=button_label("no_air_strikes")).click()
            for tag in ("baseline", "counterfactual"):
                expect(page.get_by_test_id(f"ensemble-status-{tag}")).to_contain_text(
                    f"{DEFAULT_SEEDS} runs (seeds", timeout=300_000)
            expect(page.get_by_test_id("chart-ensemble-killed-counterfactual")).to_be_visible(timeout=60_000)
            page.locator("[data-testid=map-baseline] [data-place=tal_afar] .place-shape").hover()
            expect(page.get_by_test_id("map-hover").first).to_be_visible()
            page.wait_for_timeout(1000)
            page.screenshot(path=str(raw))
            browser.close()
        return shrink(raw, out, crop_height=1250)
    finally:
        raw.unlink(missing_ok=True)
        log.unlink(missing_ok=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--report", type=Path, default=None, metavar="DIR", help="an ensemble directory")
    parser.add_argument("--app", action="store_true", help="screenshot the app's ensemble mode")
    args = parser.parse_args(argv)
    if args.report is not None:
        print(shrink(args.report / "share_maps.png", IMG / "ensemble-share-maps.png"))
    if args.app:
        print(app_screenshot(IMG / "app-ensemble.png"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
