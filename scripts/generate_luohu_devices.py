"""Generate the sensing devices of the Luohu District profile (罗湖区物联感知设备).

Writes ``devices.geojson`` into four packs under ``src/cityos/profiles/luohu/packs/``: one
Point feature per device with properties ``code``, ``name``, ``name_en``, ``device_type``
(a type of the pack's ``device-types.yaml``), ``synthetic: true`` and ``attributes`` (what
the device is attached to). Every device is synthetic: real device positions are not public.

Where they stand, read from the profile's own geography (``geo/``):

- flood: rain gauges on school roofs and in parks, spread across the district; river level
  gauges every ~600 m along the 深圳河, 布吉河 and 梧桐山河 (those on the 深圳河, which is
  the district's southern boundary, set a little inland, on the embankment); waterlogging
  gauges at every flood-prone spot (a second one at the riskier spots) and on the low roads
  within 400 m of a river;
- fire: smoke detectors in homes (standard addresses); pressure sensors on a sample of the
  hydrants, every low-pressure one included;
- city: manhole covers along the roads; dust and noise monitors at construction sites near
  where people live; air-quality micro stations spread over the populated area;
- traffic: flow detectors on the roads; car-park monitors near landmarks, hospitals and in
  the dense blocks.

Run: ``.venv/bin/python scripts/generate_luohu_devices.py`` (rewrites the files) or with
``--check`` (exit status 1 when a file is not what the generator makes). It is deterministic:
every random draw comes from a generator seeded with a fixed number.
"""

from __future__ import annotations

import argparse
import csv
import importlib.util
import json
import math
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import shapely
from shapely import LineString, Point, Polygon
from shapely.geometry import shape
from shapely.ops import nearest_points

ROOT = Path(__file__).resolve().parents[1]
PROFILE_DIR = ROOT / "src" / "cityos" / "profiles" / "luohu"
GEO_DIR = PROFILE_DIR / "geo"
PACKS_DIR = PROFILE_DIR / "packs"
SEED = 4403036
# Local metres around the district's centre: an equirectangular projection is within a few
# centimetres per kilometre here, plenty for placing devices.
LON0, LAT0 = 114.15, 22.565
M_PER_DEG_LAT = 110_574.0
M_PER_DEG_LON = 111_320.0 * math.cos(math.radians(LAT0))
INSET_M = 12.0  # devices stand at least this far inside the district boundary

PACK_OF_TYPE = {
    "rain-gauge": "flood",
    "river-level-gauge": "flood",
    "waterlogging-gauge": "flood",
    "smoke-detector": "fire",
    "hydrant-pressure-sensor": "fire",
    "manhole-cover-sensor": "city",
    "construction-site-monitor": "city",
    "air-quality-station": "city",
    "traffic-flow-detector": "traffic",
    "parking-occupancy-sensor": "traffic",
}
PREFIX = {
    "rain-gauge": ("RG", "雨量计", "Rain gauge"),
    "river-level-gauge": ("RL", "河道水位计", "River level gauge"),
    "waterlogging-gauge": ("WL", "积水监测仪", "Waterlogging gauge"),
    "smoke-detector": ("SD", "独立式烟感", "Smoke detector"),
    "hydrant-pressure-sensor": ("HP", "消火栓水压监测", "Hydrant pressure sensor"),
    "manhole-cover-sensor": ("MC", "智能井盖", "Manhole cover sensor"),
    "construction-site-monitor": ("CS", "工地扬尘噪声监测", "Site dust and noise monitor"),
    "air-quality-station": ("AQ", "空气质量微站", "Air-quality micro station"),
    "traffic-flow-detector": ("TF", "交通流量检测器", "Traffic flow detector"),
    "parking-occupancy-sensor": ("PK", "停车场泊位监测", "Car-park occupancy monitor"),
}
RIVER_EN = {"深圳河": "Shenzhen River", "布吉河": "Buji River", "梧桐山河": "Wutongshan River"}


def to_m(lon: float, lat: float) -> tuple[float, float]:
    """Local metres east and north of the district's centre."""
    return (lon - LON0) * M_PER_DEG_LON, (lat - LAT0) * M_PER_DEG_LAT


def to_lonlat(x: float, y: float) -> tuple[float, float]:
    """The inverse of ``to_m``, rounded to 6 decimals as the geo files are."""
    return round(LON0 + x / M_PER_DEG_LON, 6), round(LAT0 + y / M_PER_DEG_LAT, 6)


def _geo_script() -> ModuleType:
    """The geography generator, for the river lines and the reservoir it draws."""
    path = ROOT / "scripts" / "generate_luohu_geo.py"
    spec = importlib.util.spec_from_file_location("generate_luohu_geo", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("generate_luohu_geo", module)
    spec.loader.exec_module(module)
    return module


def _project(geometry: Any) -> Any:
    return shapely.transform(geometry, lambda xy: np.column_stack([*_xy_to_m(xy[:, 0], xy[:, 1])]))


def _xy_to_m(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return (lon - LON0) * M_PER_DEG_LON, (lat - LAT0) * M_PER_DEG_LAT


@dataclass
class Geography:
    """The profile's geography in local metres."""

    inside: Any  # the district less a margin and the reservoir
    rivers: dict[str, LineString]
    roads: list[tuple[str, str, LineString]]
    road_en: dict[str, str]
    addresses: list[dict[str, Any]]
    layers: dict[str, list[tuple[dict[str, Any], Point]]]


def read_geography() -> Geography:
    """Read the region, address and layer files the geo generator wrote."""
    geo = _geo_script()
    district = json.loads((GEO_DIR / "district.geojson").read_text(encoding="utf-8"))
    outline = _project(shape(district["features"][0]["geometry"]))
    reservoir = _project(Polygon(geo.RESERVOIR))
    inside = outline.buffer(-INSET_M).difference(reservoir.buffer(INSET_M))
    shapely.prepare(inside)
    rivers = {name: _project(LineString(line)) for name, line in geo.RIVERS.items()}
    layers: dict[str, list[tuple[dict[str, Any], Point]]] = {}
    for name in ("roads", "flood_points", "hydrants", "schools", "landmarks", "hospitals"):
        data = json.loads((GEO_DIR / "layers" / f"{name}.geojson").read_text(encoding="utf-8"))
        layers[name] = [(f["properties"], _project(shape(f["geometry"]))) for f in data["features"]]
    roads = [(p["name"], p["name_en"], g) for p, g in layers.pop("roads")]
    with (GEO_DIR / "addresses.csv").open(encoding="utf-8") as handle:
        addresses = []
        for row in csv.DictReader(handle):
            x, y = to_m(float(row["lon"]), float(row["lat"]))
            addresses.append({**row, "x": x, "y": y})
    road_en = {zh: en for zh, en, _ in roads}
    return Geography(inside, rivers, roads, road_en, addresses, layers)


def plain(name: str) -> str:
    """A layer feature's name without its ``（模拟）`` / ``(synthetic)`` mark: the device's
    own name says it is synthetic once, in its properties."""
    return name.replace("（模拟）", "").replace(" (synthetic)", "").strip()


@dataclass
class Placer:
    """Devices as they are placed, each type numbered in placement order."""

    geography: Geography
    features: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def inside(self, x: float, y: float) -> bool:
        return bool(shapely.contains_xy(self.geography.inside, x, y))

    def inland(self, x: float, y: float) -> tuple[float, float]:
        """The point itself if inside, else the nearest point a little further inside."""
        if self.inside(x, y):
            return x, y
        inner = self.geography.inside.buffer(-3.0)
        near = nearest_points(inner, Point(x, y))[0]
        return float(near.x), float(near.y)

    def add(
        self,
        device_type: str,
        x: float,
        y: float,
        place_zh: str,
        place_en: str,
        attributes: dict[str, Any],
    ) -> None:
        if not self.inside(x, y):
            raise ValueError(f"{device_type} at ({x:.0f}, {y:.0f}) is outside the district")
        prefix, zh, en = PREFIX[device_type]
        placed = self.features.setdefault(device_type, [])
        code = f"{prefix}-{len(placed) + 1:04d}"
        lon, lat = to_lonlat(x, y)
        placed.append(
            {
                "type": "Feature",
                "properties": {
                    "code": code,
                    "name": f"{zh} {code}（{place_zh}）",
                    "name_en": f"{en} {code} ({place_en})",
                    "device_type": device_type,
                    "synthetic": True,
                    "attributes": attributes,
                },
                "geometry": {"type": "Point", "coordinates": [lon, lat]},
            }
        )

    def count(self, device_type: str) -> int:
        return len(self.features.get(device_type, []))


def spread(
    points: Sequence[tuple[float, float]], count: int, rng: np.random.Generator
) -> list[int]:
    """Indexes of ``count`` points chosen farthest-first (an even spread), from a random start."""
    xy = np.asarray(points, dtype=float)
    chosen = [int(rng.integers(len(xy)))]
    distance = np.hypot(*(xy - xy[chosen[0]]).T)
    while len(chosen) < min(count, len(xy)):
        best = int(np.argmax(distance))
        chosen.append(best)
        distance = np.minimum(distance, np.hypot(*(xy - xy[best]).T))
    return chosen


def along_roads(
    roads: list[tuple[str, str, LineString]],
    count: int,
    rng: np.random.Generator,
    min_gap: float,
    accept: Callable[[float, float], bool],
) -> list[tuple[float, float, str, str]]:
    """``count`` positions on the roads, by length, at least ``min_gap`` metres apart."""
    lengths = np.array([line.length for _, _, line in roads])
    found: list[tuple[float, float, str, str]] = []
    tries = 0
    while len(found) < count and tries < count * 200:
        tries += 1
        r = int(rng.choice(len(roads), p=lengths / lengths.sum()))
        name, name_en, line = roads[r]
        p = line.interpolate(float(rng.uniform(0, line.length)))
        x, y = float(p.x) + rng.normal(0, 3), float(p.y) + rng.normal(0, 3)
        if not accept(x, y):
            continue
        if any(math.hypot(x - fx, y - fy) < min_gap for fx, fy, _, _ in found):
            continue
        found.append((x, y, name, name_en))
    return found


# --- each kind of device --------------------------------------------------------------------


def flood(placer: Placer, rng: np.random.Generator) -> None:
    """Rain gauges, river level gauges and waterlogging gauges."""
    geo = placer.geography
    sites = [
        (float(g.x), float(g.y), plain(p["name"]), plain(p["name_en"]), "school")
        for p, g in geo.layers["schools"]
    ] + [
        (float(g.x), float(g.y), plain(p["name"]), plain(p["name_en"]), "park")
        for p, g in geo.layers["landmarks"]
        if p["category"] in {"park", "garden", "mountain"}
    ]
    sites = [s for s in sites if placer.inside(s[0], s[1])]
    for i in sorted(spread([(s[0], s[1]) for s in sites], 32, rng)):
        x, y, zh, en, kind = sites[i]
        placer.add("rain-gauge", x + rng.normal(0, 8), y + rng.normal(0, 8), zh, en, {"site": kind})

    for river in ("深圳河", "布吉河", "梧桐山河"):
        line = geo.rivers[river]
        stations = max(2, int(line.length // 600))
        for k in range(stations):
            p = line.interpolate((k + 0.5) * line.length / stations)
            x, y = placer.inland(float(p.x), float(p.y))
            placer.add(
                "river-level-gauge",
                x,
                y,
                f"{river}{k + 1}号断面",
                f"{RIVER_EN[river]} section {k + 1}",
                {"river": river, "section": k + 1},
            )

    for props, g in geo.layers["flood_points"]:
        spot = props["name"].split()[1].split("（")[0]
        where = (f"易涝点 {spot}", f"flood-prone spot {spot}")
        x, y = placer.inland(float(g.x) + rng.normal(0, 6), float(g.y) + rng.normal(0, 6))
        attributes = {"flood_point": spot, "risk_level": props["risk_level"]}
        placer.add("waterlogging-gauge", x, y, *where, attributes)
        if props["risk_level"] >= 2:
            angle, reach = rng.uniform(0, 2 * math.pi), rng.uniform(40, 90)
            x2, y2 = placer.inland(x + reach * math.cos(angle), y + reach * math.sin(angle))
            placer.add("waterlogging-gauge", x2, y2, *where, attributes)
    rivers = shapely.union_all(list(geo.rivers.values()))
    low = along_roads(
        geo.roads,
        24,
        rng,
        250.0,
        lambda x, y: placer.inside(x, y) and rivers.distance(Point(x, y)) < 400,
    )
    for x, y, road, road_en in low:
        placer.add(
            "waterlogging-gauge", x, y, f"{road}低洼路段", f"low-lying {road_en}", {"road": road}
        )


def fire(placer: Placer, rng: np.random.Generator) -> None:
    """Smoke detectors in homes and pressure sensors on hydrants."""
    geo = placer.geography
    homes = [a for a in geo.addresses if placer.inside(a["x"], a["y"])]
    for i in sorted(rng.choice(len(homes), size=600, replace=False).tolist()):
        a = homes[i]
        door = f"{a['road']}{a['number']}号{a['building']}{a['unit']}"
        placer.add(
            "smoke-detector",
            a["x"] + rng.normal(0, 2),
            a["y"] + rng.normal(0, 2),
            door,
            f"No. {a['number']} {geo.road_en.get(a['road'], a['road'])}",
            {"address": a["code"]},
        )
    hydrants = [(p, g) for p, g in geo.layers["hydrants"] if placer.inside(g.x, g.y)]
    low = [i for i, (p, _) in enumerate(hydrants) if p["pressure_class"] == "low"]
    rest = [i for i in range(len(hydrants)) if i not in set(low)]
    picked = low + rng.choice(rest, size=max(0, 300 - len(low)), replace=False).tolist()
    for i in sorted(picked)[:300]:
        props, g = hydrants[i]
        placer.add(
            "hydrant-pressure-sensor",
            float(g.x),
            float(g.y),
            f"{props['road']}消火栓 {props['code']}",
            f"hydrant {props['code']}",
            {"hydrant": props["code"], "road": props["road"]},
        )


def city(placer: Placer, rng: np.random.Generator) -> None:
    """Manhole covers, construction-site monitors and air-quality micro stations."""
    geo = placer.geography
    kinds = [("雨水", "storm drain"), ("污水", "sewer"), ("给水", "water"), ("电力", "power")]
    for x, y, road, road_en in along_roads(geo.roads, 400, rng, 40.0, placer.inside):
        zh, en = kinds[int(rng.integers(len(kinds)))]
        placer.add(
            "manhole-cover-sensor",
            x,
            y,
            f"{road}{zh}井",
            f"{en} manhole, {road_en}",
            {"road": road, "network": en},
        )
    homes = [a for a in geo.addresses if placer.inside(a["x"], a["y"])]
    sites: list[tuple[float, float]] = []
    while len(sites) < 40:
        a = homes[int(rng.integers(len(homes)))]
        angle, reach = rng.uniform(0, 2 * math.pi), rng.uniform(80, 200)
        x, y = a["x"] + reach * math.cos(angle), a["y"] + reach * math.sin(angle)
        if placer.inside(x, y) and all(math.hypot(x - sx, y - sy) > 300 for sx, sy in sites):
            sites.append((x, y))
    for k, (x, y) in enumerate(sites, start=1):
        placer.add(
            "construction-site-monitor",
            x,
            y,
            f"在建工地 C{k:02d}",
            f"construction site C{k:02d}",
            {"site": f"C{k:02d}"},
        )
    points = [(a["x"], a["y"]) for a in homes]
    for i in sorted(spread(points, 30, rng)):
        a = homes[i]
        placer.add(
            "air-quality-station",
            a["x"] + rng.normal(0, 10),
            a["y"] + rng.normal(0, 10),
            a["road"],
            geo.road_en.get(a["road"], a["road"]),
            {"road": a["road"]},
        )


def traffic(placer: Placer, rng: np.random.Generator) -> None:
    """Traffic flow detectors on the roads and car-park occupancy monitors."""
    geo = placer.geography
    directions = [
        ("东向", "eastbound"),
        ("西向", "westbound"),
        ("南向", "southbound"),
        ("北向", "northbound"),
    ]
    for x, y, road, road_en in along_roads(geo.roads, 80, rng, 250.0, placer.inside):
        zh, en = directions[int(rng.integers(len(directions)))]
        placer.add(
            "traffic-flow-detector",
            x,
            y,
            f"{road}{zh}",
            f"{road_en}, {en}",
            {"road": road, "direction": en},
        )
    anchors = [
        (float(g.x), float(g.y), plain(p["name"]), plain(p["name_en"]), kind)
        for kind in ("landmarks", "hospitals")
        for p, g in geo.layers[kind]
    ]
    for x, y, zh, en, kind in anchors:
        angle, reach = rng.uniform(0, 2 * math.pi), rng.uniform(30, 120)
        px, py = x + reach * math.cos(angle), y + reach * math.sin(angle)
        if placer.inside(px, py):
            placer.add(
                "parking-occupancy-sensor", px, py, f"{zh}停车场", f"{en} car park", {"near": kind}
            )
    homes = [a for a in geo.addresses if placer.inside(a["x"], a["y"])]
    for i in sorted(
        spread(
            [(a["x"], a["y"]) for a in homes], 60 - placer.count("parking-occupancy-sensor"), rng
        )
    ):
        a = homes[i]
        placer.add(
            "parking-occupancy-sensor",
            a["x"],
            a["y"],
            f"{a['road']}{a['number']}号停车场",
            f"car park, No. {a['number']} {geo.road_en.get(a['road'], a['road'])}",
            {"near": "residential"},
        )


# --- output -----------------------------------------------------------------------------------


def generate() -> dict[str, bytes]:
    """The devices.geojson of each pack, as bytes, by pack name."""
    placer = Placer(read_geography())
    rng = np.random.default_rng(SEED)
    for step in (flood, fire, city, traffic):
        step(placer, rng)
    packs: dict[str, list[dict[str, Any]]] = {}
    for device_type, features in placer.features.items():
        packs.setdefault(PACK_OF_TYPE[device_type], []).extend(features)
    return {pack: _collection(pack, features) for pack, features in sorted(packs.items())}


def _collection(pack: str, features: list[dict[str, Any]]) -> bytes:
    """A FeatureCollection, one device per line so that diffs stay readable."""
    head = json.dumps({"type": "FeatureCollection", "name": f"{pack}-devices", "synthetic": True})
    body = ",\n".join(
        json.dumps(f, ensure_ascii=False, separators=(",", ":"))
        for f in sorted(features, key=lambda f: str(f["properties"]["code"]))
    )
    return (head[:-1] + ', "features": [\n' + body + "\n]}\n").encode()


def main(argv: Sequence[str] | None = None) -> int:
    """Write (or with ``--check``, compare) each pack's devices.geojson."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="compare, do not write")
    args = parser.parse_args(argv)
    files = generate()
    stale = []
    for pack, content in files.items():
        path = PACKS_DIR / pack / "devices.geojson"
        if args.check:
            if not path.exists() or path.read_bytes() != content:
                stale.append(str(path.relative_to(ROOT)))
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
        devices = len(json.loads(content)["features"])
        print(f"{path.relative_to(ROOT)}: {devices} devices")
    if stale:
        print("not what the generator makes: " + ", ".join(stale), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
