"""Serve the app, drive it in headless Chromium to mid-June and save a screenshot (the one the README shows).

    .venv/bin/python scripts/app_screenshot.py                      # writes docs/img/app-mid-june.png
    .venv/bin/python scripts/app_screenshot.py --day 20 --out /tmp/app.png

The helpers here (start the server on a free port, launch Debian's Chromium, step the app) are shared with
``tests/test_app_browser.py``. Browser downloads are not possible here, so Playwright drives the system's
``chromium`` (``apt-get install -y chromium``) through ``executable_path``.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = ROOT / "docs" / "img" / "app-mid-june.png"
VIEWPORT = {"width": 1600, "height": 1880}
# Flags for a closed network and a root user: no sandbox, no GPU, nothing that calls home.
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage"]


def find_chromium() -> str | None:
    """The path of Debian's Chromium (``chromium`` on PATH, or /usr/bin/chromium), or None."""
    found = shutil.which("chromium")
    if found:
        return found
    return "/usr/bin/chromium" if os.access("/usr/bin/chromium", os.X_OK) else None


def free_port() -> int:
    """A TCP port that is free on 127.0.0.1 right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def serve_app(scenario: str | Path, port: int, log: Path, timeout: float = 180.0) -> Iterator[str]:
    """Run ``conflict-sim viz SCENARIO --port PORT`` in a subprocess until the block ends; yield its URL.

    Waits until the page answers (or the server exits, or ``timeout`` seconds pass: RuntimeError with the end
    of the server's output). The server is stopped with SIGTERM, then killed if it lingers.
    """
    url = f"http://127.0.0.1:{port}/"
    with log.open("w", encoding="utf-8") as out:
        proc = subprocess.Popen([sys.executable, "-m", "simulation.cli", "viz", str(scenario), "--port", str(port)],
                                cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + timeout
            while True:
                if proc.poll() is not None:
                    raise RuntimeError(f"the app server exited with code {proc.returncode}:\n{_tail(log)}")
                try:
                    with urllib.request.urlopen(url, timeout=30) as response:
                        if response.status == 200:
                            break
                except (urllib.error.URLError, OSError):
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(f"the app server did not answer within {timeout:g} s:\n{_tail(log)}")
                time.sleep(0.25)
            yield url
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _tail(log: Path, lines: int = 30) -> str:
    return "\n".join(log.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])


def launch_chromium(playwright: Any, executable: str) -> Any:
    """Launch headless Chromium ``executable`` with Playwright."""
    return playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS, headless=True)


def day_pattern(day: int, days: int) -> re.Pattern[str]:
    """The day counter's text after ``day`` days of a June 2014 scenario of ``days`` days."""
    when = r"start, \w{3} 01 Jun 2014" if day == 0 else rf"\w{{3}} {day:02d} Jun 2014"
    return re.compile(rf"^Day {day} of {days} · {when}$")


def step_to(page: Any, day: int, days: int, start: int = 0) -> None:
    """Press Step until the app shows ``day``, waiting after each press for the counter and the map to follow."""
    from playwright.sync_api import expect

    counter = page.get_by_test_id("day-counter")
    for d in range(start + 1, day + 1):
        page.get_by_role("button", name="Step").click()
        expect(counter).to_have_text(day_pattern(d, days), timeout=30_000)
        expect(page.get_by_test_id("map")).to_have_attribute("data-day", str(d), timeout=30_000)


def controllers_on_map(page: Any) -> dict[str, str]:
    """Each place's controller as the map draws it (``data-controller`` of its ``data-place`` group)."""
    return page.locator("[data-place]").evaluate_all(
        "els => Object.fromEntries(els.map(e => [e.dataset.place, e.dataset.controller]))")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", default=str(ROOT / "scenarios" / "iraq_june_2014"))
    parser.add_argument("--day", type=int, default=15, help="days to run before the screenshot (default 15)")
    parser.add_argument("--place", default="tikrit", help="place to select on the map (default tikrit)")
    parser.add_argument("--hover", default="al_qaim", help="place to hover over (default al_qaim)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--map-out", type=Path, default=None,
                        help="also save the map and its legend alone, without the hover card")
    args = parser.parse_args(argv)
    chromium = find_chromium()
    if chromium is None:
        print("error: chromium is not installed (apt-get install -y chromium)", file=sys.stderr)
        return 2
    from playwright.sync_api import expect, sync_playwright

    log = args.out.with_suffix(".server.log")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    try:
        with serve_app(args.scenario, free_port(), log) as url, sync_playwright() as pw:
            browser = launch_chromium(pw, chromium)
            page = browser.new_page(viewport=VIEWPORT)
            page.goto(url)
            counter = page.get_by_test_id("day-counter")
            expect(counter).to_contain_text("Day 0 of", timeout=60_000)
            days = int(re.search(r"of (\d+)", counter.inner_text()).group(1))
            step_to(page, args.day, days)
            if args.place:
                page.locator(f"[data-place={args.place}] .place-shape").click()
                expect(page.get_by_test_id("place-card")).to_contain_text(args.place.replace("_", " ").title()[:4])
            if args.hover:
                page.locator(f"[data-place={args.hover}] .place-shape").hover()
                expect(page.get_by_test_id("map-hover")).to_be_visible()
            page.screenshot(path=str(args.out))
            if args.map_out:
                page.mouse.move(0, 0)
                expect(page.get_by_test_id("map-hover")).to_have_count(0)
                card = page.get_by_test_id("map").locator("xpath=ancestor::div[contains(@class, 'v-card')][1]")
                card.screenshot(path=str(args.map_out))
                print(args.map_out)
            browser.close()
    finally:
        log.unlink(missing_ok=True)
    print(args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
