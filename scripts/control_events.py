#!/usr/bin/env python3
"""Turn the recorded control of June 2014 into an events file for `conflict-sim replay` (ACLED's columns).

Usage:
    python scripts/control_events.py [--split calibration|all] [--fighting FILE] [--out FILE]

Reads `calibration/observations/control.csv` (the rows with use=yes of kind `taken` or `retaken`) and writes one
event per change of hands: `Non-state actor overtakes territory` when the insurgents or the Peshmerga take a
place, `Government regains territory` when the government or its tribal allies do, with `actor1` the name
replay maps to that faction, the place's coordinates from the scenario's places.csv and 0 fatalities (the
observations give no fatalities by place). Then it appends the rows of `--fighting` (default
`calibration/observations/fighting_events.csv`: recorded fighting with fatalities, in ACLED's columns, each row
with its source), so that displacement can be scored given the recorded war.

`--split calibration` (the default) keeps only rows dated on or before 2014-06-22, the calibration window, so
that a fit on the replay never reads a validation row; `--split all` keeps every row (for scoring the whole
month). Output: stdout or `--out`. Exit 2 with one line naming file, row and field on a bad row.
"""

from __future__ import annotations

import argparse
import csv
import io
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
COLUMNS = ["event_date", "event_type", "sub_event_type", "actor1", "actor2", "admin1", "location", "latitude",
           "longitude", "fatalities", "source", "note"]
CALIBRATION_END = "2014-06-22"
ACTOR = {  # names that simulation.replay.events.DEFAULT_ACTORS maps to each faction of the Iraq scenario
    "government": ("Government regains territory", "Military Forces of Iraq (2006-)"),
    "tribal": ("Government regains territory", "Sunni Tribal Militia (Iraq)"),
    "insurgent": ("Non-state actor overtakes territory", "Islamic State (Iraq)"),
    "peshmerga": ("Non-state actor overtakes territory", "Military Forces of Iraq (2006-) Peshmerga"),
}


def control_events(control: Path, places: Path, split: str) -> list[dict[str, str]]:
    """The change-of-hands events of ``control`` (see the module's docstring)."""
    where = {r["id"]: r for r in csv.DictReader(places.open(encoding="utf-8", newline=""))}
    out = []
    with control.open(encoding="utf-8", newline="") as f:
        for row, r in enumerate(csv.DictReader(f), start=2):
            if r["use"] != "yes" or r["kind"] not in ("taken", "retaken"):
                continue
            if split == "calibration" and (r["date"] > CALIBRATION_END or (r.get("date_high") or "") > CALIBRATION_END):
                continue
            if r["place"] not in where:
                raise ValueError(f"{control}, row {row}, field 'place': unknown place {r['place']!r}")
            if r["controller"] not in ACTOR:
                raise ValueError(f"{control}, row {row}, field 'controller': {r['controller']!r} is not one of "
                                 f"{', '.join(ACTOR)}")
            sub, actor = ACTOR[r["controller"]]
            p = where[r["place"]]
            out.append({"event_date": r["date"], "event_type": "Strategic developments", "sub_event_type": sub,
                        "actor1": actor, "actor2": "", "admin1": p["governorate"], "location": p["name"],
                        "latitude": p["lat"], "longitude": p["lon"], "fatalities": "0",
                        "source": f"calibration/observations/control.csv row {row}: {r['source']}",
                        "note": r.get("note", "")})
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--split", choices=("calibration", "all"), default="calibration")
    ap.add_argument("--control", type=Path, default=ROOT / "calibration" / "observations" / "control.csv")
    ap.add_argument("--places", type=Path, default=ROOT / "scenarios" / "iraq_june_2014" / "places.csv")
    ap.add_argument("--fighting", type=Path, default=ROOT / "calibration" / "observations" / "fighting_events.csv")
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args(argv)
    try:
        rows = control_events(args.control, args.places, args.split)
        with args.fighting.open(encoding="utf-8", newline="") as f:
            for r in csv.DictReader(f):
                if args.split == "all" or r["event_date"] <= CALIBRATION_END:
                    rows.append({c: r.get(c, "") for c in COLUMNS})
    except (OSError, ValueError, KeyError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    rows.sort(key=lambda r: r["event_date"])  # stable: the control rows of a day before its fighting
    buf = io.StringIO()
    w = csv.DictWriter(buf, COLUMNS, lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
    if args.out:
        args.out.write_text(buf.getvalue(), encoding="utf-8")
    else:
        sys.stdout.write(buf.getvalue())
    return 0


if __name__ == "__main__":
    sys.exit(main())
