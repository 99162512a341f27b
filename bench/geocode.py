"""Geocoding throughput on the Luohu standard-address library, next to the issue's target.

Queries are the library's own addresses written the ways people write them (levels left
out, full-width digits, Chinese numerals, 號/棟, rooms, spaces), with road-name slips and
wrong door numbers mixed in, all different so no cache helps. Figures, one process on one
core:

* a dict lookup per query: the machine's floor for any per-address Python work;
* ``normalise`` and ``parse`` alone: the share of the time spent reading the text;
* ``Gazetteer.geocode``: the figure the issue sets at 2,000 addresses/s or more;
* ``geocode_file`` on a CSV of the same queries: the batch path, files included.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from cityos.foundation.geo.address import normalise, parse
from cityos.foundation.geo.batch import geocode_file
from cityos.foundation.geo.geocode import AddressRecord, Gazetteer, read_standard_addresses

PROFILE = Path(__file__).resolve().parents[1] / "src" / "cityos" / "profiles" / "luohu" / "geo"
TARGET = 2_000.0
FULL_WIDTH = str.maketrans("0123456789AB", "０１２３４５６７８９ＡＢ")
CN = "零一二三四五六七八九"


def region_names(folder: Path) -> dict[str, str]:
    names: dict[str, str] = {}
    for level in ("district", "subdistricts", "communities", "grids"):
        path = folder / f"{level}.geojson"
        if path.exists():
            for feature in json.loads(path.read_text(encoding="utf-8"))["features"]:
                names[feature["properties"]["code"]] = feature["properties"]["name_zh"]
    return names


def query(record: AddressRecord, names: dict[str, str], rng: random.Random) -> str:
    """One way a person could write this address (or get it slightly wrong)."""
    road, number = record.road, record.number
    roll = rng.random()
    if roll < 0.10:
        road = road[:1] + rng.choice("男北西新大") + road[2:]  # a slip of the hand
    elif roll < 0.15:
        number = str(int(number) + rng.choice((-3, -1, 1, 3)))  # a wrong door
    if rng.random() < 0.2:
        number = "".join(CN[int(d)] for d in number)
    parts = [
        rng.choice(["深圳市罗湖区", "罗湖区", "广东省深圳市罗湖区", "", ""]),
        rng.choice([names.get(record.subdistrict, ""), ""]),
        rng.choice([names.get(record.community, ""), "", ""]),
        road,
        number + rng.choice(["号", "號"]),
        record.building.replace("栋", rng.choice(["栋", "棟", "幢"])),
        record.unit,
        rng.choice(["", f"{rng.randint(1, 30)}{rng.randint(1, 12):02d}", "1201室"]),
    ]
    text = rng.choice(["", " "]).join(p for p in parts if p)
    return text.translate(FULL_WIDTH) if rng.random() < 0.2 else text


def rate(label: str, work: Callable[[str], object], queries: list[str]) -> float:
    started = time.perf_counter()
    for text in queries:
        work(text)
    per_second = len(queries) / (time.perf_counter() - started)
    print(f"  {label:<34} {per_second:>12,.0f} /s")
    return per_second


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--profile", type=Path, default=PROFILE, help="a profile's geo folder")
    parser.add_argument("--queries", type=int, default=20_000)
    args = parser.parse_args(argv)
    addresses = args.profile / "addresses.csv"
    if not addresses.exists():
        print(f"no {addresses}: run scripts/generate_luohu_geo.py first", file=sys.stderr)
        return 1

    started = time.perf_counter()
    records = read_standard_addresses(addresses)
    names = region_names(args.profile)
    gazetteer = Gazetteer(records, names=names)
    built = time.perf_counter() - started
    rng = random.Random(440303)
    queries = list(
        dict.fromkeys(query(rng.choice(records), names, rng) for _ in range(args.queries))
    )
    print(f"library: {len(records):,} standard addresses, loaded and indexed in {built:.2f} s")
    print(f"queries: {len(queries):,} distinct texts, one process\n")

    lookup = {text: i for i, text in enumerate(queries)}
    floor = rate("dict lookup (reference)", lookup.get, queries)
    rate("normalise", normalise, queries)
    parsed = rate("parse", parse, queries)
    geocoded = rate("Gazetteer.geocode", gazetteer.geocode, queries)
    statuses = Counter(gazetteer.geocode(text).status for text in queries)

    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "in.csv"
        with source.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["id", "address"])
            writer.writerows(enumerate(queries))
        started = time.perf_counter()
        geocode_file(
            source,
            Path(tmp) / "out.csv",
            Path(tmp) / "failures.csv",
            gazetteer=Gazetteer(records, names=names),
        )
        batch = len(queries) / (time.perf_counter() - started)
    print(f"  {'geocode_file (CSV in, CSV out)':<34} {batch:>12,.0f} /s")

    print(f"\nstatuses: {dict(statuses)}")
    print(
        f"\ngeocode: {geocoded:,.0f} addresses/s against the issue's target of {TARGET:,.0f}/s"
        f" ({geocoded / TARGET:.1f}×); batch file {batch:,.0f}/s ({batch / TARGET:.1f}×)"
    )
    print(
        f"         {geocoded / parsed:.0%} of the rate of parse alone,"
        f" {geocoded / floor:.2%} of a bare dict lookup on this machine"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
